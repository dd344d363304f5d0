"""Emotion recognition metrics: CCC for dimensional targets, UA/WA/F1,
confusion matrices and ROC-AUC for categories.

scikit-learn computes everything it has; only the concordance
correlation coefficient is written here.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np
from sklearn import metrics as skm

AVD_NAMES = ("activation", "valence", "dominance")


def concordance_correlation_coefficient(y_true, y_pred, eps=1e-8):
    """Lin's concordance correlation coefficient of two 1-D sequences.

    CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y)) ** 2),
    with population (biased) moments, so one sample or a constant
    prediction gives a finite value (0 when nothing co-varies) instead of
    NaN.

    Arguments
    ---------
    y_true : array-like
        Ground truth values, shape (N,).
    y_pred : array-like
        Predicted values, shape (N,).
    eps : float
        Floor of the denominator, so that two equal constants give 0.

    Returns
    -------
    float
        The CCC, in [-1, 1].

    Example
    -------
    >>> concordance_correlation_coefficient([1, 2, 3], [1, 2, 3])
    1.0
    >>> round(concordance_correlation_coefficient([1, 2, 3], [2, 3, 4]), 4)
    0.5714
    >>> concordance_correlation_coefficient([1, 2, 3], [2, 2, 2])
    0.0
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"shapes differ: targets {y_true.shape}, predictions {y_pred.shape}"
        )
    mean_true, mean_pred = y_true.mean(), y_pred.mean()
    covariance = np.mean((y_true - mean_true) * (y_pred - mean_pred))
    denominator = y_true.var() + y_pred.var() + (mean_true - mean_pred) ** 2
    return float(2 * covariance / max(denominator, eps))


def ccc_report(targets, predictions, names=AVD_NAMES):
    """CCC of each column of (N, D) arrays, plus their mean.

    Arguments
    ---------
    targets : array-like
        Ground truth, shape (N, D).
    predictions : array-like
        Predictions, shape (N, D).
    names : sequence of str
        One name per column.

    Returns
    -------
    dict
        ``{name: ccc, ..., "mean": mean over columns}``.

    Example
    -------
    >>> t = np.array([[1.0, 0.0, 2.0], [2.0, 1.0, 1.0], [3.0, 0.0, 0.0]])
    >>> report = ccc_report(t, t)
    >>> report["activation"], report["mean"]
    (1.0, 1.0)
    """
    targets = np.asarray(targets, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)
    if targets.ndim != 2 or targets.shape[1] != len(names):
        raise ValueError(
            f"expected targets of shape (N, {len(names)}), got {targets.shape}"
        )
    report = {
        name: concordance_correlation_coefficient(
            targets[:, i], predictions[:, i]
        )
        for i, name in enumerate(names)
    }
    report["mean"] = float(np.mean([report[name] for name in names]))
    return report


