"""Contrastive predictive coding (CPC) for speech emotion (Li et al. 2021).

z_i = f(x_i) (a frame encoder), c_i = g(z_<=i) (a GRU), and one linear
prediction head h_k per step k = 1..K; the loss is InfoNCE between
h_k(c_i) and z_{i+k}, negatives from other time steps and utterances.

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.nnet.losses import info_nce_loss
from speechbrain_ser.nnet.pooling import time_mask, valid_frames
from speechbrain_ser.nnet.recurrent import padded_rnn


class WaveformConvEncoder(torch.nn.Module):
    """Strided 1-D convolutions over the raw waveform: f in CPC.

    The default kernels (10, 8, 4, 4, 4) and strides (5, 4, 2, 2, 2) are
    those of the original CPC model (van den Oord et al., 2018): one frame
    per 160 samples, 10 ms at 16 kHz. Each convolution is followed by a
    per-frame LayerNorm and ReLU.

    Arguments
    ---------
    channels : int
        Output dimension of every layer.
    kernel_sizes : sequence of int
        Kernel of each layer.
    strides : sequence of int
        Stride of each layer.

    Example
    -------
    >>> f = WaveformConvEncoder(channels=32)
    >>> f(torch.rand(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 98, 32])
    """

    def __init__(
        self,
        channels=256,
        kernel_sizes=(10, 8, 4, 4, 4),
        strides=(5, 4, 2, 2, 2),
    ):
        super().__init__()
        self.convs = torch.nn.ModuleList()
        self.norms = torch.nn.ModuleList()
        size = 1
        for kernel, stride in zip(kernel_sizes, strides):
            self.convs.append(
                torch.nn.Conv1d(size, channels, kernel, stride, bias=False)
            )
            self.norms.append(torch.nn.LayerNorm(channels))
            size = channels

    def forward(self, wavs, lengths=None):
        """(B, samples) -> (B, T, channels); relative lengths still hold."""
        samples = wavs.unsqueeze(-1)  # (B, samples, 1)
        x = (samples * time_mask(samples, lengths)).transpose(1, 2)
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(norm(conv(x).transpose(1, 2))).transpose(1, 2)
        return x.transpose(1, 2)


class FilterbankEncoder(torch.nn.Module):
    """Log filterbanks then frame-wise layers: f in CPC over features.

    Each frame is encoded on its own (Linear -> LayerNorm -> ReLU per
    layer), so z_i sees x_i only and no future frame leaks into the
    context that predicts it.

    Arguments
    ---------
    compute_features : torch.nn.Module
        Waveforms (B, samples) -> features (B, T, n_features), e.g.
        ``speechbrain.lobes.features.Fbank``.
    input_size : int
        n_features.
    channels : int
        Output dimension of every layer.
    n_layers : int
        Number of frame-wise layers.
    normalize : torch.nn.Module, optional
        ``(features, lengths) -> features``, e.g. SpeechBrain's
        ``InputNormalization`` with ``norm_type: sentence``.

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> f = FilterbankEncoder(Fbank(n_mels=20), input_size=20, channels=32)
    >>> f(torch.rand(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 101, 32])
    """

    def __init__(
        self,
        compute_features,
        input_size,
        channels=256,
        n_layers=2,
        normalize=None,
    ):
        super().__init__()
        self.compute_features = compute_features
        self.normalize = normalize
        layers = []
        for i in range(n_layers):
            layers += [
                torch.nn.Linear(input_size if i == 0 else channels, channels),
                torch.nn.LayerNorm(channels),
                torch.nn.ReLU(),
            ]
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, wavs, lengths=None):
        """(B, samples) -> (B, T, channels) at the features' frame rate."""
        feats = self.compute_features(wavs)
        if self.normalize is not None:
            feats = self.normalize(feats, lengths)
        return self.layers(feats) * time_mask(feats, lengths)


