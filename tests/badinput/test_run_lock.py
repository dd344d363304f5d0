"""One run per output folder (issue 22, item 2). Before: two trainings
started 3 s apart into one folder both trained, deleted each other's
checkpoints, wrote train_log.txt twice and both exited 0; two predicts
into one --output file interleaved their lines. Now the second stops at
once naming the folder and the other run's PID, and a lock left by a
killed process never blocks."""

import os
import signal
import subprocess
import sys

import pytest

from speechbrain_ser.evaluation import crossval, search
from speechbrain_ser.inference.corpus import ResultWriter, predict_corpus
from speechbrain_ser.run import run_recipe
from speechbrain_ser.run_lock import RunLock, RunLockedError
from tests.badinput.corpus import ROOT, tiny_args

# Holds an flock on argv[1] as RunLock does, until killed.
HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()} otherhost".encode())
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """A process holding the lock of tmp_path/out; killed at the end."""
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out / "run.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "locked\n"
    yield out, process
    process.kill()
    process.wait()


def test_second_training_stops_at_once(tmp_path, holder):
    out, process = holder
    with pytest.raises(RunLockedError) as error:
        run_recipe(tiny_args(tmp_path, out))
    message = str(error.value)
    assert message.startswith(f"{out}: another run is writing into this")
    assert f"PID {process.pid} on otherhost" in message
    # nothing written (the YAML's Checkpointer makes an empty save/)
    assert not (out / "train_log.txt").exists()
    assert not os.listdir(out / "save")


def test_killed_holder_never_blocks(holder):
    out, process = holder
    process.send_signal(signal.SIGKILL)
    process.wait()
    with RunLock(str(out)) as lock:
        assert lock.fd is not None
    assert open(out / "run.lock").read() == ""  # cleared on release


def test_crossval_and_search_folders_locked(tmp_path):
    with RunLock(str(tmp_path)):
        with pytest.raises(RunLockedError, match=f"PID {os.getpid()} "):
            crossval.main(
                [
                    os.path.join(ROOT, "hparams", "demo.yaml"),
                    f"--output_folder={tmp_path}",
                    "--folds=0,1",
                    "--fold_key=seed",
                ]
            )
        space = tmp_path / "space.yaml"
        space.write_text(
            "metric: UA\nparameters:\n"
            "  lr: {type: float, low: 0.001, high: 0.01}\n"
        )
        with pytest.raises(RunLockedError):
            search.main(
                [
                    os.path.join(ROOT, "hparams", "demo.yaml"),
                    f"--space={space}",
                    f"--study_folder={tmp_path}",
                    "--n_trials=1",
                ]
            )
    assert not (tmp_path / "study.db").exists()


def test_second_predict_into_one_output_stops(tmp_path):
    output = str(tmp_path / "predictions.jsonl")
    with ResultWriter(output) as writer:
        writer.write({"file": "a.wav", "error": "x"})
        with pytest.raises(RunLockedError, match="--output file"):
            predict_corpus(None, ["b.wav"], output, progress=False)
    assert open(output).read().count("\n") == 1


def test_ddp_ranks_share_the_run(tmp_path, monkeypatch):
    with RunLock(str(tmp_path)):
        monkeypatch.setenv("RANK", "1")  # another rank of the same torchrun
        with RunLock(str(tmp_path)) as lock:
            assert lock.fd is None


@pytest.mark.parametrize(
    "mode", ["corpus", "segment", "transcript", "parts of a torchrun"]
)
def test_second_predict_is_one_line_in_every_mode(
    tmp_path, capsys, mode, request
):
    """Before: RunLockedError's traceback, exit status 1."""
    from speechbrain_ser.cli import main as cli
    from speechbrain_ser.inference.distributed import part_path
    from speechbrain_ser.tiny_models import tiny_model_folder
    from tests.badinput.corpus import tone, write_wav

    wav = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    output = str(tmp_path / "predictions.jsonl")
    args = ["predict", "--model", tiny_model_folder(), "--output", output]
    if mode == "segment":
        args += ["--segment", "0.5"]
    elif mode == "transcript":
        model = request.getfixturevalue("speech_text_model")
        args = [*args[:2], model, *args[3:], "--transcript", "hi"]
    elif mode == "parts of a torchrun":  # one process finishes them
        open(part_path(output, 1), "w").close()
    capsys.readouterr()
    with RunLock(output, "--output file", is_file=True):
        assert cli([*args, wav]) == 2
    err = capsys.readouterr().err
    assert "RunLockedError" not in err, err  # no traceback of ours
    [line] = [x for x in err.splitlines() if "error:" in x]
    assert line.startswith(
        f"speechbrain-ser predict: error: {output}: another run is writing "
        f"into this --output file (PID {os.getpid()} on "
    )
    assert not os.path.exists(output)
