"""Runs a recipe over every fold of a protocol and pools the results.

    python -m speechbrain_ser.evaluation.crossval \\
        recipes/URDU/emotion/hparams/fbank_attention.yaml \\
        --fold_key=fold --folds=0,1,2,3 --baseline \\
        --data_folder=<urdu> --output_folder=results/urdu_fbank

Each fold trains in its own process (``python -m speechbrain_ser.run``
with ``--<fold_key>=k`` and ``--output_folder=<output_folder>/fold_<k>``, plus any other override
given). The validation fold follows the test fold: the recipes whose
preparer derives it (URDU's ``fold``, IEMOCAP's ``test_session``) do it
themselves; for a pair of keys ``test_<x>`` / ``valid_<x>`` in the YAML
(EmoDB's ``test_speaker`` / ``valid_speaker``), ``--valid_<x>`` is set to
the next fold of ``--folds`` (``--valid_key`` names another key). Every
utterance is tested in exactly one fold (checked), so the pooled metrics
cover the whole corpus: UA/WA/F1 for classes, CCC per dimension and
their mean over the concatenated A/V/D predictions for regression, both
for ``task: both``. The mean and standard deviation across folds are
reported too, as a Markdown table (printed, and written with the JSON
report to ``<output_folder>/crossval_results.{md,json}``). The report's
``protocol`` describes the cross-validation as a whole
(:func:`crossval_protocol`); ``fold_protocols`` keeps each fold's own.

A fold whose ``results.json`` and ``predictions.json`` exist is read, not
retrained, so a killed cross-validation resumes at the first unfinished
fold (which itself resumes from its last checkpoint).

``--baseline`` (or ``--baseline fbank``) adds filterbank statistics +
logistic regression (ridge regression for A/V/D) on the same folds;
``--baseline probe`` the same linear models on mean/std of the recipe's
own frozen encoder (``encoder`` in the YAML, pre-trained weights loaded
by its ``pretrainer``): last layer, and all layers concatenated;
``--baseline fbank probe`` both (:mod:`speechbrain_ser.evaluation.probes`).
``--baselines_only`` runs the recipe's data preparation but no training.

``--nested K`` is nested cross-validation for a full-batch head
(``--training=full_batch``, :mod:`speechbrain_ser.brains.full_batch`):
every outer fold chooses its head's L2 strength by K-fold speaker-grouped
cross-validation over its own train + valid speakers and refits on them,
so no outer test speaker enters a choice; only the outer test folds are
reported. Each fold writes what it chose to ``full_batch.json``.

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import speechbrain as sb
from speechbrain.utils.logger import get_logger

from speechbrain_ser.metrics import ccc_report, classification_report
from speechbrain_ser.run_lock import RunLock, RunLockedError
from speechbrain_ser.strict_json import write_json

logger = get_logger(__name__)

# Every training runs the package's own driver, so that crossval and search
# work from an installed wheel as well as from a source checkout.
TRAIN_COMMAND = (sys.executable, "-m", "speechbrain_ser.run")
BASELINES = {"fbank": ("fbank",), "probe": ("last_layer", "all_layers")}
SYSTEM_NAMES = {
    "model": "recipe",
    "fbank": "filterbank mean/std + linear",
    "last_layer": "probe: encoder last layer mean/std + linear",
    "all_layers": "probe: encoder all layers mean/std + linear",
}


def parse_overrides(hparams_file, overrides):
    """SpeechBrain's command-line parsing of ``--key=value`` overrides.

    Arguments
    ---------
    hparams_file : str
        The YAML.
    overrides : list of str
        ``--key=value`` arguments (run options such as ``--device`` are
        accepted and left out).

    Returns
    -------
    str
        The overrides as a YAML string, as ``load_hyperpyyaml`` takes them.

    Example
    -------
    >>> parse_overrides("x.yaml", ["--fold=2", "--device=cpu"])
    'fold: 2'
    """
    return sb.parse_arguments([hparams_file, *overrides])[2]


def read_hparams_values(hparams_file, overrides=()):
    """The YAML's values with overrides and references resolved, without
    building any object (tagged nodes come back as ruamel nodes).

    Arguments
    ---------
    hparams_file : str
        The YAML.
    overrides : list of str
        ``--key=value`` overrides.

    Returns
    -------
    dict

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".yaml")
    >>> _ = open(path, "w").write(
    ...     "fold: 0\\nout: !ref r/<fold>\\nenc: !new:torch.nn.Identity\\n"
    ... )
    >>> read_hparams_values(path, ["--fold=3"])["out"]
    'r/3'
    """
    import ruamel.yaml
    from hyperpyyaml import resolve_references

    with open(hparams_file, encoding="utf-8") as fin:
        text = resolve_references(
            fin, parse_overrides(hparams_file, list(overrides))
        ).getvalue()
    return dict(ruamel.yaml.YAML(typ="rt").load(text))


def default_valid_key(fold_key, values):
    """``valid_<x>`` for a fold key ``test_<x>`` when the YAML has it.

    Arguments
    ---------
    fold_key : str
        The key that names the test fold.
    values : dict
        The YAML's top-level keys.

    Returns
    -------
    str or None

    Example
    -------
    >>> default_valid_key("test_speaker", {"valid_speaker": "08"})
    'valid_speaker'
    >>> default_valid_key("fold", {"valid_speaker": "08"}) is None
    True
    """
    if fold_key.startswith("test_"):
        candidate = "valid_" + fold_key[len("test_") :]
        if candidate in values:
            return candidate
    return None


def fold_overrides(fold_key, folds, valid_key=None):
    """Per fold, the overrides that make it the test fold.

    With ``valid_key``, the validation fold is the next one (cyclically),
    so two folds or more are needed; without it one fold is allowed (a
    recipe with one fixed split, e.g. ``--fold_key=test_set
    --folds=Test1``: the recipe and its baselines on that split).

    Arguments
    ---------
    fold_key : str
        Test fold key, e.g. ``fold``, ``test_session``, ``test_speaker``.
    folds : list of str
        Fold values, in order.
    valid_key : str, optional
        Validation fold key.

    Returns
    -------
    list of tuple
        ``(fold, [overrides])``.

    Example
    -------
    >>> fold_overrides("test_speaker", ["03", "08", "09"], "valid_speaker")[2]
    ('09', ['--test_speaker=09', '--valid_speaker=03'])
    >>> fold_overrides("test_set", ["Test1"])
    [('Test1', ['--test_set=Test1'])]
    >>> fold_overrides("test_speaker", ["03"], "valid_speaker")
    Traceback (most recent call last):
    ...
    ValueError: need two or more distinct folds with a valid key, got ['03']
    """
    if len(set(folds)) != len(folds) or not folds:
        raise ValueError(f"need distinct folds, got {folds}")
    if valid_key and len(folds) < 2:
        raise ValueError(
            f"need two or more distinct folds with a valid key, got {folds}"
        )
    plan = []
    for i, fold in enumerate(folds):
        overrides = [f"--{fold_key}={fold}"]
        if valid_key:
            overrides.append(f"--{valid_key}={folds[(i + 1) % len(folds)]}")
        plan.append((fold, overrides))
    return plan


def fold_is_done(folder):
    """Whether a fold's training wrote its test results.

    Arguments
    ---------
    folder : str
        The fold's output folder.

    Returns
    -------
    bool
        True when ``results.json`` and ``predictions.json`` exist.

    Example
    -------
    >>> fold_is_done("no/such/folder")
    False
    """
    return all(
        os.path.exists(os.path.join(folder, name))
        for name in ("results.json", "predictions.json")
    )


def read_json(path):
    """Loads a JSON file.

    Arguments
    ---------
    path : str
        The file.

    Returns
    -------
    object
        Its content.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp()
    >>> _ = open(path, "w").write('{"UA": 0.5}')
    >>> read_json(path)
    {'UA': 0.5}
    """
    with open(path, encoding="utf-8") as fin:
        return json.load(fin)


def pooled_report(predictions, labels=None):
    """Metrics over the predictions pooled from every fold.

    Arguments
    ---------
    predictions : dict
        id -> {"emotion": predicted, "target": true} for classes and/or
        {"avd": [a, v, d], "avd_target": [a, v, d]} for A/V/D.
    labels : list of str, optional
        Class names; default: sorted targets and predictions.

    Returns
    -------
    dict
        UA/WA/F1 (:func:`speechbrain_ser.metrics.classification_report`)
        when there are classes, ``CCC`` (per dimension and mean) when
        there are A/V/D values, and ``n``.

    Example
    -------
    >>> p = {
    ...     "a": {
    ...         "emotion": "x",
    ...         "target": "x",
    ...         "avd": [1, 2, 3],
    ...         "avd_target": [1, 2, 3],
    ...     },
    ...     "b": {
    ...         "emotion": "x",
    ...         "target": "y",
    ...         "avd": [2, 3, 4],
    ...         "avd_target": [2, 3, 4],
    ...     },
    ... }
    >>> report = pooled_report(p)
    >>> report["UA"], report["CCC"]["mean"], report["n"]
    (0.5, 1.0, 2)
    """
    values = list(predictions.values())
    report = {"n": len(values)}
    if values and "emotion" in values[0]:
        if labels is None:
            labels = sorted(
                {p["target"] for p in values} | {p["emotion"] for p in values}
            )
        index = {label: i for i, label in enumerate(labels)}
        report.update(
            classification_report(
                [index[p["target"]] for p in values],
                [index[p["emotion"]] for p in values],
                labels,
            )
        )
    if values and "avd" in values[0]:
        report["CCC"] = ccc_report(
            [p["avd_target"] for p in values], [p["avd"] for p in values]
        )
    return report


def headline_metrics(results):
    """The numbers a table shows, from a results.json-like dict.

    Arguments
    ---------
    results : dict
        ``UA``/``WA``/``F1_macro`` and/or ``CCC`` (name -> value).

    Returns
    -------
    dict
        Flat: ``UA``, ``WA``, ``F1_macro``, ``CCC_<dimension>``,
        ``CCC_mean`` (those present).

    Example
    -------
    >>> headline_metrics({"UA": 0.5, "WA": 0.6, "CCC": {"mean": 0.3}})
    {'UA': 0.5, 'WA': 0.6, 'CCC_mean': 0.3}
    """
    metrics = {k: results[k] for k in ("UA", "WA", "F1_macro") if k in results}
    for name, value in results.get("CCC", {}).items():
        metrics[f"CCC_{name}"] = value
    return metrics


def summarise(fold_results, predictions):
    """Per-fold metrics, their mean/std across folds, and pooled metrics.

    Arguments
    ---------
    fold_results : dict
        fold -> results.json-like dict.
    predictions : dict
        id -> prediction, every fold's test set together.

    Returns
    -------
    dict
        ``folds`` (fold -> headline metrics), ``fold_mean``, ``fold_std``
        (population std over folds), ``pooled`` (headline metrics and
        ``n``) and ``pooled_full`` (every pooled metric).

    Example
    -------
    >>> s = summarise(
    ...     {"0": {"UA": 0.5}, "1": {"UA": 1.0}},
    ...     {"a": {"emotion": "x", "target": "x"}},
    ... )
    >>> s["fold_mean"]["UA"], s["fold_std"]["UA"], s["pooled"]["UA"]
    (0.75, 0.25, 1.0)
    """
    folds = {fold: headline_metrics(r) for fold, r in fold_results.items()}
    keys = list(next(iter(folds.values())))
    pooled_full = pooled_report(predictions)
    return {
        "folds": folds,
        "fold_mean": {
            k: float(np.mean([f[k] for f in folds.values()])) for k in keys
        },
        "fold_std": {
            k: float(np.std([f[k] for f in folds.values()])) for k in keys
        },
        "pooled": {**headline_metrics(pooled_full), "n": pooled_full["n"]},
        "pooled_full": pooled_full,
    }


def markdown_table(report):
    """The systems of a cross-validation report as a Markdown table.

    Arguments
    ---------
    report : dict
        With ``systems``: name -> :func:`summarise` output.

    Returns
    -------
    str
        One row per system: fold mean ± std and pooled value of each
        metric, and the number of test utterances.

    Example
    -------
    >>> s = summarise(
    ...     {"0": {"UA": 0.5}, "1": {"UA": 1.0}},
    ...     {"a": {"emotion": "x", "target": "x"}},
    ... )
    >>> print(markdown_table({"systems": {"model": s}}))
    | system | UA folds mean ± std | UA pooled | n |
    |---|---|---|---|
    | recipe | 0.750 ± 0.250 | 1.000 | 1 |
    """
    systems = report["systems"]
    keys = list(next(iter(systems.values()))["fold_mean"])
    header = ["system"]
    for key in keys:
        header += [f"{key} folds mean ± std", f"{key} pooled"]
    lines = [
        "| " + " | ".join(header + ["n"]) + " |",
        "|" + "---|" * (len(header) + 1),
    ]
    for name, summary in systems.items():
        cells = [SYSTEM_NAMES.get(name, name)]
        for key in keys:
            cells += [
                f"{summary['fold_mean'][key]:.3f} ± "
                f"{summary['fold_std'][key]:.3f}",
                f"{summary['pooled'][key]:.3f}",
            ]
        cells.append(str(summary["pooled"]["n"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class FoldError(RuntimeError):
    """A fold's training stopped; the message names the fold and its log.

    Example
    -------
    >>> issubclass(FoldError, RuntimeError)
    True
    """


def run_training(hparams_file, overrides):
    """Runs the recipe (``python -m speechbrain_ser.run``) in its own
    process; raises if it fails.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    overrides : list of str
        ``--key=value`` arguments.

    Example
    -------
    >>> run_training("no/such.yaml", [])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    subprocess.CalledProcessError: Command ... returned non-zero exit status 2.
    """
    command = [*TRAIN_COMMAND, hparams_file, *overrides]
    logger.info("running " + " ".join(command))
    subprocess.run(command, check=True)


def prepare_fold(hparams_file, overrides):
    """Runs only the recipe's data preparation (its ``prepare``).

    Only the ``prepare`` node is built, so no model is loaded.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    overrides : list of str
        ``--key=value`` overrides (those of one fold).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = f"{folder}/recipe.yaml"
    >>> _ = open(path, "w").write(
    ...     "out: !PLACEHOLDER\\n"
    ...     "prepare: !name:os.makedirs\\n    name: !ref <out>/manifests\\n"
    ...     "encoder: !new:no.such.Module\\n"
    ... )
    >>> prepare_fold(path, [f"--out={folder}"])  # the encoder is not built
    >>> os.path.isdir(f"{folder}/manifests")
    True
    """
    import io

    import ruamel.yaml
    from hyperpyyaml import load_hyperpyyaml

    values = read_hparams_values(hparams_file, overrides)
    if values.get("prepare") is None:
        return
    text = io.StringIO()
    ruamel.yaml.YAML(typ="rt").dump({"prepare": values["prepare"]}, text)
    load_hyperpyyaml(text.getvalue())["prepare"]()


def probe_featurizer(hparams_file, overrides):
    """:class:`speechbrain_ser.evaluation.probes.EncoderStatistics` of the encoder
    the recipe YAML builds, with its pre-trained weights when the YAML has
    a ``pretrainer``.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    overrides : list of str
        ``--key=value`` overrides (those of one fold).

    Returns
    -------
    EncoderStatistics

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".yaml")
    >>> _ = open(path, "w").write(
    ...     "encoder: !new:speechbrain_ser.nnet.encoders.ConvEncoder\\n"
    ...     "    input_size: 4\\n    channels: 3\\n    n_layers: 1\\n"
    ... )
    >>> import torch
    >>> stats = probe_featurizer(path, [])
    >>> stats(torch.rand(1, 6, 4))["last_layer"].shape  # features in
    (6,)
    """
    from hyperpyyaml import load_hyperpyyaml

    from speechbrain_ser.evaluation.probes import EncoderStatistics

    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(
            fin, parse_overrides(hparams_file, overrides)
        )
    if "encoder" not in hparams:
        raise ValueError(
            f"{hparams_file}: no `encoder` to probe; use --baseline fbank"
        )
    if hparams.get("pretrainer") is not None:
        hparams["pretrainer"].collect_files()
        hparams["pretrainer"].load_collected()
    return EncoderStatistics(
        hparams["encoder"],
        hparams.get("compute_features"),
        hparams.get("mean_var_norm"),
        hparams.get("sample_rate", 16000),
    )


def check_disjoint_tests(tested, fold, predictions):
    """Raises when an utterance of ``fold``'s test set was tested before.

    Arguments
    ---------
    tested : dict
        id -> fold, of the folds seen so far; ``fold``'s ids are added.
    fold : str
        The fold.
    predictions : dict
        id -> prediction of ``fold``'s test set.

    Example
    -------
    >>> tested = {}
    >>> check_disjoint_tests(tested, "0", {"a": {}})
    >>> check_disjoint_tests(tested, "1", {"a": {}})
    Traceback (most recent call last):
    ...
    ValueError: utterance a is in the test sets of folds 0 and 1: the fold \
