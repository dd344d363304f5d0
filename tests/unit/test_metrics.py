import math

import numpy as np
import pytest
import torch

from speechbrain_ser.metrics import (
    ccc_report,
    classification_report,
    concordance_correlation_coefficient,
    confusion_matrix,
    plot_confusion_matrix,
    roc_auc,
)
from speechbrain_ser.nnet.losses import CCCLoss, batch_ccc, ccc_loss


def test_ccc_hand_computed():
    # x = [1, 2, 3, 4], y = [2, 2, 3, 5]
    # means 2.5 and 3; var_x = 1.25, var_y = 1.5;
    # cov = (1.5 * 1 + 0.5 * 1 + 0 + 1.5 * 2) / 4 = 1.25
    # CCC = 2 * 1.25 / (1.25 + 1.5 + 0.25) = 2.5 / 3
    assert concordance_correlation_coefficient(
        [1, 2, 3, 4], [2, 2, 3, 5]
    ) == pytest.approx(2.5 / 3)
    # y = [4, 3, 2, 1]: cov = -1.25, var_y = 1.25, same mean
    # CCC = -2.5 / 2.5 = -1
    assert concordance_correlation_coefficient(
        [1, 2, 3, 4], [4, 3, 2, 1]
    ) == pytest.approx(-1.0)
    # a shift of 1 on [1, 2, 3]: 2 * (2/3) / (2/3 + 2/3 + 1) = 4/7
    assert concordance_correlation_coefficient(
        [1, 2, 3], [2, 3, 4]
    ) == pytest.approx(4 / 7)


def test_ccc_degenerate_inputs_are_finite():
    assert concordance_correlation_coefficient([1, 2, 3], [5, 5, 5]) == 0.0
    assert concordance_correlation_coefficient([2.0], [3.0]) == 0.0
    assert concordance_correlation_coefficient([2, 2], [2, 2]) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        concordance_correlation_coefficient([1, 2], [1, 2, 3])


def test_torch_ccc_matches_numpy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(32, 3))
    p = y + rng.normal(scale=0.7, size=(32, 3))
    expected = [
        concordance_correlation_coefficient(y[:, i], p[:, i]) for i in range(3)
    ]
    got = batch_ccc(torch.tensor(p), torch.tensor(y))
    assert got.numpy() == pytest.approx(expected, abs=1e-9)


def test_ccc_loss_batch_of_one_and_constant_have_no_nan():
    pred = torch.zeros(1, 3, requires_grad=True)
    loss = ccc_loss(pred, torch.ones(1, 3))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
    constant = torch.full((4, 3), 0.5, requires_grad=True)
    loss = ccc_loss(constant, torch.rand(4, 3))
    loss.backward()
    assert loss.item() == pytest.approx(1.0)
    assert torch.isfinite(constant.grad).all()


def test_ccc_loss_weights():
    y = torch.tensor([[1.0, 2.0, 0.0], [2.0, 0.0, 1.0], [3.0, 1.0, 5.0]])
    pred = y.clone()
    pred[:, 2] = 0.0  # dominance CCC = 0, the others 1
    assert ccc_loss(pred, y).item() == pytest.approx(1 / 3)
    assert CCCLoss(alpha=0.4, beta=0.4)(pred, y).item() == pytest.approx(0.2)
    assert CCCLoss(alpha=0.5, beta=0.5)(pred, y).item() == pytest.approx(0.0)
    with pytest.raises(ValueError):
        CCCLoss(alpha=0.8, beta=0.5)
    with pytest.raises(ValueError):
        CCCLoss(alpha=0.5)


def test_classification_report_hand_computed():
    # class 0: 3 of 4 right; class 1: 1 of 2; class 2: 0 of 1 (predicted 1)
    y_true = [0, 0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 0, 1, 1, 0, 1]
    report = classification_report(y_true, y_pred, ["a", "b", "c", "d"])
    assert report["WA"] == pytest.approx(4 / 7)
    assert report["UA"] == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    assert report["per_class_recall"] == {
        "a": pytest.approx(0.75),
        "b": pytest.approx(0.5),
        "c": 0.0,
        "d": None,
    }
    # F1: a: p=3/4 r=3/4 -> .75; b: p=1/3 r=1/2 -> .4; c: 0
    assert report["F1_macro"] == pytest.approx((0.75 + 0.4 + 0.0) / 3)
    assert report["F1_weighted"] == pytest.approx((4 * 0.75 + 2 * 0.4) / 7)


def test_confusion_matrix_and_auc(tmp_path):
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], n_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]])
    # class 1 scores: positives 0.7, 0.55; negatives 0.2, 0.4 -> AUC 1
    assert roc_auc([0, 0, 1, 1], probs) == pytest.approx(1.0)
    # swap one: positives 0.7, 0.4; negatives 0.2, 0.55 -> 3/4
    assert roc_auc([0, 1, 1, 0], probs) == pytest.approx(0.75)
    assert math.isnan(roc_auc([1, 1], probs[:2]))
    path = tmp_path / "cm.png"
    plot_confusion_matrix(matrix, ["x", "y", "z"], str(path))
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_ccc_report_keys():
    t = np.random.default_rng(1).normal(size=(10, 3))
    report = ccc_report(t, t * 0.5)
    assert set(report) == {"activation", "valence", "dominance", "mean"}
    assert report["mean"] == pytest.approx(
        np.mean([report[k] for k in ("activation", "valence", "dominance")])
    )
    with pytest.raises(ValueError):
        ccc_report(t[:, :2], t[:, :2])
