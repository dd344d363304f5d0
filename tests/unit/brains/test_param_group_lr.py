"""One per-group learning-rate mechanism: ``lr_annealing`` scales every
parameter group by the same factor, so the groups keep their ratios
(SpeechTextBrain's ``encoder_lr`` / ``text_encoder_lr``, EmotionBrain's
``layer_weights_lr``), through training and through resume."""

import functools

import pytest
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.lobes.features import Fbank
from speechbrain.nnet.schedulers import NewBobScheduler
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter
from speechbrain.utils.train_logger import FileTrainLogger

from speechbrain_ser.brains import SpeechTextBrain
from speechbrain_ser.nnet.encoders import ConvEncoder
from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.text.encoders import HFTextEncoder
from speechbrain_ser.tiny_models import save_tiny_bert

LR, ENCODER_LR, TEXT_ENCODER_LR = 1e-3, 5e-4, 2e-5
SENTENCES = ["i am happy", "the dog is sad", "you are angry", "good day"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return save_tiny_bert(tmp_path_factory.mktemp("bert"))


def make_brain(bert, folder, epochs):
    """A SpeechTextBrain on tiny models that anneals after every epoch
    (NewBob with an improvement threshold no loss can reach)."""
    torch.manual_seed(0)
    text_encoder = HFTextEncoder(bert, freeze=False)
    modules = {
        "encoder": ConvEncoder(input_size=20, channels=8, n_layers=1),
        "head": StatsPoolingMLP(8, 8, n_layers=1),
        "emotion_out": torch.nn.Linear(8, 2),
        "text_encoder": text_encoder,
        "text_head": StatsPoolingMLP(16, 8, n_layers=1),
        "text_emotion_out": torch.nn.Linear(8, 2),
    }
    label_encoder = CategoricalEncoder()
    label_encoder.update_from_iterable(["happy", "sad"])
    counter = EpochCounter(epochs)
    annealing = NewBobScheduler(
        initial_value=LR, annealing_factor=0.5, improvement_threshold=2.0
    )
    checkpointer = Checkpointer(
        str(folder / "save"),
        {**modules, "counter": counter, "lr_annealing": annealing},
    )
    return SpeechTextBrain(
        modules,
        functools.partial(torch.optim.Adam, lr=LR),
        hparams={
            "task": "classification",
            "modalities": "both",
            "fusion": "late",
            "freeze_encoder": False,
            "compute_features": Fbank(n_mels=20),
            "classification_weight": 1.0,
            "encoder_lr": ENCODER_LR,
            "text_encoder_lr": TEXT_ENCODER_LR,
            "lr_annealing": annealing,
            "epoch_counter": counter,
            "label_encoder": label_encoder,
            "output_folder": str(folder),
            "train_logger": FileTrainLogger(str(folder / "train_log.txt")),
        },
        run_opts={"device": "cpu"},
        checkpointer=checkpointer,
    )


def data(bert):
    tokenizer = HFTextEncoder(bert, freeze=True).tokenizer
    return [
        {
            "id": f"u{i}",
            "sig": torch.randn(
                1600, generator=torch.Generator().manual_seed(i)
            ),
            "text_tokens": torch.LongTensor(tokenizer(text)["input_ids"]),
            "emotion_encoded": torch.LongTensor([i % 2]),
        }
        for i, text in enumerate(SENTENCES)
    ]


def fit(brain, bert):
    loader = {"batch_size": 2, "collate_fn": PaddedBatch}
    brain.fit(
        brain.hparams.epoch_counter,
        data(bert),
        data(bert),
        train_loader_kwargs=loader,
        valid_loader_kwargs=loader,
    )
    return [group["lr"] for group in brain.optimizer.param_groups]


def test_annealing_keeps_the_ratio_of_every_group(bert, tmp_path):
    brain = make_brain(bert, tmp_path, epochs=1)
    brain.init_optimizers()
    assert [g["lr"] for g in brain.optimizer.param_groups] == [
        LR,
        ENCODER_LR,
        TEXT_ENCODER_LR,
    ]
    # epoch 1: no history, no annealing; epoch 2: every group halves
    lrs = fit(make_brain(bert, tmp_path, epochs=2), bert)
    assert lrs == pytest.approx([LR / 2, ENCODER_LR / 2, TEXT_ENCODER_LR / 2])
    rows = (tmp_path / "train_log.txt").read_text().splitlines()
    assert [row.split(" - ")[0] for row in rows] == [
        "epoch: 1, lr: 1.00e-03",
        "epoch: 2, lr: 5.00e-04",
    ]
    # resumed for a third epoch: the ratios survive the checkpoint
    lrs = fit(make_brain(bert, tmp_path, epochs=3), bert)
    assert lrs == pytest.approx([LR / 4, ENCODER_LR / 4, TEXT_ENCODER_LR / 4])
