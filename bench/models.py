"""Untrained inference folders of the shipped model types, for benchmarks.

Speed does not depend on the weights, so each folder is exported from the
shipped YAML's modules as they are built (random initialisation), through
the same ``export_inference_folder`` that training uses.
"""

import os
import tempfile

import numpy as np
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.encoder import CategoricalEncoder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# model type -> (YAML, overrides); "whisper" needs --whisper_source
MODEL_TYPES = {
    "demo_conv": ("hparams/demo.yaml", {}),
    "sa2sr_paper": (
        "recipes/MSP-Podcast/sa2sr/hparams/finetune.yaml",
        {"pretrained_encoder": "unused", "pretrainer": None},
    ),
    "cpc": ("hparams/cpc_finetune.yaml", {"pretrainer": None}),
    "whisper_stats_pooling": (
        "recipes/URDU/emotion/hparams/whisper_stats_pooling.yaml",
        {"fold": 0},
    ),
}


def inference_folder(kind, whisper_source=None, root=None):
    """Exports an untrained model of ``kind`` and returns its folder.

    Arguments
    ---------
    kind : str
        A key of ``MODEL_TYPES``.
    whisper_source : str, optional
        Local Whisper folder (``whisper_stats_pooling`` only).
    root : str, optional
        Where to write (default: a new temporary folder).

    Returns
    -------
    str
        The inference folder.
    """
    from speechbrain_ser.brains.export import export_inference_folder

    yaml_file, overrides = MODEL_TYPES[kind]
    yaml_file = os.path.join(ROOT, yaml_file)
    root = root or tempfile.mkdtemp()
    overrides = {
        "data_folder": root,
        "output_folder": os.path.join(root, "run"),
        **overrides,
    }
    if kind == "whisper_stats_pooling":
        if not whisper_source:
            raise ValueError("whisper_stats_pooling needs --whisper_source")
        overrides["whisper_source"] = whisper_source
    with open(yaml_file) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    label_encoder = None
    if hparams["task"] in ("classification", "both"):
        label_encoder = CategoricalEncoder()
        label_encoder.update_from_iterable(
            [f"class{i}" for i in range(hparams["n_classes"])]
        )
    torch.manual_seed(0)
    return export_inference_folder(
        yaml_file,
        overrides,
        hparams["modules"],
        os.path.join(root, "inference"),
        label_encoder=label_encoder,
    )


def bare_forward(recognizer):
    """The model's forward pass with no recognizer around it.

    Returns a function ``(wavs, lengths) -> outputs`` (on the CPU) that
    calls the same feature extractor and modules directly, as a bare
    PyTorch program would.
    """
    features = getattr(recognizer.hparams, "compute_features", None)
    mods = recognizer.mods
    norm = getattr(mods, "mean_var_norm", None)
    outputs = [
        getattr(mods, name)
        for name in ("emotion_out", "avd_out")
        if hasattr(mods, name)
    ]

    def forward(wavs, lengths):
        with torch.inference_mode():
            x = features(wavs) if features is not None else wavs
            if norm is not None:
                x = norm(x, lengths)
            embedding = mods.head(mods.encoder(x, lengths), lengths)
            # on the CPU, as any program that uses the results (and a GPU
            # computation is only finished once they are there)
            return [layer(embedding).cpu() for layer in outputs]

    return forward


def voiced_wave(seconds, rate=16000, seed=0):
    """A speech-like signal (a vowel with a moving pitch, syllable-rate
    loudness and a little noise): the speech detector lets it through,
    so ``classify_file`` runs the model as on real speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 12))
    wave *= 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2 * t))
    return (0.1 * wave + 0.003 * rng.standard_normal(len(t))).astype("f4")
