"""DDP training under torchrun (2 CPU processes, gloo), killed mid-epoch
and restarted with the same command, ends with the results of the
uninterrupted 2-process run; only rank 0 writes checkpoint files, and every
rank fills the frozen-encoder cache with its share of the utterances.
While the 2 ranks hold their output folder, a second run into it stops at
once naming the folder and rank 0's PID; incomplete checkpoint folders
planted before the restart are moved aside once, by rank 0, and both ranks
resume from the same newest complete checkpoint (issue 22, items 1-2)."""

import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from speechbrain_ser.run import main
from tests.badinput.corpus import make_corpus, tiny_args

# several processes under torchrun, end to end
pytestmark = pytest.mark.slow

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DEMO_YAML = os.path.join(REPO, "hparams", "demo.yaml")
SCRIPT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "train_dying_rank.py"
)


EMPTY_META = "CKPT+2099-01-01+00-00-00+00"  # as tests/badinput/test_checkpoints
NO_PARAMS = "CKPT+2099-01-01+00-00-00+01"


def training_args(corpus, output):
    """3 epochs of 2 steps per rank, an intra-epoch checkpoint after every
    step, a frozen encoder's frames cached on disk."""
    args = tiny_args(corpus, output, number_of_epochs=3, batch_size=2)
    args += ["--ckpt_interval_steps=1", "--distributed_backend=gloo"]
    # a frozen encoder whose frames every rank caches, each its share
    args += ["--freeze_encoder=True", "--cache_frozen_encoder=True"]
    args[0] = os.path.join(str(output) + ".yaml")  # demo.yaml + a cache folder
    with open(args[0], "w") as fout:
        fout.write(open(DEMO_YAML).read())
        fout.write(f"\nencoder_cache_folder: {output}/encoder_cache\n")
    return args


def torchrun_training(corpus, output, log, wait=True, **env_extra):
    """2-process training (:func:`training_args`); with ``wait=False``, the
    started process (its standard error in ``<log>.err``)."""
    env = dict(
        os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1", RUN_LOG=str(log)
    )
    env.update(env_extra)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", SCRIPT, *training_args(corpus, output)]
    if not wait:
        with open(f"{log}.err", "w") as err:
            return subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=err
            )
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300
    )


def logged(log, kind):
    """(rank, what) of the RUN_LOG lines of one kind (moved, recover)."""
    if not os.path.exists(log):  # nothing logged yet
        return []
    rows = [line.split() + [""] for line in open(log)]
    return [(row[0], row[2]) for row in rows if row[1] == kind]


def events(log, kind):
    """The ranks of the RUN_LOG lines of one kind (save, step)."""
    return [rank for rank, _ in logged(log, kind)]


def second_run_stops_at_once(corpus, output, log, held, capsys):
    """Waits until the 2-rank run ``held`` holds ``output`` (both ranks at
    their first step), then runs into it again: exit status 2 at once,
    one line naming the folder and the PID of the run's rank 0."""
    deadline = time.time() + 240
    while sorted(events(log, "hold")) != ["0", "1"]:
        assert held.poll() is None, open(f"{log}.err").read()[-3000:]
        assert time.time() < deadline, "the first run never started training"
        time.sleep(0.2)
    pid = (output / "run.lock").read_text().split()[0]
    with open(f"/proc/{pid}/stat") as stat:  # a worker of that torchrun
        assert int(stat.read().rsplit(")", 1)[1].split()[1]) == held.pid
    capsys.readouterr()
    start = time.time()
    assert main(training_args(corpus, output)) == 2
    assert time.time() - start < 10
    err = capsys.readouterr().err
    assert f"error: {output}: another run is writing into this output " in err
    assert f"folder (PID {pid} on " in err
    assert "RunLockedError" not in err  # no traceback of ours


def plant_incomplete_checkpoints(save):
    """The issue's two kinds of incomplete folder, newer than any other;
    returns the newest complete checkpoint's name."""
    times = {}
    for path in save.glob("CKPT+*"):
        times[path.name] = yaml.safe_load(open(path / "CKPT.yaml"))["unixtime"]
    (save / EMPTY_META).mkdir()
    (save / EMPTY_META / "CKPT.yaml").touch()
    (save / NO_PARAMS).mkdir()
    meta = {"end-of-epoch": True, "unixtime": 4.1e9, "score": 1e9}
    (save / NO_PARAMS / "CKPT.yaml").write_text(yaml.dump(meta))
    return max(times, key=times.get)


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
    corpus, tmp_path, capsys
):
    # the uninterrupted run, held at its first step while a second run
    # into its folder is tried; its 2 ranks share the lock
    hold = tmp_path / "go"
    held = torchrun_training(
        corpus,
        tmp_path / "whole",
        tmp_path / "w.log",
        wait=False,
        HOLD_FILE=str(hold),
    )
    try:
        second_run_stops_at_once(
            corpus, tmp_path / "whole", tmp_path / "w.log", held, capsys
        )
    finally:
        hold.touch()
        try:
            held.wait(timeout=300)
        finally:
            held.kill()
    assert held.returncode == 0, open(f"{tmp_path}/w.log.err").read()[-3000:]
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
    save = tmp_path / "resumed" / "save"
    newest = plant_incomplete_checkpoints(save)
    resumed = torchrun_training(
        corpus, tmp_path / "resumed", tmp_path / "r2.log"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # moved aside once, by rank 0; both ranks resume from the same newest
    # complete checkpoint (their first recovery; the test's comes later)
    moved = logged(tmp_path / "r2.log", "moved")
    assert {rank for rank, _ in moved} == {"0"}
    names = [name for _, name in moved]
    assert names.count(EMPTY_META) == names.count(NO_PARAMS) == 1
    assert {EMPTY_META, NO_PARAMS} <= set(os.listdir(save / "incomplete"))
    recovered = {}
    for rank, name in logged(tmp_path / "r2.log", "recover"):
        recovered.setdefault(rank, name)
    assert recovered == {"0": newest, "1": newest}
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
