"""DDP training under torchrun (2 CPU processes, gloo), killed mid-epoch
and restarted with the same command, ends with the results of the
uninterrupted 2-process run; only rank 0 writes checkpoint files, and every
rank fills the frozen-encoder cache with its share of the utterances."""

import json
import os
import subprocess
import sys

import pytest

from tests.badinput.corpus import make_corpus, tiny_args

# several processes under torchrun, end to end
pytestmark = pytest.mark.slow

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DEMO_YAML = os.path.join(REPO, "hparams", "demo.yaml")
SCRIPT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "train_dying_rank.py"
)


def torchrun_training(corpus, output, log, **env_extra):
    """2-process training: 3 epochs of 2 steps per rank, an intra-epoch
    checkpoint after every step, a frozen encoder's frames cached on
    disk."""
    args = tiny_args(corpus, output, number_of_epochs=3, batch_size=2)
    args += ["--ckpt_interval_steps=1", "--distributed_backend=gloo"]
    # a frozen encoder whose frames every rank caches, each its share
    args += ["--freeze_encoder=True", "--cache_frozen_encoder=True"]
    args[0] = os.path.join(str(output) + ".yaml")  # demo.yaml + a cache folder
    with open(args[0], "w") as fout:
        fout.write(open(DEMO_YAML).read())
        fout.write(f"\nencoder_cache_folder: {output}/encoder_cache\n")
    env = dict(
        os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1", RUN_LOG=str(log)
    )
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        + ["--nproc_per_node=2", SCRIPT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def events(log, kind):
    """(rank, ...) of the RUN_LOG lines of one kind (save, step)."""
    return [line.split()[0] for line in open(log) if line.split()[1] == kind]


def cached(log):
    """(rank, utterance id) of the frames each rank wrote to the cache."""
    rows = [line.split() for line in open(log)]
    return [(row[0], row[2]) for row in rows if row[1] == "cache"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(str(folder))
    return folder


def test_killed_mid_epoch_resumes_to_the_uninterrupted_results(
    corpus, tmp_path
):
    whole = torchrun_training(corpus, tmp_path / "whole", tmp_path / "w.log")
    assert whole.returncode == 0, whole.stderr[-3000:]
    # rank 1 dies as it starts its 4th step: epoch 2, step 2
    killed = torchrun_training(
        corpus,
        tmp_path / "resumed",
        tmp_path / "r.log",
        DIE_RANK="1",
        DIE_AT="4",
    )
    assert killed.returncode != 0
    assert not (tmp_path / "resumed" / "results.json").exists()
    resumed = torchrun_training(
        corpus, tmp_path / "resumed", tmp_path / "r2.log"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for log in ("w.log", "r.log", "r2.log"):
        assert set(events(tmp_path / log, "save")) == {"0"}, log
    # 6 steps per rank in all; 3 done before the kill (epoch 1 and the
    # first step of epoch 2, saved intra-epoch): 3 left per rank
    assert sorted(events(tmp_path / "w.log", "step")) == ["0"] * 6 + ["1"] * 6
    assert sorted(events(tmp_path / "r2.log", "step")) == ["0"] * 3 + ["1"] * 3
    # the frames of the 8 training utterances: 4 cached by each rank, once
    train = [(rank, uid) for rank, uid in cached(tmp_path / "w.log")]
    train = [(rank, uid) for rank, uid in train if uid[:3] in ("s1_", "s2_")]
    assert len({uid for _, uid in train}) == len(train) == 8
    assert sorted(rank for rank, _ in train) == ["0"] * 4 + ["1"] * 4
    expected = json.load(open(tmp_path / "whole" / "results.json"))
    got = json.load(open(tmp_path / "resumed" / "results.json"))
    assert got == expected
