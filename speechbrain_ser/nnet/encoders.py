"""Frame-level encoders: (wavs or features, relative lengths) -> (B, T, D).

Any ``torch.nn.Module`` with this call signature can be the ``encoder`` of
:class:`speechbrain_ser.brains.EmotionBrain`: the returned frames must keep
SpeechBrain's relative-length convention (item i is valid up to
``lengths[i] * T``).

Authors
 * speechbrain-ser developers 2026
"""

import math
import re

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


# "weighted" and "concat" mean "all" for an encoder, so that one YAML key
# (``layers: weighted``, ``concat`` or an int) can set both the encoder and
# its LayerWeightedHead.
ALL_LAYERS = ("all", "weighted", "concat")


def select_layers(hiddens, layer):
    """Stacked hidden states (L, B, T, D) -> one layer or all of them.

    Arguments
    ---------
    hiddens : torch.Tensor
        (L, B, T, D) hidden states, the input embedding first.
    layer : int or str
        An index into the L states (-1: the last), or ``"all"`` (aliases
        ``"weighted"``, ``"concat"``).

    Returns
    -------
    torch.Tensor
        (B, T, D) for an index; (B, T, L, D) for ``"all"``, so that time
        stays dimension 1 (relative lengths, caching and padding work as
        for one layer).

    Example
    -------
    >>> hiddens = torch.rand(3, 2, 10, 4)
    >>> select_layers(hiddens, -1).shape
    torch.Size([2, 10, 4])
    >>> select_layers(hiddens, "all").shape
    torch.Size([2, 10, 3, 4])
    """
    if layer in ALL_LAYERS:
        return hiddens.permute(1, 2, 0, 3)
    return hiddens[layer]


def check_layer(layer, n_hidden_states, source):
    """Raises a ValueError unless ``layer`` is ``"all"`` or a valid index.

    Arguments
    ---------
    layer : int or str
        A hidden-state index, or one of ``ALL_LAYERS`` (``all``,
        ``weighted``, ``concat``).
    n_hidden_states : int
        How many hidden states the model returns.
    source : str
        The model's name or folder, for the error message.

    Example
    -------
    >>> check_layer(-1, 5, "tiny")
    >>> try:
    ...     check_layer(5, 5, "tiny")
    ... except ValueError as error:
    ...     print(str(error).split(" (")[0])
    tiny: layer must be 'all', 'weighted', 'concat' or an int in [-5, 4]
    """
    if layer in ALL_LAYERS:
        return
    if not isinstance(layer, int) or not (
        -n_hidden_states <= layer < n_hidden_states
    ):
        raise ValueError(
            f"{source}: layer must be 'all', 'weighted', 'concat' or an int in "
            f"[{-n_hidden_states}, {n_hidden_states - 1}] (the model has "
            f"{n_hidden_states} hidden states), got {layer!r}"
        )


# A parameter of layer N of a numbered layer stack: "...layers.N..." (Whisper,
# wav2vec2, HuBERT, WavLM), "...layer.N..." (BERT), "...blocks.N...",
# "...convs.N..." / "...norms.N..." (ConvEncoder).
LAYER_PATTERN = re.compile(
    r"(?:^|\.)(?:layers|layer|blocks|convs|norms)\.(\d+)\."
)


def train_top_layers(model, trainable_layers):
    """Freezes ``model`` except the top ``trainable_layers`` of its layers.

    Layers are the items of the model's numbered layer stack, found by
    parameter name (``LAYER_PATTERN``: ``...layers.3...`` as in Whisper,
    wav2vec2, HuBERT, WavLM; ``convs.3`` and ``norms.3`` as in
    :class:`ConvEncoder`). Parameters after the last layer (a final
    LayerNorm) stay trainable with the top layers; those before the first
    trained layer (front end, embeddings) are frozen. Autograd then records
    nothing below the lowest trainable layer, so fine-tuning the top N
    layers costs a forward pass plus N layers' backward.

    Arguments
    ---------
    model : torch.nn.Module
        The encoder (a wrapper around it works too).
    trainable_layers : int
        How many of the top layers stay trainable; 0 freezes everything.

    Returns
    -------
    list of str
        Names of the parameters left trainable.

    Example
    -------
    >>> enc = ConvEncoder(input_size=4, channels=8, n_layers=3)
    >>> train_top_layers(enc, 1)
    ['convs.2.weight', 'convs.2.bias', 'norms.2.weight', 'norms.2.bias']
    >>> stack = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    >>> model = torch.nn.ModuleDict(
    ...     {"layers": stack, "layer_norm": torch.nn.LayerNorm(2)}
    ... )
    >>> train_top_layers(model, 1)
    ['layers.2.weight', 'layers.2.bias', 'layer_norm.weight', 'layer_norm.bias']
    """
    named = list(model.named_parameters())
    layer_of = {
        name: int(match.group(1))
        for name, _ in named
        if (match := LAYER_PATTERN.search(name))
    }
    if not layer_of:
        raise ValueError(
            f"{type(model).__name__} has no numbered layers (parameter "
            "names with layers.N.); train it fully or freeze it instead"
        )
    total = max(layer_of.values()) + 1
    if not 0 <= trainable_layers <= total:
        raise ValueError(
            f"trainable_layers must be in [0, {total}] (the "
            f"{type(model).__name__} has {total} layers), got "
            f"{trainable_layers}"
        )
    first = total - trainable_layers
    last_layer_param = max(
        index for index, (name, _) in enumerate(named) if name in layer_of
    )
    trainable = []
    for index, (name, param) in enumerate(named):
        keep = trainable_layers > 0 and (
            layer_of.get(name, -1) >= first or index > last_layer_param
        )
        param.requires_grad_(keep)
        if keep:
            trainable.append(name)
    return trainable


