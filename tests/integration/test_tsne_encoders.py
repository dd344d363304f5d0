"""``speechbrain-ser tsne`` on a run of each encoder family (issue 22,
item 7): SA2SR pre-training (SA2SRBrain, its ``normalize``), a fine-tuning
of a pre-trained encoder (CPC under EmotionBrain, as SA2SR's and
tokenwise's fine-tunings are) and a Whisper
recipe (frozen, not checkpointed, every hidden state weighted by the
head). The demo's conv encoder is in test_documented_commands.py, CPC
pre-training in test_cpc_recipe.py. Each run is one epoch on 8 training
clips of tests/badinput/corpus.py. Before: the Whisper run's saved
hyperparams.yaml did not read back, its encoder was "not saved by the
YAML's checkpointer", and SA2SR pre-training was shown without its
feature normalisation."""

import json
import os

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_ser.cli import main as cli
from speechbrain_ser.evaluation import representations
from speechbrain_ser.evaluation.representations import load_trained_module
from speechbrain_ser.run import run_recipe
from speechbrain_ser.tiny_models import make_tiny_whisper
from tests.badinput.corpus import ROOT, make_corpus, write_manifests

WORDS = {"angry": "i am angry", "happy": "a good day", "neutral": "the dog"}
SENTIMENT = {"angry": "negative", "happy": "positive", "neutral": "neutral"}


def common(corpus, out):
    folder = os.path.join(corpus, "manifests")
    return [
        f"--data_folder={corpus}",
        *[f"--{s}_manifest={folder}/{s}.json" for s in ("train", "valid")],
        f"--test_manifest={folder}/valid.json",
        f"--output_folder={out}",
        "--prepare=null",
        "--number_of_epochs=1",
        "--batch_size=4",
    ]


def tsne(run, corpus, tmp_path, *extra):
    """Runs the documented command; returns its points file."""
    out = tmp_path / "tsne.png"
    manifest = os.path.join(corpus, "manifests", "train.json")
    args = ["tsne", "--run", str(run), "--manifest", manifest]
    assert cli([*args, "--out", str(out), *extra]) == 0
    result = json.load(open(tmp_path / "tsne.json"))
    assert len(result["points"]) == 8 and out.stat().st_size > 0
    return result


def saved_random_encoder(yaml, path, **sizes):
    """What an earlier run would leave at ``path``: the YAML's encoder."""
    with open(yaml, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, {**sizes, "pretrainer": None})
    torch.save(hparams["encoder"].state_dict(), path)
    return path


def test_sa2sr_pretraining(tmp_path):
    corpus = make_corpus(str(tmp_path))
    for entries in corpus.values():
        for entry in entries.values():
            label = entry["emotion"] if entry["emotion"] in WORDS else "angry"
            entry["transcript"] = WORDS[label]
            entry["sentiment"] = SENTIMENT[label]
    write_manifests(str(tmp_path), corpus)
    run = tmp_path / "sa2sr"
    yaml = os.path.join(ROOT, "hparams", "sa2sr.yaml")
    run_recipe(
        [yaml, *common(tmp_path, run), "--hidden_size=8", "--num_layers=1"]
    )
    model, _ = load_trained_module(run)
    assert model.normalize is not None  # as SA2SRBrain computes its input
    saved = torch.load(run / "encoder.ckpt")  # the run's selected encoder
    assert all(
        torch.equal(value, saved[key])
        for key, value in model.encoder.state_dict().items()
    )
    tsne(run, tmp_path, tmp_path)
    # the saved encoder alone: per-utterance normalisation still applies
    model, _ = load_trained_module(run, checkpoint=str(run / "encoder.ckpt"))
    assert model.normalize is not None


@pytest.mark.parametrize(
    "yaml, key, sizes",
    [
        (
            "cpc_finetune.yaml",
            "pretrained_cpc",
            {
                "encoder_dim": 8,
                "context_dim": 8,
                "n_predictions": 2,
                "num_negatives": 4,
                "d_model": 8,
            },
        ),
    ],
)
def test_a_fine_tuned_encoder(tmp_path, capsys, yaml, key, sizes):
    make_corpus(str(tmp_path))
    yaml = os.path.join(ROOT, "hparams", yaml)
    encoder = saved_random_encoder(yaml, tmp_path / "pre.ckpt", **sizes)
    run = tmp_path / "run"
    overrides = [f"--{k}={v}" for k, v in {**sizes, key: encoder}.items()]
    run_recipe([yaml, *common(tmp_path, run), *overrides])
    tsne(run, tmp_path, tmp_path)
    capsys.readouterr()
    args = ["tsne", "--run", str(run), "--manifest", "m.json"]
    assert cli([*args, "--module", "cpc"]) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    last = error.strip().splitlines()[-1]
    assert last.startswith("speechbrain-ser tsne: error: ")
    assert "no module named 'cpc'; its modules: " in last
    assert "avd_out, ccc_loss, encoder, head" in last  # the available ones


def test_whisper_recipe(tmp_path, monkeypatch):
    make_corpus(str(tmp_path))
    whisper = make_tiny_whisper(tmp_path / "whisper", chunk_seconds=2)
    run = tmp_path / "run"
    yaml = os.path.join(
        ROOT,
        "recipes",
        "URDU",
        "emotion",
        "hparams",
        "whisper_stats_pooling.yaml",
    )
    sizes = ["--whisper_size=16", "--head_size=8", "--pad_to_30s=False"]
    sizes.append("--bootstrap_resamples=20")
    run_recipe(
        [yaml, *common(tmp_path, run), f"--whisper_source={whisper}", *sizes]
    )
    loaded = []

    def load(*args):  # the command's model, kept for a look
        loaded.append(load_trained_module(*args)[0])
        return loaded[-1], 16000

    monkeypatch.setattr(representations, "load_trained_module", load)
    tsne(run, tmp_path, tmp_path)
    # the frozen Whisper is its source's; the layer weights the run learned
    (checkpoint,) = (run / "save").glob("CKPT+*")
    head = torch.load(checkpoint / "head.ckpt")
    weights = loaded[0].layer_sum.weights
    assert torch.equal(weights, head["layer_sum.weights"])
