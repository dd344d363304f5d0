"""Brain machinery for trustworthy results: calibration fitted on the
validation set, and the results.json sections that say how far to trust
a model (bootstrap intervals, calibration before/after, risk-coverage,
conformal A/V/D coverage, subgroups).

EmotionBrain's hparams for it (all optional, defaults in brackets):
``calibrate`` [true], ``calibration_bias`` [false] (also fit one bias per
class), ``conformal_coverage`` [0.9], ``bootstrap_resamples`` [1000],
``group_by`` [none] (manifest field or list of fields reported per value,
besides ``speaker``).

Authors
 * speechbrain-ser developers 2026
"""

import math
import os

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.results import gather_outputs
from speechbrain_ser.data.manifest import manifest_field
from speechbrain_ser.evaluation.bootstrap import (
    ccc_intervals,
    classification_intervals,
)
from speechbrain_ser.evaluation.calibration import (
    calibration_metrics,
    interval_report,
    plot_reliability_diagram,
    plot_risk_coverage,
    risk_coverage,
)
from speechbrain_ser.evaluation.subgroups import group_fields, subgroup_report
from speechbrain_ser.inference.calibration import (
    DEFAULT_COVERAGE,
    Calibration,
    conformal_half_width,
    fit_temperature,
)
from speechbrain_ser.metrics import AVD_NAMES

logger = get_logger(__name__)


def log_probabilities(probabilities):
    """Log of softmax outputs, floored so that a 0 stays finite.

    Temperature scaling of log-probabilities is temperature scaling of
    the logits: the softmax ignores the per-row shift between them.

    Arguments
    ---------
    probabilities : array-like
        (N, C) probabilities.

    Returns
    -------
    numpy.ndarray
        (N, C) log-probabilities, at least log(1e-30).

    Example
    -------
    >>> log_probabilities([[1.0, 0.0]]).round(1).tolist()
    [[0.0, -69.1]]
    """
    return np.log(np.clip(np.asarray(probabilities, np.float64), 1e-30, 1))


def fit_calibration(outputs, bias=False, coverage=DEFAULT_COVERAGE):
    """A :class:`Calibration` from one pass's outputs on held-out data.

    Arguments
    ---------
    outputs : dict
        ``probs`` (N, C) and ``labels`` (N,) and/or ``avd`` and
        ``avd_targets`` (N, 3) on the normalised scale, as
        :func:`~speechbrain_ser.brains.results.gather_outputs` returns them.
    bias : bool
        Also fit a per-class bias.
    coverage : float
        Nominal coverage of the conformal A/V/D intervals.

    Returns
    -------
    Calibration
        With ``info``: ``fitted_on``, ``n_valid``, and the validation NLL
        before and after.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 2, 100)
    >>> logits = np.where(rng.random(100) < 0.7, labels, 1 - labels)
    >>> probs = np.stack([1 - logits, logits], 1) * 0.98 + 0.01
    >>> c = fit_calibration({"probs": probs, "labels": labels, "avd": []})
    >>> (
    ...     c.temperature > 1,
    ...     c.info["valid_NLL_after"] < c.info["valid_NLL_before"],
    ... )
    (True, True)
    """
    calibration = Calibration(info={"fitted_on": "validation set"})
    if len(outputs.get("probs", [])):
        log_p = log_probabilities(outputs["probs"])
        labels = np.asarray(outputs["labels"])
        temperature, shift = fit_temperature(log_p, labels, bias=bias)
        calibration.temperature, calibration.bias = temperature, shift
        after = calibration.probabilities(torch.as_tensor(log_p)).numpy()
        calibration.info.update(
            n_valid=int(len(labels)),
            valid_NLL_before=calibration_metrics(outputs["probs"], labels)[
                "NLL"
            ],
            valid_NLL_after=calibration_metrics(after, labels)["NLL"],
        )
    if len(outputs.get("avd", [])):
        residuals = np.abs(
            np.asarray(outputs["avd"]) - np.asarray(outputs["avd_targets"])
        )
        widths = conformal_half_width(residuals, coverage)
        calibration.coverage = coverage
        calibration.half_widths = dict(zip(AVD_NAMES, widths))
        calibration.info["n_valid"] = int(len(residuals))
    return calibration


