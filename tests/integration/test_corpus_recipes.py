"""Every corpus recipe YAML runs one epoch on its fake corpus, with a tiny
random Whisper in place of a real one."""

import json
import os

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from speechbrain_ser.run import run_recipe
from speechbrain_ser.tiny_models import make_tiny_whisper
from tests import fakes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    return make_tiny_whisper(
        tmp_path_factory.mktemp("whisper"), chunk_seconds=30
    )


RECIPES = {
    # recipe: (builder, overrides, number of test utterances)
    "IEMOCAP": (
        lambda r, t: fakes.make_iemocap(r, t, sessions=(1, 2, 3)) or r,
        {"test_session": 1},
        5,
    ),
    "EmoDB": (
        lambda r, t: fakes.make_emodb(r, t) or r,
        {"split_protocol": "loso", "test_speaker": 10, "valid_speaker": 3},
        7,
    ),
    "RAVDESS": (fakes.make_ravdess, {}, 8),
    "MSP-Podcast": (fakes.make_msp_podcast_four_classes, {}, 4),
    "URDU": (fakes.make_urdu, {"fold": 1}, 8),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_corpus_recipe_runs(recipe, tmp_path, tone, tiny_whisper):
    build, overrides, n_test = RECIPES[recipe]
    corpus = build(tmp_path / "corpus", tone)
    overrides = {
        "data_folder": str(corpus),
        "whisper_source": tiny_whisper,
        "output_folder": str(tmp_path / "out"),
        "number_of_epochs": 1,
        "batch_size": 4,
        "whisper_size": 16,
        "head_size": 8,
        **overrides,
    }
    yaml = os.path.join(
        ROOT,
        "recipes",
        recipe,
        "emotion",
        "hparams",
        "whisper_stats_pooling.yaml",
    )
    run_recipe([yaml] + [f"--{k}={v}" for k, v in overrides.items()])
    results = json.load(open(tmp_path / "out" / "results.json"))
    predictions = json.load(open(tmp_path / "out" / "predictions.json"))
    assert results["n_test"] == n_test == len(predictions)
    # The metrics equal references computed another way from the written
    # per-utterance predictions: scikit-learn's balanced accuracy, and the
    # CCC formula by hand.
    targets = [p["target"] for p in predictions.values()]
    predicted = [p["emotion"] for p in predictions.values()]
    assert results["UA"] == pytest.approx(
        balanced_accuracy_score(targets, predicted)
    )
    if recipe == "MSP-Podcast":
        avd = np.array([p["avd"] for p in predictions.values()])
        avd_targets = np.array([p["avd_target"] for p in predictions.values()])
        for d, name in enumerate(("activation", "valence", "dominance")):
            x, y = avd[:, d], avd_targets[:, d]
            ccc = 2 * np.mean((x - x.mean()) * (y - y.mean()))
            ccc /= x.var() + y.var() + (x.mean() - y.mean()) ** 2
            assert results["CCC"][name] == pytest.approx(ccc, abs=1e-6)
    assert (tmp_path / "out" / "inference" / "hyperparams.yaml").exists()
