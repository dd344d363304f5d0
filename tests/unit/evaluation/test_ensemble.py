"""Downsampling + ensembling: balanced subsamples, averaged posteriors."""

import numpy as np
import pytest

from speechbrain_ser.data.manifest import write_manifest
from speechbrain_ser.evaluation.bootstrap import (
    classification_intervals,
    paired_bootstrap,
    unweighted_accuracy,
)
from speechbrain_ser.evaluation.ensemble import (
    _without_overrides,
    average_posteriors,
    ensemble_results,
    member_comparisons,
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
        [a, b],
        {
            "subset_field": "improvised",
            "test_manifest": str(manifest),
            "bootstrap_resamples": 100,
        },
        str(tmp_path),
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


def _members(labels, n_models, rng, names=("neu", "sad")):
    """Models right on ~70 % of the clips, each on its own clips."""
    members = []
    for _ in range(n_models):
        right = rng.random(len(labels)) < 0.7
        wins = np.where(right, labels, 1 - labels)
        probs = np.where(np.eye(2)[wins] > 0, 0.6, 0.4)
        members.append(
            {
                "ids": [f"u{i:03d}" for i in range(len(labels))],
                "probs": probs,
                "labels": [names[y] for y in labels],
                "class_names": list(names),
            }
        )
    return members


def test_ensemble_intervals_resample_test_speakers(tmp_path):
    """Test speakers unseen in train: whole speakers are resampled, as in a
    recipe's results.json; the same ensemble with one test speaker in
    train resamples utterances. The intervals are those of
    evaluation/bootstrap on the averaged posteriors' predictions."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60)
    members = _members(labels, 3, rng)
    ids = members[0]["ids"]
    speakers = [f"s{i % 6}" for i in range(60)]
    write_manifest(
        {uid: {"speaker": s} for uid, s in zip(ids, speakers)},
        str(tmp_path / "test.json"),
    )
    write_manifest({"t": {"speaker": "train_only"}}, str(tmp_path / "a.json"))
    write_manifest({"t": {"speaker": "s0"}}, str(tmp_path / "b.json"))
    hparams = {
        "test_manifest": str(tmp_path / "test.json"),
        "bootstrap_resamples": 200,
    }
    unseen = ensemble_results(
        members,
        {**hparams, "train_manifest": str(tmp_path / "a.json")},
        str(tmp_path),
    )
    seen = ensemble_results(
        members,
        {**hparams, "train_manifest": str(tmp_path / "b.json")},
        str(tmp_path),
    )
    assert unseen["speaker_independent"] is True
    assert seen["speaker_independent"] is False
    assert unseen["intervals"]["UA"]["resampled"] == "speakers"
    assert unseen["intervals"]["UA"]["n_units"] == 6
    assert seen["intervals"]["UA"]["resampled"] == "utterances"
    predicted = np.mean([m["probs"] for m in members], 0).argmax(1)
    expected = classification_intervals(
        labels, predicted, clusters=speakers, n_resamples=200
    )
    for name in ("UA", "WA", "F1_macro"):
        assert unseen["intervals"][name] == expected[name]
        assert unseen["intervals"][name]["estimate"] == unseen[name]
        assert seen["intervals"][name] != expected[name]
    assert set(unseen["subgroups"]) == {"speaker"}
    assert (tmp_path / "reliability_diagram.png").is_file()
    paired = unseen["paired"]["best_model"]["UA"]
    assert paired["resampled"] == "speakers"
    assert paired["difference"] == pytest.approx(
        unseen["UA"] - max(m["UA"] for m in unseen["models"])
    )


def test_member_comparisons_by_hand():
    """Mean model: the mean of the models' metric, resampled with the
    ensemble on the same draws; best model: a plain paired bootstrap."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 90)
    members = np.stack(
        [
            np.where(rng.random(90) < p, labels, (labels + 1) % 3)
            for p in (0.5, 0.8)
        ],
        1,
    )
    ensemble = np.where(rng.random(90) < 0.85, labels, (labels + 2) % 3)
    r = member_comparisons(labels, ensemble, members, n_resamples=300, seed=4)
    assert r["best_model"]["model"] == 1
    assert r["best_model"]["UA"] == paired_bootstrap(
        unweighted_accuracy,
        labels,
        ensemble,
        members[:, 1],
        n_resamples=300,
        seed=4,
    )
    mean = r["mean_model"]["UA"]
    ua = [unweighted_accuracy(labels, members[:, k]) for k in range(2)]
    assert mean["b"] == pytest.approx(np.mean(ua))
    assert mean["difference"] == pytest.approx(
        unweighted_accuracy(labels, ensemble) - np.mean(ua)
    )
    # the mean model is worse than the best: a larger margin, p smaller
    assert mean["difference"] > r["best_model"]["UA"]["difference"]
    assert mean["low"] > 0 and mean["p_value"] < 0.05
