#!/usr/bin/env python3
"""Summarises crossval runs of one recipe over several seeds.

    python docs/evidence/crossval_seeds_summary.py \\
        results/urdu_whisper/seed_1986 results/urdu_whisper/seed_1987 ... \\
        --out docs/evidence/urdu_whisper_recipe_summary.json \\
        --plot docs/evidence/urdu_whisper_recipe_layer_weights.png

Each argument is the ``--output_folder`` of one
``python -m speechbrain_ser.evaluation.crossval`` run (one seed). Reads its
``crossval_results.json`` (pooled and per-fold metrics of the recipe and of
any baselines) and each fold's ``results.json`` (the epoch selected on
valid, the epochs run, the learned layer weights), and writes the pooled
metrics per seed, their mean and standard deviation over seeds (population
std), the baselines, and (with ``--plot``) the layer weights, mean +- std
over every fold and seed, with ``speechbrain_ser.plotting``.
"""

import argparse
import glob
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
sys.path.insert(0, os.path.abspath(ROOT))

from speechbrain_ser.plotting import plot_layer_weights  # noqa: E402


def epochs_run(fold_folder):
    """Epoch lines in the fold's train_log.txt."""
    path = os.path.join(fold_folder, "train_log.txt")
    with open(path) as fin:
        return sum(line.startswith("epoch: ") for line in fin)


def seed_run(folder):
    """The recipe's metrics of one crossval folder, and its baselines."""
    with open(os.path.join(folder, "crossval_results.json")) as fin:
        report = json.load(fin)
    model = report["systems"]["model"]
    run = {
        "folder": folder,
        "overrides": report["overrides"],
        "pooled": model["pooled"],
        "fold_mean": model["fold_mean"],
        "fold_std": model["fold_std"],
        "folds": model["folds"],
        "per_class_recall": model["pooled_full"].get("per_class_recall"),
        "selected_epochs": [],
        "epochs_run": [],
        "layer_weights": [],
    }
    for fold in report["folds"]:
        fold_folder = os.path.join(folder, f"fold_{fold}")
        with open(os.path.join(fold_folder, "results.json")) as fin:
            results = json.load(fin)
        run["selected_epochs"].append(results.get("selected_epoch"))
        run["epochs_run"].append(epochs_run(fold_folder))
        for weights in results.get("layer_weights", {}).values():
            run["layer_weights"].append(weights)
    baselines = {
        name: {
            "pooled": system["pooled"],
            "fold_mean": system["fold_mean"],
            "fold_std": system["fold_std"],
        }
        for name, system in report["systems"].items()
        if name != "model"
    }
    return report, run, baselines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    folders = [
        f for pattern in args.folders for f in sorted(glob.glob(pattern))
    ]
    runs, baselines, report = [], {}, None
    for folder in folders:
        report, run, found = seed_run(folder)
        runs.append(run)
        for name, values in found.items():
            baselines.setdefault(name, {**values, "from": folder})
    metrics = list(runs[0]["pooled"])
    metrics.remove("n")
    summary = {
        "hparams": report["hparams"],
        "protocol": report["protocol"],
        "n_seeds": len(runs),
        "pooled_mean": {
            k: float(np.mean([r["pooled"][k] for r in runs])) for k in metrics
        },
        "pooled_std": {
            k: float(np.std([r["pooled"][k] for r in runs])) for k in metrics
        },
        "fold_mean_mean": {
            k: float(np.mean([r["fold_mean"][k] for r in runs]))
            for k in metrics
        },
        "baselines": baselines,
        "runs": runs,
    }
    weights = [w for r in runs for w in r["layer_weights"]]
    if weights:
        summary["layer_weights_mean"] = np.mean(weights, 0).tolist()
        summary["layer_weights_std"] = np.std(weights, 0).tolist()
        if args.plot:
            plot_layer_weights(
                {
                    f"{len(weights)} models (folds x seeds)": (
                        summary["layer_weights_mean"],
                        summary["layer_weights_std"],
                    )
                },
                args.plot,
                title=args.title,
            )
    with open(args.out, "w") as fout:
        json.dump(summary, fout, indent=1, allow_nan=False)
    print(json.dumps({k: summary[k] for k in summary if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
