"""Acoustic and deep linguistic streams with a residual self-attention
decoder (Bhosale, Chakraborty and Kopparapu, ICASSP 2020).

* Acoustic stream: a 128-bin mel spectrogram with deltas and delta-deltas
  (SpeechBrain's ``Fbank(deltas=True)``, named in the YAML).
* Linguistic stream: the hidden states of a chosen layer of a pre-trained
  CTC ASR encoder (the paper's DeepSpeech layer 5; here any frame encoder,
  e.g. the SA2SR encoder or a Whisper encoder layer).
* :class:`AcousticLinguisticFrontEnd`: one stream, or both time-aligned
  (:func:`align_frames`) and concatenated per frame (the paper's fusion).
* :class:`ConvResidualAttentionHead`: encoder of two 1-D convolutions,
  each with batch norm and ReLU; decoder of multi-head self-attention with
  a residual connection (C = E + A_MH), average pooling over the valid
  frames and a dense layer; the YAML's ``emotion_out`` is the second dense
  layer, followed by the softmax.

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.nnet.heads import key_padding_mask
from speechbrain_ser.nnet.pooling import time_mask, valid_frames

STREAMS = ("acoustic", "linguistic", "fusion")


def stream_size(streams, acoustic_size, linguistic_size):
    """Frame dimension of the front end's output for ``streams``.

    Arguments
    ---------
    streams : str
        ``acoustic``, ``linguistic`` or ``fusion``.
    acoustic_size : int
        Frame dimension of the acoustic stream.
    linguistic_size : int
        Frame dimension of the linguistic stream.

    Returns
    -------
    int
        The dimension of the selected stream(s), concatenated for ``fusion``.

    Example
    -------
    >>> [stream_size(s, 384, 256) for s in STREAMS]
    [384, 256, 640]
    """
    if streams not in STREAMS:
        raise ValueError(f"streams must be one of {STREAMS}, not {streams!r}")
    return {
        "acoustic": acoustic_size,
        "linguistic": linguistic_size,
        "fusion": acoustic_size + linguistic_size,
    }[streams]


def align_frames(frames, lengths, target_frames):
    """Resamples each item's valid frames to the target's frame count.

    Two streams computed from the same padded waveforms share relative
    lengths; item i has ``round(lengths[i] * T)`` valid frames in a stream
    of T frames. Each item's valid frames are linearly interpolated to its
    number of valid frames at ``target_frames``; padded frames stay zero.

    Arguments
    ---------
    frames : torch.Tensor
        (B, T, D) padded frames of one stream.
    lengths : torch.Tensor or None
        (B,) relative lengths (None: no padding).
    target_frames : int
        Frame count T' of the stream to align to.

    Returns
    -------
    torch.Tensor
        (B, T', D) frames, valid up to ``lengths * T'``.

    Example
    -------
    >>> x = torch.tensor([[[0.0], [2.0], [4.0], [9.0]]])  # 4 frames
    >>> align_frames(x[:, :3], None, 5)[0, :, 0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    >>> align_frames(x, torch.tensor([0.75]), 7)[0, :, 0].tolist()  # 3 -> 5
    [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]
    """
    batch, frames_in, dim = frames.shape
    if lengths is None:
        lengths = torch.ones(batch, device=frames.device)
    n_in = valid_frames(lengths, frames_in).tolist()
    n_out = valid_frames(lengths, target_frames).tolist()
    out = frames.new_zeros(batch, target_frames, dim)
    for i, (a, b) in enumerate(zip(n_in, n_out)):
        item = frames[i, :a].T.unsqueeze(0)  # 1, D, a
        if a == 1:
            out[i, :b] = item[0, :, 0]
            continue
        resampled = torch.nn.functional.interpolate(
            item, size=b, mode="linear", align_corners=True
        )
        out[i, :b] = resampled[0].T
    return out


class AcousticLinguisticFrontEnd(torch.nn.Module):
    """Waveforms -> acoustic, linguistic or fused (B, T, D) frames.

    With ``streams="fusion"`` the linguistic frames are aligned to the
    acoustic frame rate (:func:`align_frames`) and concatenated per frame,
    acoustic first. The output keeps the waveforms' relative lengths. Both
    streams are fixed (features and a frozen pre-trained encoder): train
    with ``freeze_encoder: True`` and cache them with
    ``cache_frozen_encoder``.

    Arguments
    ---------
    streams : str
        ``"acoustic"``, ``"linguistic"`` or ``"fusion"``.
    acoustic : torch.nn.Module, optional
        ``wavs -> (B, T_a, F)`` features, e.g. ``Fbank(deltas=True)``.
    linguistic : torch.nn.Module, optional
        ``(wavs, lengths) -> (B, T_l, D)`` ASR encoder states (for an
        encoder on features, a ``LengthsCapableSequential`` of features,
        normalisation and encoder).

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> from speechbrain_ser.nnet.encoders import ConvEncoder
    >>> from speechbrain.nnet.containers import LengthsCapableSequential
    >>> asr = LengthsCapableSequential(
    ...     Fbank(n_mels=40), ConvEncoder(40, channels=8, n_layers=1)
    ... )
    >>> front = AcousticLinguisticFrontEnd(
    ...     "fusion", Fbank(n_mels=128, deltas=True, hop_length=25), asr
    ... )
    >>> front(torch.rand(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 41, 392])
    """

    def __init__(self, streams="fusion", acoustic=None, linguistic=None):
        super().__init__()
        if streams not in STREAMS:
            raise ValueError(
                f"streams must be one of {STREAMS}, not {streams!r}"
            )
        if streams != "linguistic" and acoustic is None:
            raise ValueError(f"streams={streams!r} needs an acoustic module")
        if streams != "acoustic" and linguistic is None:
            raise ValueError(f"streams={streams!r} needs a linguistic module")
        self.streams = streams
        self.acoustic = acoustic if streams != "linguistic" else None
        self.linguistic = linguistic if streams != "acoustic" else None

    def forward(self, wavs, lengths=None):
        """(B, samples) waveforms -> (B, T, D) frames of the streams."""
        if self.streams == "linguistic":
            return self._linguistic(wavs, lengths)
        acoustic = self.acoustic(wavs)
        acoustic = acoustic * time_mask(acoustic, lengths)
        if self.streams == "acoustic":
            return acoustic
        linguistic = align_frames(
            self._linguistic(wavs, lengths), lengths, acoustic.shape[1]
        )
        return torch.cat([acoustic, linguistic], dim=-1)

    def _linguistic(self, wavs, lengths):
        frames = self.linguistic(wavs, lengths)
        return frames * time_mask(frames, lengths)


def masked_batch_norm(norm, x, mask):
    """Applies a ``BatchNorm1d`` to the valid frames of (B, T, C) only.

    Padded frames neither enter the batch statistics nor change; they
    are returned as zeros.

    Arguments
    ---------
    norm : torch.nn.BatchNorm1d
        The normalisation over the channel dimension C.
    x : torch.Tensor
        (B, T, C) frames.
    mask : torch.Tensor
        (B, T, 1) with 1 on valid frames and 0 on padding.

    Returns
    -------
    torch.Tensor
        (B, T, C): normalised valid frames, zeros on padding.

    Example
    -------
    >>> norm = torch.nn.BatchNorm1d(2)
    >>> x = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [100.0, 100.0]]])
    >>> mask = torch.tensor([[[1.0], [1.0], [0.0]]])
    >>> masked_batch_norm(norm, x, mask)[0].round(decimals=3).tolist()
    [[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]
    """
    valid = mask[..., 0] > 0
    out = torch.zeros_like(x)
    out[valid] = norm(x[valid])
    return out


class ConvResidualAttentionHead(torch.nn.Module):
    """The encoder-decoder of Bhosale et al. 2020 (Fig. "Proposed
    Encoder-Decoder model architecture") up to its last dense layer.

    Input normalisation (batch norm over the valid frames), then the
    encoder: ``n_convs`` x [Conv1d (same length), BatchNorm, ReLU] giving
    E; the decoder: multi-head self-attention A_MH over E with padded
    frames masked, context C = E + A_MH, average pooling of C over the
    valid frames, then Linear + ReLU (the first dense layer). The YAML's
    ``emotion_out`` is the second dense layer; the softmax is in the loss.
    Layer sizes are not in the paper (slides); ours are in the YAML.

    Arguments
    ---------
    input_size : int
        Frame dimension of the streams.
    channels : int
        Convolution channels (and attention dimension).
    kernel_size : int
        Odd kernel size in frames.
    n_convs : int
        Convolution blocks (Bhosale et al.: 2).
    n_heads : int
        Attention heads.
    dense_size : int
        Width of the first dense layer (the returned embedding).
    dropout : float
        Dropout on the attention weights and before the dense layer.

    Example
    -------
    >>> head = ConvResidualAttentionHead(input_size=384, channels=32)
    >>> head(torch.rand(3, 40, 384), torch.tensor([1.0, 0.5, 0.2])).shape
    torch.Size([3, 128])
    """

    def __init__(
        self,
        input_size,
        channels=128,
        kernel_size=3,
        n_convs=2,
        n_heads=4,
        dense_size=128,
        dropout=0.1,
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.input_norm = torch.nn.BatchNorm1d(input_size)
        sizes = [input_size] + [channels] * n_convs
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv1d(a, b, kernel_size, padding=kernel_size // 2)
            for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.norms = torch.nn.ModuleList(
            torch.nn.BatchNorm1d(channels) for _ in range(n_convs)
        )
        self.attention = torch.nn.MultiheadAttention(
            channels, n_heads, dropout=dropout, batch_first=True
        )
        self.dense = torch.nn.Sequential(
            torch.nn.Dropout(dropout),
            torch.nn.Linear(channels, dense_size),
            torch.nn.ReLU(),
        )

    def context(self, x, lengths=None):
        """The context C = E + A_MH, (B, T, channels), and the weights.

        Returns
        -------
        context : torch.Tensor
            (B, T, channels), zero on padded frames.
        weights : torch.Tensor
            (B, n_heads, T, T) attention weights of every head.
        """
        mask = time_mask(x, lengths)
        x = masked_batch_norm(self.input_norm, x, mask)
        for conv, norm in zip(self.convs, self.norms):
            x = conv((x * mask).transpose(1, 2)).transpose(1, 2)
            x = torch.relu(masked_batch_norm(norm, x, mask))
        attended, weights = self.attention(
            x,
            x,
            x,
            key_padding_mask=key_padding_mask(x, lengths),
            need_weights=True,
            average_attn_weights=False,
        )
        return (x + attended) * mask, weights

    def forward(self, x, lengths=None):
        """Returns the (B, dense_size) utterance embedding."""
        context, _ = self.context(x, lengths)
        mask = time_mask(context, lengths)
        pooled = context.sum(dim=1) / mask.sum(dim=1)
        return self.dense(pooled)
