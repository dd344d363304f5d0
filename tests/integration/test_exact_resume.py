"""A run stopped and restarted with the same command ends with the results
of the uninterrupted run (random states and loader position are in the
checkpoint; see speechbrain_ser/brains/resumable.py)."""

import json
import os
import re

import pytest
import speechbrain as sb

from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.run import run_recipe
from tests.badinput.corpus import ROOT, make_corpus, tiny_args


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


# Tokenwise contrastive pre-training (TokenwiseContrastiveBrain): random
# batches, dropout in the speech encoder and the cross-modal block.
TOKENWISE = {
    "text_hidden_size": 16,
    "speech_size": 8,
    "speech_layers": 1,
    "n_mels": 20,
    "cross_modal_heads": 2,
    "cross_modal_ffn": 16,
    "batch_size": 8,
    "n_utterances": 40,
    "prepare": "null",
}


@pytest.fixture(scope="module")
def tokenwise_corpus(tmp_path_factory):
    """40 'alt' demo utterances with transcripts, and a tiny BERT teacher
    that knows their words."""
    from speechbrain_ser.demo.prepare import prepare_demo
    from speechbrain_ser.demo.sentences import sentence_bank
    from speechbrain_ser.tiny_models import save_tiny_bert

    root = tmp_path_factory.mktemp("tokenwise")
    prepare_demo(str(root), str(root / "manifests"), 40, part="alt")
    words = set()
    for sentences in sentence_bank("alt").values():
        for sentence in sentences:
            words.update(re.findall(r"\w+|[^\w\s]", sentence.lower()))
    teacher = save_tiny_bert(root / "bert", words=sorted(words))
    return root, teacher


def tokenwise_args(corpus, output, epochs):
    root, teacher = corpus
    overrides = {
        **TOKENWISE,
        "data_folder": root,
        "teacher_source": teacher,
        "output_folder": output,
        "number_of_epochs": epochs,
    }
    return [os.path.join(ROOT, "hparams", "tokenwise.yaml")] + [
        f"--{key}={value}" for key, value in overrides.items()
    ]


def test_tokenwise_pretraining_killed_mid_epoch_then_same_command(
    tokenwise_corpus, tmp_path, monkeypatch
):
    """Killed in epoch 2 with an intra-epoch checkpoint after every step,
    restarted with the same command: the run ends as the uninterrupted
    one (results, and every epoch's log line)."""
    run_recipe(tokenwise_args(tokenwise_corpus, tmp_path / "whole", 2))
    args = tokenwise_args(tokenwise_corpus, tmp_path / "killed", 2)
    args.append("--ckpt_interval_steps=1")
    fit_batch = sb.Brain.fit_batch  # every Brain's training step
    steps = []

    def dying_fit_batch(self, batch):
        steps.append(1)
        if len(steps) == 6:  # epoch 2 (4 steps per epoch), step 2
            raise Killed()
        return fit_batch(self, batch)

    monkeypatch.setattr(sb.Brain, "fit_batch", dying_fit_batch)
    with pytest.raises(Killed):
        run_recipe(args)
    monkeypatch.setattr(sb.Brain, "fit_batch", fit_batch)
    run_recipe(args)
    for name in ("results.json",):
        whole = json.load(open(tmp_path / "whole" / name))
        assert json.load(open(tmp_path / "killed" / name)) == whole
    logs = [
        (tmp_path / run / "train_log.txt").read_text().splitlines()
        for run in ("whole", "killed")
    ]
    assert logs[0] == logs[1] and len(logs[0]) == 3  # 2 epochs and test
