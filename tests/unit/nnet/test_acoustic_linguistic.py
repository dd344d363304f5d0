"""Bhosale et al. 2020 modules: mel + deltas shapes, stream alignment,
the residual self-attention head with padding."""

import pytest
import torch
from speechbrain.lobes.features import Fbank
from speechbrain.processing.features import Deltas

from speechbrain_ser.nnet.acoustic_linguistic import (
    AcousticLinguisticFrontEnd,
    ConvResidualAttentionHead,
    align_frames,
)
from speechbrain_ser.nnet.encoders import ConvEncoder


def paper_fbank(n_mels=128):
    """16 kHz, 25 ms frames, 400-sample hop, FFT 2048, deltas (the YAML)."""
    return Fbank(
        n_mels=n_mels, n_fft=2048, win_length=25, hop_length=25, deltas=True
    )


def test_mel_with_deltas_and_delta_deltas():
    wavs = torch.randn(2, 16000) * 0.1
    feats = paper_fbank()(wavs)
    assert feats.shape == (2, 16000 // 400 + 1, 3 * 128)  # 40 frames/s
    static = feats[..., :128]
    deltas = Deltas(input_size=128)
    delta = deltas(static)
    torch.testing.assert_close(feats[..., 128:256], delta)
    torch.testing.assert_close(feats[..., 256:], deltas(delta))


def test_align_frames_between_frame_rates():
    """A ramp seen at 50 frames/s, aligned to 40 frames/s, is the ramp
    seen at 40 frames/s; padded frames stay zero."""
    seconds = torch.tensor([2.0, 1.0])
    lengths = seconds / 2.0
    fast = torch.zeros(2, 100, 1)  # 50 frames/s
    for i, s in enumerate(seconds):
        n = int(50 * s)
        fast[i, :n, 0] = torch.linspace(0, 1, n)
    aligned = align_frames(fast, lengths, 80)  # 40 frames/s
    assert aligned.shape == (2, 80, 1)
    torch.testing.assert_close(aligned[0, :, 0], torch.linspace(0, 1, 80))
    torch.testing.assert_close(aligned[1, :40, 0], torch.linspace(0, 1, 40))
    assert aligned[1, 40:].abs().sum() == 0


def test_fusion_concatenates_aligned_streams():
    class Ramp(torch.nn.Module):  # a "linguistic" stream at 50 frames/s
        def forward(self, wavs, lengths=None):
            frames = wavs.shape[1] // 320
            ramp = torch.linspace(0, 1, frames)
            return ramp.view(1, -1, 1).repeat(wavs.shape[0], 1, 2)

    front = AcousticLinguisticFrontEnd("fusion", paper_fbank(16), Ramp())
    wavs = torch.randn(1, 32000) * 0.1
    frames = front(wavs)
    acoustic = AcousticLinguisticFrontEnd("acoustic", paper_fbank(16))(wavs)
    assert frames.shape == (1, 81, 48 + 2)
    torch.testing.assert_close(frames[..., :48], acoustic)
    torch.testing.assert_close(frames[0, :, 48], torch.linspace(0, 1, 81))
    with pytest.raises(ValueError, match="streams"):
        AcousticLinguisticFrontEnd("both", paper_fbank(16), Ramp())
    with pytest.raises(ValueError, match="linguistic module"):
        AcousticLinguisticFrontEnd("fusion", paper_fbank(16))


def test_linguistic_stream_zeroes_padding():
    front = AcousticLinguisticFrontEnd(
        "linguistic", linguistic=ConvEncoder(1, channels=4, n_layers=1)
    )
    frames = front(torch.rand(2, 50, 1), torch.tensor([1.0, 0.4]))
    assert frames[1, 20:].abs().sum() == 0 and frames[1, :20].abs().sum() > 0


def tiny_head():
    torch.manual_seed(0)
    return ConvResidualAttentionHead(
        input_size=6, channels=8, n_heads=2, dense_size=5, dropout=0.0
    )


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_head_is_padding_invariant(mode):
    """Padding changes neither an utterance's embedding (eval) nor, with
    batch norm over valid frames only, the batch statistics (train)."""
    head = tiny_head()
    getattr(head, mode)()
    torch.manual_seed(1)
    a, b = torch.randn(1, 12, 6), torch.randn(1, 7, 6)
    padded = torch.zeros(2, 12, 6)
    padded[0], padded[1, :7] = a[0], b[0]
    padded[1, 7:] = 100.0  # garbage in the padding must not matter
    together = head(padded, torch.tensor([1.0, 7 / 12]))
    if mode == "eval":
        alone = torch.cat([head(a), head(b)])
    else:  # same batch statistics: the two items with no padding at all
        longer = torch.zeros(2, 20, 6)
        longer[0, :12], longer[1, :7] = a[0], b[0]
        alone = head(longer, torch.tensor([12 / 20, 7 / 20]))
    torch.testing.assert_close(together, alone)


def test_context_is_encoder_output_plus_attention():
    head = tiny_head().eval()
    x, lengths = torch.randn(2, 9, 6), torch.tensor([1.0, 5 / 9])
    context, weights = head.context(x, lengths)
    assert weights.shape == (2, 2, 9, 9)
    assert weights[1, :, :, 5:].abs().sum() == 0  # padded keys unseen
    torch.nn.init.zeros_(head.attention.out_proj.weight)
    torch.nn.init.zeros_(head.attention.out_proj.bias)
    encoder_only, _ = head.context(x, lengths)  # A_MH = 0: C = E
    assert (encoder_only >= 0).all()  # E ends in a ReLU
    attention = context - encoder_only
    assert attention[0].abs().sum() > 0
    assert context[1, 5:].abs().sum() == 0


def test_head_learns_a_tiny_batch():
    head = tiny_head()
    out = torch.nn.Linear(5, 2)
    x = torch.randn(8, 10, 6)
    x[:4] += 1.0
    y = torch.tensor([1] * 4 + [0] * 4)
    optimizer = torch.optim.Adam([*head.parameters(), *out.parameters()], 0.05)
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.cross_entropy(out(head(x)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
