"""A tiny labelled corpus of tones with hand-made manifests, and a tiny
``hparams/demo.yaml`` run on it, for the bad-input tests."""

import json
import os

import numpy as np
import soundfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
LABELS = ("angry", "happy", "neutral", "sad")
# split -> speakers; one utterance per (speaker, label)
SPEAKERS = {"train": ("s1", "s2"), "valid": ("s3",), "test": ("s4",)}


def write_wav(path, samples, sample_rate=16000, subtype=None):
    """Writes float samples as an audio file (folder created)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    soundfile.write(path, samples, sample_rate, subtype=subtype)
    return path


def tone(seconds, freq, seed=0, sample_rate=16000):
    """A sine tone with a little noise: 'speech' as far as tests go."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * noise


def make_corpus(folder, seconds=0.4):
    """Writes wavs/ and manifests/{train,valid,test}.json under ``folder``.

    Returns
    -------
    dict
        split -> (id -> entry) as written.
    """
    manifests = {}
    for split, speakers in SPEAKERS.items():
        entries = {}
        for s, speaker in enumerate(speakers):
            for i, label in enumerate(LABELS):
                uid = f"{speaker}_{label}"
                write_wav(
                    os.path.join(folder, "wavs", f"{uid}.wav"),
                    tone(seconds, 150 + 100 * i, seed=s),
                )
                entries[uid] = {
                    "wav": "{data_root}/wavs/" + f"{uid}.wav",
                    "duration": seconds,
                    "speaker": speaker,
                    "emotion": label,
                    "activation": 1.0 + i,
                    "valence": 5.0 - i,
                    "dominance": 2.0 + i % 2,
                }
        manifests[split] = entries
    write_manifests(folder, manifests)
    return manifests


def write_manifests(folder, manifests):
    """Writes split -> entries as folder/manifests/<split>.json."""
    os.makedirs(os.path.join(folder, "manifests"), exist_ok=True)
    for split, entries in manifests.items():
        with open(os.path.join(folder, "manifests", f"{split}.json"), "w") as f:
            json.dump(entries, f, indent=2)


def manifest_path(folder, split):
    return os.path.join(folder, "manifests", f"{split}.json")


def tiny_args(corpus, output, **extra):
    """``run_recipe`` arguments: hparams/demo.yaml, tiny, on ``corpus``."""
    overrides = {
        "data_folder": str(corpus),
        "manifest_folder": os.path.join(str(corpus), "manifests"),
        "output_folder": str(output),
        "prepare": "null",
        "number_of_epochs": 2,
        "batch_size": 4,
        "emb_channels": 8,
        "n_mels": 20,
    }
    overrides.update(extra)
    return [os.path.join(ROOT, "hparams", "demo.yaml")] + [
        f"--{key}={value}" for key, value in overrides.items()
    ]
