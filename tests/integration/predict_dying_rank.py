"""``speechbrain-ser predict`` whose rank ``DIE_RANK`` dies (``os._exit``,
as under kill -9) after ``DIE_AFTER`` flushed batches: a distributed run
killed in the middle, for tests/integration/test_distributed_predict.py.

    torchrun --standalone --nproc_per_node=2 predict_dying_rank.py predict ...
"""

import os
import sys

from speechbrain_ser.cli import main
from speechbrain_ser.inference.corpus import ResultWriter

flush = ResultWriter.flush
flushed = []


def dying_flush(self):
    """Flushes, then dies on the chosen rank after enough batches."""
    flush(self)
    if os.environ.get("RANK") == os.environ["DIE_RANK"]:
        flushed.append(1)
        if len(flushed) >= int(os.environ["DIE_AFTER"]):
            os._exit(9)


if __name__ == "__main__":  # patched only when run, not when imported
    ResultWriter.flush = dying_flush
    sys.exit(main())