def validation_outputs(brain, valid_set, loader_kwargs=None, **checkpoint):
    """Runs the checkpoint that will be tested on the validation set.

    Arguments
    ---------
    brain : EmotionBrain
        A trained Brain (its ``compute_objectives`` stores outputs).
    valid_set : Dataset or DataLoader
        The validation data.
    loader_kwargs : dict, optional
        DataLoader options.
    **checkpoint
        ``max_key`` / ``min_key``: the checkpoint to load.

    Returns
    -------
    dict
        The gathered outputs (see :func:`~speechbrain_ser.brains.results.gather_outputs`).

    Example
    -------
    >>> from speechbrain_ser.brains.emotion import EmotionBrain
    >>> validation_outputs.__name__, hasattr(EmotionBrain, "fit_calibration")
    ('validation_outputs', True)
    """
    brain.on_evaluate_start(**checkpoint)
    if not isinstance(valid_set, torch.utils.data.DataLoader):
        valid_set = brain.make_dataloader(  # not a checkpoint recoverable
            valid_set, sb.Stage.TEST, ckpt_prefix=None, **(loader_kwargs or {})
        )
    brain.on_stage_start(sb.Stage.VALID)
    brain.modules.eval()
    with torch.no_grad():
        for batch in valid_set:
            brain.evaluate_batch(batch, stage=sb.Stage.VALID)
    return gather_outputs(brain.outputs)


def speaker_independent(hparams):
    """Whether no test speaker is in the training manifest.

    Arguments
    ---------
    hparams : object
        With ``train_manifest`` and ``test_manifest`` attributes.

    Returns
    -------
    bool or None
        None when the manifests are missing or have no ``speaker``.

    Example
    -------
    >>> import tempfile, types
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root = tempfile.mkdtemp()
    >>> write_manifest({"a": {"speaker": "s1"}}, f"{root}/train.json")
    >>> write_manifest({"b": {"speaker": "s2"}}, f"{root}/test.json")
    >>> speaker_independent(
    ...     types.SimpleNamespace(
    ...         train_manifest=f"{root}/train.json",
    ...         test_manifest=f"{root}/test.json",
    ...     )
    ... )
    True
    """
    train = getattr(hparams, "train_manifest", None)
    test = getattr(hparams, "test_manifest", None)
    if not (train and test and os.path.isfile(train) and os.path.isfile(test)):
        return None
    train_speakers = set(manifest_field(train, "speaker").values())
    test_speakers = set(manifest_field(test, "speaker").values())
    if not train_speakers or not test_speakers:
        return None
    return not (train_speakers & test_speakers)


def reliability_results(
    outputs,
    calibration,
    folder,
    class_names=None,
    fields=None,
    clusters=None,
    avd_range=None,
    n_resamples=1000,
    seed=0,
):
    """The results.json sections on how far to trust the test numbers.

    Arguments
    ---------
    outputs : dict
        Test outputs (``ids``, ``probs``, ``labels``, ``avd``,
        ``avd_targets``).
    calibration : Calibration or None
        Fitted on validation; None: not calibrated.
    folder : str
        Where ``reliability_diagram.png`` and ``risk_coverage.png`` go.
    class_names : list of str, optional
        Classes (classification).
    fields : dict, optional
        Field name -> one value per test utterance (subgroups).
    clusters : sequence, optional
        One speaker per utterance when the protocol is speaker-independent
        (cluster bootstrap); None: utterances are resampled.
    avd_range : sequence of float, optional
        Corpus scale of A/V/D (interval widths are given on it).
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Bootstrap seed.

    Returns
    -------
    dict
        ``intervals`` (95 % bootstrap intervals of UA/WA/F1_macro and
        CCC), ``calibration`` (before/after NLL, Brier, ECE), ``risk_coverage``,
        ``conformal`` (test coverage and mean width), ``subgroups``.

    Example
    -------
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> outputs = {
    ...     "probs": rng.dirichlet([1, 1], 20),
    ...     "labels": rng.integers(0, 2, 20),
    ...     "avd": [],
    ... }
    >>> r = reliability_results(
    ...     outputs, Calibration(2.0), tempfile.mkdtemp(), n_resamples=50
    ... )
    >>> sorted(r)
    ['calibration', 'intervals', 'risk_coverage', 'subgroups']
    """
    results = {"intervals": {}}
    options = {"clusters": clusters, "n_resamples": n_resamples, "seed": seed}
    has_classes = len(outputs.get("probs", [])) > 0
    if has_classes:
        probs = np.asarray(outputs["probs"], dtype=np.float64)
        labels = np.asarray(outputs["labels"])
        results["intervals"].update(
            classification_intervals(labels, probs.argmax(1), **options)
        )
        section = {"before": calibration_metrics(probs, labels)}
        curves = {"before (softmax)": (probs, labels)}
        calibrated = probs
        if calibration is not None:
            calibrated = calibration.probabilities(
                torch.as_tensor(log_probabilities(probs))
            ).numpy()
            section.update(
                temperature=calibration.temperature,
                bias=calibration.bias,
                after=calibration_metrics(calibrated, labels),
            )
            curves["after (temperature scaling)"] = (calibrated, labels)
        plot_reliability_diagram(
            curves, os.path.join(folder, "reliability_diagram.png")
        )
        section["reliability_diagram"] = "reliability_diagram.png"
        results["calibration"] = section
        rc = risk_coverage(calibrated, labels)
        plot_risk_coverage(
            {"model": rc}, os.path.join(folder, "risk_coverage.png")
        )
        rc["plot"] = "risk_coverage.png"
        results["risk_coverage"] = rc
    has_avd = len(outputs.get("avd", [])) > 0
    if has_avd:
        results["intervals"]["CCC"] = ccc_intervals(
            outputs["avd_targets"], outputs["avd"], **options
        )
        if calibration is not None and calibration.half_widths:
            widths = [calibration.half_widths.get(n) for n in AVD_NAMES]
            results["conformal"] = {
                "nominal_coverage": calibration.coverage,
                "half_widths_normalised": [
                    None if w is None or math.isinf(w) else w for w in widths
                ],
                **interval_report(
                    outputs["avd_targets"],
                    outputs["avd"],
                    widths,
                    AVD_NAMES,
                    avd_range,
                ),
            }
    unit = "speakers" if clusters is not None else "utterances"
    results["intervals"]["resampled"] = unit
    results["subgroups"] = {}
    for field, values in (fields or {}).items():
        if all(v is None for v in values):
            continue
        results["subgroups"][field] = subgroup_report(
            values,
            labels=outputs["labels"] if has_classes else None,
            predicted=probs.argmax(1) if has_classes else None,
            avd_targets=outputs["avd_targets"] if has_avd else None,
            avd=outputs["avd"] if has_avd else None,
            class_names=class_names,
        )
    return results


