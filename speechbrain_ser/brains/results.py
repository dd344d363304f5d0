"""An emotion model's validation/test metrics and its result files.

:class:`~speechbrain_ser.brains.emotion.EmotionBrain` (and the Brains
derived from it) stores each utterance's outputs during a pass; the
functions here gather them from every DDP process, compute the metrics
that select the checkpoint, and, after the test pass, write
``results.json``, ``predictions.json`` and ``confusion_matrix.png`` and
report the learned layer weights.

Authors
 * speechbrain-ser developers 2026
"""

import json
import os

import numpy as np
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.manifest import manifest_field
from speechbrain_ser.metrics import (
    ccc_report,
    classification_report,
    confusion_matrix,
    plot_confusion_matrix,
    roc_auc,
    subset_reports,
)
from speechbrain_ser.strict_json import write_json

logger = get_logger(__name__)

SELECTION_METRICS = (
    "UA, WA, F1_macro, CCC_mean, CCC_activation, CCC_valence, CCC_dominance"
)


def gather_outputs(outputs):
    """A pass's stored outputs as numpy arrays, from every DDP process.

    DDP's sampler repeats a few items so that every process gets as many;
    each utterance is kept once.

    Arguments
    ---------
    outputs : dict
        ``ids`` (list of str) and, per other key (``probs``, ``labels``,
        ``avd``, ``avd_targets``), a list of per-batch tensors.

    Returns
    -------
    dict
        ``ids`` and one (N, ...) array per other key (``[]`` if empty).

    Example
    -------
    >>> outputs = {
    ...     "ids": ["a", "b", "c"],
    ...     "probs": [torch.rand(2, 4), torch.rand(1, 4)],
    ...     "avd": [],
    ... }
    >>> gathered = gather_outputs(outputs)
    >>> gathered["ids"], gathered["probs"].shape, gathered["avd"]
    (['a', 'b', 'c'], (3, 4), [])
    """
    parts = [outputs]
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        parts = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(parts, outputs)
    gathered = {"ids": []}
    arrays = {key: [] for key in outputs if key != "ids"}
    seen = set()
    for part in parts:
        rows = {key: torch.cat(part[key]) for key in arrays if part[key]}
        for i, uid in enumerate(part["ids"]):
            if uid in seen:
                continue
            seen.add(uid)
            gathered["ids"].append(uid)
            for key, values in rows.items():
                arrays[key].append(values[i].numpy())
    for key, rows in arrays.items():
        gathered[key] = np.stack(rows) if rows else []
    return gathered


def emotion_metrics(outputs, class_names=None, selection_metric=None):
    """UA/WA/F1/AUC and CCC of gathered outputs, and the ``score``.

    Arguments
    ---------
    outputs : dict
        From :func:`gather_outputs`.
    class_names : list of str, optional
        Class names in index order (classification).
    selection_metric : str, optional
        The validation statistic that is the ``score`` (see
        :func:`selection_value`); None: UA for classification, mean CCC
        for regression, their mean for both.

    Returns
    -------
    dict
        Metric name -> value, ``score`` (higher is better) and ``n``.

    Example
    -------
    >>> outputs = {
    ...     "ids": ["a", "b"],
    ...     "probs": np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...     "labels": np.array([0, 0]),
    ...     "avd": [],
    ... }
    >>> metrics = emotion_metrics(outputs, ["happy", "sad"])
    >>> metrics["UA"], metrics["WA"], metrics["score"], metrics["n"]
    (0.5, 0.5, 0.5, 2)
    """
    metrics, scores = {}, []
    if len(outputs["probs"]):
        predicted = outputs["probs"].argmax(-1)
        metrics.update(
            classification_report(outputs["labels"], predicted, class_names)
        )
        metrics["ROC_AUC"] = roc_auc(outputs["labels"], outputs["probs"])
        metrics["confusion_matrix"] = confusion_matrix(
            outputs["labels"], predicted, len(class_names)
        ).tolist()
        scores.append(metrics["UA"])
    if len(outputs["avd"]):
        metrics["CCC"] = ccc_report(outputs["avd_targets"], outputs["avd"])
        scores.append(metrics["CCC"]["mean"])
    metrics["score"] = float(np.mean(scores))
    metrics["n"] = len(outputs["ids"])
    if selection_metric:
        metrics["score"] = selection_value(metrics, selection_metric)
    return metrics