key does not change the test split (EmoDB: add --split_protocol=loso)
    """
    for uid in predictions:
        if uid in tested:
            raise ValueError(
                f"utterance {uid} is in the test sets of folds "
                f"{tested[uid]} and {fold}: the fold key does not change "
                "the test split (EmoDB: add --split_protocol=loso)"
            )
        tested[uid] = fold


def build_parser():
    """The argument parser of the cross-validation command.

    Returns
    -------
    argparse.ArgumentParser

    Example
    -------
    >>> args, rest = build_parser().parse_known_args(
    ...     ["r.yaml", "--output_folder=o", "--baseline", "--lr=0.1"]
    ... )
    >>> args.baseline, rest
    ([], ['--lr=0.1'])

    A recipe key that starts like one of these options is the recipe's
    (no abbreviations):

    >>> build_parser().parse_known_args(
    ...     ["r.yaml", "--output_folder=o", "--fold=2"]
    ... )[1]
    ['--fold=2']
    """
    parser = argparse.ArgumentParser(
        prog="python -m speechbrain_ser.evaluation.crossval",
        description=__doc__.split("\n\n")[0],
        allow_abbrev=False,  # --fold=2 is a recipe override, not --folds
    )
    parser.add_argument("hparams", help="the recipe YAML")
    parser.add_argument(
        "--fold_key", default="fold", help="the YAML key of the test fold"
    )
    parser.add_argument(
        "--folds",
        default=None,
        help="comma-separated fold values (default: 0..n_folds-1 when the "
        "YAML has n_folds)",
    )
    parser.add_argument(
        "--valid_key",
        default=None,
        help="YAML key set to the next fold (default: valid_<x> for "
        "--fold_key=test_<x> when the YAML has it; 'none' for no key)",
    )
    parser.add_argument("--output_folder", required=True)
    parser.add_argument(
        "--baseline",
        nargs="*",
        choices=sorted(BASELINES),
        default=None,
        help="linear baselines on the same folds: fbank (default when "
        "given alone) and/or probe (the recipe's frozen encoder)",
    )
    parser.add_argument(
        "--baselines_only",
        action="store_true",
        help="prepare each fold's data and run the baselines, no training",
    )
    parser.add_argument(
        "--nested",
        type=int,
        default=None,
        metavar="K",
        help="nested cross-validation: every fold chooses its head's L2 "
        "strength by K-fold speaker-grouped CV over its own train + valid "
        "speakers (training: full_batch, full_batch_selection: inner_cv); "
        "only the outer test folds are reported",
    )
    return parser


def main(argv=None):
    """Command-line entry point (see the module docstring).

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``); unknown ``--key=value``
        ones are passed to every fold's ``train.py``.

    Returns
    -------
    dict
        The report written to ``crossval_results.json``.

    Example
    -------
    >>> try:
    ...     main(["--help"])
    ... except SystemExit as exit:
    ...     print("exit status", exit.code)  # doctest: +ELLIPSIS
    usage: ...
    exit status 0
    """
    args, overrides = build_parser().parse_known_args(argv)
    with RunLock(args.output_folder):  # one cross-validation per folder
        return _crossval(args, overrides)


def _crossval(args, overrides):
    """The body of :func:`main`, run under the output folder's lock."""
    baselines = args.baseline
    if baselines is not None and not baselines:
        baselines = ["fbank"]
    baselines = baselines or []
    if args.baselines_only and not baselines:
        raise ValueError("--baselines_only needs --baseline")
    if args.nested is not None:
        overrides = [
            *overrides,
            "--full_batch_selection=inner_cv",
            f"--inner_folds={args.nested}",
        ]
    values = read_hparams_values(args.hparams, overrides)
    if args.nested is not None and values.get("training") != "full_batch":
        raise ValueError(
            f"{args.hparams}: --nested chooses a full-batch head's L2 "
            "strength by inner CV; give --training=full_batch (a frozen "
            "encoder, layers concat or an int)"
        )
    if args.folds is None:
        if "n_folds" not in values:
            raise ValueError(
                f"{args.hparams}: no n_folds; give the folds with --folds"
            )
        folds = [str(k) for k in range(int(values["n_folds"]))]
    else:
        folds = [f.strip() for f in args.folds.split(",")]
    valid_key = args.valid_key
    if valid_key is None:
        valid_key = default_valid_key(args.fold_key, values)
    elif valid_key.lower() == "none":
        valid_key = None
    if args.fold_key not in values:
        raise ValueError(f"{args.hparams}: no key {args.fold_key!r}")
    logger.info(f"folds {folds} on {args.fold_key}, valid key {valid_key}")

    # the fold's own keys replace any given for them (a key a YAML lacks,
    # e.g. --fold=0 added by override, is declared once here, set per fold)
    shared = [
        o
        for o in overrides
        if o.lstrip("-").split("=", 1)[0] not in {args.fold_key, valid_key}
    ]
    systems = ["model"] * (not args.baselines_only)
    for baseline in baselines:
        systems += BASELINES[baseline]
    results = {name: {} for name in systems}
    predictions = {name: {} for name in systems}
    tested, caches, featurizers, fold_protocols = {}, {}, {}, {}
    task = values.get("task", "classification")
    for fold, fold_args in fold_overrides(args.fold_key, folds, valid_key):
        out = os.path.join(args.output_folder, f"fold_{fold}")
        fold_args = [*shared, *fold_args, f"--output_folder={out}"]
        fold_tests = None
        if args.baselines_only:  # the sentence a training would write
            fold_protocols[fold] = read_hparams_values(
                args.hparams, fold_args
            ).get("protocol")
        else:
            if fold_is_done(out):
                logger.info(f"fold {fold}: results found in {out}, kept")
            else:
                try:
                    run_training(args.hparams, fold_args)
                except subprocess.CalledProcessError as error:
                    raise FoldError(
                        f"fold {fold}: the recipe stopped with exit status "
                        f"{error.returncode} (its error is printed above and "
                        f"in {out}/log.txt); the folds before it are kept: "
                        "the same command resumes"
                    ) from None
            results["model"][fold] = read_json(
                os.path.join(out, "results.json")
            )
            fold_protocols[fold] = results["model"][fold].get("protocol")
            fold_tests = read_json(os.path.join(out, "predictions.json"))
            predictions["model"].update(fold_tests)
        for baseline in baselines:
            path = os.path.join(out, f"baseline_{baseline}.json")
            if not os.path.exists(path):
                if baseline not in featurizers:
                    featurizers[baseline] = make_featurizer(
                        baseline, args.hparams, fold_args
                    )
                outputs = run_baseline(
                    args.hparams,
                    fold_args,
                    task,
                    featurizers[baseline],
                    caches.setdefault(baseline, {}),
                    prepare=args.baselines_only,
                )
                os.makedirs(out, exist_ok=True)
                write_json(outputs, path)
            for name, output in read_json(path).items():
                results[name][fold] = output["results"]
                predictions[name].update(output["predictions"])
                fold_tests = fold_tests or output["predictions"]
        check_disjoint_tests(tested, fold, fold_tests)

    report = {
        "hparams": args.hparams,
        "overrides": overrides,
        "fold_key": args.fold_key,
        "valid_key": valid_key,
        "folds": folds,
        "task": task,
        "systems": {
            name: summarise(results[name], predictions[name])
            for name in systems
        },
        "fold_protocols": fold_protocols,
    }
    report["protocol"] = crossval_protocol(
        args.hparams, shared, args.fold_key, folds, valid_key, report
    )
    from speechbrain_ser.evaluation.crossval_reliability import (
        crossval_reliability,
        reliability_markdown,
    )

    report["reliability"] = crossval_reliability(  # error bars, paired tests
        predictions,
        results.get("model"),
        report["protocol"],
        group_by=values.get("group_by"),
    )
    os.makedirs(args.output_folder, exist_ok=True)
    path = os.path.join(args.output_folder, "crossval_results.json")
    write_json(report, path)
    table = markdown_table(report)
    table += "\n\n" + reliability_markdown(report["reliability"], SYSTEM_NAMES)
    with open(
        os.path.join(args.output_folder, "crossval_results.md"),
        "w",
        encoding="utf-8",
    ) as fout:
        fout.write(
            f"Cross-validation of `{args.hparams}` over {args.fold_key} = "
            f"{', '.join(folds)}\n\nProtocol: {report['protocol']}\n\n"
            f"{table}\n"
        )
    print(table)
    print(f"written to {path}")
    return report


