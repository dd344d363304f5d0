"""The downstream recipe end to end on a tiny generated demo corpus."""

import json
import os
import subprocess
import sys

import pytest
import torch

from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.plotting import read_train_log
from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """40 utterances: 4 per voice, one per emotion."""
    from speechbrain_ser.demo.prepare import prepare_demo

    folder = tmp_path_factory.mktemp("demo")
    prepare_demo(str(folder), str(folder / "manifests"), n_utterances=40)
    return folder


def tiny_args(yaml, corpus, output, **extra):
    overrides = {
        "data_folder": str(corpus),
        "output_folder": str(output),
        "n_utterances": 40,
        "number_of_epochs": 2,
        "batch_size": 8,
        "emb_channels": 16,
    }
    overrides.update(extra)
    return [os.path.join(ROOT, "hparams", yaml)] + [
        f"--{key}={value}" for key, value in overrides.items()
    ]


def train_log_epochs(output):
    rows = read_train_log(os.path.join(output, "train_log.txt"))
    return [int(row["epoch"]) for row in rows]


@pytest.mark.parametrize(
    "yaml, keys",
    [
        ("demo.yaml", {"UA", "WA", "F1_macro", "per_class_recall", "CCC"}),
        (
            "demo_stats_pooling.yaml",
            {"UA", "WA", "F1_macro", "per_class_recall"},
        ),
        ("demo_avd_regressor.yaml", {"CCC"}),
    ],
)
def test_recipe_writes_results_and_exports(corpus, tmp_path, yaml, keys):
    run_recipe(tiny_args(yaml, corpus, tmp_path))
    results = json.load(open(tmp_path / "results.json"))
    assert keys <= set(results)
    assert results["n_test"] == 8  # 2 held-out voices x 4 utterances
    assert "speaker-independent" in results["protocol"]
    if "UA" in keys:
        assert (tmp_path / "confusion_matrix.png").read_bytes()[
            :4
        ] == b"\x89PNG"
        assert sum(map(sum, results["confusion_matrix"])) == 8
        assert set(results["per_class_recall"]) == {
            "neutral",
            "happy",
            "angry",
            "sad",
        }
    else:
        assert not (tmp_path / "confusion_matrix.png").exists()
    if "CCC" in keys:
        assert set(results["CCC"]) == {
            "activation",
            "valence",
            "dominance",
            "mean",
        }
        assert all(-1 <= v <= 1 for v in results["CCC"].values())
    recognizer = EmotionRecognizer.from_hparams(
        source=str(tmp_path / "inference"), savedir=str(tmp_path / "linked")
    )
    wav = str(corpus / "wavs" / sorted(os.listdir(corpus / "wavs"))[0])
    prediction = recognizer.classify_file(wav)
    if "UA" in keys:
        assert sum(prediction["probabilities"].values()) == pytest.approx(
            1.0, abs=1e-5
        )
    if "CCC" in keys:
        assert 0 < prediction["valence"] < 6


def test_resume_after_interruption(corpus, tmp_path):
    """A run stopped after epoch 1 continues at epoch 2 from its checkpoint
    instead of starting again."""
    run_recipe(tiny_args("demo.yaml", corpus, tmp_path, number_of_epochs=1))
    assert train_log_epochs(tmp_path) == [1]
    first = torch.load(next((tmp_path / "save").glob("CKPT*/encoder.ckpt")))
    run_recipe(tiny_args("demo.yaml", corpus, tmp_path, number_of_epochs=3))
    assert train_log_epochs(tmp_path) == [1, 2, 3]
    latest = torch.load(
        sorted((tmp_path / "save").glob("CKPT*/encoder.ckpt"))[-1]
    )
    assert any(not torch.equal(first[k], latest[k]) for k in first)


def test_frozen_encoder_is_not_trained(corpus, tmp_path):
    """Same seed, same initial weights: after training with a frozen
    encoder, the encoder equals an untrained one and the head does not."""
    trained = run_recipe(
        tiny_args(
            "demo.yaml", corpus, tmp_path / "trained", freeze_encoder=True
        )
    )
    untrained = run_recipe(
        tiny_args(
            "demo.yaml",
            corpus,
            tmp_path / "untrained",
            freeze_encoder=True,
            number_of_epochs=0,
        )
    )
    for name in ("encoder", "head"):
        before = untrained.modules[name].state_dict()
        after = trained.modules[name].state_dict()
        changed = any(not torch.equal(before[k], after[k]) for k in before)
        assert changed == (name == "head")


def test_unknown_test_label_is_reported(corpus, tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for split in ("train", "valid", "test"):
        entries = json.load(open(corpus / "manifests" / f"{split}.json"))
        if split == "test":
            next(iter(entries.values()))["emotion"] = "bored"
        json.dump(entries, open(manifests / f"{split}.json", "w"))
    args = tiny_args(
        "demo.yaml", corpus, tmp_path / "out", manifest_folder=str(manifests)
    )
    args.append("--prepare=null")
    with pytest.raises(
        ValueError, match="test.json.*unknown emotion label 'bored'"
    ):
        run_recipe(args)


def test_cli_predict(corpus, tmp_path):
    run_recipe(tiny_args("demo.yaml", corpus, tmp_path, number_of_epochs=1))
    wav = str(corpus / "wavs" / sorted(os.listdir(corpus / "wavs"))[0])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "speechbrain_ser.cli",
            "predict",
            "--model",
            str(tmp_path / "inference"),
            "--savedir",
            str(tmp_path / "linked"),
            wav,
            str(empty),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    lines = {
        row["file"]: row
        for row in map(json.loads, completed.stdout.splitlines())
    }
    assert completed.returncode == 1  # one file failed
    assert lines[wav]["emotion"] in {"neutral", "happy", "angry", "sad"}
    assert "empty.wav: not readable as audio" in lines[str(empty)]["error"]


def test_frozen_encoder_cache_gives_the_same_results(corpus, tmp_path):
    runs = {}
    for cache in (False, True):
        out = tmp_path / str(cache)
        brain = run_recipe(
            tiny_args(
                "demo.yaml",
                corpus,
                out,
                freeze_encoder=True,
                cache_frozen_encoder=cache,
            )
        )
        runs[cache] = json.load(open(out / "results.json"))
        if cache:
            assert len(brain.encoder_cache) == 40  # every utterance, once
    assert runs[True]["UA"] == runs[False]["UA"]
    for key in ("activation", "valence", "dominance"):
        # equal up to float drift from other padded batch shapes
        assert runs[True]["CCC"][key] == pytest.approx(
            runs[False]["CCC"][key], abs=1e-3
        )
