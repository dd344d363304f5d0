import speechbrain as sb
import torch
from speechbrain.dataio.dataset import DynamicItemDataset
from speechbrain.lobes.features import Fbank
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.epoch_loop import EpochCounter
from speechbrain.utils.train_logger import FileTrainLogger

from speechbrain_ser.brains import TokenwiseContrastiveBrain
from speechbrain_ser.data.pipelines import text_tokens_pipeline
from speechbrain_ser.nnet.encoders import ConvEncoder
from speechbrain_ser.nnet.tokenwise import (
    CrossModalEncoder,
    FeatureFrameEncoder,
    TokenwiseContrastiveLoss,
)
from speechbrain_ser.text.encoders import HFTextEncoder
from speechbrain_ser.tiny_models import save_tiny_bert

TEXTS = ["the dog is happy", "you are not so sad", "hello world", "go home"]


def dataset(teacher):
    data = {f"u{i}": {"transcript": t, "n": i} for i, t in enumerate(TEXTS)}

    @sb.utils.data_pipeline.takes("n")
    @sb.utils.data_pipeline.provides("sig")
    def waveform(n):
        generator = torch.Generator().manual_seed(n)
        return torch.randn(4000 + 1000 * n, generator=generator) * 0.1

    return DynamicItemDataset(
        data,
        dynamic_items=[waveform, text_tokens_pipeline(teacher.tokenizer)],
        output_keys=["id", "sig", "text_tokens"],
    )


def make_brain(tmp_path, trainable_layers=None, epochs=8):
    torch.manual_seed(0)
    teacher = HFTextEncoder(save_tiny_bert(tmp_path / "bert"), freeze=True)
    speech = FeatureFrameEncoder(
        Fbank(n_mels=20), ConvEncoder(20, 16, n_layers=2, dropout=0.0)
    )
    cross_modal = CrossModalEncoder(16, 16, n_heads=2, d_ffn=32, dropout=0.0)
    loss = TokenwiseContrastiveLoss(0.1, learn_temperature=True)
    counter = EpochCounter(epochs)
    modules = {
        "speech_encoder": speech,
        "cross_modal": cross_modal,
        "teacher": teacher,
        "loss": loss,
    }
    hparams = {
        "epoch_counter": counter,
        "train_logger": FileTrainLogger(tmp_path / "log.txt"),
        "output_folder": str(tmp_path),
        "speech_trainable_layers": trainable_layers,
    }
    checkpointer = Checkpointer(
        tmp_path / "save", {"speech": speech, "cross_modal": cross_modal}
    )
    brain = TokenwiseContrastiveBrain(
        modules=modules,
        opt_class=lambda params: torch.optim.Adam(params, lr=0.01),
        hparams=hparams,
        checkpointer=checkpointer,
    )
    return brain, dataset(teacher)


def fit(brain, data):
    brain.fit(
        brain.hparams.epoch_counter,
        data,
        data,
        train_loader_kwargs={"batch_size": 4},
        valid_loader_kwargs={"batch_size": 4},
    )


def test_teacher_frozen_and_loss_falls(tmp_path):
    brain, data = make_brain(tmp_path)
    teacher = brain.modules.teacher
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    speech_before = brain.modules.speech_encoder.state_dict()
    speech_before = {k: v.clone() for k, v in speech_before.items()}
    losses = []
    original = brain.on_stage_end

    def record(stage, stage_loss, epoch=None):
        if stage == sb.Stage.VALID:
            losses.append(brain.tokenwise_stats.summarize()["loss"])
        original(stage, stage_loss, epoch)

    brain.on_stage_end = record
    fit(brain, data)
    assert all(
        torch.equal(v, before[k]) for k, v in teacher.state_dict().items()
    )
    assert all(p.grad is None for p in teacher.parameters())
    assert not teacher.model.training
    speech_after = brain.modules.speech_encoder.state_dict()
    assert not all(
        torch.equal(speech_after[k], v) for k, v in speech_before.items()
    )
    assert losses[-1] < 0.7 * losses[0]  # learns to retrieve the tokens
    # The [CLS] query is the teacher's [CLS] input embedding.
    cls = teacher.input_embeddings(torch.tensor([[2]]))[0, 0]
    torch.testing.assert_close(brain.modules.cross_modal.cls_query, cls)
    assert abs(brain.modules.loss.temperature.item() - 0.1) > 1e-3  # learned


def test_top_layers_only(tmp_path):
    brain, data = make_brain(tmp_path, trainable_layers=1, epochs=1)
    state = brain.modules.speech_encoder.state_dict()
    state = {k: v.clone() for k, v in state.items()}
    fit(brain, data)
    after = brain.modules.speech_encoder.state_dict()
    assert torch.equal(
        after["encoder.convs.0.weight"], state["encoder.convs.0.weight"]
    )
    assert not torch.equal(
        after["encoder.convs.1.weight"], state["encoder.convs.1.weight"]
    )
