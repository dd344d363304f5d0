"""The on-disk frozen-encoder cache is keyed on the encoder's weights."""

import pytest
import torch

from speechbrain_ser.brains import EmotionBrain
from speechbrain_ser.nnet.heads import StatsPoolingMLP


class LinearEncoder(torch.nn.Module):
    """A frozen encoder whose printout does not show its weights."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)
        self.calls = 0

    def forward(self, wavs, lengths=None):
        self.calls += 1
        return self.linear(wavs.reshape(wavs.shape[0], -1, 4))


def encode(encoder, folder, wavs):
    brain = EmotionBrain(
        modules={"encoder": encoder, "head": StatsPoolingMLP(4, 8)},
        hparams={
            "freeze_encoder": True,
            "cache_frozen_encoder": True,
            "encoder_cache_folder": str(folder),
        },
        run_opts={"device": "cpu"},
    )
    return brain.encode(wavs, torch.ones(len(wavs)), ids=["a"])


def test_same_weights_reuse_the_cache_other_weights_are_refused(tmp_path):
    folder = tmp_path / "cache"
    wavs = torch.randn(1, 40)
    first = LinearEncoder()
    frames = encode(first, folder, wavs)
    same = LinearEncoder()
    same.load_state_dict(first.state_dict())
    again = encode(same, folder, torch.zeros(1, 40))
    assert same.calls == 0  # read from the first encoder's frames
    torch.testing.assert_close(again, frames, atol=1e-2, rtol=1e-3)
    other = LinearEncoder()  # same architecture and printout
    assert repr(other) == repr(first)
    with pytest.raises(
        ValueError,
        match=r"cache/encoder.txt: encoder_cache_folder holds frames of "
        "the same encoder with other weights",
    ):
        encode(other, folder, wavs)
    assert other.calls == 0


def test_a_folder_without_recorded_weights_is_refused_until_vouched_for(
    tmp_path,
):
    folder = tmp_path / "cache"
    wavs = torch.randn(1, 40)
    encoder = LinearEncoder()
    frames = encode(encoder, folder, wavs)
    key = folder / "encoder.txt"
    options, weights = key.read_text().split("weights: ")
    key.write_text(options)  # as written before the weights were recorded
    with pytest.raises(ValueError, match="written before") as error:
        encode(encoder, folder, wavs)
    assert f"append the line 'weights: {weights.strip()}'" in str(error.value)
    key.write_text(f"{options}weights: {weights}")
    again = encode(encoder, folder, torch.zeros(1, 40))
    assert encoder.calls == 1
    torch.testing.assert_close(again, frames, atol=1e-2, rtol=1e-3)
