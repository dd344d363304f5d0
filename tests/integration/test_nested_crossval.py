"""Nested cross-validation (``crossval --nested K``) of the Urdu Whisper
recipe's full-batch linear head on every layer (``layers: concat``), on a
fake corpus and a tiny random Whisper."""

import json
import os

import pytest

from speechbrain_ser.evaluation import crossval
from speechbrain_ser.evaluation.crossval import main
from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
YAML = os.path.join(
    ROOT, "recipes", "URDU", "emotion", "hparams", "whisper_stats_pooling.yaml"
)
EMOTIONS = ("Angry", "Happy", "Neutral", "Sad")


def make_urdu(corpus, tone, speakers):
    for speaker in range(1, speakers + 1):
        for emotion in EMOTIONS:
            name = f"SM{speaker}_F01_{emotion[0]}{speaker:02d}.flac"
            tone(corpus / emotion / name, sample_rate=44100)
    return corpus


@pytest.fixture
def in_process(monkeypatch):
    """Each fold trains in this process (fast)."""
    monkeypatch.setattr(
        crossval,
        "run_training",
        lambda hparams, overrides: run_recipe([hparams, *overrides]),
    )


def speakers_of(ids):
    return {uid.split("/")[1].split("_")[0] for uid in ids}


def test_nested_crossval_never_lets_a_test_speaker_into_inner_folds(
    tmp_path, tone, in_process
):
    from speechbrain_ser.tiny_models import make_tiny_whisper

    whisper = make_tiny_whisper(
        tmp_path / "whisper", chunk_seconds=30, encoder_layers=2
    )
    corpus = make_urdu(tmp_path / "urdu", tone, speakers=6)
    out = tmp_path / "cv"
    report = main(
        [
            YAML,
            "--n_folds=3",
            "--nested=2",
            "--pad_to_30s=False",
            f"--data_folder={corpus}",
            f"--whisper_source={whisper}",
            f"--output_folder={out}",
            "--layers=concat",
            "--head_layers=0",
            "--head_input_dropout=0.0",
            "--training=full_batch",
            "--label_smoothing=0.0",
            "--full_batch_weight_decay=[0.01, 1.0]",
            "--batch_size=8",
            "--whisper_size=16",
        ]
    )
    assert report["systems"]["model"]["pooled"]["n"] == 24  # each clip once
    for fold in range(3):
        folder = out / f"fold_{fold}"
        manifests = {
            split: json.load(open(folder / "manifests" / f"{split}.json"))
            for split in ("train", "valid", "test")
        }
        test_speakers = speakers_of(manifests["test"])
        chosen = json.load(open(folder / "full_batch.json"))
        assert chosen["method"].startswith("inner_cv")
        assert len(chosen["inner_folds"]) == 2
        assert chosen["weight_decay"] in (0.01, 1.0)
        inner_ids = set()
        for inner in chosen["inner_folds"]:
            inner_ids |= set(inner["train"]) | set(inner["valid"])
            assert not speakers_of(inner["train"]) & speakers_of(inner["valid"])
        assert not speakers_of(inner_ids) & test_speakers
        # inner CV covers the outer train + valid clips, nothing else
        assert inner_ids == set(manifests["train"]) | set(manifests["valid"])
        results = json.load(open(folder / "results.json"))
        assert results["n_test"] == len(manifests["test"])


def test_nested_needs_a_full_batch_head(tmp_path):
    with pytest.raises(ValueError, match="training=full_batch"):
        main(
            [
                YAML,
                "--nested=3",
                "--data_folder=unused",
                "--whisper_source=unused",
                f"--output_folder={tmp_path}",
            ]
        )
