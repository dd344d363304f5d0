"""ECE, Brier, risk-coverage, interval coverage and subgroups
(speechbrain_ser.evaluation.calibration, .subgroups)."""

import numpy as np
import pytest

from speechbrain_ser.evaluation.calibration import (
    brier_score,
    expected_calibration_error,
    interval_report,
    risk_coverage,
)
from speechbrain_ser.evaluation.subgroups import subgroup_report


def test_ece_hand_computed():
    # top confidences 0.95 (x2, one right), 0.55 (right), 0.75 (wrong)
    p = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.25, 0.75]])
    y = np.array([0, 1, 0, 0])
    # 15 equal-width bins: 0.95 -> bin 14, 0.55 -> bin 8, 0.75 -> bin 11
    # ECE = 2/4 |0.5 - 0.95| + 1/4 |1 - 0.55| + 1/4 |0 - 0.75|
    assert expected_calibration_error(p, y) == pytest.approx(
        0.5 * 0.45 + 0.25 * 0.45 + 0.25 * 0.75
    )
    # adaptive with 2 bins: {0.55, 0.75} and {0.95, 0.95}
    assert expected_calibration_error(
        p, y, n_bins=2, adaptive=True
    ) == pytest.approx(0.5 * abs(0.5 - 0.65) + 0.5 * abs(0.5 - 0.95))


def test_ece_zero_when_confidence_equals_accuracy():
    p = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(p, [0, 0, 0, 1]) == pytest.approx(0)


def test_brier_hand_computed():
    p = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    expected = ((0.3**2 + 0.2**2 + 0.1**2) + (0.1**2 + 0.9**2 + 0.8**2)) / 2
    assert brier_score(p, [0, 1]) == pytest.approx(expected)


def test_risk_coverage_keeps_the_confident_answers():
    # confident answers right, unconfident wrong: accuracy rises as the
    # coverage falls
    conf = np.linspace(0.99, 0.51, 10)
    p = np.stack([conf, 1 - conf], 1)
    y = np.array([0] * 5 + [1] * 5)
    r = risk_coverage(p, y, coverages=(1.0, 0.5))
    assert r["accuracy_at"] == {"1.0": 0.5, "0.5": 1.0}
    # risk 0 for the first 5, then 1/6, 2/7, 3/8, 4/9, 5/10
    assert r["AURC"] == pytest.approx(
        np.mean([0] * 5 + [1 / 6, 2 / 7, 3 / 8, 4 / 9, 5 / 10])
    )


def test_interval_report_coverage_and_width():
    t = np.array([[0.0], [0.4], [-0.9]])
    r = interval_report(t, np.zeros((3, 1)), [0.5], ["valence"], (1, 5))
    assert r["valence"]["coverage"] == pytest.approx(2 / 3)
    assert r["valence"]["mean_width"] == pytest.approx(2.0)  # 1.0 x (4 / 2)


def test_subgroups_worst_and_spread():
    speakers = ["a"] * 6 + ["b"] * 6 + ["c"] * 2
    y = np.array([0, 1] * 7)
    pred = y.copy()
    pred[6:9] = 1 - y[6:9]  # speaker b: 3 of 6 wrong
    pred[12:] = 1 - y[12:]  # speaker c: all wrong but only 2 clips
    r = subgroup_report(speakers, labels=y, predicted=pred, min_n=5)
    assert r["groups"]["c"]["UA"] == 0.0 and r["groups"]["c"]["n"] == 2
    assert r["worst"] == {"group": "b", "UA": 0.5}  # c too small to rank
    assert r["best"]["group"] == "a"
    assert r["spread"] == pytest.approx(0.5)


def test_subgroups_regression():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(20, 3))
    groups = ["x"] * 10 + ["y"] * 10
    pred = t.copy()
    pred[10:] = rng.normal(size=(10, 3))  # group y: noise
    r = subgroup_report(groups, avd_targets=t, avd=pred)
    assert r["metric"] == "CCC_mean" and r["worst"]["group"] == "y"
    assert r["groups"]["x"]["CCC_mean"] == pytest.approx(1.0)
