"""A simple, honest floor for every corpus: filterbank statistics +
logistic regression.

Each utterance becomes the mean and standard deviation over time of its
log mel filterbanks (SpeechBrain's ``Fbank``); scikit-learn's
``LogisticRegression`` (balanced class weights, standardised inputs,
``C`` chosen on the valid split) classifies them. Same manifests, same
metrics as the neural recipes.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np
import torch
from speechbrain.lobes.features import Fbank
from tqdm import tqdm

from speechbrain_ser.data.audio import read_audio
from speechbrain_ser.data.manifest import read_manifest
from speechbrain_ser.metrics import classification_report


def fbank_statistics(manifest_path, data_folder, n_mels=40, sample_rate=16000):
    """Mean and std of log mel filterbanks of every utterance.

    Arguments
    ---------
    manifest_path : str
        A manifest JSON.
    data_folder : str
        Replaces ``{data_root}`` in the paths.
    n_mels : int
        Filterbank channels.
    sample_rate : int
        Audio is resampled to it.

    Returns
    -------
    ids : list of str
    features : numpy.ndarray
        (N, 2 * n_mels).
    labels : list of str
        The ``emotion`` of each utterance.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np, soundfile
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root = tempfile.mkdtemp()
    >>> soundfile.write(f"{root}/a.wav", np.random.randn(8000) / 9, 16000)
    >>> entries = {"a": {"wav": "{data_root}/a.wav", "emotion": "sad"}}
    >>> write_manifest(entries, f"{root}/test.json")
    >>> ids, features, labels = fbank_statistics(f"{root}/test.json", root, 20)
    >>> ids, features.shape, labels
    (['a'], (1, 40), ['sad'])
    """
    fbank = Fbank(sample_rate=sample_rate, n_mels=n_mels)
    entries = read_manifest(manifest_path)
    ids, features, labels = [], [], []
    for uid, entry in tqdm(entries.items(), desc="filterbank statistics"):
        wav = read_audio(
            entry["wav"].replace("{data_root}", data_folder), sample_rate
        )
        with torch.no_grad():
            feats = fbank(wav.unsqueeze(0))[0]
        features.append(torch.cat([feats.mean(0), feats.std(0)]).numpy())
        ids.append(uid)
        labels.append(entry["emotion"])
    return ids, np.stack(features), labels


def logistic_regression_baseline(
    manifests, data_folder, c_values=(0.01, 0.1, 1.0, 10.0), n_mels=40
):
    """Trains on train, picks ``C`` by valid UA, reports test metrics.

    Arguments
    ---------
    manifests : dict
        split -> manifest path, for ``train``, ``valid``, ``test``.
    data_folder : str
        Replaces ``{data_root}``.
    c_values : sequence of float
        Inverse regularisation strengths to try.
    n_mels : int
        Filterbank channels.

    Returns
    -------
    dict
        ``C``, ``valid_UA`` and the test metrics of
        :func:`speechbrain_ser.metrics.classification_report`, plus
        ``n_test`` and ``predictions`` (id -> label).

    Example
    -------
    >>> import tempfile
    >>> import numpy as np, soundfile
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root, entries = tempfile.mkdtemp(), {}
    >>> for i in range(8):  # quiet "sad", loud "angry" noise
    ...     wav = np.random.randn(4000) * (0.01 if i % 2 else 0.5)
    ...     soundfile.write(f"{root}/{i}.wav", wav, 16000)
    ...     emotion = "sad" if i % 2 else "angry"
    ...     entries[f"u{i}"] = {"wav": f"{root}/{i}.wav", "emotion": emotion}
    >>> write_manifest(entries, f"{root}/all.json")
    >>> manifests = {s: f"{root}/all.json" for s in ("train", "valid", "test")}
    >>> results = logistic_regression_baseline(manifests, root, n_mels=20)
    >>> results["UA"], results["n_test"]
    (1.0, 8)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = {
        split: fbank_statistics(path, data_folder, n_mels)
        for split, path in manifests.items()
    }
    classes = sorted(set(data["train"][2]))
    index = {label: i for i, label in enumerate(classes)}

    def encode(labels):
        """Class indices (-1 for a label train does not have)."""
        return np.array([index.get(label, -1) for label in labels])

    best = None
    for c in c_values:
        model = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=c, class_weight="balanced", max_iter=5000),
        )
        model.fit(data["train"][1], encode(data["train"][2]))
        valid = classification_report(
            encode(data["valid"][2]), model.predict(data["valid"][1]), classes
        )
        if best is None or valid["UA"] > best[0]:
            best = (valid["UA"], c, model)
    valid_ua, c, model = best
    ids, features, labels = data["test"]
    predicted = model.predict(features)
    results = classification_report(encode(labels), predicted, classes)
    results.update(
        C=c,
        valid_UA=valid_ua,
        n_test=len(ids),
        predictions={uid: classes[p] for uid, p in zip(ids, predicted)},
    )
    return results
