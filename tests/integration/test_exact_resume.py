"""A run stopped and restarted with the same command ends with the results
of the uninterrupted run (random states and loader position are in the
checkpoint; see speechbrain_ser/brains/resumable.py)."""

import json

import pytest

from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.run import run_recipe
from tests.badinput.corpus import make_corpus, tiny_args


class Killed(Exception):
    """Stands for kill -9 at a training step."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus(str(folder))
    return folder


@pytest.fixture(scope="module")
def uninterrupted(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    run_recipe(tiny_args(corpus, out, number_of_epochs=3))
    return json.load(open(out / "results.json"))


def test_stop_after_epoch_2_then_resume(corpus, tmp_path, uninterrupted):
    run_recipe(tiny_args(corpus, tmp_path, number_of_epochs=2))
    run_recipe(tiny_args(corpus, tmp_path, number_of_epochs=3))
    assert json.load(open(tmp_path / "results.json")) == uninterrupted


def test_killed_mid_epoch_then_same_command(
    corpus, tmp_path, uninterrupted, monkeypatch
):
    """Killed at step 2 of epoch 3 (2 steps per epoch) with an intra-epoch
    checkpoint after every step, then restarted with the same command."""
    fit_batch = ResumableBrain.fit_batch
    steps = []

    def dying_fit_batch(self, batch):
        steps.append(1)
        if len(steps) == 6:
            raise Killed()
        return fit_batch(self, batch)

    args = tiny_args(corpus, tmp_path, number_of_epochs=3)
    args.append("--ckpt_interval_steps=1")
    monkeypatch.setattr(ResumableBrain, "fit_batch", dying_fit_batch)
    with pytest.raises(Killed):
        run_recipe(args)
    monkeypatch.setattr(ResumableBrain, "fit_batch", fit_batch)
    run_recipe(args)
    results = json.load(open(tmp_path / "results.json"))
    assert results == uninterrupted
