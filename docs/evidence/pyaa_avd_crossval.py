#!/usr/bin/env python3
"""Whisper A/V/D recipe vs ridge probes on 47 real English clips (pyaa).

    python docs/evidence/pyaa_avd_crossval.py \\
        --data_folder ../shared/data/pyaa_speech_emotion \\
        --whisper_source ../shared/models/whisper-tiny.en \\
        --out results/pyaa_avd --seeds 1986 1987 1988

No recipe YAML is written for this corpus: the script runs
``recipes/MSP-Podcast/emotion/hparams/whisper_stats_pooling.yaml`` (the
nearest Whisper A/V/D recipe) through ``python -m speechbrain_ser.evaluation.crossval``
with overrides: ``task: regression``, ``avd_range: [-1, 1]``, selection on
valid ``CCC_mean``, the fold manifests below instead of its preparer (its
``test_set`` key, unused without the preparer, names the fold).

1. Cuts the clips into 5 folds at random, as
   ``speech_text_pyaa_crossval.py`` does (sorted names, ``random.Random(0)``
   shuffle, every 5th clip): clip level, the corpus has no speaker ids, so
   the folds are NOT speaker-independent. Fold k is test, fold k+1 valid,
   the rest train. Dominance is not annotated: a constant placeholder
   target (CCC 0 by construction, left out of the summary).
2. Per configuration (last layer; every layer weighted; weighted + the
   recipe's filterbank fusion, its default) and seed, one crossval run
   (its own frozen-encoder cache per configuration, shared by seeds).
3. The first configuration's first run also fits the ridge probes
   (``--baseline fbank probe``: filterbank, Whisper last layer, every
   layer; ``alpha`` chosen on valid) on the same folds.

Writes ``<out>/summary.json``: pooled CCC of arousal and valence (every
clip tested once), their mean, and the fold mean of each.
"""

import argparse
import json
import os
import random
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
sys.path.insert(0, os.path.abspath(ROOT))

from speechbrain_ser.evaluation import crossval  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from speech_text_pyaa_crossval import read_labels  # noqa: E402

RECIPE = "recipes/MSP-Podcast/emotion/hparams/whisper_stats_pooling.yaml"
CONFIGS = {
    "last_layer": ["--layers=-1", "--fbank_fusion_mels=0"],
    "weighted": ["--layers=weighted", "--fbank_fusion_mels=0"],
    "weighted_fbank": ["--layers=weighted", "--fbank_fusion_mels=40"],
}
DIMENSIONS = ("activation", "valence")


def write_folds(data_folder, out, n_folds):
    """Writes ``<out>/manifests/fold_<k>/{train,valid,test}.json``."""
    labels = read_labels(data_folder)
    wavs = sorted(labels)
    entries = {
        w: {
            "wav": "{data_root}/" + w,
            "activation": labels[w]["arousal"],
            "valence": labels[w]["valence"],
            "dominance": 0.0,  # not annotated: placeholder, not reported
        }
        for w in wavs
    }
    order = wavs[:]
    random.Random(0).shuffle(order)
    folds = [order[i::n_folds] for i in range(n_folds)]
    root = os.path.join(out, "manifests")
    for k in range(n_folds):
        parts = {"test": folds[k], "valid": folds[(k + 1) % n_folds]}
        parts["train"] = [
            w
            for i, fold in enumerate(folds)
            if i not in (k, (k + 1) % n_folds)
            for w in fold
        ]
        os.makedirs(os.path.join(root, f"fold_{k}"), exist_ok=True)
        for split, names in parts.items():
            path = os.path.join(root, f"fold_{k}", f"{split}.json")
            with open(path, "w") as fout:
                json.dump({w: entries[w] for w in names}, fout, indent=1)
    return root, len(wavs)


