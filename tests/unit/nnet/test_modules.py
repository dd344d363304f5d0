"""Padding is the normal case: a padded item must give the same output as
the same item alone."""

import pytest
import torch

from speechbrain_ser.nnet.encoders import ConvEncoder
from speechbrain_ser.nnet.heads import (
    AttentionRecognizer,
    ConvAttentionRegressor,
    StatsPoolingMLP,
)
from speechbrain_ser.nnet.masked_conv import MaskedConv1d
from speechbrain_ser.nnet.pooling import MeanStdPooling


def padded_pair(frames=60, valid=37, dim=12, seed=0):
    """A batch of one full item and one padded item, plus the short item."""
    gen = torch.Generator().manual_seed(seed)
    full = torch.randn(1, frames, dim, generator=gen)
    short = torch.randn(1, valid, dim, generator=gen)
    padding = torch.full((1, frames - valid, dim), 100.0)  # loud garbage
    batch = torch.cat([full, torch.cat([short, padding], dim=1)])
    lengths = torch.tensor([1.0, valid / frames])
    return batch, lengths, full, short


def test_mean_std_pooling_hand_computed():
    x = torch.tensor([[[1.0], [3.0], [50.0]]])
    out = MeanStdPooling()(x, torch.tensor([2 / 3]))
    assert out[0, 0].item() == pytest.approx(2.0)
    assert out[0, 1].item() == pytest.approx(1.0)
    var = MeanStdPooling("var")(x, torch.tensor([2 / 3]))
    assert var[0, 1].item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "module",
    [
        MeanStdPooling(),
        StatsPoolingMLP(12, hidden_size=8),
        AttentionRecognizer(12, d_model=8, n_heads=2),
        ConvAttentionRegressor(12, channels=16, n_heads=4),
        ConvEncoder(12, channels=8, n_layers=2),
    ],
    ids=lambda m: type(m).__name__,
)
def test_padding_does_not_change_outputs(module):
    module.eval()
    batch, lengths, full, short = padded_pair()
    with torch.no_grad():
        together = module(batch, lengths)
        alone_full = module(full, torch.ones(1))
        alone_short = module(short, torch.ones(1))
    if together.dim() == 3:  # frame-level encoder: compare valid frames
        torch.testing.assert_close(
            together[1, :37], alone_short[0], atol=1e-5, rtol=1e-4
        )
        assert (together[1, 37:] == 0).all()
    else:
        torch.testing.assert_close(
            together[1], alone_short[0], atol=1e-5, rtol=1e-4
        )
    torch.testing.assert_close(together[0], alone_full[0], atol=1e-5, rtol=1e-4)


def test_head_output_sizes():
    x, lengths = torch.randn(3, 90, 20), torch.tensor([1.0, 0.4, 0.1])
    assert StatsPoolingMLP(20, 32, n_layers=3)(x, lengths).shape == (3, 32)
    assert AttentionRecognizer(20, 16, 4)(x, lengths).shape == (3, 32)
    assert ConvAttentionRegressor(20)(x, lengths).shape == (3, 128)
    blocks = [
        m
        for m in StatsPoolingMLP(20, 32, n_layers=3).mlp
        if isinstance(m, torch.nn.LayerNorm)
    ]
    assert len(blocks) == 3


def test_masked_conv_lengths():
    conv = MaskedConv1d(4, 4, kernel_size=6, stride=3)
    _, lengths = conv(torch.randn(2, 100, 4), torch.tensor([1.0, 0.5]))
    # 100 frames -> 32; 50 frames -> floor(44 / 3) + 1 = 15
    assert torch.round(lengths * 32).tolist() == [32.0, 15.0]
    second = MaskedConv1d(4, 4, kernel_size=3, stride=2)
    _, lengths2 = second(torch.randn(2, 32, 4), lengths)
    # 32 -> 15; 15 -> 7
    assert torch.round(lengths2 * 15).tolist() == [15.0, 7.0]


def test_heads_learn_a_tiny_batch():
    torch.manual_seed(0)
    x = torch.randn(8, 40, 10)
    lengths = torch.tensor([1.0, 0.9, 0.8, 0.7, 1.0, 0.6, 0.5, 1.0])
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    head = AttentionRecognizer(10, d_model=16, n_heads=2)
    out = torch.nn.Linear(32, 4)
    params = list(head.parameters()) + list(out.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-2)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(out(head(x, lengths)), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
