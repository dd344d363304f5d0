"""``layer_weights_lr``: the layer-weight logits in their own parameter
group (EmotionBrain.lr_groups, brains/param_groups.py)."""

import functools

import pytest
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_ser.brains import EmotionBrain
from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.nnet.layer_weighting import (
    LayerWeightedHead,
    layer_weight_logits,
)

HEAD_LR = 1e-3
N_LAYERS = 4


class HiddenStates(torch.nn.Module):
    """(B, S) -> (B, T, L, D): layer l is the frames times (l + 1)**2, so
    the layers differ in scale and their weights get gradients."""

    def forward(self, wavs, lengths=None):
        frames = wavs.reshape(wavs.shape[0], -1, 4)
        return torch.stack(
            [frames * (layer + 1) ** 2 for layer in range(N_LAYERS)], 2
        )


def batch():
    generator = torch.Generator().manual_seed(0)
    return PaddedBatch(
        [
            {
                "id": f"u{i}",
                "sig": torch.randn(40, generator=generator) + i,
                "emotion_encoded": torch.tensor([i % 2]),
            }
            for i in range(4)
        ]
    )


def make_brain(layer_weights_lr=None, checkpoint_folder=None, layers=None):
    torch.manual_seed(0)
    head = LayerWeightedHead(
        StatsPoolingMLP(4, 8, n_layers=1),
        n_layers=N_LAYERS,
        layers=layers or "weighted",
    )
    modules = {
        "encoder": HiddenStates(),
        "head": head,
        "emotion_out": torch.nn.Linear(8, 2),
    }
    checkpointer = None
    if checkpoint_folder is not None:
        checkpointer = Checkpointer(
            checkpoint_folder,
            {"head": head, "emotion_out": modules["emotion_out"]},
        )
    brain = EmotionBrain(
        modules=modules,
        opt_class=functools.partial(
            torch.optim.AdamW, lr=HEAD_LR, weight_decay=0.01
        ),
        hparams={
            "task": "classification",
            "classification_weight": 1.0,
            "freeze_encoder": True,
            "layer_weights_lr": layer_weights_lr,
        },
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )
    brain.init_optimizers()
    return brain


def train(brain, steps):
    for _ in range(steps):
        brain.fit_batch(batch())
    return brain.modules.head.layer_sum.layer_weights()


def test_layer_weight_logits_have_their_own_group():
    brain = make_brain(layer_weights_lr=0.05)
    logits = brain.modules.head.layer_sum.weights
    assert layer_weight_logits(brain.modules) == {
        "head.layer_sum.weights": logits
    }
    rest, layer_group = brain.optimizer.param_groups
    assert len(layer_group["params"]) == 1
    assert layer_group["params"][0] is logits
    assert layer_group["lr"] == 0.05 and layer_group["weight_decay"] == 0.0
    others = {id(p) for p in brain.modules.parameters()} - {id(logits)}
    assert {id(p) for p in rest["params"]} == others
    assert rest["lr"] == HEAD_LR and rest["weight_decay"] == 0.01
    # by default: SpeechBrain's single group, logits included
    default = make_brain()
    (group,) = default.optimizer.param_groups
    params = list(default.modules.parameters())
    assert [id(p) for p in group["params"]] == [id(p) for p in params]
    assert group["lr"] == HEAD_LR
    # nothing learns layer weights: one group, the option is ignored
    assert len(make_brain(0.05, layers=-1).optimizer.param_groups) == 1


def test_layer_weights_move_more_with_their_own_lr():
    uniform = 1 / N_LAYERS
    moved = {
        lr: max(abs(w - uniform) for w in train(make_brain(lr), steps=5))
        for lr in (None, 0.05)
    }
    assert moved[0.05] > 10 * moved[None]
    assert moved[0.05] > 0.01


def test_annealing_keeps_the_ratio_and_resume_is_exact(tmp_path):
    brain = make_brain(0.05, checkpoint_folder=tmp_path)
    train(brain, steps=2)
    brain.set_learning_rate(HEAD_LR * 0.8)  # as NewBob after an epoch
    lrs = [group["lr"] for group in brain.optimizer.param_groups]
    assert lrs == pytest.approx([HEAD_LR * 0.8, 0.05 * 0.8])
    brain.checkpointer.save_checkpoint()
    resumed = make_brain(0.05, checkpoint_folder=tmp_path)
    resumed.checkpointer.recover_if_possible()
    assert [g["lr"] for g in resumed.optimizer.param_groups] == lrs
    assert train(resumed, steps=2) == train(brain, steps=2)
    resumed.set_learning_rate(HEAD_LR * 0.64)
    assert resumed.optimizer.param_groups[1]["lr"] == pytest.approx(0.032)
