"""Error bars, paired comparisons, calibration and subgroups of a
cross-validation report.

:func:`crossval_reliability` takes every system's pooled test predictions
(each fold's predictions.json together) and gives

* ``intervals``: a 95 % bootstrap interval of each system's pooled UA, WA,
  F1 and CCC;
* ``paired``: the recipe against each baseline on the same utterances
  (difference, its interval and a two-sided p-value);
* ``calibration``, ``risk_coverage``: fold means of the recipe's
  results.json sections (ECE before/after temperature scaling, accuracy at
  each coverage);
* ``subgroups``: metrics per speaker and per ``group_by`` field.

Speakers are resampled (cluster bootstrap) when every fold says its test
speakers are unseen in training (results.json ``speaker_independent``) or
the protocol says "speaker-independent", and utterances otherwise.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np

from speechbrain_ser.evaluation.bootstrap import (
    class_names_of,
    compare_predictions,
    pooled_intervals,
    prediction_arrays,
)
from speechbrain_ser.evaluation.subgroups import group_fields, subgroup_report

REFERENCE = "model"


def speaker_of(predictions):
    """id -> speaker, from any system's predictions that carry one.

    Arguments
    ---------
    predictions : dict
        System -> (id -> prediction).

    Returns
    -------
    dict
        id -> speaker.

    Example
    -------
    >>> speaker_of({"model": {"a": {"speaker": "s1"}}, "fbank": {"a": {}}})
    {'a': 's1'}
    """
    speakers = {}
    for system in predictions.values():
        for uid, p in system.items():
            if "speaker" in p:
                speakers.setdefault(uid, p["speaker"])
    return speakers


def is_speaker_independent(fold_results, protocol=""):
    """Whether the folds' test speakers were unseen in training.

    Arguments
    ---------
    fold_results : dict
        Fold -> results.json (``speaker_independent``).
    protocol : str
        Fallback: the protocol sentence.

    Returns
    -------
    bool
        True for a speaker-independent protocol.

    Example
    -------
    >>> is_speaker_independent({"0": {"speaker_independent": True}})
    True
    >>> is_speaker_independent({}, "URDU, speaker-independent 4-fold")
    True
    """
    flags = [r.get("speaker_independent") for r in fold_results.values()]
    if flags and all(f is not None for f in flags):
        return all(flags)
    return "speaker-independent" in (protocol or "").lower()


def _fold_mean(fold_results, *path):
    """Mean over folds of a nested numeric entry of results.json."""
    values = []
    for r in fold_results.values():
        for key in path:
            r = r.get(key) if isinstance(r, dict) else None
        if isinstance(r, (int, float)):
            values.append(r)
    return float(np.mean(values)) if values else None


def crossval_reliability(
    predictions,
    fold_results=None,
    protocol="",
    group_by=None,
    n_resamples=1000,
    seed=0,
):
    """See the module docstring.

    Arguments
    ---------
    predictions : dict
        System name -> (id -> prediction), pooled over folds.
    fold_results : dict, optional
        Fold -> the recipe's results.json.
    protocol : str
        The cross-validation protocol sentence.
    group_by : str or list of str, optional
        Fields (in the recipe's predictions) reported per value.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Bootstrap seed.

    Returns
    -------
    dict
        ``resampled``, ``intervals``, ``paired``, ``calibration``,
        ``risk_coverage``, ``subgroups``.

    Example
    -------
    >>> model = {
    ...     f"u{i}": {"emotion": "x", "target": "x", "speaker": i % 3}
    ...     for i in range(9)
    ... }
    >>> fbank = {
    ...     f"u{i}": {"emotion": "xy"[i % 2], "target": "x"} for i in range(9)
    ... }
    >>> r = crossval_reliability(
    ...     {"model": model, "fbank": fbank},
    ...     protocol="speaker-independent",
    ...     n_resamples=100,
    ... )
    >>> r["resampled"], r["paired"]["fbank"]["UA"]["difference"] > 0
    ('speakers', True)
    """
    fold_results = fold_results or {}
    speakers = speaker_of(predictions)
    independent = is_speaker_independent(fold_results, protocol)
    options = {"n_resamples": n_resamples, "seed": seed}

    def clusters_for(system):
        """Speakers when every utterance of ``system`` has one."""
        if independent and system and all(uid in speakers for uid in system):
            return speakers
        return None

    report = {"intervals": {}, "paired": {}, "subgroups": {}}
    resampled = set()
    for name, system in predictions.items():
        if not system:
            continue
        report["intervals"][name] = pooled_intervals(
            system, clusters_for(system), **options
        )
        resampled.add(report["intervals"][name]["resampled"])
    reference = predictions.get(REFERENCE) or {}
    for name, system in predictions.items():
        if name != REFERENCE and reference and system:
            common = {uid: reference[uid] for uid in system if uid in reference}
            report["paired"][name] = compare_predictions(
                reference, system, clusters_for(common), **options
            )
    report["resampled"] = (
        resampled.pop() if len(resampled) == 1 else sorted(resampled)
    )
    if fold_results:
        report["calibration"] = {
            stage: {
                metric: _fold_mean(fold_results, "calibration", stage, metric)
                for metric in ("NLL", "Brier", "ECE", "ECE_adaptive")
            }
            for stage in ("before", "after")
        }
        report["calibration"]["temperature"] = _fold_mean(
            fold_results, "calibration", "temperature"
        )
        report["risk_coverage"] = {
            coverage: _fold_mean(
                fold_results, "risk_coverage", "accuracy_at", coverage
            )
            for coverage in ("1.0", "0.9", "0.8", "0.5")
        }
        report["risk_coverage"]["AURC"] = _fold_mean(
            fold_results, "risk_coverage", "AURC"
        )
        report["folds"] = "means over folds of results.json"
    fields = group_fields(group_by)
    for name, system in predictions.items():
        if not system:
            continue
        ids = sorted(system)
        labels = class_names_of(system.values())
        arrays = prediction_arrays(system, ids, labels)
        for field in fields:
            values = {}
            for source in predictions.values():
                for uid, p in source.items():
                    if field in p:
                        values.setdefault(uid, p[field])
            column = [values.get(uid) for uid in ids]
            if all(v is None for v in column):
                continue
            report["subgroups"].setdefault(name, {})[field] = subgroup_report(
                column,
                labels=arrays.get("labels"),
                predicted=arrays.get("predicted"),
                avd_targets=arrays.get("avd_targets"),
                avd=arrays.get("avd"),
                class_names=labels or None,
            )
    return report


def _cell(interval):
    return (
        f"{interval['estimate']:.3f} "
        f"[{interval['low']:.3f}, {interval['high']:.3f}]"
    )


def reliability_markdown(report, names=None):
    """Markdown tables of :func:`crossval_reliability`'s report.

    Arguments
    ---------
    report : dict
        :func:`crossval_reliability` output.
    names : dict, optional
        System name -> display name.

    Returns
    -------
    str
        Pooled metrics with 95 % intervals, the paired comparisons, and
        the worst group / spread per subgroup field.

    Example
    -------
    >>> p = {
    ...     "model": {
    ...         f"u{i}": {"emotion": "x", "target": "xy"[i % 2]}
    ...         for i in range(6)
    ...     }
    ... }
    >>> text = reliability_markdown(crossval_reliability(p, n_resamples=20))
    >>> text.splitlines()[2].startswith("| system | UA [95% CI]")
    True
    """
    names = names or {}
    lines = []
    intervals = report["intervals"]
    if intervals:
        first = next(iter(intervals.values()))
        keys = [k for k in ("UA", "WA", "F1_macro") if k in first]
        ccc = "CCC" in first
        header = [f"{k} [95% CI]" for k in keys]
        header += ["CCC mean [95% CI]"] * ccc
        lines += [
            f"Pooled test metrics with 95% bootstrap intervals "
            f"({report['resampled']} resampled):",
            "",
            "| system | " + " | ".join(header) + " |",
            "|" + "---|" * (len(header) + 1),
        ]
        for name, r in intervals.items():
            cells = [_cell(r[k]) for k in keys]
            if ccc:
                cells.append(_cell(r["CCC"]["mean"]))
            lines.append(
                f"| {names.get(name, name)} | " + " | ".join(cells) + " |"
            )
    if report["paired"]:
        lines += [
            "",
            "Recipe minus baseline, paired bootstrap on the same utterances:",
            "",
            "| baseline | metric | difference [95% CI] | p | n |",
            "|---|---|---|---|---|",
        ]
        for name, comparison in report["paired"].items():
            for metric, r in comparison.items():
                if metric == "n":
                    continue
                lines.append(
                    f"| {names.get(name, name)} | {metric} | "
                    f"{r['difference']:+.3f} [{r['low']:+.3f}, "
                    f"{r['high']:+.3f}] | {r['p_value']:.3f} | "
                    f"{comparison['n']} |"
                )
    rows = []
    for name, fields in report["subgroups"].items():
        for field, r in fields.items():
            if r["worst"] is None:
                continue
            rows.append(
                f"| {names.get(name, name)} | {field} | {r['n_groups']} | "
                f"{r['worst']['group']} ({r['worst'][r['metric']]:.3f}) | "
                f"{r['best']['group']} ({r['best'][r['metric']]:.3f}) | "
                f"{r['spread']:.3f} | {r['std']:.3f} |"
            )
    if rows:
        lines += [
            "",
            "Subgroups (groups of at least "
            f"{next(iter(next(iter(report['subgroups'].values())).values()))['min_n']}"
            " utterances ranked):",
            "",
            "| system | field | groups | worst | best | spread | std |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    calibration = report.get("calibration")
    if calibration and calibration["before"]["ECE"] is not None:
        b, a = calibration["before"], calibration["after"]
        lines += [
            "",
            "Recipe calibration on test, mean over folds (temperature "
            "fitted on each fold's validation set):",
            "",
            "| | NLL | Brier | ECE (15 bins) | ECE adaptive |",
            "|---|---|---|---|---|",
        ]
        for stage, m in (("before", b), ("after", a)):
            if m["NLL"] is None:
                continue
            lines.append(
                f"| {stage} | {m['NLL']:.3f} | {m['Brier']:.3f} | "
                f"{m['ECE']:.3f} | {m['ECE_adaptive']:.3f} |"
            )
    rc = report.get("risk_coverage")
    if rc and rc.get("AURC") is not None:
        accuracies = ", ".join(
            f"{float(c):.0%}: {rc[c]:.3f}"
            for c in ("1.0", "0.9", "0.8", "0.5")
            if rc.get(c) is not None
        )
        lines += [
            "",
            "Recipe abstaining on its least confident clips (calibrated), "
            f"accuracy at each coverage, mean over folds: {accuracies}; "
            f"AURC {rc['AURC']:.3f}.",
        ]
    return "\n".join(lines) + "\n"
