"""1-D convolution over time that keeps track of padding.

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.nnet.pooling import time_mask, valid_frames


class MaskedConv1d(torch.nn.Module):
    """Convolution over time of a padded (B, T, C) batch.

    Padded frames are zeroed before the convolution, so they never leak into
    valid outputs' neighbours beyond what zero padding would, and the
    relative lengths are recomputed for the output frames ("valid"
    convolution, no padding): an input of n frames gives
    floor((n - kernel_size) / stride) + 1 frames.

    Arguments
    ---------
    input_size : int
        Input channels C.
    out_channels : int
        Output channels.
    kernel_size : int
        Kernel size in frames.
    stride : int
        Stride in frames.

    Example
    -------
    >>> conv = MaskedConv1d(40, 64, kernel_size=6, stride=3)
    >>> y, lengths = conv(torch.rand(2, 100, 40), torch.tensor([1.0, 0.5]))
    >>> y.shape, lengths
    (torch.Size([2, 32, 64]), tensor([1.0000, 0.4688]))
    """

    def __init__(self, input_size, out_channels, kernel_size, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.conv = torch.nn.Conv1d(
            input_size, out_channels, kernel_size, stride=stride
        )

    def output_frames(self, frames):
        """Number of output frames for ``frames`` input frames (tensor)."""
        frames = torch.as_tensor(frames)
        return (
            torch.div(
                frames - self.kernel_size, self.stride, rounding_mode="floor"
            )
            + 1
        ).clamp(min=1)

    def forward(self, x, lengths=None):
        """Returns the (B, T', out_channels) output and its relative lengths."""
        frames = x.shape[1]
        # at least one kernel of frames; sym_max, not an if, so that an
        # exported (ONNX) graph pads short inputs too
        short = torch.sym_max(frames, self.kernel_size) - frames
        x = torch.nn.functional.pad(x, (0, 0, 0, short))
        x = x * time_mask(
            x, None if lengths is None else lengths * frames / x.shape[1]
        )
        y = self.conv(x.transpose(1, 2)).transpose(1, 2)
        if lengths is None:
            return y, None
        valid_out = self.output_frames(valid_frames(lengths, frames))
        valid_out = valid_out.to(lengths.dtype)
        return y, (valid_out / y.shape[1]).clamp(max=1.0)
