"""A tiny labelled corpus with its manifests, for the pipelines' doctests.

Like :mod:`speechbrain_ser.tiny_models` for models: each doctest writes
it in a temporary folder, so the examples show the pipelines on real files
without any corpus.

Authors
 * speechbrain-ser developers 2026
"""

import os

import numpy as np
import soundfile

from speechbrain_ser.data.manifest import SPLITS, write_splits


def write_tiny_corpus(
    root, emotions=("happy", "sad", "sad"), transcript="a dog is sad"
):
    """Writes one silent 0.1-s WAV per emotion and train/valid/test
    manifests that all hold every utterance.

    Entry ``u<i>`` has ``wav`` (under ``{data_root}``), ``duration`` 0.1,
    ``speaker`` s1, ``emotion``, activation / valence / dominance 2, 3, 4
    (on a 1-5 scale), ``transcript`` and ``sentiment`` neutral.

    Arguments
    ---------
    root : str
        The corpus and manifest folder (created).
    emotions : sequence of str
        One utterance per item.
    transcript : str
        Every utterance's transcript.

    Returns
    -------
    dict
        The hparams a ``*_dataio_prep`` reads: ``data_folder``,
        ``sample_rate`` (16000), ``train_dataloader_options`` and the
        ``<split>_manifest`` paths.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.data.manifest import read_manifest
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp(), ["happy", "sad"])
    >>> entries = read_manifest(hparams["test_manifest"])
    >>> sorted(entries), entries["u1"]["emotion"], entries["u1"]["split"]
    (['u0', 'u1'], 'sad', 'test')
    """
    os.makedirs(root, exist_ok=True)
    entries = {}
    for i, emotion in enumerate(emotions):
        soundfile.write(f"{root}/{i}.wav", np.zeros(1600), 16000)
        entries[f"u{i}"] = {
            "wav": "{data_root}/" + f"{i}.wav",
            "duration": 0.1,
            "speaker": "s1",
            "emotion": emotion,
            "activation": 2.0,
            "valence": 3.0,
            "dominance": 4.0,
            "transcript": transcript,
            "sentiment": "neutral",
        }
    write_splits(dict.fromkeys(SPLITS, entries), root, {})
    return {
        "data_folder": root,
        "sample_rate": 16000,
        "train_dataloader_options": {},
        **{f"{split}_manifest": f"{root}/{split}.json" for split in SPLITS},
    }
