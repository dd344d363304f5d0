"""Self-supervised speech encoders (wav2vec2, HuBERT, WavLM) as frames.

Xagorari et al. 2022 fine-tune wav2vec 2.0 base on MSP-Podcast; here any
speech encoder that SpeechBrain's ``Wav2Vec2`` wrapper loads from a local
folder can stand in its place. Without pre-trained weights (none are
pip-installable) the folder can be built from a config: a randomly
initialised model, trained from scratch on the task.

Authors
 * speechbrain-ser developers 2026
"""

import importlib
import os

import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.nnet.encoders import (
    check_layer,
    select_layers,
    train_top_layers,
)
from speechbrain_ser.sources import resolve_source

logger = get_logger(__name__)


def build_random_speech_model(folder, config, sample_rate=16000):
    """Saves a randomly initialised HF speech model and its feature
    extractor to ``folder`` (kept when it already holds a model).

    Arguments
    ---------
    folder : str
        Where ``config.json``, the weights and
        ``preprocessor_config.json`` go.
    config : dict
        ``model_type`` (e.g. ``wav2vec2``, ``hubert``, ``wavlm``) and the
        config's fields (``hidden_size``, ``num_hidden_layers``, ...).
    sample_rate : int
        Sampling rate of the feature extractor.

    Returns
    -------
    str
        ``folder``.

    Example
    -------
    >>> import tempfile
    >>> folder = build_random_speech_model(tempfile.mkdtemp(), TINY_CONFIG)
    >>> sorted(f for f in os.listdir(folder) if f.endswith(".json"))
    ['config.json', 'preprocessor_config.json']
    """
    from transformers import AutoConfig, AutoModel, Wav2Vec2FeatureExtractor

    if os.path.isfile(os.path.join(folder, "config.json")):
        return folder
    fields = dict(config)
    model_type = fields.pop("model_type", "wav2vec2")
    model = AutoModel.from_config(AutoConfig.for_model(model_type, **fields))
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(
        sampling_rate=sample_rate,
        do_normalize=True,
        return_attention_mask=True,
    ).save_pretrained(folder)
    logger.info(f"randomly initialised {model_type} saved to {folder}")
    return folder


class SSLEncoder(torch.nn.Module):
    """wav2vec 2.0, HuBERT or WavLM from a folder or Hub id, as frames.

    The one wrapper of the package around SpeechBrain's Hugging Face
    integrations (``Wav2Vec2``, ``HuBERT``, ``WavLM``), which mask each
    clip's padding. Frames come at the model's rate (50 per second for the
    usual 320-sample stride) and the relative lengths stay valid for them.

    Arguments
    ---------
    source : str
        Local folder with a Hugging Face model (``config.json``, weights,
        ``preprocessor_config.json``), or its Hub id (e.g.
        ``microsoft/wavlm-base-plus``; offline from the Hub cache, see
        :mod:`speechbrain_ser.sources`).
    save_path : str
        Cache folder for the SpeechBrain wrapper.
    model : str
        ``wav2vec2``, ``hubert`` or ``wavlm``: which wrapper loads it.
    freeze : bool
        If True the model is not trained (and runs under no_grad).
    freeze_feature_extractor : bool
        If True the convolutional front end is not trained.
    layer : int or str
        Which hidden state to return (-1: the last transformer layer, 0:
        the projected convolutional features), or ``"all"`` for every
        hidden state as (B, T, L, D), L = transformer layers + 1.
    trainable_layers : int, optional
        With ``freeze=False``: train only the top N transformer layers;
        None trains everything but, with ``freeze_feature_extractor``, the
        convolutional feature extractor.
    gradient_checkpointing : bool
        Recompute the transformer layers' activations in the backward
        pass instead of storing them: less memory for about one more
        forward pass of compute.
    config : dict, optional
        When given and ``source`` holds no model yet, a randomly
        initialised model with this config is built there first
        (:func:`build_random_speech_model`).
    output_norm : bool
        Layer-normalise the output frames.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> enc = SSLEncoder(folder, folder, config=TINY_CONFIG)
    >>> enc(torch.rand(2, 8000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 398, 16])
    >>> enc = SSLEncoder(folder, folder, layer="all")
    >>> enc(torch.rand(2, 8000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 398, 2, 16])
    """

    wrappers = {
        "wav2vec2": ("wav2vec2", "Wav2Vec2"),
        "hubert": ("hubert", "HuBERT"),
        "wavlm": ("wavlm", "WavLM"),
    }

    def __init__(
        self,
        source,
        save_path,
        model="wav2vec2",
        freeze=False,
        freeze_feature_extractor=False,
        layer=-1,
        trainable_layers=None,
        gradient_checkpointing=False,
        config=None,
        output_norm=False,
    ):
        super().__init__()
        if model not in self.wrappers:
            raise ValueError(
                f"{source}: model must be one of {sorted(self.wrappers)}, "
                f"got {model!r}"
            )
        if config is not None:
            build_random_speech_model(source, config)
        folder = resolve_source(source)
        module, name = self.wrappers[model]
        wrapper = getattr(
            importlib.import_module(
                f"speechbrain.integrations.huggingface.{module}"
            ),
            name,
        )
        # The last layer alone is the wrapper's plain output; any other
        # choice needs every hidden state.
        self.ssl = wrapper(
            folder,
            save_path=save_path,
            output_norm=output_norm,
            freeze=freeze,
            freeze_feature_extractor=freeze_feature_extractor,
            output_all_hiddens=layer != -1,
        )
        check_layer(layer, self.n_hidden_states, source)
        if gradient_checkpointing:
            self.ssl.model.gradient_checkpointing_enable()
        if not freeze and trainable_layers is not None:
            train_top_layers(self.ssl.model, trainable_layers)
        self.source = source
        self.model_type = model
        self.layer = layer

    @property
    def n_hidden_states(self):
        """Number of hidden states: transformer layers + 1."""
        return self.ssl.model.config.num_hidden_layers + 1

    @property
    def output_size(self):
        """Frame dimension D (hidden_size)."""
        return self.ssl.model.config.hidden_size

    def extra_repr(self):
        """The options that change the frames (printed, and cache keys)."""
        return (
            f"source={self.source!r}, model={self.model_type!r}, "
            f"layer={self.layer!r}"
        )

    def forward(self, wavs, lengths=None):
        """Encodes (B, samples) waveforms into (B, T, D) frames.

        Returns (B, T, L, D) with ``layer="all"``.
        """
        frames = self.ssl(wavs, lengths)
        if self.layer == -1:
            return frames
        return select_layers(frames, self.layer)


# A tiny wav2vec2 for doctests and tests.
TINY_CONFIG = {
    "model_type": "wav2vec2",
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "conv_dim": [8, 8],
    "conv_kernel": [10, 8],
    "conv_stride": [5, 4],
    "num_conv_pos_embeddings": 8,
    "num_conv_pos_embedding_groups": 2,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
}