def selection_value(metrics, name):
    """The value of the validation statistic ``name`` in ``metrics``.

    Arguments
    ---------
    metrics : dict
        From :func:`emotion_metrics`.
    name : str
        One of :data:`SELECTION_METRICS`.

    Returns
    -------
    float

    Example
    -------
    >>> selection_value({"CCC": {"valence": 0.4}}, "CCC_valence")
    0.4
    >>> selection_value({"UA": 0.5}, "CCC_valence")
    Traceback (most recent call last):
    ...
    ValueError: selection_metric 'CCC_valence' is not a validation statistic of this task; use one of UA, WA, F1_macro, CCC_mean, CCC_activation, CCC_valence, CCC_dominance
    """
    if name.startswith("CCC_") and "CCC" in metrics:
        value = metrics["CCC"].get(name[len("CCC_") :])
    else:
        value = metrics.get(name)
    if not isinstance(value, (int, float)):
        raise ValueError(
            f"selection_metric {name!r} is not a validation statistic "
            f"of this task; use one of {SELECTION_METRICS}"
        )
    return float(value)


def utterance_predictions(outputs, class_names=None, fields=None):
    """id -> prediction (label and/or AVD in [-1, 1]) and target.

    Arguments
    ---------
    outputs : dict
        From :func:`gather_outputs`.
    class_names : list of str, optional
        Class names in index order (classification).
    fields : dict, optional
        Manifest field (e.g. ``speaker``, ``gender``) -> one value per
        utterance (None: left out), copied into each prediction, so that
        cross-validation can resample speakers and report subgroups.

    Returns
    -------
    dict
        ``{id: {"emotion": ..., "target": ..., "avd": [...],
        "avd_target": [...]}}`` with the keys the task has.

    Example
    -------
    >>> outputs = {
    ...     "ids": ["a"],
    ...     "probs": np.array([[0.2, 0.8]]),
    ...     "labels": np.array([0]),
    ...     "avd": [],
    ... }
    >>> utterance_predictions(outputs, ["happy", "sad"])
    {'a': {'emotion': 'sad', 'target': 'happy'}}
    """
    predictions = {uid: {} for uid in outputs["ids"]}
    for i, uid in enumerate(outputs["ids"]):
        if len(outputs["probs"]):
            predictions[uid]["emotion"] = class_names[
                int(outputs["probs"][i].argmax())
            ]
            predictions[uid]["target"] = class_names[int(outputs["labels"][i])]
        if len(outputs["avd"]):
            predictions[uid]["avd"] = outputs["avd"][i].tolist()
            predictions[uid]["avd_target"] = outputs["avd_targets"][i].tolist()
        for field, values in (fields or {}).items():
            if values[i] is not None:
                predictions[uid][field] = values[i]
    return predictions


