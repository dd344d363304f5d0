#!/usr/bin/env python3
"""Tables and paired comparisons of bench/whisper_probe_vs_recipe.py runs.

    python docs/evidence/whisper_probe_vs_recipe_summary.py \\
        urdu4=results/urdu4.json loso=results/loso.json \\
        pyaa5=results/pyaa.json --out docs/evidence/whisper_probe_vs_recipe.json

For every run file: each system's pooled metric (UA over every test clip
for URDU, mean CCC of arousal and valence for pyaa), mean and population
std over seeds where it has several, the fold mean and population std of
the per-fold metric; and every system against the every-layer probe
(``probe_all_layers``) on the same predictions by the paired bootstrap of
:func:`speechbrain_ser.evaluation.bootstrap.paired_bootstrap` (1000
resamples of clips, and for URDU of speakers: difference, 95% interval,
two-sided p).
"""

import argparse
import json

import numpy as np

from speechbrain_ser.evaluation.bootstrap import (  # issue 23's
    paired_bootstrap,
    unweighted_accuracy,
)

REFERENCE = "probe_all_layers"


def metric_of(task):
    if task == "classification":
        return unweighted_accuracy  # classification_report's UA, numpy

    def ccc(t, p):
        t, p = np.asarray(t, float)[:, :2], np.asarray(p, float)[:, :2]
        mt, mp = t.mean(0), p.mean(0)
        cov = ((t - mt) * (p - mp)).mean(0)
        ccc = 2 * cov / (t.var(0) + p.var(0) + (mt - mp) ** 2)
        return float(ccc.mean())  # mean CCC of arousal and valence

    return ccc


def summarise(path):
    run = json.load(open(path))
    task = "regression" if run["protocol"] == "pyaa5" else "classification"
    metric = metric_of(task)
    ids = sorted(run["truth"])
    truth = [run["truth"][u] for u in ids]
    speakers = None
    if run["protocol"] != "pyaa5":
        speakers = [u.split("/")[1].split("_")[0] for u in ids]
    folds = run["folds"]
    reference = run["systems"].get(REFERENCE, {}).get("runs", [None])[0]
    out = {"protocol": run["protocol"], "cache": run["cache"], "systems": {}}
    for name, system in run["systems"].items():
        rows = {"runs": []}
        for r in system["runs"]:
            predicted = [r["predictions"][u] for u in ids]
            fold_values = []
            for split in folds.values():
                test = split["test"]
                fold_values.append(
                    metric(
                        [run["truth"][u] for u in test],
                        [r["predictions"][u] for u in test],
                    )
                )
            row = {
                "seed": r.get("seed"),
                "pooled": metric(truth, predicted),
                "fold_mean": float(np.nanmean(fold_values)),
                "fold_std": float(np.nanstd(fold_values)),
                "seconds": r.get("seconds"),
            }
            if r.get("folds"):
                row["weight_decays"] = [
                    f["weight_decay"] for f in r["folds"].values()
                ]
                row["fit_seconds_per_fold"] = float(
                    np.mean([f["seconds"] for f in r["folds"].values()])
                )
            if r.get("selected_epochs"):
                row["selected_epochs"] = list(r["selected_epochs"].values())
            if reference is not None and name != REFERENCE:
                base = [reference["predictions"][u] for u in ids]
                row["vs_probe_clips"] = paired_bootstrap(
                    metric, truth, predicted, base, n_resamples=1000
                )
                if speakers is not None:
                    row["vs_probe_speakers"] = paired_bootstrap(
                        metric,
                        truth,
                        predicted,
                        base,
                        clusters=speakers,
                        n_resamples=1000,
                    )
            rows["runs"].append(row)
        pooled = [r["pooled"] for r in rows["runs"]]
        rows["pooled_mean"] = float(np.mean(pooled))
        rows["pooled_std"] = float(np.std(pooled))
        out["systems"][name] = rows
    return out


def markdown(summary):
    lines = [
        f"### {summary['protocol']} ({summary['cache']})",
        "",
        "| system | seeds | pooled (mean ± std) | fold mean ± std | vs every-layer "
        "probe, clips: diff [95% CI] p | speakers: diff [95% CI] p |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in summary["systems"].items():
        runs = rows["runs"]
        first = runs[0]

        def cell(key):
            if key not in first:
                return "-"
            b = first[key]
            return (
                f"{b['difference']:+.3f} [{b['low']:+.3f}, {b['high']:+.3f}] "
                f"p={b['p_value']:.3f}"
            )

        lines.append(
            f"| {name} | {len(runs) if runs[0]['seed'] else '-'} | "
            f"{rows['pooled_mean']:.3f} ± {rows['pooled_std']:.3f} | "
            f"{np.mean([r['fold_mean'] for r in runs]):.3f} ± "
            f"{np.mean([r['fold_std'] for r in runs]):.3f} | "
            f"{cell('vs_probe_clips')} | {cell('vs_probe_speakers')} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="name=path")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    summaries = {}
    for item in args.runs:
        name, path = item.split("=", 1)
        summaries[name] = summarise(path)
        print(markdown(summaries[name]) + "\n", flush=True)
    with open(args.out, "w") as fout:
        json.dump(summaries, fout, indent=1)


if __name__ == "__main__":
    main()