def crossval_protocol(
    hparams_file, overrides, fold_key, folds, valid_key, report
):
    """The protocol of a cross-validation as a whole, in one sentence.

    It states the folds and the pooling, then the recipe's own
    ``protocol`` (the sentence each fold's results carry) with the fold
    key set to every fold in turn, so that it names the corpus and says
    what the folds say (speaker-independent or not, the metric).

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    overrides : list of str
        The overrides shared by the folds.
    fold_key : str
        The key that names the test fold.
    folds : list of str
        The fold values.
    valid_key : str, optional
        The key set to the next fold.
    report : dict
        With ``systems`` (:func:`summarise` outputs).

    Returns
    -------
    str

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".yaml")
    >>> _ = open(path, "w").write(
    ...     "fold: 0\\nprotocol: !ref corpus X, speaker-independent folds, "
    ...     "test fold <fold>; UA = balanced accuracy\\n"
    ... )
    >>> s = summarise(
    ...     {"0": {"UA": 0.5}, "1": {"UA": 1.0}},
    ...     {"a": {"emotion": "x", "target": "x"}},
    ... )
    >>> print(
    ...     crossval_protocol(
    ...         path, [], "fold", ["0", "1"], None, {"systems": {"model": s}}
    ...     )
    ... )  # doctest: +NORMALIZE_WHITESPACE
    cross-validation over fold = 0, 1 (every utterance tested in exactly
    one fold); UA pooled over the 1 test utterances of all folds, and
    their mean ± std over folds; each fold: corpus X, speaker-independent
    folds, test fold 0, 1 in turn; UA = balanced accuracy
    """
    whole = [f"--{fold_key}={json.dumps(', '.join(folds) + ' in turn')}"]
    if valid_key:
        whole.append(f"--{valid_key}={json.dumps('the next fold')}")
    sentence = read_hparams_values(hparams_file, [*overrides, *whole]).get(
        "protocol", "the recipe states no protocol"
    )
    summary = next(iter(report["systems"].values()))
    metrics = ", ".join(summary["fold_mean"])
    return (
        f"cross-validation over {fold_key} = {', '.join(folds)} (every "
        f"utterance tested in exactly one fold); {metrics} pooled over the "
        f"{summary['pooled']['n']} test utterances of all folds, and their mean ± std "
        f"over folds; each fold: {sentence}"
    )


