"""``python -m speechbrain_ser.run`` for tests under torchrun, that

* logs to ``RUN_LOG`` which rank writes each checkpoint file (a line
  ``<rank> save <path>`` per ``torch.save`` into a ``CKPT+`` folder), the
  utterances whose frozen-encoder frames it caches (``<rank> cache
  <id>``) and each training step it starts (``<rank> step``), and
* with ``DIE_AT=N``: dies (``os._exit``, as under kill -9) on rank
  ``DIE_RANK`` when it starts its N-th training step;

for tests/integration/test_ddp_resume.py.

    torchrun --standalone --nproc_per_node=2 train_dying_rank.py demo.yaml ...
"""

import os
import sys

import torch

from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.run import run_recipe

torch_save = torch.save
fit_batch = ResumableBrain.fit_batch
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
    return fit_batch(self, batch)


if __name__ == "__main__":  # patched only when run, not when imported
    torch.save = logged_save
    ResumableBrain.fit_batch = dying_fit_batch
    run_recipe(sys.argv[1:])
