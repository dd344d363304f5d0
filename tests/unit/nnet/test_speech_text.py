"""Late and learned fusion of speech and text (Xagorari et al. 2022)."""

import pytest
import torch

from speechbrain_ser.brains.speech_text import token_attention_mask
from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.nnet.speech_text import (
    ConcatFusionHead,
    fuse_modalities,
    late_fusion,
)
from speechbrain_ser.text.encoders import HFTextEncoder
from speechbrain_ser.tiny_models import save_tiny_bert


def modules(task="both", learned=False):
    torch.manual_seed(0)
    mods = {
        "emotion_out": torch.nn.Linear(6, 4),
        "avd_out": torch.nn.Linear(6, 3),
        "text_emotion_out": torch.nn.Linear(5, 4),
        "text_avd_out": torch.nn.Linear(5, 3),
    }
    if learned:
        mods["fusion_head"] = ConcatFusionHead([6, 5], hidden_size=7)
        mods["fusion_emotion_out"] = torch.nn.Linear(7, 4)
        mods["fusion_avd_out"] = torch.nn.Linear(7, 3)
    return mods


def test_late_fusion_averages_posteriors_and_avd():
    mods = modules()
    audio, text = torch.rand(3, 6), torch.rand(3, 5)
    out = fuse_modalities(mods, {"audio": audio, "text": text}, "both")
    p_audio = torch.softmax(mods["emotion_out"](audio), -1)
    p_text = torch.softmax(mods["text_emotion_out"](text), -1)
    assert torch.allclose(
        torch.softmax(out["logits"], -1), (p_audio + p_text) / 2, atol=1e-6
    )
    expected = (mods["avd_out"](audio) + mods["text_avd_out"](text)) / 2
    assert torch.allclose(out["avd"], expected, atol=1e-6)
    assert torch.equal(
        out["branches"]["text"]["avd"], mods["text_avd_out"](text)
    )


def test_single_modality_uses_its_own_output_layers():
    mods = modules()
    text = torch.rand(2, 5)
    out = fuse_modalities(mods, {"text": text}, "regression")
    assert set(out) == {"avd"}
    assert torch.equal(out["avd"], mods["text_avd_out"](text))


def test_learned_fusion_shapes_and_gradients_reach_both_inputs():
    mods = modules(learned=True)
    audio = torch.rand(4, 6, requires_grad=True)
    text = torch.rand(4, 5, requires_grad=True)
    out = fuse_modalities(
        mods, {"audio": audio, "text": text}, "both", "learned"
    )
    assert out["logits"].shape == (4, 4) and out["avd"].shape == (4, 3)
    assert "branches" not in out
    (out["logits"].sum() + out["avd"].sum()).backward()
    assert audio.grad.abs().sum() > 0 and text.grad.abs().sum() > 0


def test_fusion_head_rejects_wrong_sizes():
    with pytest.raises(ValueError, match="input_sizes"):
        ConcatFusionHead([6, 5], 7)([torch.rand(2, 5), torch.rand(2, 6)])
    with pytest.raises(ValueError, match="late or learned"):
        fuse_modalities(modules(), {"audio": torch.rand(1, 6)}, "both", "x")


def test_late_fusion_of_one_branch_is_that_branch():
    logits = torch.randn(2, 4)
    fused = late_fusion([{"logits": logits}])
    assert torch.allclose(
        torch.softmax(fused["logits"], -1), torch.softmax(logits, -1)
    )


def test_text_embedding_ignores_padding(tmp_path):
    """A transcript's embedding does not change when a longer one pads it."""
    encoder = HFTextEncoder(save_tiny_bert(tmp_path), freeze=False).eval()
    head = StatsPoolingMLP(16, 8, n_layers=1).eval()

    def embed(texts):
        ids, mask = encoder.tokenize(texts)
        lengths = mask.sum(1) / ids.shape[1]
        assert torch.equal(token_attention_mask(ids, lengths), mask)
        return head(encoder(ids, mask), lengths)

    alone = embed(["a dog"])
    padded = embed(["a dog", "you are not a happy dog today"])
    assert torch.allclose(alone[0], padded[0], atol=1e-5)
