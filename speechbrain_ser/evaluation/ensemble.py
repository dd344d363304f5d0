"""Downsampling + ensembling against class imbalance (Bhosale et al. 2020).

N models are trained, each on its own class-balanced subsample of the
training set (:func:`speechbrain_ser.data.emotion.downsample_classes`:
every class cut down to the size of the smallest, a new random draw per
model, seed ``seed + k``), with the same validation and test sets; their
test posteriors are averaged. One command trains and evaluates them all::

    python -m speechbrain_ser.evaluation.ensemble hparams/acoustic_linguistic.yaml --n_models 5 \\
        --streams=acoustic --pretrainer=null

Every other argument is a HyperPyYAML override, as for ``train.py``. Model
k trains in ``<output_folder>/ensemble/model_<k>`` with seed ``seed + k``
(the fixed streams of a frozen, cached encoder are computed once, in
``<output_folder>/ensemble/encoder_cache``, unless the YAML names a cache);
the averaged result goes to ``<output_folder>/ensemble/results.json``
(UA, WA, F1, per-class recall, and per ``subset_field`` value when the
YAML names one; every model's own UA and WA next to it), with the same
trust sections as a recipe's results.json (95 % bootstrap ``intervals``
of UA, WA and F1, speakers resampled when no test speaker is in train;
uncalibrated ``calibration``, ``risk_coverage``, ``subgroups``; see
:func:`speechbrain_ser.brains.reliability.reliability_results`) and
``paired``: the ensemble against its best model and against the mean
model by a paired bootstrap on the same test utterances. Models run one
after another in one process (not under torchrun). Ensembles run with
seeds s and s + 1 share N - 1 models (same seed, same draw): repeat an
ensemble with seeds N apart (s, s + N, s + 2N) for independent repeats.

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import os
import sys

import numpy as np
import speechbrain as sb
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.defaults import with_defaults
from speechbrain_ser.brains.reliability import (
    groups_and_clusters,
    reliability_results,
)
from speechbrain_ser.data.emotion import downsample_classes
from speechbrain_ser.data.manifest import (
    manifest_field,
    read_manifest,
    write_manifest,
)
from speechbrain_ser.evaluation.bootstrap import (
    CLASSIFICATION_METRICS,
    paired_bootstrap,
)
from speechbrain_ser.metrics import classification_report, subset_reports
from speechbrain_ser.strict_json import write_json

logger = get_logger(__name__)


def average_posteriors(members):
    """Averages the class posteriors of several models, per utterance.

    Arguments
    ---------
    members : list of dict
        One per model: ``ids`` (N utterance ids), ``probs`` (N, C)
        posteriors and ``class_names`` (C names, the model's own order).

    Returns
    -------
    ids : list of str
        The first model's ids (every model must have scored them all).
    probs : numpy.ndarray
        (N, C) mean posteriors, in the first model's class order.
    class_names : list of str

    Example
    -------
    >>> a = {
    ...     "ids": ["u1", "u2"],
    ...     "probs": [[0.9, 0.1], [0.4, 0.6]],
    ...     "class_names": ["neu", "ang"],
    ... }
    >>> b = {
    ...     "ids": ["u2", "u1"],
    ...     "probs": [[0.2, 0.8], [0.3, 0.7]],
    ...     "class_names": ["ang", "neu"],
    ... }
    >>> ids, probs, names = average_posteriors([a, b])
    >>> ids, probs.round(2).tolist(), names
    (['u1', 'u2'], [[0.8, 0.2], [0.6, 0.4]], ['neu', 'ang'])
    """
    ids = list(members[0]["ids"])
    names = list(members[0]["class_names"])
    total = np.zeros((len(ids), len(names)))
    for member in members:
        row_of = {uid: i for i, uid in enumerate(member["ids"])}
        missing = [uid for uid in ids if uid not in row_of]
        if missing or sorted(member["class_names"]) != sorted(names):
            raise ValueError(
                "ensemble members scored different utterances or classes: "
                f"missing {missing[:3]}, classes {member['class_names']}"
            )
        columns = [member["class_names"].index(name) for name in names]
        probs = np.asarray(member["probs"])
        total += probs[[row_of[uid] for uid in ids]][:, columns]
    return ids, total / len(members), names


def run_ensemble(argv):
    """Trains N models on balanced subsamples and averages them.

    Arguments
    ---------
    argv : list of str
        ``[hparams_file, --n_models N, --key=value overrides...]``.

    Returns
    -------
    dict
        The ensemble's results (also written to results.json).

    Example
    -------
    >>> try:  # the recipe YAML is read before anything is trained
    ...     run_ensemble(["no/such/recipe.yaml", "--n_models=3"])
    ... except FileNotFoundError as error:
    ...     print(error.filename)
    no/such/recipe.yaml
    """
    from speechbrain_ser.run import run_recipe
    from speechbrain_ser.run_checks import check_pretrained_files

    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_ser.evaluation.ensemble",
        usage="%(prog)s HPARAMS.yaml [--n_models N] [--key=value ...]",
        description="Trains N models of a recipe, each on its own "
        "class-balanced subsample of train (seed + k), and averages their "
        "test probabilities; --key=value overrides go to every model.",
    )
    parser.add_argument(
        "--n_models", type=int, default=5, help="models in the ensemble"
    )
    known, rest = parser.parse_known_args(argv)
    hparams_file, _, overrides = sb.parse_arguments(rest)
    set_here = ("seed", "output_folder", "train_manifest")
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    check_pretrained_files(hparams)  # e.g. fusion's ASR encoder
    if hparams.get("prepare") is not None:
        run_on_main(hparams["prepare"])
    folder = os.path.join(hparams["output_folder"], "ensemble")
    shared = []
    if hparams.get("cache_frozen_encoder") and not hparams.get(
        "encoder_cache_folder"
    ):  # the fixed streams are computed once for all models
        shared = [f"--encoder_cache_folder={folder}/encoder_cache"]
    rest = _without_overrides(rest, set_here)
    train = read_manifest(hparams["train_manifest"])
    members = []
    for k in range(known.n_models):
        kept = downsample_classes(train, seed=hparams["seed"] + k)
        subsample = {uid: train[uid] for uid in sorted(kept)}
        member_folder = os.path.join(folder, f"model_{k}")
        manifest = os.path.join(member_folder, "train.json")
        write_manifest(subsample, manifest)
        logger.info(
            f"ensemble model {k + 1}/{known.n_models}: {len(subsample)} of "
            f"{len(train)} training utterances"
        )
        brain = run_recipe(
            rest
            + shared
            + [
                f"--seed={hparams['seed'] + k}",
                f"--output_folder={member_folder}",
                f"--train_manifest={manifest}",
            ]
        )
        outputs = brain.last_outputs
        members.append(
            {
                "ids": outputs["ids"],
                "probs": outputs["probs"],
                "labels": [brain.class_names[i] for i in outputs["labels"]],
                "class_names": brain.class_names,
            }
        )
        del brain
    results = ensemble_results(members, hparams, folder)
    path = os.path.join(folder, "results.json")
    write_json(results, path)
    ua, best = results["intervals"]["UA"], results["paired"]["best_model"]
    logger.info(
        f"ensemble of {known.n_models}: UA {results['UA']:.4f} "
        f"[{ua['low']:.4f}, {ua['high']:.4f}] ({ua['resampled']} "
        f"resampled), WA {results['WA']:.4f}; minus its best model: UA "
        f"{best['UA']['difference']:+.4f}, p {best['UA']['p_value']:.3f} "
        f"({path})"
    )
    return results


def _without_overrides(argv, keys):
    """argv without ``--key=value`` or ``--key value`` for the keys."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg[2:].split("=", 1)[0] if arg.startswith("--") else None
        if name in keys:
            skip = "=" not in arg
            continue
        kept.append(arg)
    return kept


def ensemble_results(members, hparams, folder):
    """Metrics of the averaged posteriors, their error bars, each model on
    its own, and the ensemble against its models.

    Arguments
    ---------
    members : list of dict
        One per model: ``ids``, ``probs`` (N, C), ``labels`` (names of the
        true classes) and ``class_names``.
    hparams : dict
        Reads ``protocol``, ``bootstrap_resamples`` and ``group_by`` (as a
        recipe does), ``train_manifest`` and ``test_manifest`` (speakers:
        resampled when the test speakers are not in train) and, optionally,
        ``subset_field`` (results per value of that test manifest field).
    folder : str
        Where the reliability diagram and risk-coverage plots go.

    Returns
    -------
    dict
        results.json-like metrics of the average; the sections of
        :func:`~speechbrain_ser.brains.reliability.reliability_results`
        (``intervals``, ``calibration``, ``risk_coverage``,
        ``subgroups``) and ``speaker_independent``; ``models``: the UA /
        WA of each model on its own; ``paired``: :func:`member_comparisons`.

    Example
    -------
    >>> import tempfile
    >>> member = {
    ...     "ids": ["u1", "u2"],
    ...     "probs": [[0.9, 0.1], [0.4, 0.6]],
    ...     "labels": ["neu", "ang"],
    ...     "class_names": ["neu", "ang"],
    ... }
    >>> flipped = {**member, "probs": [[0.6, 0.4], [0.5, 0.5]]}
    >>> results = ensemble_results(
    ...     [member, flipped], {"bootstrap_resamples": 50}, tempfile.mkdtemp()
    ... )
    >>> results["UA"], [model["UA"] for model in results["models"]]
    (1.0, [1.0, 0.5])
    >>> results["intervals"]["UA"]["resampled"]
    'utterances'
    >>> results["paired"]["mean_model"]["UA"]["difference"]
    0.25
    """
    hparams = with_defaults(hparams)
    ids, probs, names = average_posteriors(members)
    label_of = dict(zip(members[0]["ids"], members[0]["labels"]))
    labels = np.array([names.index(label_of[uid]) for uid in ids])
    predicted = probs.argmax(-1)
    results = {
        "protocol": hparams["protocol"],
        "method": "downsampling + ensembling (Bhosale et al. 2020): "
        f"{len(members)} models on class-balanced subsamples, "
        "posteriors averaged",
        "n_models": len(members),
        "n_test": len(ids),
        "labels": names,
        **classification_report(labels, predicted, names),
        "models": [],
    }
    for member in members:
        own = np.array(
            [member["class_names"].index(x) for x in member["labels"]]
        )
        report = classification_report(
            own, np.asarray(member["probs"]).argmax(-1), member["class_names"]
        )
        results["models"].append({"UA": report["UA"], "WA": report["WA"]})
    field = hparams.get("subset_field")
    if field:
        groups = manifest_field(hparams["test_manifest"], field)
        results[f"by_{field}"] = subset_reports(
            ids, labels, predicted, groups, names
        )
    manifests = argparse.Namespace(
        train_manifest=hparams.get("train_manifest"),
        test_manifest=hparams.get("test_manifest"),
    )
    fields, clusters, independent = groups_and_clusters(
        manifests, ids, hparams["group_by"]
    )
    options = {"n_resamples": hparams["bootstrap_resamples"], "seed": 0}
    results.update(  # the trust sections of a recipe's results.json
        reliability_results(
            {"ids": ids, "probs": probs, "labels": labels, "avd": []},
            None,  # no temperature: the members' raw softmax, averaged
            folder,
            class_names=names,
            fields=fields,
            clusters=clusters,
            **options,
        ),
        speaker_independent=independent,
    )
    results["paired"] = member_comparisons(
        labels,
        predicted,
        member_predictions(members, ids, names),
        clusters=clusters,
        **options,
    )
    return results


def member_predictions(members, ids, names):
    """Each model's predicted class per utterance, in one order.

    Arguments
    ---------
    members : list of dict
        ``ids``, ``probs`` and ``class_names`` of each model.
    ids : list of str
        The utterances, in the ensemble's order.
    names : list of str
        The ensemble's class order.

    Returns
    -------
    numpy.ndarray
        (N, K) class indices into ``names``: column k is model k.

    Example
    -------
    >>> a = {"ids": ["u1", "u2"], "probs": [[0.9, 0.1], [0.2, 0.8]]}
    >>> a["class_names"] = ["neu", "ang"]
    >>> b = {"ids": ["u2", "u1"], "probs": [[0.7, 0.3], [0.6, 0.4]]}
    >>> b["class_names"] = ["ang", "neu"]
    >>> member_predictions([a, b], ["u1", "u2"], ["neu", "ang"]).tolist()
    [[0, 1], [1, 1]]
    """
    columns = []
    for member in members:
        row_of = {uid: i for i, uid in enumerate(member["ids"])}
        own = np.asarray(member["probs"]).argmax(-1)
        columns.append(
            [
                names.index(member["class_names"][own[row_of[uid]]])
                for uid in ids
            ]
        )
    return np.array(columns).T


def _mean_over_models(metric):
    """``metric`` of one prediction column, or its mean over columns."""

    def score(targets, predictions):
        """The metric (mean over models for an (N, K) array)."""
        if predictions.ndim == 1:
            return metric(targets, predictions)
        return float(
            np.mean([metric(targets, column) for column in predictions.T])
        )

    return score


def member_comparisons(labels, predicted, members, clusters=None, **options):
    """The ensemble against its models, paired on the same utterances.

    ``best_model`` is the model with the highest test UA: choosing it on
    test favours it, so the ensemble's margin over it is, if anything,
    understated. ``mean_model`` compares with the mean over the models of
    each metric (what one model of the recipe gets on average), resampled
    together, so that its interval says whether ensembling helps.

    Arguments
    ---------
    labels : array-like
        True class indices, (N,).
    predicted : array-like
        The ensemble's predicted classes, (N,).
    members : array-like
        (N, K) predicted classes of each model (:func:`member_predictions`).
    clusters : sequence, optional
        One speaker per utterance: resample speakers.
    **options
        ``n_resamples``, ``confidence``, ``seed`` of
        :func:`~speechbrain_ser.evaluation.bootstrap.paired_bootstrap`.

    Returns
    -------
    dict
        ``best_model`` (with ``model``, its index) and ``mean_model``,
        each with ``UA`` and ``F1_macro``:
        :func:`~speechbrain_ser.evaluation.bootstrap.paired_bootstrap`
        results, ``difference`` = ensemble - model(s).

    Example
    -------
    >>> labels = np.array([0, 1, 1, 0] * 5)
    >>> members = np.stack([labels, labels], 1)
    >>> members[:5, 0] = 1 - members[:5, 0]  # model 0 errs on 5 clips
    >>> r = member_comparisons(labels, labels, members, n_resamples=100)
    >>> r["best_model"]["model"], r["best_model"]["UA"]["difference"]
    (1, 0.0)
    >>> r["mean_model"]["UA"]["difference"]
    0.125
    """
    labels = np.asarray(labels)
    predicted = np.asarray(predicted)
    members = np.asarray(members)
    ua = CLASSIFICATION_METRICS["UA"]
    best = int(np.argmax([ua(labels, column) for column in members.T]))
    result = {
        "best_model": {"model": best, "selected_by": "test UA"},
        "mean_model": {"models": int(members.shape[1])},
    }
    for name in ("UA", "F1_macro"):
        metric = CLASSIFICATION_METRICS[name]
        result["best_model"][name] = paired_bootstrap(
            metric,
            labels,
            predicted,
            members[:, best],
            clusters=clusters,
            **options,
        )
        result["mean_model"][name] = paired_bootstrap(
            _mean_over_models(metric),
            labels,
            predicted,
            members,
            clusters=clusters,
            **options,
        )
    return result


if __name__ == "__main__":
    run_ensemble(sys.argv[1:])
