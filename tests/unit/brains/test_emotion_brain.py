import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from speechbrain_ser.brains import EmotionBrain


def make_brain(**hparams):
    modules = {"encoder": torch.nn.Identity(), "head": torch.nn.Identity()}
    return EmotionBrain(
        modules=modules, hparams=hparams, run_opts={"device": "cpu"}
    )


def test_balanced_class_weights_match_scikit_learn():
    # 1 utterance of class 0, 3 of class 1, 4 of class 2
    labels = np.array([0, 1, 1, 1, 2, 2, 2, 2])
    brain = make_brain(class_weights="balanced", train_class_counts=[1, 3, 4])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    assert brain.class_weights.tolist() == pytest.approx(expected.tolist())
    assert brain.class_weights.tolist() == pytest.approx([8 / 3, 8 / 9, 8 / 12])


def test_explicit_and_absent_class_weights():
    assert make_brain(class_weights=[1.0, 2.0]).class_weights.tolist() == [
        1.0,
        2.0,
    ]
    assert make_brain(class_weights=None).class_weights is None
    assert make_brain().class_weights is None
