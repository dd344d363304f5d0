"""Bootstrap confidence intervals and paired bootstrap tests.

A test set of a few hundred clips from a few dozen speakers gives a UA
with a wide error bar, and two systems tested on the same clips differ by
less than either bar suggests, since their errors are correlated. This
module gives both numbers:

* :func:`bootstrap_interval`: percentile interval of any metric;
* :func:`paired_bootstrap`: the difference of a metric between two
  systems on the same utterances, its interval and a two-sided p-value;
* :func:`classification_intervals`, :func:`ccc_intervals`: the intervals
  of UA, WA, F1 and of the CCC of each dimension, as results.json gives
  them.

When the protocol is speaker-independent, utterances of one speaker are
not independent draws: pass ``clusters`` (one speaker id per utterance)
and whole speakers are resampled (cluster bootstrap, Field & Welsh 2007),
which gives wider, honest intervals; without it, utterances are resampled.

Every function is seeded and reproducible.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np

from speechbrain_ser.metrics import (
    AVD_NAMES,
    concordance_correlation_coefficient,
)

DEFAULT_RESAMPLES = 1000


def resample_indices(n, clusters=None, n_resamples=DEFAULT_RESAMPLES, seed=0):
    """Index arrays of bootstrap resamples of ``n`` utterances.

    Arguments
    ---------
    n : int
        Number of utterances.
    clusters : sequence, optional
        One cluster label (e.g. speaker id) per utterance. When given,
        clusters are drawn with replacement and every utterance of a drawn
        cluster is kept (a resample's size then varies); otherwise
        utterances are drawn.
    n_resamples : int
        Number of resamples.
    seed : int
        Seed of the random generator.

    Returns
    -------
    list of numpy.ndarray
        ``n_resamples`` integer index arrays into the ``n`` utterances.

    Example
    -------
    >>> draws = resample_indices(4, clusters=["a", "a", "b", "b"], seed=1)
    >>> len(draws), all(len(d) % 2 == 0 for d in draws)
    (1000, True)
    """
    rng = np.random.default_rng(seed)
    if clusters is None:
        return [rng.integers(0, n, n) for _ in range(n_resamples)]
    clusters = np.asarray(clusters)
    if len(clusters) != n:
        raise ValueError(
            f"{len(clusters)} cluster labels for {n} utterances; give one "
            "cluster (speaker) per utterance"
        )
    _, cluster_of = np.unique(clusters, return_inverse=True)
    members = [
        np.flatnonzero(cluster_of == c) for c in range(cluster_of.max() + 1)
    ]
    k = len(members)
    return [
        np.concatenate([members[c] for c in rng.integers(0, k, k)])
        for _ in range(n_resamples)
    ]


def _unit(clusters, n):
    if clusters is None:
        return {"resampled": "utterances", "n_units": int(n)}
    return {
        "resampled": "speakers",
        "n_units": len(set(np.asarray(clusters).tolist())),
    }


def _percentiles(values, confidence):
    alpha = (1 - confidence) / 2
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return None, None
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_interval(
    metric,
    arrays,
    clusters=None,
    n_resamples=DEFAULT_RESAMPLES,
    confidence=0.95,
    seed=0,
):
    """Percentile bootstrap interval of ``metric(*arrays)``.

    Arguments
    ---------
    metric : callable
        ``metric(*arrays) -> float``, e.g. a UA of (targets, predictions).
    arrays : sequence of array-like
        Arrays aligned on their first axis (one row per utterance).
    clusters : sequence, optional
        One speaker (cluster) id per utterance: resample speakers. None:
        resample utterances.
    n_resamples : int
        Number of bootstrap resamples.
    confidence : float
        Coverage of the interval (0.95: the 2.5 and 97.5 percentiles).
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict
        ``estimate`` (the metric on all data), ``low``, ``high``,
        ``confidence``, ``n_resamples``, ``resampled`` ("speakers" or
        "utterances") and ``n_units`` (how many were resampled).

    Example
    -------
    >>> y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    >>> p = np.array([0, 1, 0, 0, 1, 1, 1, 1])
    >>> accuracy = lambda t, q: float(np.mean(t == q))
    >>> r = bootstrap_interval(accuracy, [y, p], n_resamples=200)
    >>> r["estimate"], r["low"] <= 0.75 <= r["high"], r["resampled"]
    (0.75, True, 'utterances')
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    values = [
        metric(*[a[index] for a in arrays])
        for index in resample_indices(n, clusters, n_resamples, seed)
    ]
    low, high = _percentiles(values, confidence)
    return {
        "estimate": float(metric(*arrays)),
        "low": low,
        "high": high,
        "confidence": confidence,
        "n_resamples": n_resamples,
        **_unit(clusters, n),
    }


def paired_bootstrap(
    metric,
    targets,
    predictions_a,
    predictions_b,
    clusters=None,
    n_resamples=DEFAULT_RESAMPLES,
    confidence=0.95,
    seed=0,
):
    """Paired bootstrap of ``metric(targets, a) - metric(targets, b)``.

    Both systems are scored on the same resampled utterances (or
    speakers), so the interval of the difference accounts for their
    correlated errors. The p-value is two-sided and is the one the
    percentile interval inverts: ``p < 1 - confidence`` exactly when the
    interval excludes 0; ``p = min(1, 2 min(P(d* <= 0), P(d* >= 0)))``
    with the resampled differences ``d*``, counted with a +1 correction
    so that it is never 0.

    Arguments
    ---------
    metric : callable
        ``metric(targets, predictions) -> float``.
    targets : array-like
        Targets, one row per utterance.
    predictions_a : array-like
        Predictions of system A on the same utterances, same order.
    predictions_b : array-like
        Predictions of system B.
    clusters : sequence, optional
        One speaker id per utterance: resample speakers.
    n_resamples : int
        Number of resamples.
    confidence : float
        Coverage of the interval of the difference.
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict
        ``a``, ``b`` (the metric of each system on all data),
        ``difference`` (a - b), ``low``, ``high``, ``p_value``,
        ``confidence``, ``n_resamples``, ``resampled``, ``n_units``.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> good = np.where(rng.random(200) < 0.9, y, 1 - y)
    >>> bad = np.where(rng.random(200) < 0.6, y, 1 - y)
    >>> accuracy = lambda t, q: float(np.mean(t == q))
    >>> r = paired_bootstrap(accuracy, y, good, bad, n_resamples=500)
    >>> r["difference"] > 0, r["low"] > 0, r["p_value"] < 0.01
    (True, True, True)
    """
    targets = np.asarray(targets)
    predictions_a = np.asarray(predictions_a)
    predictions_b = np.asarray(predictions_b)
    n = len(targets)
    if len(predictions_a) != n or len(predictions_b) != n:
        raise ValueError(
            f"paired bootstrap needs both systems' predictions on the same "
            f"{n} utterances; got {len(predictions_a)} and "
            f"{len(predictions_b)}"
        )
    differences = []
    for index in resample_indices(n, clusters, n_resamples, seed):
        t = targets[index]
        differences.append(
            metric(t, predictions_a[index]) - metric(t, predictions_b[index])
        )
    differences = np.asarray(differences, dtype=np.float64)
    differences = differences[np.isfinite(differences)]
    low, high = _percentiles(differences, confidence)
    below = (np.sum(differences <= 0) + 1) / (len(differences) + 1)
    above = (np.sum(differences >= 0) + 1) / (len(differences) + 1)
    score_a = float(metric(targets, predictions_a))
    score_b = float(metric(targets, predictions_b))
    return {
        "a": score_a,
        "b": score_b,
        "difference": score_a - score_b,
        "low": low,
        "high": high,
        "p_value": float(min(1.0, 2 * min(below, above))),
        "confidence": confidence,
        "n_resamples": n_resamples,
        **_unit(clusters, n),
    }


def unweighted_accuracy(y_true, y_pred):
    """Mean recall over the classes present in ``y_true`` (UA).

    Equal to :func:`speechbrain_ser.metrics.classification_report`'s UA,
    computed with numpy only, fast enough for a thousand resamples.

    Arguments
    ---------
    y_true : array-like
        True class indices.
    y_pred : array-like
        Predicted class indices.

    Returns
    -------
    float
        UA.

    Example
    -------
    >>> round(unweighted_accuracy([0, 0, 0, 1], [0, 0, 1, 1]), 4)
    0.8333
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes, y_index = np.unique(y_true, return_inverse=True)
    correct = np.bincount(y_index, weights=(y_true == y_pred))
    return float(np.mean(correct / np.bincount(y_index)))


def weighted_accuracy(y_true, y_pred):
    """Plain accuracy (WA).

    Arguments
    ---------
    y_true : array-like
        True class indices.
    y_pred : array-like
        Predicted class indices.

    Returns
    -------
    float
        WA.

    Example
    -------
    >>> weighted_accuracy([0, 0, 0, 1], [0, 0, 1, 1])
    0.75
    """
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def macro_f1(y_true, y_pred):
    """Macro F1 over the classes present in ``y_true``.

    Equal to scikit-learn's ``f1_score(labels=present, average="macro",
    zero_division=0)``, as :func:`~speechbrain_ser.metrics.classification_report`
    computes it, in numpy.

    Arguments
    ---------
    y_true : array-like
        True class indices.
    y_pred : array-like
        Predicted class indices.

    Returns
    -------
    float
        Macro F1.

    Example
    -------
    >>> round(macro_f1([0, 0, 0, 1], [0, 0, 1, 1]), 4)
    0.7333
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for c in np.unique(y_true):
        tp = np.sum((y_true == c) & (y_pred == c))
        denominator = np.sum(y_true == c) + np.sum(y_pred == c)
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


