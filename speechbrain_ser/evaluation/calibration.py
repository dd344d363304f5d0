"""How far to trust a model's probabilities and intervals.

* :func:`calibration_metrics`: negative log-likelihood, Brier score and
  expected calibration error (ECE) of class probabilities, with 15
  equal-width confidence bins (Guo et al. 2017) and the adaptive
  (equal-mass) variant (Nixon et al. 2019);
* :func:`plot_reliability_diagram`: accuracy against confidence per bin;
* :func:`risk_coverage`: the accuracy kept when the model may abstain on
  its least confident answers (selective classification, Geifman &
  El-Yaniv 2017), with the area under the risk-coverage curve (AURC);
* :func:`interval_report`: empirical coverage and mean width of A/V/D
  intervals.

The fitting itself (temperature, conformal half-widths) lives in
:mod:`speechbrain_ser.inference.calibration`, which a model folder uses at
prediction time.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np
from sklearn.metrics import log_loss

N_BINS = 15
COVERAGES = (1.0, 0.9, 0.8, 0.5)


def expected_calibration_error(
    probabilities, labels, n_bins=N_BINS, adaptive=False
):
    """ECE of the top-label confidence.

    ``sum_b |B_b| / N * |accuracy(B_b) - confidence(B_b)|`` over bins of
    the highest probability: ``n_bins`` equal-width bins of [0, 1], or,
    with ``adaptive``, ``n_bins`` bins holding (nearly) equal numbers of
    utterances.

    Arguments
    ---------
    probabilities : array-like
        (N, C) class probabilities.
    labels : array-like
        (N,) true class indices.
    n_bins : int
        Number of bins.
    adaptive : bool
        Equal-mass instead of equal-width bins.

    Returns
    -------
    float
        ECE in [0, 1].

    Example
    -------
    >>> p = [[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]
    >>> round(expected_calibration_error(p, [0, 1, 0, 1]), 4)
    0.375
    """
    confidence, correct, bins = _top_label_bins(
        probabilities, labels, n_bins, adaptive
    )
    n = len(confidence)
    return float(
        sum(
            len(b) / n * abs(correct[b].mean() - confidence[b].mean())
            for b in bins
            if len(b)
        )
    )


def _top_label_bins(probabilities, labels, n_bins, adaptive=False):
    """Top-label confidence, whether it is right (0/1), and the bins.

    Bin ``b`` of the equal-width ones holds the confidences in
    ``(b / n_bins, (b + 1) / n_bins]`` (empty bins included, so a bin's
    position is its number); the adaptive ones hold (nearly) equal numbers
    of utterances. Each bin is an array of utterance indices.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(1)
    correct = (probabilities.argmax(1) == np.asarray(labels)).astype(np.float64)
    if adaptive:
        order = np.argsort(confidence, kind="stable")
        bins = np.array_split(order, min(n_bins, len(confidence)))
    else:
        index = np.clip(np.ceil(confidence * n_bins) - 1, 0, n_bins - 1)
        bins = [np.flatnonzero(index == b) for b in range(n_bins)]
    return confidence, correct, bins


def brier_score(probabilities, labels):
    """Multi-class Brier score: mean squared distance to the one-hot target.

    Arguments
    ---------
    probabilities : array-like
        (N, C) class probabilities.
    labels : array-like
        (N,) true class indices.

    Returns
    -------
    float
        In [0, 2]; 0 for certain, correct answers.

    Example
    -------
    >>> brier_score([[1.0, 0.0], [0.5, 0.5]], [0, 1])
    0.25
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    onehot = np.eye(probabilities.shape[1])[np.asarray(labels)]
    return float(np.mean(np.sum((probabilities - onehot) ** 2, axis=1)))


def calibration_metrics(probabilities, labels, n_bins=N_BINS):
    """NLL, Brier score, ECE (equal-width and adaptive) of probabilities.

    Arguments
    ---------
    probabilities : array-like
        (N, C) class probabilities.
    labels : array-like
        (N,) true class indices.
    n_bins : int
        ECE bins.

    Returns
    -------
    dict
        ``NLL``, ``Brier``, ``ECE``, ``ECE_adaptive``.

    Example
    -------
    >>> m = calibration_metrics([[0.8, 0.2], [0.3, 0.7]], [0, 1])
    >>> sorted(m), round(m["NLL"], 4)
    (['Brier', 'ECE', 'ECE_adaptive', 'NLL'], 0.2899)
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    # float32 softmax rows sum to 1 only within rounding
    probabilities = probabilities / probabilities.sum(1, keepdims=True)
    labels = np.asarray(labels)
    return {
        "NLL": float(
            log_loss(
                labels,
                np.clip(probabilities, 1e-12, 1.0),
                labels=list(range(probabilities.shape[1])),
            )
        ),
        "Brier": brier_score(probabilities, labels),
        "ECE": expected_calibration_error(probabilities, labels, n_bins),
        "ECE_adaptive": expected_calibration_error(
            probabilities, labels, n_bins, adaptive=True
        ),
    }


def reliability_bins(probabilities, labels, n_bins=N_BINS):
    """Per equal-width bin: mean confidence, accuracy and count.

    Arguments
    ---------
    probabilities : array-like
        (N, C) class probabilities.
    labels : array-like
        (N,) true class indices.
    n_bins : int
        Number of bins.

    Returns
    -------
    list of dict
        One ``{"low", "high", "confidence", "accuracy", "n"}`` per
        non-empty bin.

    Example
    -------
    >>> reliability_bins([[0.9, 0.1], [0.8, 0.2]], [0, 1], n_bins=2)
    [{'low': 0.5, 'high': 1.0, 'confidence': 0.85, 'accuracy': 0.5, 'n': 2}]
    """
    confidence, correct, bins = _top_label_bins(probabilities, labels, n_bins)
    return [
        {
            "low": b / n_bins,
            "high": (b + 1) / n_bins,
            "confidence": round(float(confidence[members].mean()), 6),
            "accuracy": round(float(correct[members].mean()), 6),
            "n": len(members),
        }
        for b, members in enumerate(bins)
        if len(members)
    ]


def plot_reliability_diagram(curves, path, n_bins=N_BINS):
    """Reliability diagram of one or more sets of probabilities.

    Arguments
    ---------
    curves : dict
        Name (e.g. "before", "after") -> (probabilities, labels).
    path : str
        PNG to write.
    n_bins : int
        Equal-width bins.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "reliability.png")
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    >>> plot_reliability_diagram({"raw": (p, [0, 1, 1])}, path)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    for name, (probabilities, labels) in curves.items():
        rows = reliability_bins(probabilities, labels, n_bins)
        ece = expected_calibration_error(probabilities, labels, n_bins)
        ax.plot(
            [r["confidence"] for r in rows],
            [r["accuracy"] for r in rows],
            "o-",
            label=f"{name} (ECE {ece:.3f})",
        )
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def risk_coverage(probabilities, labels, coverages=COVERAGES):
    """Accuracy when only the most confident answers are given.

    The utterances are sorted by decreasing top probability; at coverage
    ``c`` the model answers the first ``ceil(c N)`` and abstains on the
    rest.

    Arguments
    ---------
    probabilities : array-like
        (N, C) class probabilities.
    labels : array-like
        (N,) true class indices.
    coverages : sequence of float
        Coverages at which the accuracy is reported.

    Returns
    -------
    dict
        ``accuracy_at`` (str(coverage) -> accuracy), ``threshold_at``
        (the confidence threshold that gives that coverage), ``AURC``
        (area under the risk (error) - coverage curve: lower is better),
        ``area_under_accuracy_coverage`` (1 - AURC) and ``curve``
        (coverage and accuracy at every N/k, at most 101 points).

    Example
    -------
    >>> p = [[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45]]
    >>> r = risk_coverage(p, [0, 0, 1, 0], coverages=(1.0, 0.5))
    >>> r["accuracy_at"], round(r["AURC"], 4)
    ({'1.0': 0.75, '0.5': 1.0}, 0.1458)
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == np.asarray(labels)
    order = np.argsort(-confidence, kind="stable")
    n = len(order)
    cumulative = np.cumsum(correct[order]) / np.arange(1, n + 1)
    aurc = float(np.mean(1 - cumulative))
    accuracy_at, threshold_at = {}, {}
    for c in coverages:
        k = max(1, int(np.ceil(c * n)))
        accuracy_at[str(c)] = float(cumulative[k - 1])
        threshold_at[str(c)] = float(confidence[order[k - 1]])
    points = np.unique(np.linspace(1, n, min(n, 101)).round().astype(int))
    return {
        "accuracy_at": accuracy_at,
        "threshold_at": threshold_at,
        "AURC": aurc,
        "area_under_accuracy_coverage": 1 - aurc,
        "curve": {
            "coverage": (points / n).round(6).tolist(),
            "accuracy": cumulative[points - 1].round(6).tolist(),
        },
    }


def plot_risk_coverage(curves, path):
    """Accuracy against coverage, one line per name.

    Arguments
    ---------
    curves : dict
        Name -> :func:`risk_coverage` output.
    path : str
        PNG to write.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "risk_coverage.png")
    >>> r = risk_coverage([[0.9, 0.1], [0.6, 0.4]], [0, 1])
    >>> plot_risk_coverage({"model": r}, path)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, r in curves.items():
        ax.plot(
            r["curve"]["coverage"],
            r["curve"]["accuracy"],
            label=f"{name} (AURC {r['AURC']:.3f})",
        )
    ax.set_xlabel("coverage (fraction answered)")
    ax.set_ylabel("accuracy of the answered")
    ax.set_xlim(0, 1)
    ax.invert_xaxis()
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def interval_report(targets, predictions, half_widths, names, avd_range=None):
    """Empirical coverage and mean width of symmetric intervals.

    Arguments
    ---------
    targets : array-like
        (N, D) true values (normalised scale).
    predictions : array-like
        (N, D) predictions (same scale).
    half_widths : sequence of float
        One half-width per column (inf: unbounded).
    names : sequence of str
        Column names.
    avd_range : sequence of float, optional
        (low, high) of the corpus scale: intervals are clipped to
        [-1, 1] and widths converted to it.

    Returns
    -------
    dict
        name -> ``{"coverage", "mean_width"}`` (width on the corpus scale
        when ``avd_range`` is given).

    Example
    -------
    >>> t = np.array([[0.0], [0.5], [1.0]])
    >>> interval_report(t, np.zeros((3, 1)), [0.6], ["valence"])
    {'valence': {'coverage': 0.6666666666666666, 'mean_width': 1.2}}
    """
    targets = np.asarray(targets, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)
    report = {}
    for i, name in enumerate(names):
        half = half_widths[i]
        half = np.inf if half is None else half
        low, high = predictions[:, i] - half, predictions[:, i] + half
        scale = 1.0
        if avd_range is not None:
            low, high = np.clip(low, -1, 1), np.clip(high, -1, 1)
            scale = (avd_range[1] - avd_range[0]) / 2
        inside = (targets[:, i] >= low) & (targets[:, i] <= high)
        report[name] = {
            "coverage": float(inside.mean()),
            "mean_width": float(np.mean(high - low) * scale),
        }
    return report
