"""The tested checkpoint is the one best on validation; early stopping."""

import json

import pytest
import speechbrain as sb
import torch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter, EpochCounterWithStopper
from speechbrain.utils.train_logger import FileTrainLogger

from speechbrain_ser.brains import EmotionBrain
from speechbrain_ser.nnet.heads import StatsPoolingMLP


class ScriptedBrain(EmotionBrain):
    """Validation scores come from a script; the parameters of every
    epoch are recorded, so the tested model can be identified."""

    def __init__(self, scores, **kwargs):
        super().__init__(**kwargs)
        self.scores = list(scores)
        self.weights_per_epoch = {}

    def on_stage_start(self, stage, epoch=None):
        super().on_stage_start(stage, epoch)
        self.current_stage = stage

    def compute_metrics(self):
        metrics = super().compute_metrics()
        if self.current_stage == sb.Stage.VALID:
            metrics["score"] = self.scores.pop(0)
        return metrics

    def on_stage_end(self, stage, stage_loss, epoch=None):
        super().on_stage_end(stage, stage_loss, epoch)
        if stage == sb.Stage.VALID:
            self.weights_per_epoch[epoch] = (
                self.modules.emotion_out.weight.detach().clone()
            )


def dataset(n=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    data = {
        f"u{i}": {
            "sig": torch.randn(1600, generator=generator),
            "emotion_encoded": torch.tensor([i % 2]),
        }
        for i in range(n)
    }
    return DynamicItemDataset(
        data, output_keys=["id", "sig", "emotion_encoded"]
    )


def make_brain(tmp_path, scores, epoch_counter):
    head = StatsPoolingMLP(input_size=4, hidden_size=8, n_layers=1)
    modules = {
        "encoder": torch.nn.Linear(1, 4),
        "head": head,
        "emotion_out": torch.nn.Linear(8, 2),
    }
    label_encoder = CategoricalEncoder()
    label_encoder.update_from_iterable(["a", "b"])
    hparams = {
        "task": "classification",
        "classification_weight": 1.0,
        "freeze_encoder": False,
        "epoch_counter": epoch_counter,
        "train_logger": FileTrainLogger(str(tmp_path / "train_log.txt")),
        "output_folder": str(tmp_path),
        "label_encoder": label_encoder,
        "label_smoothing": 0.1,
    }
    checkpointer = Checkpointer(
        str(tmp_path / "save"),
        recoverables={
            "head": head,
            "emotion_out": modules["emotion_out"],
            "counter": epoch_counter,
        },
    )

    class Frames(torch.nn.Module):  # (B, samples) -> (B, samples/400, 4)
        def __init__(self, linear):
            super().__init__()
            self.linear = linear

        def forward(self, wavs, lengths=None):
            return self.linear(wavs.view(wavs.shape[0], -1, 400)[..., :1])

    modules["encoder"] = Frames(modules["encoder"])
    return ScriptedBrain(
        scores,
        modules=modules,
        opt_class=lambda params: torch.optim.SGD(params, lr=0.5),
        hparams=hparams,
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )


def fit_and_test(brain, epoch_counter):
    loader = {"batch_size": 4}
    brain.fit(epoch_counter, dataset(), dataset(seed=1), loader, loader)
    brain.evaluate(dataset(seed=2), test_loader_kwargs=loader, max_key="score")


def test_best_on_valid_checkpoint_is_tested(tmp_path):
    """Epoch 2 is best on valid, epoch 3 is the last: epoch 2 is tested."""
    counter = EpochCounter(limit=3)
    brain = make_brain(tmp_path, [0.2, 0.9, 0.4], counter)
    fit_and_test(brain, counter)
    weights = brain.weights_per_epoch
    assert not torch.equal(weights[2], weights[3])  # training moved on
    assert torch.equal(brain.modules.emotion_out.weight, weights[2])
    results = json.load(open(tmp_path / "results.json"))
    assert results["selected_epoch"] == 2
    log = (tmp_path / "train_log.txt").read_text().splitlines()
    assert log[-1].startswith("epoch loaded: 2 - test")


def test_early_stopping_after_patience(tmp_path):
    """Best at epoch 2, patience 2: epochs 3 and 4 run, then it stops."""
    counter = EpochCounterWithStopper(
        limit=10, limit_to_stop=2, limit_warmup=0, direction="max"
    )
    brain = make_brain(tmp_path, [0.2, 0.9, 0.4, 0.3, 0.95, 0.99], counter)
    fit_and_test(brain, counter)
    assert sorted(brain.weights_per_epoch) == [1, 2, 3, 4]
    assert json.load(open(tmp_path / "results.json"))["selected_epoch"] == 2


def test_unknown_selection_metric_is_named(tmp_path):
    counter = EpochCounter(limit=1)
    brain = make_brain(tmp_path, [0.5], counter)
    brain.hparams.selection_metric = "CCC_mean"
    with pytest.raises(ValueError, match="selection_metric 'CCC_mean'"):
        fit_and_test(brain, counter)
