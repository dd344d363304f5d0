"""``python -m speechbrain_ser.run`` for tests under torchrun, that

* logs to ``RUN_LOG`` which rank writes each checkpoint file (a line
  ``<rank> save <path>`` per ``torch.save`` into a ``CKPT+`` folder), the
  utterances whose frozen-encoder frames it caches (``<rank> cache
  <id>``), each training step it starts (``<rank> step``), each unusable
  checkpoint folder it moves aside (``<rank> moved <name>``) and the
  checkpoint each recovery loads (``<rank> recover <name or None>``),
* with ``DIE_AT=N``: dies (``os._exit``, as under kill -9) on rank
  ``DIE_RANK`` when it starts its N-th training step, and
* with ``HOLD_FILE=path``: waits at its first training step (logging
  ``<rank> hold``) until that file exists, holding the output folder;

for tests/integration/test_ddp_resume.py.

    torchrun --standalone --nproc_per_node=2 train_dying_rank.py demo.yaml ...
"""

import os
import sys
import time

import torch

from speechbrain_ser.brains.checkpoints import AtomicCheckpointer
from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.run import run_recipe

torch_save = torch.save
fit_batch = ResumableBrain.fit_batch
move_aside = AtomicCheckpointer._move_aside
recover = AtomicCheckpointer.recover_if_possible
steps = []


def log(line):
    """Appends ``<rank> <line>`` to RUN_LOG."""
    with open(os.environ["RUN_LOG"], "a") as fout:
        fout.write(f"{os.environ.get('RANK', '0')} {line}\n")


def logged_save(obj, path, *args, **kwargs):
    """torch.save, noting the rank when it writes a checkpoint file."""
    if "CKPT+" in str(path):
        log(f"save {path}")
    elif "encoder_cache" in str(path):
        log(f"cache {os.path.basename(str(path)).split('.pt.')[0]}")
    return torch_save(obj, path, *args, **kwargs)


def dying_fit_batch(self, batch):
    """Trains, except on the chosen rank at the chosen step: dies."""
    steps.append(1)
    log("step")
    dies = os.environ.get("RANK") == os.environ.get("DIE_RANK", "0")
    if dies and len(steps) == int(os.environ.get("DIE_AT", 0)):
        os._exit(9)
    hold = os.environ.get("HOLD_FILE")
    if hold and len(steps) == 1:
        log("hold")
        while not os.path.exists(hold):
            time.sleep(0.05)
    return fit_batch(self, batch)


def logged_move_aside(self, path):
    """Moves an unusable checkpoint folder aside, noting the rank."""
    log(f"moved {os.path.basename(str(path))}")
    return move_aside(self, path)


def logged_recover(self, *args, **kwargs):
    """Recovers, noting the rank and the checkpoint loaded."""
    checkpoint = recover(self, *args, **kwargs)
    name = None if checkpoint is None else checkpoint.path.name
    log(f"recover {name}")
    return checkpoint


if __name__ == "__main__":  # patched only when run, not when imported
    torch.save = logged_save
    ResumableBrain.fit_batch = dying_fit_batch
    AtomicCheckpointer._move_aside = logged_move_aside
    AtomicCheckpointer.recover_if_possible = logged_recover
    run_recipe(sys.argv[1:])
