"""Layer weighting (SUPERB's weighted sum) and the frozen-encoder cache of
every hidden state."""

import json

import pytest
import torch

from speechbrain_ser.brains import EmotionBrain
from speechbrain_ser.brains.results import report_layer_weights
from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.nnet.layer_weighting import (
    LayerWeightedHead,
    WeightedLayerSum,
    layer_weights,
)


def test_one_hot_weights_give_the_chosen_layer():
    hiddens = torch.randn(2, 7, 4, 5)
    weighted = WeightedLayerSum(4)
    with torch.no_grad():
        weighted.weights.copy_(torch.tensor([-1e4, -1e4, 1e4, -1e4]))
    torch.testing.assert_close(weighted(hiddens), hiddens[:, :, 2])
    assert weighted.layer_weights() == pytest.approx([0, 0, 1, 0])
    chosen = WeightedLayerSum(4, layer=2)
    assert torch.equal(chosen(hiddens), hiddens[:, :, 2])
    assert not list(chosen.parameters())  # nothing to learn
    # the encoder chose the layer already: (B, T, D) passes through
    assert torch.equal(chosen(hiddens[:, :, 2]), hiddens[:, :, 2])


def test_initial_weights_average_the_layers_and_learn():
    hiddens = torch.randn(2, 7, 3, 5)
    weighted = WeightedLayerSum(3)
    torch.testing.assert_close(weighted(hiddens), hiddens.mean(dim=2))
    # Learning to output layer 1 moves the weight towards it.
    optimizer = torch.optim.SGD(weighted.parameters(), lr=10.0)
    for _ in range(20):
        optimizer.zero_grad()
        loss = (weighted(hiddens) - hiddens[:, :, 1]).pow(2).mean()
        loss.backward()
        optimizer.step()
    weights = weighted.layer_weights()
    assert weights[1] > 0.8 and sum(weights) == pytest.approx(1.0)


def test_layer_norm_and_errors():
    hiddens = 3.0 + 5.0 * torch.randn(1, 4, 2, 6)
    out = WeightedLayerSum(2, layer=0, layer_norm=True)(hiddens)
    torch.testing.assert_close(
        out.mean(-1), torch.zeros(1, 4), atol=1e-5, rtol=0
    )
    with pytest.raises(ValueError, match="expected 3 hidden states"):
        WeightedLayerSum(3)(hiddens)
    with pytest.raises(ValueError, match="layer must be 'weighted'"):
        WeightedLayerSum(3, layer="last")


class CountingEncoder(torch.nn.Module):
    """Every hidden state (B, T, L=3, D=4) of a fake encoder; counts calls."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(scale))
        self.calls = 0

    def forward(self, wavs, lengths=None):
        self.calls += 1
        frames = wavs.reshape(wavs.shape[0], -1, 4)
        return torch.stack([frames * (i + 1) for i in range(3)], 2) * self.scale

    def extra_repr(self):
        return f"scale={self.scale.item()}"


def make_brain(encoder, tmp_path, **hparams):
    head = LayerWeightedHead(StatsPoolingMLP(4, 8), n_layers=3)
    hparams = {
        "freeze_encoder": True,
        "cache_frozen_encoder": True,
        "output_folder": str(tmp_path),
        **hparams,
    }
    return EmotionBrain(
        modules={"encoder": encoder, "head": head},
        hparams=hparams,
        run_opts={"device": "cpu"},
    )


def test_cache_holds_valid_frames_of_every_layer_in_float16(tmp_path):
    encoder = CountingEncoder()
    brain = make_brain(encoder, tmp_path)
    wavs, lengths = torch.randn(2, 40), torch.tensor([1.0, 0.5])
    first = brain.encode(wavs, lengths, ids=["a", "b"])
    assert first.shape == (2, 10, 3, 4)
    cached = brain.encoder_cache.get("b")
    assert cached.shape == (5, 3, 4) and cached.dtype == torch.float16
    again = brain.encode(torch.zeros(2, 40), lengths, ids=["a", "b"])
    assert encoder.calls == 1
    torch.testing.assert_close(again[0], first[0], atol=1e-2, rtol=1e-3)
    torch.testing.assert_close(again[1, :5], first[1, :5], atol=1e-2, rtol=1e-3)


def test_cache_folder_is_shared_and_keyed_on_the_encoder(tmp_path):
    folder = str(tmp_path / "cache")
    wavs, lengths = torch.randn(1, 40), torch.tensor([1.0])
    first = make_brain(CountingEncoder(), tmp_path, encoder_cache_folder=folder)
    frames = first.encode(wavs, lengths, ids=["Happy/a"])  # ids with "/"
    second_encoder = CountingEncoder()
    second = make_brain(second_encoder, tmp_path, encoder_cache_folder=folder)
    again = second.encode(torch.zeros(1, 40), lengths, ids=["Happy/a"])
    assert second_encoder.calls == 0  # read from the first run's folder
    torch.testing.assert_close(again, frames, atol=1e-2, rtol=1e-3)
    other = make_brain(
        CountingEncoder(2.0), tmp_path, encoder_cache_folder=folder
    )
    with pytest.raises(ValueError, match="holds frames of another encoder"):
        other.encode(wavs, lengths, ids=["a"])


def test_layer_weights_are_reported_after_training(tmp_path):
    brain = make_brain(CountingEncoder(), tmp_path, train_logger=None)
    with torch.no_grad():
        brain.modules.head.layer_sum.weights.copy_(
            torch.tensor([0.0, 1.0, 2.0])
        )
    weights = layer_weights(brain.modules)["head.layer_sum"]
    assert weights == pytest.approx(
        torch.softmax(torch.arange(3.0), 0).tolist()
    )
    (tmp_path / "results.json").write_text(json.dumps({"UA": 0.5}))
    report_layer_weights(
        layer_weights(brain.modules),
        str(tmp_path),
        str(tmp_path / "train_log.txt"),
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["UA"] == 0.5
    assert results["layer_weights"]["head.layer_sum"] == pytest.approx(weights)
    assert (
        "layer weights (head.layer_sum): 0.0900 0.2447 0.6652"
        in (tmp_path / "train_log.txt").read_text()
    )
    assert (tmp_path / "layer_weights.png").stat().st_size > 0
