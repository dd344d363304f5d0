"""Runs a recipe over every fold of a protocol and pools the results.

    python -m speechbrain_ser.crossval \\
        recipes/URDU/emotion/hparams/fbank_attention.yaml \\
        --fold_key=fold --folds=0,1,2,3 --baseline \\
        --data_folder=../shared/data/urdu --output_folder=results/urdu_fbank

Each fold trains in its own process (``train.py``, with ``--<fold_key>=k``
and ``--output_folder=<output_folder>/fold_<k>``). Every utterance is
tested in exactly one fold, so the pooled metrics cover the whole corpus;
the mean and standard deviation across folds are reported too. With
``--baseline``, filterbank statistics + logistic regression
(:mod:`speechbrain_ser.baselines`) run on the same manifests.

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from speechbrain_ser.metrics import classification_report
from speechbrain_ser.strict_json import write_json

TRAIN_SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "train.py"
)


def pooled_report(predictions, labels=None):
    """UA/WA/F1 over predictions pooled from every fold.

    Arguments
    ---------
    predictions : dict
        id -> {"emotion": predicted, "target": true}.
    labels : list of str, optional
        Class names; default: sorted targets and predictions.

    Returns
    -------
    dict

    Example
    -------
    >>> p = {"a": {"emotion": "x", "target": "x"},
    ...      "b": {"emotion": "x", "target": "y"}}
    >>> pooled_report(p)["UA"]
    0.5
    """
    if labels is None:
        labels = sorted(
            {p["target"] for p in predictions.values()}
            | {p["emotion"] for p in predictions.values()}
        )
    index = {label: i for i, label in enumerate(labels)}
    true = [index[p["target"]] for p in predictions.values()]
    predicted = [index[p["emotion"]] for p in predictions.values()]
    report = classification_report(true, predicted, labels)
    report["n"] = len(true)
    return report


def summarise(fold_results, pooled):
    """Per-fold mean/std of UA, WA and F1 next to the pooled numbers."""
    summary = {"pooled": pooled, "folds": fold_results}
    for key in ("UA", "WA", "F1_macro"):
        values = [r[key] for r in fold_results.values()]
        summary[f"{key}_fold_mean"] = float(np.mean(values))
        summary[f"{key}_fold_std"] = float(np.std(values))
    return summary


def main(argv=None):
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hparams")
    parser.add_argument("--fold_key", default="fold")
    parser.add_argument("--folds", default="0,1,2,3")
    parser.add_argument("--output_folder", required=True)
    parser.add_argument("--data_folder", required=True)
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run filterbank statistics + logistic regression",
    )
    args, overrides = parser.parse_known_args(argv)
    folds = args.folds.split(",")
    neural, baseline = {}, {}
    neural_predictions, baseline_predictions = {}, {}
    for fold in folds:
        out = os.path.join(args.output_folder, f"fold_{fold}")
        command = [
            sys.executable,
            TRAIN_SCRIPT,
            args.hparams,
            f"--{args.fold_key}={fold}",
            f"--output_folder={out}",
            f"--data_folder={args.data_folder}",
            *overrides,
        ]
        subprocess.run(command, check=True)
        with open(os.path.join(out, "results.json")) as fin:
            neural[fold] = json.load(fin)
        with open(os.path.join(out, "predictions.json")) as fin:
            fold_predictions = json.load(fin)
        neural_predictions.update(fold_predictions)
        if args.baseline:
            from speechbrain_ser.baselines import logistic_regression_baseline

            manifests = {
                split: os.path.join(out, "manifests", f"{split}.json")
                for split in ("train", "valid", "test")
            }
            result = logistic_regression_baseline(manifests, args.data_folder)
            baseline_predictions.update(
                {
                    uid: {
                        "emotion": label,
                        "target": fold_predictions[uid]["target"],
                    }
                    for uid, label in result.pop("predictions").items()
                }
            )
            baseline[fold] = result
    report = {
        "hparams": args.hparams,
        "protocol": neural[folds[0]].get("protocol"),
        "model": summarise(neural, pooled_report(neural_predictions)),
    }
    if args.baseline:
        report["fbank_logreg_baseline"] = summarise(
            baseline, pooled_report(baseline_predictions)
        )
    path = os.path.join(args.output_folder, "crossval_results.json")
    write_json(report, path)
    for name in ("model", "fbank_logreg_baseline"):
        if name in report:
            pooled = report[name]["pooled"]
            print(
                f"{name}: pooled UA {pooled['UA']:.3f} WA {pooled['WA']:.3f} "
                f"F1 {pooled['F1_macro']:.3f} (n={pooled['n']}); fold UA "
                f"{report[name]['UA_fold_mean']:.3f} "
                f"+- {report[name]['UA_fold_std']:.3f}"
            )
    print(f"written to {path}")
    return report


if __name__ == "__main__":
    main()
