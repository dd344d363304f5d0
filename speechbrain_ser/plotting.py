"""Training curves from SpeechBrain's ``train_log.txt`` files.

Authors
 * speechbrain-ser developers 2026
"""

import re

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)"
_STAT = rf"([A-Za-z_ ][A-Za-z0-9_ ]*): ({_NUMBER})"  # "valid acc_k1: 0.5"


def read_train_log(path):
    """Per-epoch statistics of a ``FileTrainLogger`` log.

    Arguments
    ---------
    path : str
        ``train_log.txt``.

    Returns
    -------
    list of dict
        One dict per ``epoch:`` line: ``{"epoch": 1, "train loss": ...,
        "valid CER": ...}``; test lines are left out.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp()
    >>> _ = open(path, "w").write(
    ...     "epoch: 1, lr: 1.00e-03 - train loss: 2.5 - valid loss: 2.1, "
    ...     "valid CER: 9.5e-01, valid acc_k12: 0.25\\n"
    ...     "epoch loaded: 1 - test CER: 0.9\\n"
    ... )
    >>> rows = read_train_log(path)
    >>> len(rows), rows[0]["epoch"], rows[0]["train loss"], rows[0]["valid CER"]
    (1, 1.0, 2.5, 0.95)
    >>> rows[0]["valid acc_k12"]
    0.25
    """
    rows = []
    with open(path, encoding="utf-8") as fin:
        for line in fin:
            if not line.startswith("epoch:"):
                continue
            row = {}
            for key, value in re.findall(_STAT, line):
                row[key.strip()] = float(value)
            rows.append(row)
    return rows


def plot_curves(logs, keys, path, title=None):
    """Plots ``keys`` against epochs for several runs, one panel per key.

    Arguments
    ---------
    logs : dict
        Run name -> ``train_log.txt`` path.
    keys : sequence of str
        Statistics to plot, e.g. ``["valid CER", "valid AUC"]``.
    path : str
        Output PNG.
    title : str, optional
        Figure title.

    Example
    -------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> log = os.path.join(folder, "train_log.txt")
    >>> with open(log, "w") as fout:
    ...     _ = fout.write(
    ...         "epoch: 1 - valid CER: 0.9\\nepoch: 2 - valid CER: 0.7\\n"
    ...     )
    >>> plot_curves({"run": log}, ["valid CER"], f"{folder}/cer.png")
    >>> os.path.getsize(f"{folder}/cer.png") > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6))
    axes = [axes] if len(keys) == 1 else axes
    for name, log in logs.items():
        rows = read_train_log(log)
        for ax, key in zip(axes, keys):
            points = [(r["epoch"], r[key]) for r in rows if key in r]
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, label=name)
    for ax, key in zip(axes, keys):
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_layer_weights(weights, path, title=None):
    """Bar plot of learned layer weights (hidden state 0 = input embedding).

    Arguments
    ---------
    weights : dict
        Name -> list of normalised weights, one per hidden state; or
        name -> (mean list, std list) to plot error bars over runs.
    path : str
        Output PNG.
    title : str, optional
        Figure title.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.png")
    >>> plot_layer_weights({"head.layer_sum": [0.2, 0.3, 0.5]}, path)
    >>> os.path.exists(path)
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(weights)
    for i, (name, values) in enumerate(weights.items()):
        mean, std = (values, None) if np.ndim(values) == 1 else values
        positions = np.arange(len(mean)) + i * width
        ax.bar(positions, mean, width, yerr=std, label=name, capsize=3)
    ax.set_xlabel("hidden state (0: input embedding)")
    ax.set_ylabel("softmax weight")
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
