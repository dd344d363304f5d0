"""Checkpoint folders left incomplete by older code or a crash (issue 22,
item 1): before, every rerun died in SpeechBrain's checkpoint loading
(``TypeError`` in ``ckpt_recency`` for a 0-byte CKPT.yaml, ``KeyError`` /
``RuntimeError`` for a CKPT.yaml without parameter files) until the folder
was deleted by hand; now they are moved to save/incomplete/ with a
warning and the run resumes from the newest complete checkpoint."""

import logging
import os

import yaml

from speechbrain_ser.run import run_recipe
from tests.badinput.corpus import make_corpus, tiny_args

EMPTY_META = "CKPT+2099-01-01+00-00-00+00"
NO_PARAMS = "CKPT+2099-01-01+00-00-00+01"


class Records(logging.Handler):
    """Keeps the messages of one logger."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_incomplete_checkpoints_moved_aside(tmp_path):
    make_corpus(str(tmp_path / "corpus"))
    args = tiny_args(tmp_path / "corpus", tmp_path / "run")
    run_recipe(args)
    results = (tmp_path / "run" / "results.json").read_bytes()
    save = tmp_path / "run" / "save"
    # the reproduction: a new folder with a 0-byte CKPT.yaml
    (save / EMPTY_META).mkdir()
    (save / EMPTY_META / "CKPT.yaml").touch()
    # and a complete CKPT.yaml whose parameter files were never written
    (save / NO_PARAMS).mkdir()
    meta = {"end-of-epoch": True, "unixtime": 4.1e9, "score": 1e9}
    (save / NO_PARAMS / "CKPT.yaml").write_text(yaml.dump(meta))
    records = Records()
    logger = logging.getLogger("speechbrain_ser.brains.checkpoints")
    logger.addHandler(records)
    try:
        run_recipe(args)
    finally:
        logger.removeHandler(records)
    assert (tmp_path / "run" / "results.json").read_bytes() == results
    assert sorted(os.listdir(save / "incomplete")) == [EMPTY_META, NO_PARAMS]
    warnings = records.messages
    assert any(EMPTY_META in w and "CKPT.yaml is empty" in w for w in warnings)
    assert any(NO_PARAMS in w and ".ckpt is missing" in w for w in warnings)
