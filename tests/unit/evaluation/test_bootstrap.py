"""Bootstrap intervals and paired tests (speechbrain_ser.evaluation.bootstrap)."""

import numpy as np

from speechbrain_ser.evaluation.bootstrap import (
    bootstrap_interval,
    ccc_intervals,
    classification_intervals,
    paired_bootstrap,
    resample_indices,
)
from speechbrain_ser.metrics import ccc_report, classification_report


def accuracy(t, p):
    return float(np.mean(t == p))


def test_cluster_resampling_keeps_speakers_whole():
    speakers = np.repeat(["s0", "s1", "s2"], [2, 3, 5])
    for index in resample_indices(10, speakers, n_resamples=50, seed=3):
        drawn = speakers[index]
        for s in set(drawn.tolist()):
            # every drawn speaker brings all its utterances (k times)
            count = np.sum(drawn == s)
            assert count % np.sum(speakers == s) == 0


def test_cluster_interval_wider_when_speakers_differ():
    # 10 speakers x 20 clips: half the speakers are always right, half
    # always wrong. Utterance resampling sees 200 independent clips and a
    # narrow interval; speaker resampling sees 10 and a wide one.
    speakers = np.repeat(np.arange(10), 20)
    y = np.zeros(200, dtype=int)
    p = np.where(speakers < 5, 0, 1)
    by_utt = bootstrap_interval(accuracy, [y, p], n_resamples=500)
    by_spk = bootstrap_interval(
        accuracy, [y, p], clusters=speakers, n_resamples=500
    )
    assert by_utt["estimate"] == by_spk["estimate"] == 0.5
    assert by_spk["resampled"] == "speakers" and by_spk["n_units"] == 10
    width_utt = by_utt["high"] - by_utt["low"]
    width_spk = by_spk["high"] - by_spk["low"]
    assert width_spk > 2 * width_utt


def test_fast_metrics_match_classification_report():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 60)
    p = rng.integers(0, 4, 60)
    ref = classification_report(y, p, ["a", "b", "c", "d"])
    r = classification_intervals(y, p, n_resamples=20)
    for key in ("UA", "WA", "F1_macro"):
        assert abs(r[key]["estimate"] - ref[key]) < 1e-12


def test_ccc_intervals_estimates_match_report():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(40, 3))
    p = t + rng.normal(size=(40, 3))
    ref = ccc_report(t, p)
    r = ccc_intervals(t, p, n_resamples=50)
    for key in ("activation", "valence", "dominance", "mean"):
        assert abs(r[key]["estimate"] - ref[key]) < 1e-12
        assert r[key]["low"] <= r[key]["high"]


def test_interval_covers_true_accuracy_most_of_the_time():
    rng = np.random.default_rng(2)
    hits = 0
    for trial in range(40):
        y = np.zeros(100, dtype=int)
        p = (rng.random(100) > 0.7).astype(int)  # true accuracy 0.7
        r = bootstrap_interval(accuracy, [y, p], n_resamples=200, seed=trial)
        hits += r["low"] <= 0.7 <= r["high"]
    assert hits >= 34  # nominal 38 of 40


def test_paired_bootstrap_identical_systems_p_one():
    y = np.array([0, 1, 0, 1, 1, 0])
    p = np.array([0, 1, 1, 1, 0, 0])
    r = paired_bootstrap(accuracy, y, p, p, n_resamples=100)
    assert r["difference"] == 0.0 and r["p_value"] == 1.0


def test_paired_bootstrap_is_tighter_than_unpaired():
    # b = a with 5 extra errors: the paired difference is clearly above 0
    # although each accuracy's own interval overlaps the other's
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 100)
    a = np.where(rng.random(100) < 0.75, y, 1 - y)
    b = a.copy()
    flip = np.flatnonzero(a == y)[:5]
    b[flip] = 1 - y[flip]
    r = paired_bootstrap(accuracy, y, a, b, n_resamples=1000)
    ia = bootstrap_interval(accuracy, [y, a], n_resamples=1000)
    ib = bootstrap_interval(accuracy, [y, b], n_resamples=1000)
    assert abs(r["difference"] - 0.05) < 1e-12
    assert ib["high"] > ia["low"]  # the separate intervals overlap
    assert r["low"] > 0 and r["p_value"] < 0.05