def summary_of(system):
    """Pooled and fold-mean CCC of arousal and valence of one system."""
    pooled, folds = system["pooled"], system["folds"].values()
    row = {}
    for dim in DIMENSIONS:
        row[f"pooled_CCC_{dim}"] = pooled[f"CCC_{dim}"]
        values = [fold[f"CCC_{dim}"] for fold in folds]
        row[f"fold_CCC_{dim}_mean"] = float(np.mean(values))
        row[f"fold_CCC_{dim}_std"] = float(np.std(values))
    row["pooled_CCC_mean_AV"] = float(
        np.mean([pooled[f"CCC_{dim}"] for dim in DIMENSIONS])
    )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_folder", required=True)
    parser.add_argument("--whisper_source", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", nargs="+", default=["1986"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    manifests, n_clips = write_folds(args.data_folder, args.out, args.folds)
    common = [
        # the recipe's test_set key (its preparer is off) names the fold
        "--fold_key=test_set",
        f"--folds={','.join(map(str, range(args.folds)))}",
        "--valid_key=none",
        f"--manifest_folder={manifests}",
        *(
            f"--{split}_manifest="
            f"!ref <manifest_folder>/fold_<test_set>/{split}.json"
            for split in ("train", "valid", "test")
        ),
        "--prepare=null",
        "--protocol=!ref pyAudioAnalysis speech emotion clips, clip-level "
        "folds (NOT speaker-independent), fold <test_set> test, the next valid; "
        "CCC on arousal (activation) and valence, dominance not annotated",
        "--task=regression",
        "--avd_range=[-1, 1]",
        "--selection_metric=CCC_mean",
        f"--number_of_epochs={args.epochs}",
        f"--data_folder={args.data_folder}",
        f"--whisper_source={args.whisper_source}",
    ]
    summary = {
        "protocol": (
            f"pyAudioAnalysis speech emotion clips ({n_clips} English clips, "
            f"arousal/valence in [-1, 1]); {args.folds}-fold cross-validation"
            " at clip level (no speaker ids: NOT speaker-independent), fold k"
            " test, fold k+1 valid, rest train; CCC over the pooled test "
            "predictions (every clip once); frozen "
            f"{os.path.basename(args.whisper_source)}; recipe {RECIPE} with "
            f"task regression, selection on valid CCC, {args.epochs} epochs "
            "(patience 10)"
        ),
        "recipe": RECIPE,
        "common_overrides": common,
        "systems": {},
    }
    for c, name in enumerate(args.configs):
        runs = []
        for s, seed in enumerate(args.seeds):
            argv = [
                RECIPE,
                *common,
                *CONFIGS[name],
                f"--seed={seed}",
                f"--encoder_cache_folder={args.out}/cache_{name}",
                f"--output_folder={args.out}/{name}/seed_{seed}",
            ]
            if c == 0 and s == 0:
                argv += ["--baseline", "fbank", "probe"]
            report = crossval.main(argv)
            runs.append(summary_of(report["systems"]["model"]))
            for probe in ("fbank", "last_layer", "all_layers"):
                if probe in report["systems"]:
                    summary["systems"][f"probe_{probe}"] = summary_of(
                        report["systems"][probe]
                    )
        pooled = [run["pooled_CCC_mean_AV"] for run in runs]
        summary["systems"][name] = {
            "overrides": CONFIGS[name],
            "seeds": args.seeds,
            "runs": runs,
            **{
                f"pooled_CCC_{dim}_mean": float(
                    np.mean([r[f"pooled_CCC_{dim}"] for r in runs])
                )
                for dim in DIMENSIONS
            },
            **{
                f"pooled_CCC_{dim}_std": float(
                    np.std([r[f"pooled_CCC_{dim}"] for r in runs])
                )
                for dim in DIMENSIONS
            },
            "pooled_CCC_mean_AV_mean": float(np.mean(pooled)),
            "pooled_CCC_mean_AV_std": float(np.std(pooled)),
        }
        with open(os.path.join(args.out, "summary.json"), "w") as fout:
            json.dump(summary, fout, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
