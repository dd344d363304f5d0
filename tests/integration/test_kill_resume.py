"""A training process killed with SIGKILL at any instant, including while
a checkpoint is being written, is resumed by the same command and ends
with the results.json of the uninterrupted run, byte for byte (issue 22;
see speechbrain_ser/brains/checkpoints.py).

The kill points are deterministic: a small runner (``RUNNER``) makes the
training process block at a chosen place, writes a marker file, and the
test kills it there with SIGKILL. The kills are chained in one output
folder (each restart resumes the previous one's progress), so the whole
test costs four process starts and one tiny training.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from speechbrain_ser.brains.checkpoints import (
    INCOMPLETE_FOLDER,
    TMP_PREFIX,
    AtomicCheckpointer,
)
from speechbrain_ser.run import run_recipe
from tests.badinput.corpus import ROOT, make_corpus, tiny_args

# argv: phase, k, marker file, run_recipe arguments...
#   partial: inside the k-th checkpoint, its first torch.save file is cut
#            to half its bytes (a write in progress), then the kill;
#   meta:    the k-th checkpoint is complete under its temporary name,
#            CKPT.yaml written, not yet renamed;
#   publish: the k-th checkpoint renamed, older ones not yet deleted;
#   step:    at the k-th training step (between checkpoints).
RUNNER = """
import os, sys, time
import torch
from speechbrain_ser.brains.checkpoints import AtomicCheckpointer
from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.run import run_recipe

phase, k, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count = {"saves": 0, "steps": 0, "cut": False}

def block():
    open(marker, "w").close()
    time.sleep(600)

save_files = AtomicCheckpointer._save_files
publish = AtomicCheckpointer._publish
fit_batch = ResumableBrain.fit_batch
torch_save = torch.save

def counting_save_files(self, folder):
    count["saves"] += 1
    count["cut"] = phase == "partial" and count["saves"] == k
    return save_files(self, folder)

def cutting_torch_save(obj, path, *args, **kwargs):
    torch_save(obj, path, *args, **kwargs)
    if count["cut"]:
        os.truncate(path, os.path.getsize(path) // 2)
        block()

def blocking_publish(self, tmp, final):
    if phase == "meta" and count["saves"] == k:
        block()
    publish(self, tmp, final)
    if phase == "publish" and count["saves"] == k:
        block()

def blocking_fit_batch(self, batch):
    count["steps"] += 1
    if phase == "step" and count["steps"] == k:
        block()
    return fit_batch(self, batch)

AtomicCheckpointer._save_files = counting_save_files
AtomicCheckpointer._publish = blocking_publish
ResumableBrain.fit_batch = blocking_fit_batch
torch.save = cutting_torch_save
run_recipe(sys.argv[4:])
"""
# (phase, k) of each killed process, in order; 2 steps per epoch, a
# checkpoint after every step and at every epoch end.
KILLS = [("partial", 2), ("meta", 2), ("publish", 2), ("step", 2)]


def kill_at(phase, k, args, folder):
    """Starts the runner, waits until it blocks, kills it with SIGKILL."""
    marker = folder / f"blocked_{phase}_{k}"
    # the killed processes compute with as many threads as the uninterrupted
    # run in this process: another thread count rounds differently
    threads = str(torch.get_num_threads())
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=threads)
    with open(folder / f"log_{phase}_{k}.txt", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, phase, str(k), str(marker)] + args,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 300
        while not marker.exists():
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                process.wait()
                log_text = open(log.name).read()[-3000:]
                pytest.fail(f"never reached {phase} {k}:\n{log_text}")
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
    return process.returncode


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(str(folder))
    return folder


def test_sigkill_anywhere_then_same_command(corpus, tmp_path):
    uninterrupted = tmp_path / "uninterrupted"
    killed = tmp_path / "killed"
    extra = {"number_of_epochs": 3, "ckpt_interval_steps": 1}
    run_recipe(tiny_args(corpus, uninterrupted, **extra))
    args = tiny_args(corpus, killed, **extra)
    save = killed / "save"
    states = []
    for phase, k in KILLS:
        assert kill_at(phase, k, args, tmp_path) == -signal.SIGKILL
        names = sorted(os.listdir(save))
        states.append(names)
        # every CKPT+ folder left by a kill is a usable checkpoint
        checkpointer = AtomicCheckpointer(save)
        checkpointer.recoverables = {}
        for name in names:
            if name.startswith("CKPT"):
                assert checkpointer.checkpoint_problem(save / name) is None
    # the kills inside a write left a temporary folder, never a CKPT+ one
    assert any(n.startswith(TMP_PREFIX) for n in states[0])
    assert any(n.startswith(TMP_PREFIX) for n in states[1])
    run_recipe(args)
    expected = (uninterrupted / "results.json").read_bytes()
    assert (killed / "results.json").read_bytes() == expected
    # the interrupted writes were moved aside, not deleted
    assert os.listdir(save / INCOMPLETE_FOLDER)
