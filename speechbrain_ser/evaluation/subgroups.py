"""Metrics per subgroup (speaker, gender, corpus...), the worst group and
the spread.

A pooled UA hides whom the model fails: :func:`subgroup_report` gives the
metric of every value of a manifest field, names the worst group (among
groups with at least ``min_n`` utterances, so that one clip does not make
a "worst speaker") and the spread across groups.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np

from speechbrain_ser.metrics import AVD_NAMES, ccc_report, classification_report

MIN_GROUP_SIZE = 5


def group_fields(group_by=None):
    """``speaker`` and the fields of ``group_by``.

    Arguments
    ---------
    group_by : str or list of str, optional
        A field, comma-separated fields, or a list.

    Returns
    -------
    list of str
        ``speaker`` first, no repeats.

    Example
    -------
    >>> group_fields("gender,corpus")
    ['speaker', 'gender', 'corpus']
    """
    group_by = group_by or []
    if isinstance(group_by, str):
        group_by = [f.strip() for f in group_by.split(",") if f.strip()]
    return list(dict.fromkeys(["speaker", *group_by]))


def subgroup_report(
    groups,
    labels=None,
    predicted=None,
    avd_targets=None,
    avd=None,
    class_names=None,
    min_n=MIN_GROUP_SIZE,
):
    """Per-group metrics, worst group and spread.

    Classification (``labels`` and ``predicted``) reports UA, WA and n per
    group, the worst by UA; regression (``avd_targets`` and ``avd``)
    reports the CCC of each dimension and their mean, the worst by mean
    CCC. With both, the ranking is by UA.

    Arguments
    ---------
    groups : sequence
        One group value per utterance (None: left out).
    labels : array-like, optional
        True class indices.
    predicted : array-like, optional
        Predicted class indices.
    avd_targets : array-like, optional
        (N, 3) A/V/D targets.
    avd : array-like, optional
        (N, 3) A/V/D predictions.
    class_names : sequence of str, optional
        Class names (classification).
    min_n : int
        Groups smaller than this are reported but not ranked.

    Returns
    -------
    dict
        ``metric`` (the ranking metric), ``groups`` (value -> metrics),
        ``worst`` (``{"group", value}`` or None), ``best``, ``spread``
        (best - worst among ranked groups), ``std`` (population std over
        ranked groups), ``n_groups``, ``min_n``.

    Example
    -------
    >>> r = subgroup_report(
    ...     ["f", "f", "m", "m"],
    ...     labels=[0, 1, 0, 1],
    ...     predicted=[0, 1, 0, 0],
    ...     class_names=["neu", "ang"],
    ...     min_n=1,
    ... )
    >>> r["groups"]["m"], r["worst"], r["spread"]
    ({'UA': 0.5, 'WA': 0.5, 'n': 2}, {'group': 'm', 'UA': 0.5}, 0.5)
    """
    groups = np.asarray([None if g is None else str(g) for g in groups])
    classification = labels is not None and predicted is not None
    metric = "UA" if classification else "CCC_mean"
    if classification:
        labels, predicted = np.asarray(labels), np.asarray(predicted)
        names = class_names or [str(i) for i in range(labels.max() + 1)]
    if avd is not None:
        avd_targets = np.asarray(avd_targets, dtype=np.float64)
        avd = np.asarray(avd, dtype=np.float64)
    report = {}
    for value in sorted({g for g in groups.tolist() if g is not None}):
        index = np.flatnonzero(groups == value)
        row = {}
        if classification:
            r = classification_report(labels[index], predicted[index], names)
            row.update(UA=r["UA"], WA=r["WA"])
        if avd is not None:
            ccc = ccc_report(avd_targets[index], avd[index], AVD_NAMES)
            row.update({f"CCC_{k}": v for k, v in ccc.items()})
        row["n"] = int(len(index))
        report[value] = row
    ranked = {k: v[metric] for k, v in report.items() if v["n"] >= min_n}
    result = {
        "metric": metric,
        "groups": report,
        "n_groups": len(report),
        "min_n": min_n,
        "worst": None,
        "best": None,
        "spread": None,
        "std": None,
    }
    if ranked:
        worst = min(ranked, key=ranked.get)
        best = max(ranked, key=ranked.get)
        values = np.array(list(ranked.values()))
        result.update(
            worst={"group": worst, metric: ranked[worst]},
            best={"group": best, metric: ranked[best]},
            spread=float(values.max() - values.min()),
            std=float(values.std()),
        )
    return result
