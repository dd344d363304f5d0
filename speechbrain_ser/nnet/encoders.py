"""Frame-level encoders: (wavs or features, relative lengths) -> (B, T, D).

Any ``torch.nn.Module`` with this call signature can be the ``encoder`` of
:class:`speechbrain_ser.brains.EmotionBrain`: the returned frames must keep
SpeechBrain's relative-length convention (item i is valid up to
``lengths[i] * T``).

Authors
 * speechbrain-ser developers 2026
"""

import math

import torch

from speechbrain_ser.nnet.pooling import time_mask


class ConvEncoder(torch.nn.Module):
    """A small stack of same-length 1-D convolutions over feature frames.

    Each block is Conv1d (odd kernel, "same" padding) -> LayerNorm -> ReLU
    -> Dropout, with padded frames zeroed before every convolution. It is
    the light encoder of the demo recipe and a sane "no pre-training"
    baseline.

    Arguments
    ---------
    input_size : int
        Feature dimension (e.g. 40 filterbanks).
    channels : int
        Output dimension of every block.
    n_layers : int
        Number of blocks.
    kernel_size : int
        Odd kernel size in frames.
    dropout : float
        Dropout after each block.

    Example
    -------
    >>> enc = ConvEncoder(input_size=40, channels=32, n_layers=2)
    >>> enc(torch.rand(2, 100, 40), torch.tensor([1.0, 0.6])).shape
    torch.Size([2, 100, 32])
    """

    def __init__(
        self, input_size, channels=128, n_layers=3, kernel_size=5, dropout=0.1
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.convs = torch.nn.ModuleList()
        self.norms = torch.nn.ModuleList()
        size = input_size
        for _ in range(n_layers):
            self.convs.append(
                torch.nn.Conv1d(
                    size, channels, kernel_size, padding=kernel_size // 2
                )
            )
            self.norms.append(torch.nn.LayerNorm(channels))
            size = channels
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x, lengths=None):
        """Encodes (B, T, input_size) into (B, T, channels)."""
        mask = time_mask(x, lengths)
        for conv, norm in zip(self.convs, self.norms):
            x = conv((x * mask).transpose(1, 2)).transpose(1, 2)
            x = self.dropout(torch.relu(norm(x)))
        return x * mask


class PassThrough(torch.nn.Module):
    """No encoder: the recognizer works on the features themselves.

    The ``encoder`` of recipes whose head reads handcrafted features
    directly (Li et al.'s Sup baseline on log filterbanks).

    Example
    -------
    >>> feats = torch.rand(2, 10, 40)
    >>> torch.equal(PassThrough()(feats, torch.tensor([1.0, 0.5])), feats)
    True
    """

    def forward(self, x, lengths=None):
        """Returns ``x`` unchanged."""
        return x


class WhisperEncoder(torch.nn.Module):
    """The encoder of a Whisper model from a local folder, as frames.

    Wraps SpeechBrain's ``Whisper`` integration (encoder only). Whisper pads
    every input to 30 s; the output is cut back to the longest real input
    of the batch (50 frames per second), so the relative lengths of the
    waveforms remain valid for the frames.

    Arguments
    ---------
    source : str
        Local folder with a Hugging Face Whisper model (``config.json``,
        weights, ``preprocessor_config.json``).
    save_path : str
        Cache folder for the SpeechBrain wrapper.
    freeze : bool
        If True the encoder is not trained (and runs under no_grad).
    layer : int
        Which hidden state to return: -1 is the last encoder layer
        (Sarkar & Tarigopula's baseline), 0 the convolutional front end.
    sample_rate : int
        Input sample rate; Whisper needs 16000.

    Example
    -------
    >>> import tempfile
    >>> from transformers import WhisperConfig, WhisperModel
    >>> from transformers import WhisperFeatureExtractor
    >>> folder = tempfile.mkdtemp()
    >>> config = WhisperConfig(
    ...     d_model=16,
    ...     encoder_layers=1,
    ...     decoder_layers=1,
    ...     encoder_attention_heads=2,
    ...     decoder_attention_heads=2,
    ...     encoder_ffn_dim=32,
    ...     decoder_ffn_dim=32,
    ...     num_mel_bins=80,
    ... )
    >>> WhisperModel(config).save_pretrained(folder)
    >>> _ = WhisperFeatureExtractor().save_pretrained(folder)
    >>> enc = WhisperEncoder(folder, save_path=folder)
    >>> enc(torch.rand(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 50, 16])
    """

    frames_per_second = 50

    def __init__(
        self, source, save_path, freeze=True, layer=-1, sample_rate=16000
    ):
        super().__init__()
        from speechbrain.integrations.huggingface.whisper import Whisper

        self.whisper = Whisper(
            source,
            save_path=save_path,
            sampling_rate=sample_rate,
            encoder_only=True,
            freeze=freeze,
            output_all_hiddens=True,
        )
        self.layer = layer
        self.sample_rate = sample_rate

    def forward(self, wavs, lengths=None):
        """Encodes (B, samples) waveforms into (B, T, d_model) frames."""
        hiddens = self.whisper(wavs)
        frames = math.ceil(
            wavs.shape[1] / self.sample_rate * self.frames_per_second
        )
        return hiddens[self.layer][:, : min(frames, hiddens.shape[2])]
