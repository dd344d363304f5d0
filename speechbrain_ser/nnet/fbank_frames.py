"""Filterbank frames fused with a speech encoder's frames.

On a small corpus, the mean/std of log mel filterbanks and the mean/std of
a frozen Whisper encoder's hidden states carry different cues (on URDU each
alone gives a linear probe of about 0.6 UA, together a trained head
0.72, see recipes/URDU/emotion/README.md). :class:`EncoderWithFbank` appends the
filterbank frames, at the encoder's frame rate, to every encoder frame (and
every hidden state, when the encoder returns all of them), so that any
statistics-pooling head pools both, and a frozen encoder's cache keeps
both.

Authors
 * speechbrain-ser developers 2026
"""

import torch
from speechbrain.lobes.features import Fbank


class EncoderWithFbank(torch.nn.Module):
    """Encoder frames with the clip's log mel filterbanks appended.

    Arguments
    ---------
    encoder : torch.nn.Module
        ``(wavs, lengths) -> (B, T, D)`` or ``(B, T, L, D)`` (every hidden
        state); its attributes (e.g. ``n_hidden_states``) stay readable
        through this module.
    n_mels : int
        Filterbank channels appended; 0 appends nothing (the encoder alone).
    sample_rate : int
        Sample rate of the waveforms.

    Example
    -------
    >>> class Frames(torch.nn.Module):  # 50 frames per second, 8 dims
    ...     n_hidden_states = 3
    ...
    ...     def forward(self, wavs, lengths=None):
    ...         return torch.zeros(wavs.shape[0], wavs.shape[1] // 320, 3, 8)
    >>> fused = EncoderWithFbank(Frames(), n_mels=4)
    >>> fused(torch.rand(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 50, 3, 12])
    >>> fused.n_hidden_states
    3
    """

    def __init__(self, encoder, n_mels=40, sample_rate=16000):
        super().__init__()
        self.encoder = encoder
        self.n_mels = n_mels
        self.fbank = Fbank(sample_rate=sample_rate, n_mels=max(n_mels, 1))

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["encoder"], name)

    def forward(self, wavs, lengths=None):
        """(B, T, [L,] D) encoder frames -> (B, T, [L,] D + n_mels)."""
        frames = self.encoder(wavs, lengths)
        if not self.n_mels:
            return frames
        with torch.no_grad():
            fbank = self.fbank(wavs)  # (B, T_fbank, n_mels), 100 per second
        steps = frames.shape[1]
        index = torch.arange(steps, device=wavs.device) * fbank.shape[1]
        index = (index // steps).clamp(max=fbank.shape[1] - 1)
        fbank = fbank[:, index]  # nearest frame at the encoder's rate
        if frames.dim() == 4:
            fbank = fbank.unsqueeze(2).expand(-1, -1, frames.shape[2], -1)
        return torch.cat([frames, fbank.to(frames.dtype)], dim=-1)