class CPCModel(torch.nn.Module):
    """Frame encoder f, autoregressive GRU g and prediction heads h_1..h_K.

    Called as a module, it returns the context frames c, so a CPC model
    can be the ``encoder`` of an emotion recipe; with ``with_loss=True``
    it also returns the CPC loss and the accuracy of each step k (this
    way the loss is computed inside ``forward``, as DDP wants).
    :meth:`encode` gives z and c, :meth:`info_nce` the loss from them.

    Arguments
    ---------
    encoder : torch.nn.Module
        f: ``(x, lengths) -> (B, T, encoder_dim)`` (waveform or features).
    encoder_dim : int
        Dimension of z.
    context_dim : int
        GRU units, dimension of c.
    n_predictions : int
        K, the number of future steps predicted.
    num_negatives : int, optional
        Negatives drawn per query; None uses every other valid frame.

    Example
    -------
    >>> model = CPCModel(WaveformConvEncoder(16), 16, 24, n_predictions=3)
    >>> wavs, lengths = torch.rand(2, 8000), torch.tensor([1.0, 0.7])
    >>> model(wavs, lengths).shape
    torch.Size([2, 48, 24])
    >>> c, loss, accuracies = model(wavs, lengths, with_loss=True)
    >>> z, c = model.encode(wavs, lengths)
    >>> loss, accuracies = model.info_nce(z, c, lengths)
    >>> loss.dim(), len(accuracies)
    (0, 3)
    """

    def __init__(
        self,
        encoder,
        encoder_dim,
        context_dim,
        n_predictions=12,
        num_negatives=None,
    ):
        super().__init__()
        self.encoder = encoder
        self.context = torch.nn.GRU(encoder_dim, context_dim, batch_first=True)
        self.heads = torch.nn.ModuleList(
            torch.nn.Linear(context_dim, encoder_dim)
            for _ in range(n_predictions)
        )
        self.num_negatives = num_negatives

    def encode(self, x, lengths=None):
        """Returns z (B, T, encoder_dim) and c (B, T, context_dim).

        The GRU is causal, so c_i depends on z_1..z_i only; c is zero
        on padded frames.
        """
        z = self.encoder(x, lengths)
        return z, padded_rnn(self.context, z, lengths)

    def forward(self, x, lengths=None, with_loss=False):
        """The context frames c; with ``with_loss``, (c, loss, accuracies).

        Arguments
        ---------
        x : torch.Tensor
            Input of the frame encoder f (e.g. waveforms (B, samples)).
        lengths : torch.Tensor, optional
            Relative lengths (B,).
        with_loss : bool
            Also compute :meth:`info_nce`.

        Returns
        -------
        c : torch.Tensor
            (B, T, context_dim)
        loss, accuracies : torch.Tensor, list of float
            Only with ``with_loss``.
        """
        z, c = self.encode(x, lengths)
        if not with_loss:
            return c
        return (c, *self.info_nce(z, c, lengths))

    def info_nce(self, z, c, lengths=None):
        """CPC loss averaged over k = 1..K, and the accuracy of each k.

        For step k, the queries are h_k(c_i) for every valid i with i + k
        still valid; their positives are z_{i+k}. Padded frames take no
        part.

        Returns
        -------
        loss : torch.Tensor
        accuracies : list of float
            Fraction of queries whose positive scored highest, per k.
        """
        batch, frames, _ = z.shape
        if lengths is None:
            lengths = torch.ones(batch, device=z.device)
        valid = valid_frames(lengths, frames).to(z.device)
        positions = torch.arange(frames, device=z.device)
        losses, accuracies = [], []
        for k, head in enumerate(self.heads, start=1):
            if frames <= k:
                break
            mask = positions[None, : frames - k] + k < valid[:, None]
            if mask.sum() < 2:
                break
            loss, accuracy = info_nce_loss(
                head(c[:, : frames - k]),
                z[:, k:],
                mask,
                num_negatives=self.num_negatives,
            )
            losses.append(loss)
            accuracies.append(accuracy.item())
        if not losses:
            raise ValueError(
                f"utterances of {frames} frames are too short for CPC"
            )
        return torch.stack(losses).mean(), accuracies