CLASSIFICATION_METRICS = {
    "UA": unweighted_accuracy,
    "WA": weighted_accuracy,
    "F1_macro": macro_f1,
}


def classification_intervals(
    y_true,
    y_pred,
    clusters=None,
    n_resamples=DEFAULT_RESAMPLES,
    confidence=0.95,
    seed=0,
):
    """Bootstrap intervals of UA, WA and macro F1 (same resamples).

    Arguments
    ---------
    y_true : array-like
        True class indices.
    y_pred : array-like
        Predicted class indices.
    clusters : sequence, optional
        One speaker per utterance (speaker-independent protocols).
    n_resamples : int
        Number of resamples.
    confidence : float
        Coverage of the intervals.
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict
        ``{"UA": {...}, "WA": {...}, "F1_macro": {...}}``, each as
        :func:`bootstrap_interval` returns it.

    Example
    -------
    >>> r = classification_intervals(
    ...     [0, 1, 1, 0, 1], [0, 1, 0, 0, 1], n_resamples=100
    ... )
    >>> sorted(r), r["WA"]["estimate"]
    (['F1_macro', 'UA', 'WA'], 0.8)
    """
    return {
        name: bootstrap_interval(
            metric,
            [y_true, y_pred],
            clusters=clusters,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        for name, metric in CLASSIFICATION_METRICS.items()
    }


def ccc_intervals(
    targets,
    predictions,
    clusters=None,
    names=AVD_NAMES,
    n_resamples=DEFAULT_RESAMPLES,
    confidence=0.95,
    seed=0,
):
    """Bootstrap intervals of the CCC of each column and of their mean.

    Arguments
    ---------
    targets : array-like
        Targets, shape (N, D).
    predictions : array-like
        Predictions, shape (N, D).
    clusters : sequence, optional
        One speaker per utterance.
    names : sequence of str
        Column names.
    n_resamples : int
        Number of resamples.
    confidence : float
        Coverage of the intervals.
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict
        ``{name: interval, ..., "mean": interval}``.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> t = rng.normal(size=(50, 3))
    >>> r = ccc_intervals(
    ...     t, t + 0.1 * rng.normal(size=(50, 3)), n_resamples=100
    ... )
    >>> r["valence"]["low"] > 0.9, sorted(r)[0]
    (True, 'activation')
    """
    targets = np.asarray(targets, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)

    def column(i):
        """The CCC of column ``i``."""
        return lambda t, p: concordance_correlation_coefficient(
            t[:, i], p[:, i]
        )

    def mean(t, p):
        """The mean CCC over columns."""
        return float(
            np.mean(
                [
                    concordance_correlation_coefficient(t[:, i], p[:, i])
                    for i in range(len(names))
                ]
            )
        )

    metrics = {name: column(i) for i, name in enumerate(names)}
    metrics["mean"] = mean
    return {
        name: bootstrap_interval(
            metric,
            [targets, predictions],
            clusters=clusters,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        for name, metric in metrics.items()
    }


def prediction_arrays(predictions, ids, labels):
    """Targets and predictions of ``ids`` from a predictions.json dict.

    Arguments
    ---------
    predictions : dict
        id -> ``{"emotion", "target"}`` and/or ``{"avd", "avd_target"}``.
    ids : list of str
        The utterances, in order.
    labels : list of str
        Class names (index order).

    Returns
    -------
    dict
        ``labels``/``predicted`` (class indices) and/or
        ``avd_targets``/``avd`` ((N, 3) arrays), those present.

    Example
    -------
    >>> p = {"a": {"emotion": "x", "target": "y"}}
    >>> prediction_arrays(p, ["a"], ["x", "y"])["predicted"].tolist()
    [0]
    """
    values = [predictions[uid] for uid in ids]
    arrays = {}
    if values and "emotion" in values[0]:
        index = {label: i for i, label in enumerate(labels)}
        arrays["labels"] = np.array([index[v["target"]] for v in values])
        arrays["predicted"] = np.array([index[v["emotion"]] for v in values])
    if values and "avd" in values[0]:
        arrays["avd_targets"] = np.array([v["avd_target"] for v in values])
        arrays["avd"] = np.array([v["avd"] for v in values])
    return arrays


def _mean_ccc(t, p):
    return float(
        np.mean(
            [
                concordance_correlation_coefficient(t[:, i], p[:, i])
                for i in range(t.shape[1])
            ]
        )
    )


def pooled_intervals(predictions, speakers=None, **options):
    """Bootstrap intervals of the pooled metrics of a predictions dict.

    Arguments
    ---------
    predictions : dict
        id -> prediction (see :func:`prediction_arrays`).
    speakers : dict, optional
        id -> speaker: resample speakers (speaker-independent protocols).
    **options
        ``n_resamples``, ``confidence``, ``seed``.

    Returns
    -------
    dict
        ``UA``, ``WA``, ``F1_macro`` and/or ``CCC`` (per dimension and
        mean) intervals, and ``resampled``.

    Example
    -------
    >>> p = {f"u{i}": {"emotion": "x", "target": "xy"[i % 2]} for i in range(6)}
    >>> r = pooled_intervals(p, n_resamples=50)
    >>> r["WA"]["estimate"], r["resampled"]
    (0.5, 'utterances')
    """
    ids = sorted(predictions)
    labels = class_names_of(predictions.values())
    arrays = prediction_arrays(predictions, ids, labels)
    clusters = None if speakers is None else [speakers[uid] for uid in ids]
    result = {}
    if "labels" in arrays:
        result.update(
            classification_intervals(
                arrays["labels"],
                arrays["predicted"],
                clusters=clusters,
                **options,
            )
        )
    if "avd" in arrays:
        result["CCC"] = ccc_intervals(
            arrays["avd_targets"], arrays["avd"], clusters=clusters, **options
        )
    result["resampled"] = "utterances" if clusters is None else "speakers"
    return result


def class_names_of(values):
    """Sorted class names in predictions (targets and predicted).

    Arguments
    ---------
    values : iterable of dict
        Predictions with ``emotion`` and ``target``.

    Returns
    -------
    list of str
        The names, sorted.

    Example
    -------
    >>> class_names_of([{"emotion": "b", "target": "a"}])
    ['a', 'b']
    """
    names = set()
    for v in values:
        if "emotion" in v:
            names |= {v["emotion"], v["target"]}
    return sorted(names)


def compare_predictions(predictions_a, predictions_b, speakers=None, **options):
    """Paired bootstrap of system A against B on their common utterances.

    Arguments
    ---------
    predictions_a : dict
        id -> prediction of system A (e.g. the recipe).
    predictions_b : dict
        id -> prediction of system B (e.g. a baseline).
    speakers : dict, optional
        id -> speaker: resample speakers.
    **options
        ``n_resamples``, ``confidence``, ``seed``.

    Returns
    -------
    dict
        metric (``UA``, ``F1_macro``, ``CCC_mean``, those the task has) ->
        :func:`paired_bootstrap` result (``difference`` = A - B), and
        ``n`` (common utterances).

    Example
    -------
    >>> a = {f"u{i}": {"emotion": "x", "target": "x"} for i in range(8)}
    >>> b = {f"u{i}": {"emotion": "xy"[i % 2], "target": "x"} for i in range(8)}
    >>> r = compare_predictions(a, b, n_resamples=200)
    >>> r["UA"]["difference"], r["n"]
    (0.5, 8)
    """
    ids = sorted(set(predictions_a) & set(predictions_b))
    labels = class_names_of([*predictions_a.values(), *predictions_b.values()])
    a = prediction_arrays(predictions_a, ids, labels)
    b = prediction_arrays(predictions_b, ids, labels)
    clusters = None if speakers is None else [speakers[uid] for uid in ids]
    result = {}
    if "labels" in a and "labels" in b:
        for name in ("UA", "F1_macro"):
            result[name] = paired_bootstrap(
                CLASSIFICATION_METRICS[name],
                a["labels"],
                a["predicted"],
                b["predicted"],
                clusters=clusters,
                **options,
            )
    if "avd" in a and "avd" in b:
        result["CCC_mean"] = paired_bootstrap(
            _mean_ccc,
            a["avd_targets"],
            a["avd"],
            b["avd"],
            clusters=clusters,
            **options,
        )
    result["n"] = len(ids)
    return result
