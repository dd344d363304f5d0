"""Recurrent layers over padded batches, the same in PyTorch and ONNX.

A bidirectional LSTM must start its backward direction at each
utterance's real end, which PyTorch does by packing the batch
(``pack_padded_sequence``). ``torch.export`` cannot trace packing, and it
unrolls a plain ``nn.LSTM`` / ``nn.GRU`` over time (the time axis stops
being dynamic). So while a model is being exported, :func:`padded_rnn`
calls one custom operator, ``speechbrain_ser::padded_rnn``, that the
ONNX export (:mod:`speechbrain_ser.inference.onnx`) writes as ONNX's own
LSTM / GRU operators with per-utterance ``sequence_lens``; in every other
case it runs the module as usual.

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.nnet.pooling import time_mask, valid_frames


@torch.library.custom_op("speechbrain_ser::padded_rnn", mutates_args=())
def padded_rnn_op(
    x: torch.Tensor,
    valid: torch.Tensor,
    weights: list[torch.Tensor],
    mode: str,
    num_layers: int,
    bidirectional: bool,
    hidden_size: int,
) -> torch.Tensor:
    """A multi-layer LSTM or GRU over the first ``valid`` frames of each item.

    The operator behind :func:`padded_rnn` (inference only: no dropout,
    no gradient). Outputs after each item's end are zero.

    Arguments
    ---------
    x : torch.Tensor
        (B, T, D) batch-first input.
    valid : torch.Tensor
        (B,) frame counts in [1, T].
    weights : list of torch.Tensor
        The module's ``w_ih, w_hh, b_ih, b_hh`` per layer and direction,
        in PyTorch's order (``[w for ws in rnn.all_weights for w in ws]``).
    mode : str
        ``LSTM`` or ``GRU``.
    num_layers : int
        Stacked layers.
    bidirectional : bool
        Whether each layer has a backward direction.
    hidden_size : int
        Units per direction.

    Returns
    -------
    torch.Tensor
        (B, T, directions * hidden_size).

    Example
    -------
    >>> lstm = torch.nn.LSTM(4, 3, bidirectional=True, batch_first=True)
    >>> weights = [w for ws in lstm.all_weights for w in ws]
    >>> x, valid = torch.rand(2, 5, 4), torch.tensor([5, 2])
    >>> y = padded_rnn_op(x, valid, weights, "LSTM", 1, True, 3)
    >>> y.shape, y[1, 2:].abs().sum().item()
    (torch.Size([2, 5, 6]), 0.0)
    """
    frames = x.shape[1]
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, valid.cpu(), batch_first=True, enforce_sorted=False
    )
    directions = 2 if bidirectional else 1
    h0 = x.new_zeros(num_layers * directions, x.shape[0], hidden_size)
    # the packed-sequence kernels of nn.LSTM / nn.GRU; an LSTM's state is
    # (h, c), a GRU's h alone
    if mode == "LSTM":
        kernel, state = torch.ops.aten.lstm.data, [h0, h0]
    else:
        kernel, state = torch.ops.aten.gru.data, h0
    data = kernel(
        packed.data,
        packed.batch_sizes,
        state,
        weights,
        True,
        num_layers,
        0.0,
        False,
        bidirectional,
    )[0]
    output, _ = torch.nn.utils.rnn.pad_packed_sequence(
        packed._replace(data=data), batch_first=True, total_length=frames
    )
    return output


@padded_rnn_op.register_fake
def _padded_rnn_shape(
    x, valid, weights, mode, num_layers, bidirectional, hidden_size
):
    directions = 2 if bidirectional else 1
    return x.new_empty(x.shape[0], x.shape[1], directions * hidden_size)


def padded_rnn(rnn, x, lengths=None):
    """Runs ``rnn`` on a padded batch as if each item were alone.

    Each item is read up to its own end (a bidirectional layer's backward
    direction starts there), and outputs after the end are zero. A
    unidirectional RNN reads the batch as it is (trailing padding cannot
    reach earlier frames) and its padded outputs are zeroed; a
    bidirectional one is packed. While ``torch.export`` traces the model
    (ONNX export), the :func:`padded_rnn_op` operator stands in.

    Arguments
    ---------
    rnn : torch.nn.LSTM or torch.nn.GRU
        Batch-first, with biases.
    x : torch.Tensor
        (B, T, D) input.
    lengths : torch.Tensor, optional
        (B,) relative lengths; None: no padding.

    Returns
    -------
    torch.Tensor
        (B, T, directions * hidden_size).

    Example
    -------
    >>> gru = torch.nn.GRU(4, 3, batch_first=True)
    >>> x = torch.rand(2, 6, 4)
    >>> y = padded_rnn(gru, x, torch.tensor([1.0, 0.5]))
    >>> torch.allclose(y[1, :3], gru(x[1:, :3])[0][0]), y[1, 3:].sum().item()
    (True, 0.0)
    """
    if torch.compiler.is_exporting():
        if not (rnn.batch_first and rnn.bias) or getattr(rnn, "proj_size", 0):
            raise ValueError(
                f"{type(rnn).__name__}: ONNX export needs batch_first=True, "
                "bias=True and no proj_size"
            )
        if lengths is None:
            lengths = x.new_ones(x.shape[0])
        return padded_rnn_op(
            x,
            valid_frames(lengths, x.shape[1]),
            [weight for weights in rnn.all_weights for weight in weights],
            type(rnn).__name__,
            rnn.num_layers,
            rnn.bidirectional,
            rnn.hidden_size,
        )
    if lengths is None:
        return rnn(x)[0]
    if not rnn.bidirectional:
        return rnn(x)[0] * time_mask(x, lengths)
    valid = valid_frames(lengths, x.shape[1]).cpu()
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, valid, batch_first=True, enforce_sorted=False
    )
    output, _ = torch.nn.utils.rnn.pad_packed_sequence(
        rnn(packed)[0], batch_first=True, total_length=x.shape[1]
    )
    return output
