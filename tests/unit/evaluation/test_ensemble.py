"""Downsampling + ensembling: balanced subsamples, averaged posteriors."""

import numpy as np
import pytest

from speechbrain_ser.evaluation.ensemble import (
    _without_overrides,
    average_posteriors,
    ensemble_results,
)


def test_average_posteriors_by_hand():
    a = {
        "ids": ["u1", "u2"],
        "probs": np.array([[0.6, 0.4], [0.2, 0.8]]),
        "class_names": ["neu", "sad"],
    }
    b = {
        "ids": ["u2", "u1"],
        "probs": np.array([[0.6, 0.4], [0.0, 1.0]]),
        "class_names": ["sad", "neu"],
    }
    ids, probs, names = average_posteriors([a, b])
    assert ids == ["u1", "u2"] and names == ["neu", "sad"]
    np.testing.assert_allclose(probs, [[0.8, 0.2], [0.3, 0.7]])
    with pytest.raises(ValueError, match="different"):
        average_posteriors([a, {**b, "ids": ["u2", "u3"]}])


def test_ensemble_beats_its_members_when_they_err_apart(tmp_path):
    """Two models, each wrong on a different utterance with low
    confidence: the average is right on all three."""
    names = ["neu", "sad"]
    labels = ["neu", "sad", "sad"]
    a = {
        "ids": ["u1", "u2", "u3"],
        "labels": labels,
        "class_names": names,
        "probs": np.array([[0.9, 0.1], [0.55, 0.45], [0.1, 0.9]]),
    }
    b = {
        "ids": ["u1", "u2", "u3"],
        "labels": labels,
        "class_names": names,
        "probs": np.array([[0.9, 0.1], [0.1, 0.9], [0.55, 0.45]]),
    }
    manifest = tmp_path / "test.json"
    manifest.write_text(
        '{"u1": {"improvised": true}, "u2": {}, "u3": {"improvised": false}}'
    )
    results = ensemble_results(
        [a, b], {"subset_field": "improvised", "test_manifest": str(manifest)}
    )
    assert results["WA"] == 1.0 and results["UA"] == 1.0
    assert [m["WA"] for m in results["models"]] == pytest.approx([2 / 3] * 2)
    assert results["by_improvised"] == {
        "False": {"UA": 1.0, "WA": 1.0, "n": 1},
        "True": {"UA": 1.0, "WA": 1.0, "n": 1},
    }


def test_overrides_set_by_the_ensemble_are_dropped():
    argv = [
        "a.yaml",
        "--seed=3",
        "--lr",
        "0.1",
        "--output_folder",
        "x",
        "--streams=fusion",
    ]
    kept = _without_overrides(argv, ("seed", "output_folder"))
    assert kept == ["a.yaml", "--lr", "0.1", "--streams=fusion"]
