"""``layers: concat`` and the full-batch (L-BFGS) head of a frozen encoder."""

import numpy as np
import pytest
import torch

from speechbrain_ser.brains import EmotionBrain
from speechbrain_ser.brains.full_batch import (
    FullBatchTrainer,
    inner_speaker_folds,
    statistics_head,
)
from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.nnet.layer_weighting import (
    LayerWeightedHead,
    layer_input_size,
)

N_LAYERS, DIM = 3, 4


def concat_head(input_norm=False):
    return LayerWeightedHead(
        StatsPoolingMLP(
            layer_input_size(DIM, N_LAYERS, "concat"),
            n_layers=0,
            input_norm=input_norm,
        ),
        n_layers=N_LAYERS,
        layers="concat",
    )


def test_concat_is_every_layers_statistics():
    """The embedding is [mean_l, ...; std_l, ...] of every layer l, in the
    head's (mean block, std block) order, with no parameter."""
    hiddens = torch.randn(2, 7, N_LAYERS, DIM)
    head = concat_head()
    out = head(hiddens)
    assert out.shape == (2, 2 * N_LAYERS * DIM)
    assert not list(head.parameters())
    means = hiddens.mean(1).flatten(1)
    stds = hiddens.std(1, unbiased=False).flatten(1)
    torch.testing.assert_close(out, torch.cat([means, stds], -1))


def test_concat_is_padding_invariant():
    """A clip gives the same embedding alone and padded in a batch."""
    long, short = torch.randn(12, N_LAYERS, DIM), torch.randn(5, N_LAYERS, DIM)
    batch = torch.zeros(2, 12, N_LAYERS, DIM)
    batch[0], batch[1, :5] = long, short
    batch[1, 5:] = 100.0  # padding must not leak into the statistics
    head = concat_head()
    padded = head(batch, torch.tensor([1.0, 5 / 12]))
    torch.testing.assert_close(padded[0], head(long[None])[0])
    torch.testing.assert_close(padded[1], head(short[None])[0])


def test_weighted_layers_are_refused_by_full_batch():
    head = LayerWeightedHead(StatsPoolingMLP(DIM, 8), n_layers=N_LAYERS)
    with pytest.raises(ValueError, match="concat"):
        statistics_head(head)


def make_brain(n_features, n_classes, counts):
    head = StatsPoolingMLP(n_features // 2, n_layers=0, input_norm=True)
    modules = {
        "head": head,
        "emotion_out": torch.nn.Linear(head.output_size, n_classes),
    }
    return EmotionBrain(
        modules=modules,
        hparams={
            "task": "classification",
            "freeze_encoder": True,
            "classification_weight": 1.0,
            "class_weights": "balanced",
            "train_class_counts": counts,
        },
        run_opts={"device": "cpu"},
    )


@pytest.mark.parametrize("n_features", [6, 48])
def test_full_batch_head_reaches_the_logistic_regression_optimum(n_features):
    """L-BFGS on the standardised statistics lands on scikit-learn's
    multinomial LogisticRegression solution with the same L2 penalty
    (C = 1 / (weight_decay * N)) and balanced class weights, on a
    separable problem (finite only because of the penalty); with more
    features than clips (48 > 30) through the span of the clips (SVD)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [8, 12, 10])
    centres = rng.normal(size=(3, n_features)) * 4
    x = centres[labels] + rng.normal(size=(len(labels), n_features))
    brain = make_brain(n_features, 3, np.bincount(labels).tolist())
    trainer = FullBatchTrainer(brain)
    data = {
        "ids": [f"u{i}" for i in range(len(labels))],
        "x": torch.from_numpy(x),
        "labels": torch.from_numpy(labels),
        "avd": None,
        "speakers": None,
    }
    weight_decay = 0.05
    info = trainer.fit(data, np.arange(len(labels)), weight_decay)
    features = trainer.standardise(data["x"], info["mean"], info["var"])
    reference = LogisticRegression(
        C=1.0 / (weight_decay * len(labels)),
        class_weight="balanced",
        tol=1e-10,
        max_iter=10000,
    ).fit(features.numpy(), labels)
    out = brain.modules.emotion_out
    coef = out.weight.detach().double().numpy()
    assert np.linalg.norm(coef) > 0.5  # a real solution, not the zero one
    assert coef.shape == (3, n_features)
    np.testing.assert_allclose(coef, reference.coef_, atol=2e-3)
    with torch.no_grad():
        probs = torch.softmax(out(features.float()), -1).double().numpy()
    np.testing.assert_allclose(
        probs, reference.predict_proba(features.numpy()), atol=1e-3
    )
    # a stronger penalty gives a smaller solution, as it must
    trainer.fit(data, np.arange(len(labels)), 10 * weight_decay)
    assert np.abs(out.weight.detach().numpy()).max() < np.abs(coef).max()


def test_inner_folds_hold_out_whole_speakers():
    speakers = [f"s{i // 3}" for i in range(30)]
    labels = [i % 3 for i in range(30)]
    folds = inner_speaker_folds(speakers, labels, n_folds=4)
    assert len(folds) == 4
    held_out = []
    for train, valid in folds:
        train_speakers = {speakers[i] for i in train}
        valid_speakers = {speakers[i] for i in valid}
        assert not train_speakers & valid_speakers
        held_out += sorted(valid_speakers)
    assert sorted(held_out) == sorted(set(speakers))  # each once
    with pytest.raises(ValueError, match="2 training speakers"):
        inner_speaker_folds(["a"] * 4, n_folds=2)