def groups_and_clusters(hparams, ids, group_by=None):
    """Per-utterance test fields, and the bootstrap's clusters.

    Arguments
    ---------
    hparams : object
        With ``train_manifest`` and ``test_manifest`` attributes (see
        :func:`speaker_independent`).
    ids : list of str
        The test utterances, in the order of the outputs.
    group_by : str or list of str, optional
        Manifest fields reported per value, besides ``speaker``.

    Returns
    -------
    fields : dict
        Field -> one value per utterance of ``ids`` (None where missing).
    clusters : list or None
        The speakers of ``ids`` when the protocol is speaker-independent
        and every test utterance has one (cluster bootstrap); else None
        (utterances are resampled).
    independent : bool or None
        :func:`speaker_independent`.

    Example
    -------
    >>> import tempfile, types
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root = tempfile.mkdtemp()
    >>> write_manifest({"a": {"speaker": "s1"}}, f"{root}/train.json")
    >>> write_manifest({"b": {"speaker": "s2"}}, f"{root}/test.json")
    >>> hparams = types.SimpleNamespace(
    ...     train_manifest=f"{root}/train.json",
    ...     test_manifest=f"{root}/test.json",
    ... )
    >>> groups_and_clusters(hparams, ["b"])
    ({'speaker': ['s2']}, ['s2'], True)
    """
    test = getattr(hparams, "test_manifest", None)
    fields = {}
    for field in group_fields(group_by):
        values = manifest_field(test, field) if test else {}
        fields[field] = [values.get(uid) for uid in ids]
    clusters = None
    independent = speaker_independent(hparams)
    if independent and all(s is not None for s in fields["speaker"]):
        clusters = fields["speaker"]
    return fields, clusters, independent


def brain_reliability_results(
    brain, folder, group_by=None, n_resamples=1000, seed=0
):
    """:func:`reliability_results` for an EmotionBrain's last test pass.

    Arguments
    ---------
    brain : EmotionBrain
        After its test pass (``last_outputs``).
    folder : str
        Where the plots go.
    group_by : str or list of str, optional
        Manifest fields reported per value, besides ``speaker``.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Bootstrap seed.

    Returns
    -------
    dict
        As :func:`reliability_results`, with ``speaker_independent``.

    Example
    -------
    >>> brain_reliability_results.__name__  # run in tests/integration
    'brain_reliability_results'
    """
    hparams = brain.hparams
    outputs = brain.last_outputs
    fields, clusters, independent = groups_and_clusters(
        hparams, outputs["ids"], group_by
    )
    results = reliability_results(
        outputs,
        getattr(brain, "calibration", None),
        folder,
        class_names=brain.class_names if len(outputs["probs"]) else None,
        fields=fields,
        clusters=clusters,
        avd_range=getattr(hparams, "avd_range", None),
        n_resamples=n_resamples,
        seed=seed,
    )
    results["speaker_independent"] = independent
    brain.test_fields = fields
    return results
