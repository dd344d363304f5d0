"""Corpus prediction under torchrun: 2 CPU processes (gloo) give the
single-process output (same files once each, numbers within 1e-6), and a
run with a rank killed mid-way resumes and ends with the same output."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from speechbrain_ser.cli import main
from speechbrain_ser.inference.distributed import existing_parts, part_path
from speechbrain_ser.tiny_models import tiny_model_folder

# several processes under torchrun, end to end
pytestmark = pytest.mark.slow

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """14 voiced clips of 0.3-3 s, a silent one and an unreadable one."""
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    for i in range(14):
        seconds = rng.uniform(0.3, 3.0)
        t = np.arange(int(seconds * 16000)) / 16000
        pitch = rng.uniform(100, 250)
        wave = sum(np.sin(2 * np.pi * k * pitch * t) / k for k in (1, 2, 3))
        soundfile.write(folder / f"clip{i:02d}.wav", 0.2 * wave, 16000)
    soundfile.write(folder / "silence.wav", np.zeros(16000), 16000)
    (folder / "broken.wav").write_bytes(b"not audio")
    return folder


@pytest.fixture(scope="module")
def model():
    return tiny_model_folder()


@pytest.fixture(scope="module")
def single(corpus, model, tmp_path_factory):
    """The single-process output (no torchrun), rows by file."""
    out = tmp_path_factory.mktemp("single") / "out.jsonl"
    main(["predict", "--model", model, "--output", str(out), "--no-progress"]
         + ["--batch-size", "3", str(corpus)])  # fmt: skip
    return rows(out)


def rows(path):
    lines = [json.loads(line) for line in open(path)]
    by_file = {row["file"]: row for row in lines}
    assert len(by_file) == len(lines), "a file appears twice"
    return by_file


def torchrun(script, args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1")
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        + ["--nproc_per_node=2", *script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_same(got, expected):
    assert sorted(got) == sorted(expected)
    for name, row in expected.items():
        other = got[name]
        assert sorted(other) == sorted(row), name
        for key, value in row.items():
            if key == "probabilities":
                for label, p in value.items():
                    assert abs(other[key][label] - p) <= 1e-6, (name, label)
            elif isinstance(value, float):
                assert abs(other[key] - value) <= 1e-6, (name, key)
            else:
                assert other[key] == value, (name, key)


def predict_args(model, out, corpus):
    return ["predict", "--model", model, "--output", str(out)] + [
        "--no-progress",
        "--batch-size",
        "3",
        str(corpus),
    ]


def test_two_processes_give_the_single_process_output(
    corpus, model, single, tmp_path
):
    out = tmp_path / "out.jsonl"
    done = torchrun(
        ["-m", "speechbrain_ser.cli"], predict_args(model, out, corpus)
    )
    assert done.returncode == 1, done.stderr  # broken.wav is an error
    assert_same(rows(out), single)
    assert existing_parts(str(out)) == []
    assert len(single) == 16 and "error" in single[str(corpus / "broken.wav")]


def test_a_killed_rank_resumes(corpus, model, single, tmp_path):
    out = tmp_path / "out.jsonl"
    args = predict_args(model, out, corpus)
    killed = torchrun(
        [os.path.join(HERE, "predict_dying_rank.py")],
        args,
        {"DIE_RANK": "1", "DIE_AFTER": "1"},
    )
    assert killed.returncode != 0
    assert not out.exists()
    left = [len(open(p).readlines()) for p in existing_parts(str(out))]
    assert os.path.isfile(part_path(str(out), 1)) and 0 < sum(left) < 16
    done = torchrun(["-m", "speechbrain_ser.cli"], args)
    # 1 when broken.wav's error line is written now, 0 when before the kill
    assert done.returncode in (0, 1), done.stderr
    assert_same(rows(out), single)
    assert existing_parts(str(out)) == []


def test_one_process_finishes_the_parts_of_a_killed_run(
    corpus, model, single, tmp_path
):
    """Without torchrun, predict merges the parts a killed distributed run
    left (lines there are kept, a line cut short is redone). The files left
    are batched without the two planted ones, so their numbers may differ
    from the uninterrupted run's in the last digits: only the rows are
    compared."""
    out = tmp_path / "out.jsonl"
    names = sorted(single)
    kept = dict(single[names[0]], marker="from part 0")
    with open(part_path(str(out), 0), "w") as part:
        part.write(json.dumps(kept) + "\n")
    with open(part_path(str(out), 1), "w") as part:
        part.write(json.dumps(single[names[1]]) + "\n" + '{"file": "cut')
    main(predict_args(model, out, corpus))
    merged = rows(out)
    assert sorted(merged) == sorted(single)
    assert merged[names[0]]["marker"] == "from part 0"
    assert merged[names[1]] == single[names[1]]
    assert existing_parts(str(out)) == []


def test_a_second_run_into_one_output_stops_in_one_line(
    corpus, model, tmp_path
):
    """Another run holds --output's lock: both ranks stop at once; rank 0
    says so in one line (before: RunLockedError's traceback on every
    rank)."""
    from speechbrain_ser.run_lock import RunLock

    out = tmp_path / "out.jsonl"
    with RunLock(str(out), "--output file", is_file=True):
        done = torchrun(
            ["-m", "speechbrain_ser.cli"], predict_args(model, out, corpus)
        )
    assert done.returncode != 0
    lines = [x for x in done.stderr.splitlines() if "predict: error:" in x]
    assert lines == [
        f"speechbrain-ser predict: error: {out}: another run is writing into "
        f"this --output file (PID {os.getpid()} on {socket.gethostname()}, "
        f"lock file {out}.lock); wait for it to end or choose another "
        "--output file"
    ], done.stderr
    assert "RunLockedError" not in done.stderr  # no traceback of a rank
    assert "exitcode  : 2" in done.stderr  # torchrun's summary
    assert not out.exists() and existing_parts(str(out)) == []
