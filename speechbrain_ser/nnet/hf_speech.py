"""A Hugging Face speech encoder (wav2vec2, HuBERT, WavLM) as frames.

Xagorari et al. 2022 fine-tune wav2vec 2.0 base on MSP-Podcast; here any
speech encoder that SpeechBrain's ``Wav2Vec2`` wrapper loads from a local
folder can stand in its place. Without pre-trained weights (none are
pip-installable) the folder can be built from a config: a randomly
initialised model, trained from scratch on the task.

Authors
 * speechbrain-ser developers 2026
"""

import os

import torch
from speechbrain.utils.logger import get_logger

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


class HFSpeechEncoder(torch.nn.Module):
    """SpeechBrain's ``Wav2Vec2`` wrapper: (wavs, lengths) -> (B, T, D).

    Arguments
    ---------
    source : str
        Local folder of a Hugging Face speech encoder (wav2vec2, HuBERT,
        WavLM, ...).
    save_path : str
        Cache folder of the SpeechBrain wrapper.
    freeze : bool
        If True the encoder is not trained.
    freeze_feature_extractor : bool
        If True the convolutional front end is not trained.
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
    >>> enc = HFSpeechEncoder(folder, folder, config=TINY_CONFIG)
    >>> enc(torch.rand(2, 8000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 398, 16])
    """

    def __init__(
        self,
        source,
        save_path,
        freeze=False,
        freeze_feature_extractor=False,
        gradient_checkpointing=False,
        config=None,
        output_norm=False,
    ):
        super().__init__()
        from speechbrain.integrations.huggingface.wav2vec2 import Wav2Vec2

        if config is not None:
            build_random_speech_model(source, config)
        self.wav2vec2 = Wav2Vec2(
            source,
            save_path=save_path,
            output_norm=output_norm,
            freeze=freeze,
            freeze_feature_extractor=freeze_feature_extractor,
        )
        if gradient_checkpointing:
            self.wav2vec2.model.gradient_checkpointing_enable()
        self.output_size = self.wav2vec2.model.config.hidden_size

    def forward(self, wavs, lengths=None):
        """Encodes (B, samples) waveforms into (B, T, hidden_size)."""
        return self.wav2vec2(wavs, lengths)


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