def classification_report(y_true, y_pred, labels):
    """UA, WA, F1 and per-class recall of integer class predictions.

    UA (unweighted accuracy) is the mean of the per-class recalls
    (scikit-learn's balanced accuracy) over the classes present in
    ``y_true``; WA (weighted accuracy) is plain accuracy.

    Arguments
    ---------
    y_true : array-like
        True class indices, shape (N,).
    y_pred : array-like
        Predicted class indices, shape (N,).
    labels : sequence of str
        Class names, indexed by class index.

    Returns
    -------
    dict
        Keys ``UA``, ``WA``, ``F1_macro``, ``F1_weighted``,
        ``per_class_recall`` (name -> recall, None for a class absent
        from ``y_true``).

    Example
    -------
    >>> r = classification_report([0, 0, 0, 1], [0, 0, 1, 1], ["neu", "ang"])
    >>> r["WA"], round(r["UA"], 4), round(r["per_class_recall"]["neu"], 4)
    (0.75, 0.8333, 0.6667)
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    present = sorted(set(y_true.tolist()))
    recalls = skm.recall_score(
        y_true, y_pred, labels=present, average=None, zero_division=0
    )
    recall_of = dict(zip(present, recalls))
    return {
        "UA": float(np.mean(recalls)),
        "WA": float(skm.accuracy_score(y_true, y_pred)),
        "F1_macro": float(
            skm.f1_score(
                y_true, y_pred, labels=present, average="macro", zero_division=0
            )
        ),
        "F1_weighted": float(
            skm.f1_score(
                y_true,
                y_pred,
                labels=present,
                average="weighted",
                zero_division=0,
            )
        ),
        "per_class_recall": {
            name: (float(recall_of[i]) if i in recall_of else None)
            for i, name in enumerate(labels)
        },
    }


def subset_reports(ids, y_true, y_pred, groups, labels):
    """UA/WA per subset, e.g. IEMOCAP's improvised and scripted sessions.

    Arguments
    ---------
    ids : sequence of str
        Utterance ids, aligned with ``y_true`` and ``y_pred``.
    y_true : array-like
        True class indices.
    y_pred : array-like
        Predicted class indices.
    groups : dict
        id -> subset value (ids without one are left out).
    labels : sequence of str
        Class names, indexed by class index.

    Returns
    -------
    dict
        str(subset value) -> {"UA", "WA", "n"}.

    Example
    -------
    >>> groups = {"a": True, "b": True, "c": False}
    >>> reports = subset_reports(
    ...     ["a", "b", "c"], [0, 1, 1], [0, 0, 1], groups, ["neu", "ang"]
    ... )
    >>> reports["True"], reports["False"]
    ({'UA': 0.5, 'WA': 0.5, 'n': 2}, {'UA': 1.0, 'WA': 1.0, 'n': 1})
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rows = {}
    for i, uid in enumerate(ids):
        if uid in groups:
            rows.setdefault(str(groups[uid]), []).append(i)
    reports = {}
    for value in sorted(rows):
        index = np.array(rows[value])
        report = classification_report(y_true[index], y_pred[index], labels)
        reports[value] = {
            "UA": report["UA"],
            "WA": report["WA"],
            "n": len(index),
        }
    return reports


def confusion_matrix(y_true, y_pred, n_classes):
    """Counts of (true class, predicted class) pairs, all classes shown.

    Arguments
    ---------
    y_true : array-like
        True class indices.
    y_pred : array-like
        Predicted class indices.
    n_classes : int
        Number of classes (rows and columns).

    Returns
    -------
    numpy.ndarray
        (n_classes, n_classes) integer matrix, rows are true classes.

    Example
    -------
    >>> confusion_matrix([0, 1, 1], [0, 0, 1], n_classes=3).tolist()
    [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    """
    return skm.confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))


def roc_auc(y_true, probabilities):
    """One-vs-rest macro ROC-AUC from class probabilities.

    Classes absent from ``y_true`` are left out (their AUC is undefined).

    Arguments
    ---------
    y_true : array-like
        True class indices, shape (N,).
    probabilities : array-like
        Class probabilities, shape (N, C).

    Returns
    -------
    float
        Macro-averaged ROC-AUC, or NaN when fewer than two classes occur.

    Example
    -------
    >>> roc_auc([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    1.0
    """
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    present = sorted(set(y_true.tolist()))
    if len(present) < 2:
        return float("nan")
    aucs = [
        skm.roc_auc_score(y_true == c, probabilities[:, c]) for c in present
    ]
    return float(np.mean(aucs))


def plot_confusion_matrix(matrix, labels, path, title=None):
    """Writes a confusion matrix as a PNG image with counts in each cell.

    Arguments
    ---------
    matrix : numpy.ndarray
        (C, C) counts, rows are true classes.
    labels : sequence of str
        Class names.
    path : str
        Where to write the PNG.
    title : str, optional
        Figure title.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "confusion.png")
    >>> plot_confusion_matrix([[3, 1], [0, 4]], ["happy", "sad"], path)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, len(labels) + 1.5))
    skm.ConfusionMatrixDisplay(matrix, display_labels=list(labels)).plot(
        ax=ax, cmap="Blues", colorbar=False, values_format="d"
    )
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