def run_baseline(hparams_file, fold_args, task, featurizer, cache, prepare):
    """Fits the linear baselines of one fold on its manifests.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML (names the fold's manifests and data folder).
    fold_args : list of str
        The fold's overrides.
    task : str
        ``classification``, ``regression`` or ``both``.
    featurizer : callable
        See :func:`speechbrain_ser.evaluation.probes.linear_baseline`.
    cache : dict
        Features shared across folds.
    prepare : bool
        Run the recipe's data preparation first (no training ran).

    Returns
    -------
    dict
        feature name -> {"results", "predictions"}.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np, soundfile
    >>> from speechbrain_ser.evaluation.probes import FbankStatistics
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root, entries = tempfile.mkdtemp(), {}
    >>> for i in range(8):  # quiet "sad", loud "angry" noise
    ...     wav = np.random.randn(4000) * (0.01 if i % 2 else 0.5)
    ...     soundfile.write(f"{root}/{i}.wav", wav, 16000)
    ...     emotion = "sad" if i % 2 else "angry"
    ...     entries[f"u{i}"] = {"wav": f"{root}/{i}.wav", "emotion": emotion}
    >>> write_manifest(entries, f"{root}/all.json")
    >>> _ = open(f"{root}/r.yaml", "w").write(
    ...     f"data_folder: {root}\\n"
    ...     + "".join(
    ...         f"{s}_manifest: {root}/all.json\\n"
    ...         for s in ("train", "valid", "test")
    ...     )
    ... )
    >>> fbank = FbankStatistics()
    >>> out = run_baseline(f"{root}/r.yaml", [], "classification", fbank, {}, 0)
    >>> out["fbank"]["results"]["UA"], out["fbank"]["results"]["n_test"]
    (1.0, 8)
    """
    from speechbrain_ser.evaluation.probes import linear_baseline

    if prepare:
        prepare_fold(hparams_file, fold_args)
    values = read_hparams_values(hparams_file, fold_args)
    manifests = {
        split: values[f"{split}_manifest"]
        for split in ("train", "valid", "test")
    }
    return linear_baseline(
        manifests, values["data_folder"], task, featurizer, cache
    )


