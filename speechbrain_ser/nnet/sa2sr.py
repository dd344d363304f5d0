"""Modules of sentiment-aware ASR pre-training (SA2SR, Ghriss et al. 2022).

The acoustic encoder (frame stacking + 5-layer BiLSTM) is what pre-training
produces and fine-tuning reuses; the sentiment summariser is the proxy
classifier trained next to the CTC head.

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.nnet.pooling import time_mask, valid_frames
from speechbrain_ser.nnet.recurrent import padded_rnn


class FrameStacking(torch.nn.Module):
    """Stacks ``stack`` consecutive frames and keeps one every ``stride``.

    Ghriss et al. 2022 (sec. 4.2): "stack every adjacent three frames and skip every
    other two time steps": stack=3, stride=3, which cuts the frame rate
    three times. The end is zero-padded so that no frame is dropped: T
    frames become ceil(T / stride).

    Arguments
    ---------
    stack : int
        Frames concatenated into one.
    stride : int
        Step between stacked frames.

    Example
    -------
    >>> stacking = FrameStacking(stack=3, stride=3)
    >>> x = torch.arange(8.0).view(1, 8, 1)
    >>> y, lengths = stacking(x, torch.tensor([1.0]))
    >>> y[0].tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 0.0]]
    """

    def __init__(self, stack=3, stride=3):
        super().__init__()
        self.stack = stack
        self.stride = stride

    def forward(self, x, lengths=None):
        """(B, T, F) -> (B, ceil(T / stride), stack * F), new lengths."""
        batch, frames, dim = x.shape
        # ceil division without negative numbers: ONNX's integer Div
        # truncates towards zero where Python's // floors
        out_frames = (frames + self.stride - 1) // self.stride
        needed = (out_frames - 1) * self.stride + self.stack
        x = x * time_mask(x, lengths)
        x = torch.nn.functional.pad(x, (0, 0, 0, needed - frames))
        stacked = x.unfold(1, self.stack, self.stride)  # B, T', F, stack
        stacked = stacked.permute(0, 1, 3, 2).reshape(batch, out_frames, -1)
        if lengths is None:
            return stacked, None
        valid = (valid_frames(lengths, frames) + self.stride - 1) // self.stride
        return stacked, valid.float() / out_frames


class SA2SREncoder(torch.nn.Module):
    """Frame stacking then a multi-layer bidirectional LSTM (Ghriss et al. 2022).

    Padded frames are packed away, so the backward direction starts at each
    utterance's real end; outputs on padded frames are zero (and the same
    in an ONNX export: :func:`~speechbrain_ser.nnet.recurrent.padded_rnn`). Ghriss et al. 2022 (sec.
    4.1): 5 BiLSTM layers of 192 units.

    Arguments
    ---------
    input_size : int
        Feature dimension (40 log filterbanks in Ghriss et al. 2022).
    hidden_size : int
        Units per direction.
    num_layers : int
        BiLSTM layers.
    stack : int
        See :class:`FrameStacking`.
    stride : int
        See :class:`FrameStacking`.
    dropout : float
        Dropout between LSTM layers.

    Example
    -------
    >>> encoder = SA2SREncoder(40, hidden_size=16, num_layers=2)
    >>> encoder(torch.rand(2, 100, 40), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 34, 32])
    """

    def __init__(
        self,
        input_size=40,
        hidden_size=192,
        num_layers=5,
        stack=3,
        stride=3,
        dropout=0.0,
    ):
        super().__init__()
        self.stacking = FrameStacking(stack, stride)
        self.lstm = torch.nn.LSTM(
            input_size * stack,
            hidden_size,
            num_layers=num_layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output_size = 2 * hidden_size

    def forward(self, feats, lengths=None):
        """Encodes (B, T, F) features into (B, T', 2 * hidden_size)."""
        x, lengths = self.stacking(feats, lengths)
        return padded_rnn(self.lstm, x, lengths)


class SentimentSummarizer(torch.nn.Module):
    """Recurrent sequence summariser + linear layer: sentiment logits.

    An LSTM reads the encoder states up to each utterance's real end; its
    last state is mapped to the classes (Ghriss et al. 2022, sec. 3.2: "a sequence
    summarizer (recurrent neural network) followed by a softmax layer").

    Arguments
    ---------
    input_size : int
        Encoder dimension.
    hidden_size : int
        Summariser LSTM units.
    n_classes : int
        3: negative, neutral, positive.

    Example
    -------
    >>> summarizer = SentimentSummarizer(32, hidden_size=8)
    >>> lengths = torch.tensor([1.0, 0.5, 0.3, 1.0])
    >>> summarizer(torch.rand(4, 20, 32), lengths).shape
    torch.Size([4, 3])
    """

    def __init__(self, input_size, hidden_size=128, n_classes=3):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, batch_first=True)
        self.output = torch.nn.Linear(hidden_size, n_classes)

    def forward(self, x, lengths=None):
        """(B, T, D) encoder states -> (B, n_classes) logits."""
        if lengths is None:
            lengths = torch.ones(x.shape[0], device=x.device)
        valid = valid_frames(lengths, x.shape[1]).cpu()
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, valid, batch_first=True, enforce_sorted=False
        )
        _, (hidden, _) = self.lstm(packed)
        return self.output(hidden[-1])
