"""Linear baselines that every recipe is compared with.

Each utterance becomes the mean and standard deviation over time of
either its log mel filterbanks (:class:`FbankStatistics`, the cheapest
honest floor) or the hidden states of a frozen encoder
(:class:`EncoderStatistics`: the last layer, and all layers concatenated,
a "linear probe" of the encoder a recipe builds). scikit-learn pipelines
(standardised inputs) then fit logistic regression for classes
(balanced class weights) and ridge regression for activation / valence /
dominance; ``C`` and ``alpha`` are chosen on the fold's valid split,
never on test. The outputs have the shape of a recipe's ``results.json``
and ``predictions.json``, so they pool and tabulate like the recipe's.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np
import torch
from speechbrain.lobes.features import Fbank
from speechbrain.utils.logger import get_logger
from tqdm import tqdm

from speechbrain_ser.data.audio import read_audio
from speechbrain_ser.data.manifest import read_manifest
from speechbrain_ser.metrics import AVD_NAMES, ccc_report, classification_report
from speechbrain_ser.nnet.fbank_frames import EncoderWithFbank

logger = get_logger(__name__)

C_VALUES = (0.01, 0.1, 1.0, 10.0)
ALPHA_VALUES = (0.1, 1.0, 10.0, 100.0, 1000.0)


def mean_std(frames):
    """Mean and standard deviation over time, concatenated.

    Arguments
    ---------
    frames : torch.Tensor
        (T, D) frames of one utterance.

    Returns
    -------
    numpy.ndarray
        (2 * D,) float64.

    Example
    -------
    >>> mean_std(torch.tensor([[0.0, 1.0], [2.0, 1.0]])).tolist()
    [1.0, 1.0, 1.0, 0.0]
    """
    frames = frames.double()
    return torch.cat([frames.mean(0), frames.std(0, unbiased=False)]).numpy()


class FbankStatistics:
    """Mean/std of log mel filterbanks (SpeechBrain's ``Fbank``).

    Arguments
    ---------
    n_mels : int
        Filterbank channels.
    sample_rate : int
        Sample rate of the waveforms it receives.

    Example
    -------
    >>> stats = FbankStatistics(n_mels=40)
    >>> stats(torch.rand(1, 16000))["fbank"].shape
    (80,)
    """

    names = ("fbank",)

    def __init__(self, n_mels=40, sample_rate=16000):
        self.sample_rate = sample_rate
        self.fbank = Fbank(sample_rate=sample_rate, n_mels=n_mels)

    @torch.no_grad()
    def __call__(self, wav):
        """(1, samples) waveform -> ``{"fbank": (2 * n_mels,)}``."""
        return {"fbank": mean_std(self.fbank(wav)[0])}


def hidden_states(encoder, inputs, lengths):
    """Every hidden state of a frame encoder, as a list of (B, T, D).

    Uses, in this order: an encoder with ``n_hidden_states`` and a
    ``layer`` option, run with ``layer="all"`` ((B, T, L, D) frames, e.g.
    the Whisper and SSL encoders of :mod:`speechbrain_ser.nnet.encoders`,
    so their own options such as trimming apply; an encoder wrapped in
    :class:`~speechbrain_ser.nnet.fbank_frames.EncoderWithFbank` is probed
    without the appended filterbanks, which the ``fbank`` baseline
    covers); the SpeechBrain Whisper
    wrapper inside a ``WhisperEncoder`` built with ``output_all_hiddens``
    (the convolutional front end is layer 0); else the encoder's output as
    its only layer.

    Arguments
    ---------
    encoder : torch.nn.Module
        ``(inputs, lengths) -> (B, T, D)``.
    inputs : torch.Tensor
        Waveforms or features, as the encoder takes them.
    lengths : torch.Tensor
        Relative lengths.

    Returns
    -------
    list of torch.Tensor
        Lowest layer first; the last item is the last layer.

    Example
    -------
    >>> from speechbrain_ser.nnet.encoders import ConvEncoder
    >>> enc = ConvEncoder(input_size=4, channels=6, n_layers=1)
    >>> [h.shape for h in hidden_states(enc, torch.rand(1, 9, 4), None)]
    [torch.Size([1, 9, 6])]
    >>> class Layered(torch.nn.Module):  # layer="all": (B, T, L, D)
    ...     n_hidden_states, layer = 3, -1
    ...
    ...     def forward(self, x, lengths=None):
    ...         states = torch.stack([x, 2 * x, 3 * x], dim=2)
    ...         return states if self.layer == "all" else states[:, :, -1]
    >>> states = hidden_states(Layered(), torch.ones(1, 5, 4), None)
    >>> len(states), states[-1][0, 0, 0].item()
    (3, 3.0)
    """
    if isinstance(encoder, EncoderWithFbank):  # probe the encoder, not fbanks
        encoder = encoder.encoder
    if hasattr(encoder, "n_hidden_states") and hasattr(encoder, "layer"):
        kept, encoder.layer = encoder.layer, "all"
        try:
            return list(encoder(inputs, lengths).unbind(2))
        finally:
            encoder.layer = kept
    whisper = getattr(encoder, "whisper", None)
    if whisper is not None and getattr(whisper, "output_all_hiddens", False):
        states = whisper(inputs)
        frames = int(
            np.ceil(
                inputs.shape[1]
                / encoder.sample_rate
                * encoder.frames_per_second
            )
        )
        return [state[:, :frames] for state in states]
    return [encoder(inputs, lengths)]


class EncoderStatistics:
    """Mean/std of a frozen encoder's last layer and of all its layers.

    The features the recipe computes (``compute_features``, then
    ``mean_var_norm``) are applied first when given, so the encoder sees
    what it sees in training.

    Arguments
    ---------
    encoder : torch.nn.Module
        The frame encoder (see :func:`hidden_states`).
    compute_features : callable, optional
        Waveforms -> features.
    mean_var_norm : callable, optional
        ``(features, lengths)`` normaliser.
    sample_rate : int
        Sample rate of the waveforms it receives.

    Example
    -------
    >>> from speechbrain_ser.nnet.encoders import ConvEncoder
    >>> stats = EncoderStatistics(
    ...     ConvEncoder(input_size=80, channels=6, n_layers=1),
    ...     compute_features=Fbank(n_mels=80),
    ... )
    >>> out = stats(torch.rand(1, 16000))
    >>> out["last_layer"].shape, out["all_layers"].shape
    ((12,), (12,))
    """

    names = ("last_layer", "all_layers")

    def __init__(
        self,
        encoder,
        compute_features=None,
        mean_var_norm=None,
        sample_rate=16000,
    ):
        self.encoder = encoder.eval()
        self.compute_features = compute_features
        self.mean_var_norm = mean_var_norm
        if mean_var_norm is not None and hasattr(mean_var_norm, "eval"):
            mean_var_norm.eval()
        self.sample_rate = sample_rate

    @torch.no_grad()
    def __call__(self, wav):
        """(1, samples) waveform -> ``{"last_layer", "all_layers"}``."""
        lengths = torch.ones(1)
        inputs = wav
        if self.compute_features is not None:
            inputs = self.compute_features(wav)
            if self.mean_var_norm is not None:
                inputs = self.mean_var_norm(inputs, lengths)
        states = hidden_states(self.encoder, inputs, lengths)
        pooled = [mean_std(state[0]) for state in states]
        return {"last_layer": pooled[-1], "all_layers": np.concatenate(pooled)}


def utterance_features(manifest_path, data_folder, featurizer, cache=None):
    """Runs ``featurizer`` on every utterance of a manifest.

    Arguments
    ---------
    manifest_path : str
        A manifest JSON.
    data_folder : str
        Replaces ``{data_root}`` in the paths.
    featurizer : callable
        (1, samples) waveform -> {name: vector}, with ``sample_rate``.
    cache : dict, optional
        id -> {name: vector}; utterances found in it are not recomputed,
        new ones are added (share it across the folds of one corpus).

    Returns
    -------
    ids : list of str
    features : dict
        name -> (N, D) array.
    entries : list of dict
        The manifest entries, in ``ids`` order.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np, soundfile
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root = tempfile.mkdtemp()
    >>> soundfile.write(f"{root}/a.wav", np.random.randn(8000) / 9, 16000)
    >>> entries = {"a": {"wav": "{data_root}/a.wav", "emotion": "sad"}}
    >>> write_manifest(entries, f"{root}/test.json")
    >>> cache = {}
    >>> ids, features, entries = utterance_features(
    ...     f"{root}/test.json", root, FbankStatistics(n_mels=20), cache
    ... )
    >>> ids, features["fbank"].shape, entries[0]["emotion"], list(cache)
    (['a'], (1, 40), 'sad', ['a'])
    """
    cache = {} if cache is None else cache
    entries = read_manifest(manifest_path)
    for uid, entry in tqdm(entries.items(), desc="utterance statistics"):
        if uid not in cache:
            path = entry["wav"].replace("{data_root}", data_folder)
            wav = read_audio(path, featurizer.sample_rate)
            cache[uid] = featurizer(wav.unsqueeze(0))
    ids = list(entries)
    names = cache[ids[0]].keys() if ids else ()
    features = {
        name: np.stack([cache[uid][name] for uid in ids]) for name in names
    }
    return ids, features, [entries[uid] for uid in ids]


def _avd(entries):
    return np.array([[e[name] for name in AVD_NAMES] for e in entries], float)


def fit_logistic_regression(train, valid, test, c_values=C_VALUES):
    """Logistic regression on (features, emotion labels), C by valid UA.

    Arguments
    ---------
    train, valid, test : tuple
        ``(features (N, D), labels)`` each.
    c_values : sequence of float
        Inverse regularisation strengths to try.

    Returns
    -------
    metrics : dict
        :func:`speechbrain_ser.metrics.classification_report` on test,
        plus ``C``, ``valid_UA``, ``labels``.
    predicted : list of str
        One label per test row.

    Example
    -------
    >>> x = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> y = ["lo", "lo", "hi", "hi"]
    >>> metrics, predicted = fit_logistic_regression((x, y), (x, y), (x, y))
    >>> metrics["UA"], predicted
    (1.0, ['lo', 'lo', 'hi', 'hi'])
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes = sorted(set(train[1]))
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
        model.fit(train[0], encode(train[1]))
        score = classification_report(
            encode(valid[1]), model.predict(valid[0]), classes
        )["UA"]
        if best is None or score > best[0]:
            best = (score, c, model)
    score, c, model = best
    predicted = model.predict(test[0])
    metrics = classification_report(encode(test[1]), predicted, classes)
    metrics.update(C=c, valid_UA=score, labels=classes)
    return metrics, [classes[p] for p in predicted]


def fit_ridge_regression(train, valid, test, alpha_values=ALPHA_VALUES):
    """Ridge regression on (features, (N, 3) A/V/D), alpha by valid CCC.

    Arguments
    ---------
    train, valid, test : tuple
        ``(features (N, D), targets (N, 3))`` each.
    alpha_values : sequence of float
        Regularisation strengths to try.

    Returns
    -------
    metrics : dict
        ``{"CCC": ccc_report on test, "alpha": ..., "valid_CCC_mean": ...}``.
    predicted : numpy.ndarray
        (N_test, 3).

    Example
    -------
    >>> x = np.arange(8.0).reshape(8, 1)
    >>> y = np.hstack([x, -x, 2 * x])
    >>> metrics, _ = fit_ridge_regression((x, y), (x, y), (x, y), [1e-6])
    >>> round(metrics["CCC"]["mean"], 4)
    1.0
    """
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    best = None
    for alpha in alpha_values:
        model = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
        model.fit(train[0], train[1])
        score = ccc_report(valid[1], model.predict(valid[0]))["mean"]
        if best is None or score > best[0]:
            best = (score, alpha, model)
    score, alpha, model = best
    predicted = model.predict(test[0])
    return (
        {
            "CCC": ccc_report(test[1], predicted),
            "alpha": alpha,
            "valid_CCC_mean": score,
        },
        predicted,
    )


def linear_baseline(
    manifests,
    data_folder,
    task,
    featurizer,
    cache=None,
    c_values=C_VALUES,
    alpha_values=ALPHA_VALUES,
):
    """Fits the linear models of ``task`` on each feature of ``featurizer``.

    Arguments
    ---------
    manifests : dict
        split -> manifest path, for ``train``, ``valid``, ``test``.
    data_folder : str
        Replaces ``{data_root}``.
    task : str
        ``classification``, ``regression`` or ``both``.
    featurizer : callable
        E.g. :class:`FbankStatistics` or :class:`EncoderStatistics`.
    cache : dict, optional
        Shared feature cache (see :func:`utterance_features`).
    c_values : sequence of float
        Logistic regression's inverse regularisation strengths to try.
    alpha_values : sequence of float
        Ridge regression's regularisation strengths to try.

    Returns
    -------
    dict
        feature name -> ``{"results": results.json-like metrics,
        "predictions": predictions.json-like dict}``.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np, soundfile
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root, entries = tempfile.mkdtemp(), {}
    >>> for i in range(8):  # quiet and calm, or loud and active
    ...     loud = i % 2 == 0
    ...     wav = np.random.randn(4000) * (0.5 if loud else 0.01)
    ...     soundfile.write(f"{root}/{i}.wav", wav, 16000)
    ...     entries[f"u{i}"] = {
    ...         "wav": f"{root}/{i}.wav",
    ...         "emotion": "ang" if loud else "sad",
    ...         "activation": 4.0 if loud else 1.0,
    ...         "valence": 2.0 + i % 3,
    ...         "dominance": 3.0,
    ...     }
    >>> write_manifest(entries, f"{root}/all.json")
    >>> manifests = {s: f"{root}/all.json" for s in ("train", "valid", "test")}
    >>> out = linear_baseline(manifests, root, "both", FbankStatistics())
    >>> results = out["fbank"]["results"]
    >>> results["UA"], results["CCC"]["activation"] > 0.9
    (1.0, True)
    >>> sorted(out["fbank"]["predictions"]["u0"])
    ['avd', 'avd_target', 'emotion', 'target']
    """
    if task not in ("classification", "regression", "both"):
        raise ValueError(
            f"task must be classification, regression or both, not {task!r}"
        )
    data = {
        split: utterance_features(path, data_folder, featurizer, cache)
        for split, path in manifests.items()
    }
    ids = data["test"][0]
    outputs = {}
    for name in featurizer.names:
        results = {"task": task, "n_test": len(ids)}
        predictions = {  # the speaker: a cluster bootstrap can resample it
            uid: {"speaker": e["speaker"]} if "speaker" in e else {}
            for uid, e in zip(ids, data["test"][2])
        }
        if task in ("classification", "both"):
            metrics, labels = fit_logistic_regression(
                *(
                    (data[s][1][name], [e["emotion"] for e in data[s][2]])
                    for s in ("train", "valid", "test")
                ),
                c_values,
            )
            results.update(metrics)
            for uid, label, entry in zip(ids, labels, data["test"][2]):
                predictions[uid].update(emotion=label, target=entry["emotion"])
        if task in ("regression", "both"):
            metrics, values = fit_ridge_regression(
                *(
                    (data[s][1][name], _avd(data[s][2]))
                    for s in ("train", "valid", "test")
                ),
                alpha_values,
            )
            results.update(metrics)
            targets = _avd(data["test"][2])
            for i, uid in enumerate(ids):
                predictions[uid].update(
                    avd=values[i].tolist(), avd_target=targets[i].tolist()
                )
        outputs[name] = {"results": results, "predictions": predictions}
    return outputs