def make_featurizer(baseline, hparams_file, fold_args):
    """The featurizer of a baseline name (``fbank`` or ``probe``).

    Arguments
    ---------
    baseline : str
        ``fbank`` or ``probe``.
    hparams_file : str
        The recipe YAML (for ``probe``).
    fold_args : list of str
        One fold's overrides (for ``probe``).

    Returns
    -------
    callable
        :class:`speechbrain_ser.evaluation.probes.FbankStatistics` or
        :func:`probe_featurizer`'s output.

    Example
    -------
    >>> make_featurizer("fbank", "unused.yaml", []).names
    ('fbank',)
    """
    from speechbrain_ser.evaluation.probes import FbankStatistics

    if baseline == "fbank":
        return FbankStatistics()
    return probe_featurizer(hparams_file, fold_args)


def command_line(argv=None):
    """:func:`main` for the command line: a stopped fold or a locked
    output folder is one line on stderr and exit status 2.

    Arguments
    ---------
    argv : list of str, optional
        As :func:`main`.

    Returns
    -------
    int
        0, or 2 after printing the problem.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with RunLock(folder):
    ...     command_line(["demo.yaml", f"--output_folder={folder}"])
    2
    """
    try:
        main(argv)
    except (FoldError, RunLockedError) as error:
        print(f"crossval: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(command_line())