class WhisperEncoder(torch.nn.Module):
    """The encoder of a Whisper model from a local folder, as frames.

    Wraps SpeechBrain's ``Whisper`` integration (encoder only) and runs its
    Hugging Face encoder layer by layer, in one of two ways:

    * ``pad_to_30s=True``: as Whisper was trained and as SpeechBrain's
      wrapper does, every clip is padded (or cut) to 30 s of log-mel
      frames, and the output is cut back to the longest clip of the batch.
      A 3 s clip costs ten times what it should.
    * ``pad_to_30s=False`` (default): only the real length is encoded. The
      log-mel input is cut to the longest clip of the batch (at most 30 s)
      and the matching slice of the positional embedding is added. With
      ``mask_padding``, the padded frames of shorter clips are zeroed
      before each convolution and masked out of self-attention, so a clip
      gives the same frames alone or in a padded batch (up to the last one
      or two frames, whose STFT windows see the padding). The log-mel
      dynamic range is clamped per clip (Whisper's ``max - 8``), where
      SpeechBrain's wrapper clamps over the whole batch.

    For a clip of exactly 30 s both ways give the same frames. For shorter
    clips they differ: Whisper always saw 30 s of context, so its frames
    depend on the padding it attends to. On whisper-tiny.en and LibriSpeech
    clips, the mean cosine between the two paths' last-layer frames is
    0.95 (2 s), 0.97 (3 s), 0.98 (5 and 10 s), and 0.91-0.96 over the
    first 10 frames; lower layers agree more (``bench/whisper_trim.py``,
    ``docs/evidence/whisper_trim_cpu.jsonl``).

    Arguments
    ---------
    source : str
        Local folder with a Hugging Face Whisper model (``config.json``,
        weights, ``preprocessor_config.json``), or its Hub id (e.g.
        ``openai/whisper-tiny.en``; offline from the Hub cache, see
        :mod:`speechbrain_ser.sources`).
    save_path : str
        Cache folder for the SpeechBrain wrapper.
    freeze : bool
        If True the encoder is not trained (and runs under no_grad).
    layer : int or str
        Which hidden state to return: -1 is the last encoder layer (Sarkar
        & Tarigopula's baseline), 0 the convolutional front end plus
        positions; ``"all"`` returns every hidden state as (B, T, L, D),
        L = encoder layers + 1 (see :class:`~speechbrain_ser.nnet.
        layer_weighting.WeightedLayerSum`).
    sample_rate : int
        Input sample rate; Whisper needs 16000.
    pad_to_30s : bool
        Pad every clip to 30 s as Whisper was trained (see above).
    mask_padding : bool
        Without 30 s padding: mask each clip's padding in a batch (see
        above). Ignored with ``pad_to_30s``.
    trainable_layers : int, optional
        With ``freeze=False``: train only the top N transformer layers and
        the final LayerNorm; None trains everything.

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
    >>> enc = WhisperEncoder(folder, save_path=folder, layer="all")
    >>> enc(torch.rand(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 50, 2, 16])
    """

    frames_per_second = 50

    def __init__(
        self,
        source,
        save_path,
        freeze=True,
        layer=-1,
        sample_rate=16000,
        pad_to_30s=False,
        mask_padding=True,
        trainable_layers=None,
    ):
        super().__init__()
        from speechbrain.integrations.huggingface.whisper import Whisper

        from speechbrain_ser.sources import resolve_source

        self.whisper = Whisper(
            resolve_source(source),
            save_path=save_path,
            sampling_rate=sample_rate,
            encoder_only=True,
            freeze=freeze,
            output_all_hiddens=True,
        )
        check_layer(layer, self.n_hidden_states, source)
        self.source = source
        self.layer = layer
        self.sample_rate = sample_rate
        self.freeze = freeze
        self.pad_to_30s = pad_to_30s
        self.mask_padding = mask_padding
        self.trainable_layers = trainable_layers
        if not freeze and trainable_layers is not None:
            train_top_layers(self.encoder, trainable_layers)

    @property
    def encoder(self):
        """The Hugging Face ``WhisperEncoder``."""
        return self.whisper.model.encoder

    @property
    def n_hidden_states(self):
        """Number of hidden states: encoder layers + 1."""
        return len(self.encoder.layers) + 1

    @property
    def output_size(self):
        """Frame dimension D (d_model)."""
        return self.encoder.config.d_model

    def extra_repr(self):
        """The options that change the frames (printed, and cache keys)."""
        return (
            f"source={self.source!r}, layer={self.layer!r}, "
            f"pad_to_30s={self.pad_to_30s}, mask_padding={self.mask_padding}"
        )

    def forward(self, wavs, lengths=None):
        """Encodes (B, samples) waveforms into frames.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, samples) waveforms at ``sample_rate``.
        lengths : torch.Tensor, optional
            (B,) relative lengths; None means no padding.

        Returns
        -------
        torch.Tensor
            (B, T, D) frames, or (B, T, L, D) with ``layer="all"``; T is
            the longest clip's frame count (50 per second), so ``lengths``
            stay valid for the frames.
        """
        with torch.set_grad_enabled(
            torch.is_grad_enabled() and not self.freeze
        ):
            if self.pad_to_30s:
                hiddens = self._encode(self.whisper._get_mel(wavs))
                frames = math.ceil(
                    wavs.shape[1] / self.sample_rate * self.frames_per_second
                )
                hiddens = hiddens[:, :, : min(frames, hiddens.shape[2])]
            else:
                hiddens = self._encode_trimmed(wavs, lengths)
        return select_layers(hiddens, self.layer)

    def _encode_trimmed(self, wavs, lengths):
        """(L, B, T, D) hidden states of the real lengths only."""
        samples = wavs.shape[1]
        wavs = wavs[:, : self.whisper._n_samples]  # Whisper's 30 s at most
        mel = self.log_mel(wavs)
        if not self.mask_padding or lengths is None:
            return self._encode(mel)
        samples = torch.round(lengths * samples).long()
        valid = (samples // self.whisper._hop_length).clamp(1, mel.shape[-1])
        return self._encode(mel, valid)

    def log_mel(self, wavs):
        """Whisper's log-mel input, (B, n_mels, samples // hop).

        As SpeechBrain's ``Whisper.log_mel_spectrogram`` (OpenAI's recipe),
        but without padding to 30 s and with the ``max - 8`` floor taken
        per clip, so that a clip's features do not depend on its batch.
        """
        whisper = self.whisper
        window = torch.hann_window(whisper._n_fft, device=wavs.device)
        stft = torch.stft(
            wavs,
            whisper._n_fft,
            whisper._hop_length,
            window=window,
            return_complex=True,
        )
        magnitudes = stft[..., :-1].abs() ** 2
        log_spec = torch.clamp(whisper._mel_filters @ magnitudes, min=1e-10)
        log_spec = log_spec.log10()
        floor = log_spec.amax(dim=(1, 2), keepdim=True) - 8.0
        return (torch.maximum(log_spec, floor) + 4.0) / 4.0

    def _encode(self, mel, valid=None):
        """Runs the encoder on (B, n_mels, N) log-mels: (L, B, T, D).

        ``valid`` (B,) counts each clip's real mel frames; when given,
        padding is zeroed before the convolutions and masked in attention.
        The hidden states are those of Hugging Face's ``WhisperEncoder``
        (``output_hidden_states``): the input embedding, each layer's
        output, the last one after the final LayerNorm.
        """
        encoder = self.encoder
        x = torch.nn.functional.gelu(encoder.conv1(mel))
        attention_mask = None
        if valid is not None:
            x = x * _frame_mask(valid, x.shape[-1]).unsqueeze(1)
        x = torch.nn.functional.gelu(encoder.conv2(x)).transpose(1, 2)
        if valid is not None:
            padded = ~_frame_mask((valid + 1) // 2, x.shape[1]).bool()
            attention_mask = torch.zeros(
                x.shape[0], 1, 1, x.shape[1], dtype=x.dtype, device=x.device
            ).masked_fill(padded[:, None, None], torch.finfo(x.dtype).min)
        x = x + encoder.embed_positions.weight[: x.shape[1]]
        x = torch.nn.functional.dropout(
            x, p=encoder.dropout, training=encoder.training
        )
        hiddens = [x]
        for layer in encoder.layers:
            x = layer(x, attention_mask)
            hiddens.append(x)
        hiddens[-1] = encoder.layer_norm(x)
        return torch.stack(hiddens)


def _frame_mask(valid, frames):
    """(B, frames) float mask, 1 on the first ``valid[b]`` frames."""
    positions = torch.arange(frames, device=valid.device)
    return (positions < valid[:, None]).float()
