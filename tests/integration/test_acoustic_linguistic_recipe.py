"""Bhosale et al. 2020 YAMLs end to end on a tiny corpus of tones:
acoustic / linguistic / fusion, the on-disk stream cache, per-subset
UA/WA, downsampling + ensembling, and the IEMOCAP recipe with a tiny
random Whisper as its ASR encoder."""

import json
import os

import pytest

from speechbrain_ser.data.manifest import read_manifest, write_manifest
from speechbrain_ser.evaluation.ensemble import run_ensemble
from speechbrain_ser.run import run_recipe
from speechbrain_ser.tiny_models import make_tiny_whisper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
EMOTIONS = ("neutral", "happy", "angry", "sad")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, tone_writer=None):
    """Imbalanced train (6 neutral, 2 of each other class), 4 valid,
    8 test utterances; half of them 'improvised'."""
    from tests.conftest import write_tone

    folder = tmp_path_factory.mktemp("tones")
    sizes = {
        "train": {"neutral": 6, "happy": 2, "angry": 2, "sad": 2},
        "valid": dict.fromkeys(EMOTIONS, 1),
        "test": dict.fromkeys(EMOTIONS, 2),
    }
    for split, counts in sizes.items():
        entries = {}
        for c, emotion in enumerate(EMOTIONS):
            for i in range(counts[emotion]):
                uid = f"{split}_{emotion}_{i}"
                write_tone(
                    folder / "wav" / f"{uid}.wav",
                    seconds=0.4 + 0.1 * i,
                    freq=150.0 + 120 * c,
                )
                entries[uid] = {
                    "wav": f"{{data_root}}/wav/{uid}.wav",
                    "duration": 0.4 + 0.1 * i,
                    "speaker": f"{split}{i}",
                    "emotion": emotion,
                    "improvised": i % 2 == 0,
                }
        write_manifest(entries, str(folder / "manifests" / f"{split}.json"))
    return folder


def tiny_args(yaml, corpus, output, **extra):
    overrides = {
        "data_folder": str(corpus),
        "train_manifest": str(corpus / "manifests" / "train.json"),
        "valid_manifest": str(corpus / "manifests" / "valid.json"),
        "test_manifest": str(corpus / "manifests" / "test.json"),
        "output_folder": str(output),
        "prepare": "null",
        "number_of_epochs": 1,
        "batch_size": 8,
        "n_mels": 32,
        "channels": 8,
        "dense_size": 8,
        "subset_field": "improvised",
    }
    overrides.update(extra)
    return [yaml] + [f"--{key}={value}" for key, value in overrides.items()]


ROOT_YAML = os.path.join(ROOT, "hparams", "acoustic_linguistic.yaml")
TINY_ASR = {"pretrainer": "null", "asr_hidden_size": 4, "asr_num_layers": 1}


@pytest.mark.parametrize("streams", ["acoustic", "linguistic", "fusion"])
def test_acoustic_linguistic_yaml_streams(corpus, tmp_path, streams):
    cache = tmp_path / "cache"
    args = tiny_args(
        ROOT_YAML,
        corpus,
        tmp_path / "run",
        streams=streams,
        encoder_cache_folder=cache,
        **TINY_ASR,
    )
    run_recipe(args)
    results = json.load(open(tmp_path / "run" / "results.json"))
    assert results["n_test"] == 8
    assert {"UA", "WA"} <= set(results)
    by = results["by_improvised"]
    assert set(by) == {"True", "False"}
    assert by["True"]["n"] + by["False"]["n"] == 8
    cached = sorted(n for n in os.listdir(cache) if n.endswith(".pt"))
    assert (
        len(cached) == 12 + 4 + 8
    )  # every train, valid and test utterance once
    if streams == "fusion":  # a second run reads the streams back
        stamps = {name: os.path.getmtime(cache / name) for name in cached}
        run_recipe(
            tiny_args(
                ROOT_YAML,
                corpus,
                tmp_path / "again",
                streams=streams,
                encoder_cache_folder=cache,
                **TINY_ASR,
            )
        )
        assert stamps == {n: os.path.getmtime(cache / n) for n in cached}


def test_downsampling_ensemble(corpus, tmp_path):
    args = tiny_args(
        ROOT_YAML, corpus, tmp_path, streams="acoustic", pretrainer="null"
    )
    results = run_ensemble(args[:1] + ["--n_models", "2"] + args[1:])
    folder = tmp_path / "ensemble"
    assert results == json.load(open(folder / "results.json"))
    assert results["n_models"] == 2 and len(results["models"]) == 2
    assert results["n_test"] == 8
    members = [
        read_manifest(str(folder / f"model_{k}" / "train.json"))
        for k in range(2)
    ]
    for train in members:  # every class cut down to the smallest (2)
        counts = [e["emotion"] for e in train.values()]
        assert sorted(counts.count(e) for e in EMOTIONS) == [2, 2, 2, 2]
    assert set(results["by_improvised"]) == {"True", "False"}
    for k in range(2):
        own = json.load(open(folder / f"model_{k}" / "results.json"))
        assert results["models"][k]["UA"] == pytest.approx(own["UA"])
    # error bars as in a recipe's results.json, and the paired comparison
    for name in ("UA", "WA", "F1_macro"):
        interval = results["intervals"][name]
        assert interval["low"] <= results[name] <= interval["high"]
    assert results["intervals"]["resampled"] == (
        "speakers" if results["speaker_independent"] else "utterances"
    )
    best = results["paired"]["best_model"]
    assert best["UA"]["difference"] == pytest.approx(
        results["UA"] - results["models"][best["model"]]["UA"]
    )


def test_iemocap_recipe_with_whisper_layer(corpus, tmp_path):
    whisper = make_tiny_whisper(
        tmp_path / "whisper", chunk_seconds=30, d_model=8
    )
    yaml = os.path.join(
        ROOT,
        "recipes",
        "IEMOCAP",
        "acoustic_linguistic",
        "hparams",
        "acoustic_linguistic.yaml",
    )
    run_recipe(
        tiny_args(
            yaml,
            corpus,
            tmp_path / "run",
            streams="fusion",
            asr_source=whisper,
            linguistic_size=8,
            encoder_cache_folder=tmp_path / "cache",
        )
    )
    results = json.load(open(tmp_path / "run" / "results.json"))
    assert results["n_test"] == 8
    assert "IEMOCAP" in results["protocol"]
    assert set(results["by_improvised"]) == {"True", "False"}