def write_emotion_results(
    folder, metrics, outputs, info, class_names=None, subset=None, fields=None
):
    """Writes results.json, predictions.json and confusion_matrix.png.

    results.json keys: ``task``, ``protocol``, ``n_test``,
    ``n_train_files_skipped`` (from ``info``) first; then the metrics:
    ``UA``, ``WA``, ``F1_macro``, ``F1_weighted``, ``per_class_recall``,
    ``ROC_AUC``, ``confusion_matrix``, ``labels`` (classification);
    ``CCC`` = {activation, valence, dominance, mean} (regression); and
    whatever else ``metrics`` holds (e.g. ``selected_epoch``). Strict
    JSON: an undefined metric is ``null``, explained in ``null_reasons``.
    predictions.json holds each test utterance's prediction and target
    (:func:`utterance_predictions`).

    Arguments
    ---------
    folder : str
        The output folder.
    metrics : dict
        From :func:`emotion_metrics`, plus any extra statistics
        (``n`` and ``score`` are left out of the file).
    outputs : dict
        The test pass's gathered outputs (:func:`gather_outputs`).
    info : dict
        ``task``, ``protocol`` and ``n_train_files_skipped``.
    class_names : list of str, optional
        Class names in index order (classification).
    subset : tuple, optional
        ``(field, test_manifest)``: UA/WA per value of that manifest field
        (classification), as ``by_<field>``.
    fields : dict, optional
        Per-utterance manifest fields for predictions.json (see
        :func:`utterance_predictions`).

    Returns
    -------
    str
        The path of results.json.

    Example
    -------
    >>> import tempfile
    >>> outputs = {
    ...     "ids": ["a", "b"],
    ...     "probs": np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...     "labels": np.array([0, 1]),
    ...     "avd": [],
    ... }
    >>> names = ["happy", "sad"]
    >>> metrics = emotion_metrics(outputs, names)
    >>> info = {"task": "classification", "protocol": "x"}
    >>> info["n_train_files_skipped"] = 0
    >>> path = write_emotion_results(
    ...     tempfile.mkdtemp(), metrics, outputs, info, names
    ... )
    >>> results = json.load(open(path))
    >>> list(results)[:5], results["UA"], results["labels"]
    (['task', 'protocol', 'n_test', 'n_train_files_skipped', 'UA'], 1.0, ['happy', 'sad'])
    """
    metrics = dict(metrics)
    results = {
        "task": info["task"],
        "protocol": info["protocol"],
        "n_test": metrics.pop("n"),
        "n_train_files_skipped": info["n_train_files_skipped"],
    }
    metrics.pop("score")
    results.update(metrics)
    if "UA" in metrics:
        results["labels"] = class_names
        if subset is not None:
            field, manifest = subset
            results[f"by_{field}"] = subset_reports(
                outputs["ids"],
                outputs["labels"],
                outputs["probs"].argmax(-1),
                manifest_field(manifest, field),
                class_names,
            )
        plot_confusion_matrix(
            np.array(metrics["confusion_matrix"]),
            class_names,
            os.path.join(folder, "confusion_matrix.png"),
            title=f"UA {metrics['UA']:.3f}, WA {metrics['WA']:.3f}",
        )
    path = os.path.join(folder, "results.json")
    write_json(results, path)
    write_json(
        utterance_predictions(outputs, class_names, fields),
        os.path.join(folder, "predictions.json"),
        indent=1,
    )
    logger.info(f"test results written to {path}")
    return path


def report_layer_weights(weights, folder, log_file):
    """Adds learned layer weights to results.json, the train log and a plot.

    Arguments
    ---------
    weights : dict
        name -> normalised weights (see
        :func:`speechbrain_ser.nnet.layer_weighting.layer_weights`);
        nothing is written if empty.
    folder : str
        The output folder, which holds results.json; the plot goes to
        ``layer_weights.png`` there.
    log_file : str
        The train log: one line ``layer weights (<name>): w0 w1 ...`` per
        weighting is appended.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> write_json({"UA": 0.5}, os.path.join(folder, "results.json"))
    >>> log = os.path.join(folder, "train_log.txt")
    >>> report_layer_weights({"head.layer_sum": [0.25, 0.75]}, folder, log)
    >>> print(open(log).read().strip())
    layer weights (head.layer_sum): 0.2500 0.7500
    >>> json.load(open(os.path.join(folder, "results.json")))["layer_weights"]
    {'head.layer_sum': [0.25, 0.75]}
    """
    if not weights:
        return
    from speechbrain_ser.plotting import plot_layer_weights

    path = os.path.join(folder, "results.json")
    with open(path, encoding="utf-8") as fin:
        results = json.load(fin)
    results["layer_weights"] = weights
    write_json(results, path)
    lines = [
        f"layer weights ({name}): " + " ".join(f"{w:.4f}" for w in ws)
        for name, ws in weights.items()
    ]
    with open(log_file, "a", encoding="utf-8") as fout:
        fout.write("\n".join(lines) + "\n")
    logger.info("; ".join(lines))
    plot_layer_weights(weights, os.path.join(folder, "layer_weights.png"))
