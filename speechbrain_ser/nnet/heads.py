"""Utterance-level heads: (B, T, D) encoder frames -> (B, E) embedding.

Each head ends in an utterance embedding; the YAML adds the output layer
(``emotion_out`` to class logits, ``avd_out`` to activation, valence and
dominance) so one head serves classification, regression, or both.

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.nnet.masked_conv import MaskedConv1d
from speechbrain_ser.nnet.pooling import MeanStdPooling, time_mask


def key_padding_mask(x, lengths):
    """(B, T) boolean mask, True on padded frames (for attention).

    Arguments
    ---------
    x : torch.Tensor
        (B, T, D) padded batch.
    lengths : torch.Tensor or None
        (B,) relative lengths.

    Returns
    -------
    torch.Tensor or None
        True where a frame is padding; None without lengths.

    Example
    -------
    >>> key_padding_mask(torch.rand(2, 4, 1), torch.tensor([1.0, 0.5]))
    tensor([[False, False, False, False],
            [False, False,  True,  True]])
    """
    if lengths is None:
        return None
    return time_mask(x, lengths)[..., 0] == 0


class StatsPoolingMLP(torch.nn.Module):
    """Statistics pooling then N x [Linear, LayerNorm, ReLU] (Sarkar & Tarigopula).

    The baseline of Sarkar & Tarigopula: mean and standard deviation of the encoder's
    frames, then a feed-forward network of three Linear-LayerNorm-ReLU
    blocks.

    Arguments
    ---------
    input_size : int
        Encoder dimension D.
    hidden_size : int
        Width of every block, and of the returned embedding.
    n_layers : int
        Number of [Linear, LayerNorm, ReLU] blocks (Sarkar & Tarigopula: 3);
        0: none, the (standardised) statistics are the embedding, so that
        the output layer on top makes a linear model (a linear probe).
    dropout : float
        Dropout after each block.
    input_norm : bool
        Standardise the pooled statistics with a ``BatchNorm1d`` without
        affine parameters (running mean and variance at test time), as a
        linear probe's scaler does; not in Sarkar & Tarigopula's head.
    input_dropout : float
        Dropout on the pooled statistics (a regulariser for small corpora).

    Example
    -------
    >>> head = StatsPoolingMLP(input_size=32, hidden_size=16)
    >>> head(torch.rand(4, 50, 32), torch.tensor([1.0, 0.5, 0.8, 1.0])).shape
    torch.Size([4, 16])
    >>> small = StatsPoolingMLP(32, 8, n_layers=1, input_norm=True)
    >>> small(torch.rand(1, 50, 32)).shape  # a batch of one trains too
    torch.Size([1, 8])
    >>> StatsPoolingMLP(32, n_layers=0, input_norm=True).output_size
    64
    """

    def __init__(
        self,
        input_size,
        hidden_size=256,
        n_layers=3,
        dropout=0.0,
        input_norm=False,
        input_dropout=0.0,
    ):
        super().__init__()
        self.pooling = MeanStdPooling("std")
        self.input_norm = None
        if input_norm:
            self.input_norm = torch.nn.BatchNorm1d(2 * input_size, affine=False)
        blocks = []
        if input_dropout:
            blocks.append(torch.nn.Dropout(input_dropout))
        size = 2 * input_size
        for _ in range(n_layers):
            blocks += [
                torch.nn.Linear(size, hidden_size),
                torch.nn.LayerNorm(hidden_size),
                torch.nn.ReLU(),
                torch.nn.Dropout(dropout),
            ]
            size = hidden_size
        self.mlp = torch.nn.Sequential(*blocks)
        self.output_size = size

    def forward(self, x, lengths=None):
        """Returns the (B, hidden_size) utterance embedding."""
        stats = self.pooling(x, lengths)
        if self.input_norm is not None:
            norm = self.input_norm
            # a batch of one has no variance: use the running statistics
            single = self.training and stats.shape[0] == 1
            stats = torch.nn.functional.batch_norm(
                stats,
                norm.running_mean,
                norm.running_var,
                training=self.training and not single,
                momentum=norm.momentum,
                eps=norm.eps,
            )
        return self.mlp(stats)


class AttentionRecognizer(torch.nn.Module):
    """Multi-head self-attention then u = [mean(U); std(U)] (Li et al. 2021).

    Arguments
    ---------
    input_size : int
        Encoder dimension D.
    d_model : int
        Attention dimension (the input is projected to it when it differs).
    n_heads : int
        Number of attention heads.
    dropout : float
        Attention dropout.

    Example
    -------
    >>> head = AttentionRecognizer(input_size=32, d_model=16, n_heads=4)
    >>> head(torch.rand(4, 50, 32), torch.tensor([1.0, 0.5, 0.8, 1.0])).shape
    torch.Size([4, 32])
    """

    def __init__(self, input_size, d_model=128, n_heads=4, dropout=0.0):
        super().__init__()
        self.project = (
            torch.nn.Identity()
            if input_size == d_model
            else torch.nn.Linear(input_size, d_model)
        )
        self.attention = torch.nn.MultiheadAttention(
            d_model, n_heads, dropout=dropout, batch_first=True
        )
        self.pooling = MeanStdPooling("std")

    def forward(self, x, lengths=None):
        """Returns the (B, 2 * d_model) utterance embedding."""
        x = self.project(x)
        padding = key_padding_mask(x, lengths)
        attended, _ = self.attention(
            x, x, x, key_padding_mask=padding, need_weights=False
        )
        return self.pooling(attended, lengths)


class ConvAttentionRegressor(torch.nn.Module):
    """The emotion regressor of SA2SR fine-tuning (Ghriss et al. 2022, sec. 4.1).

    Two masked 1-D convolutions (kernels 6 and 3, strides 3 and 2), a
    sample-level normalisation (LayerNorm over channels, per frame) and
    LeakyReLU(0.3); then a transformer block with 4 heads and 64 dimensions
    for every encoding space and the feed-forward output; then mean and
    variance pooling, 2 x 64 = 128 features. The linear map to AVD is the
    YAML's ``avd_out``.

    Arguments
    ---------
    input_size : int
        Encoder dimension D.
    channels : int
        Convolution channels and attention dimension (Ghriss et al. 2022: 64).
    kernel_sizes : tuple of int
        Ghriss et al. 2022: (6, 3).
    strides : tuple of int
        Ghriss et al. 2022: (3, 2).
    n_heads : int
        Ghriss et al. 2022: 4.
    negative_slope : float
        LeakyReLU slope (Ghriss et al. 2022: 0.3).
    dropout : float
        Dropout in the attention block.

    Example
    -------
    >>> head = ConvAttentionRegressor(input_size=40)
    >>> head(torch.rand(3, 120, 40), torch.tensor([1.0, 0.5, 0.3])).shape
    torch.Size([3, 128])
    """

    def __init__(
        self,
        input_size,
        channels=64,
        kernel_sizes=(6, 3),
        strides=(3, 2),
        n_heads=4,
        negative_slope=0.3,
        dropout=0.0,
    ):
        super().__init__()
        sizes = [input_size] + [channels] * len(kernel_sizes)
        self.convs = torch.nn.ModuleList(
            MaskedConv1d(sizes[i], sizes[i + 1], k, s)
            for i, (k, s) in enumerate(zip(kernel_sizes, strides))
        )
        self.norm = torch.nn.LayerNorm(channels)
        self.activation = torch.nn.LeakyReLU(negative_slope)
        self.attention = torch.nn.TransformerEncoderLayer(
            d_model=channels,
            nhead=n_heads,
            dim_feedforward=channels,
            dropout=dropout,
            batch_first=True,
        )
        self.pooling = MeanStdPooling("var")

    def forward(self, x, lengths=None):
        """Returns the (B, 2 * channels) utterance embedding."""
        for conv in self.convs:
            x, lengths = conv(x, lengths)
        x = self.activation(self.norm(x))
        x = self.attention(x, src_key_padding_mask=key_padding_mask(x, lengths))
        return self.pooling(x, lengths)
