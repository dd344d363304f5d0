"""EncoderWithFbank appends the clip's filterbanks at the encoder's rate."""

import torch
from speechbrain.lobes.features import Fbank

from speechbrain_ser.nnet.fbank_frames import EncoderWithFbank


class Halves(torch.nn.Module):
    """50 frames per second of 16 kHz audio, 3 dims, 2 hidden states."""

    n_hidden_states = 2

    def forward(self, wavs, lengths=None):
        frames = wavs.unfold(1, 320, 320).mean(-1, keepdim=True)
        return frames.expand(-1, -1, 3).unsqueeze(2).repeat(1, 1, 2, 1)


def test_filterbanks_follow_every_encoder_frame_and_layer():
    wavs = torch.randn(2, 8000)
    fused = EncoderWithFbank(Halves(), n_mels=5)(wavs)
    encoder = Halves()(wavs)
    assert fused.shape == (2, 25, 2, 8)
    assert torch.equal(fused[..., :3], encoder)
    fbank = Fbank(n_mels=5)(wavs)  # 100 frames per second: every 2nd one
    for layer in range(2):
        assert torch.allclose(fused[:, :, layer, 3:], fbank[:, 0:50:2])


def test_no_mels_is_the_encoder_alone():
    wavs = torch.randn(1, 3200)
    assert torch.equal(
        EncoderWithFbank(Halves(), n_mels=0)(wavs), Halves()(wavs)
    )
