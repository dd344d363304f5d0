#!/usr/bin/env python3
"""Demo-corpus comparisons of issue 12, 3 seeds, the same epochs per row.

    OMP_NUM_THREADS=1 python docs/evidence/speech_text_demo_grid.py \\
        --whisper ../shared/models/whisper-tiny.en --out results/st_grid \\
        --fusion_epochs 8 --speech_text_epochs 4

Built-in demo corpus (``demo_data``, generated if missing), speaker-
independent split (7 voices train, 1 valid, 2 test, test balanced).

1. Bhosale et al. 2020 family (recipes/IEMOCAP/acoustic_linguistic/hparams/acoustic_linguistic.yaml
   on the demo manifests, Whisper-tiny.en last encoder layer as the
   linguistic stream): acoustic / linguistic / fusion, each (a) plain,
   (b) class-weighted loss (``--class_weights=balanced``), (c) downsampling
   + ensembling (``python -m speechbrain_ser.evaluation.ensemble ... --n_models N``,
   seeds s0, s0 + N, s0 + 2N so that no two ensembles share a model);
   the training set is cut to 70 neutral / 35 sad / 20 happy / 14 angry
   (first utterances by id) so that imbalance matters. UA and WA.
2. Xagorari et al. 2022 (hparams/speech_text.yaml, full balanced training
   set): audio-only, text-only, late fusion, learned fusion; CCC of A/V/D
   and UA.

Every run is a subprocess; a run whose results.json exists is skipped, so
a killed grid resumes. Writes ``<out>/summary.json`` (mean and std over
seeds, population std) after every run.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
FUSION_YAML = (
    "recipes/IEMOCAP/acoustic_linguistic/hparams/acoustic_linguistic.yaml"
)
IMBALANCE = {"neutral": 70, "sad": 35, "happy": 20, "angry": 14}
SPEECH_TEXT = {
    "audio": ("audio", "late"),
    "text": ("text", "late"),
    "late_fusion": ("both", "late"),
    "learned_fusion": ("both", "learned"),
}


def imbalanced_train(out):
    """The demo training manifest cut to IMBALANCE (first ids per class)."""
    path = os.path.join(out, "manifests", "train_imbalanced.json")
    train = json.load(
        open(os.path.join(ROOT, "demo_data/manifests/train.json"))
    )
    kept, counts = {}, collections.Counter()
    for uid in sorted(train):
        label = train[uid]["emotion"]
        if counts[label] < IMBALANCE[label]:
            kept[uid] = train[uid]
            counts[label] += 1
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump(kept, open(path, "w"), indent=1)
    return path


def run(command, results, log):
    """Runs a command unless ``results`` exists; returns its JSON."""
    if not os.path.isfile(results):
        os.makedirs(os.path.dirname(log), exist_ok=True)
        start = time.time()
        with open(log, "w") as fout:
            subprocess.run(
                command,
                cwd=ROOT,
                stdout=fout,
                stderr=subprocess.STDOUT,
                check=True,
            )
        print(
            f"{time.time() - start:7.1f} s  {' '.join(command[1:])}", flush=True
        )
    return json.load(open(results))


def fusion_runs(args, train):
    """Yields (streams, variant, seed, result) of the Bhosale et al. grid."""
    for streams in args.streams:
        cache = os.path.join(args.out, "cache", streams)
        for variant in args.variants:
            for seed in (
                ensemble_seeds(args) if variant == "ensemble" else args.seeds
            ):
                folder = os.path.join(
                    args.out, "fusion", streams, variant, str(seed)
                )
                overrides = [
                    FUSION_YAML,
                    f"--streams={streams}",
                    f"--seed={seed}",
                    f"--output_folder={folder}",
                    "--data_folder=demo_data",
                    "--prepare=null",
                    f"--train_manifest={train}",
                    "--valid_manifest=demo_data/manifests/valid.json",
                    "--test_manifest=demo_data/manifests/test.json",
                    "--subset_field=null",
                    f"--asr_source={args.whisper}",
                    f"--encoder_cache_folder={cache}",
                    f"--number_of_epochs={args.fusion_epochs}",
                    "--batch_size=16",
                    "--channels=64",
                    "--dense_size=64",
                ]
                if variant == "ensemble":
                    command = [
                        sys.executable,
                        "-m",
                        "speechbrain_ser.evaluation.ensemble",
                    ]
                    command += [overrides[0], f"--n_models={args.n_models}"]
                    command += overrides[1:]
                    results = os.path.join(folder, "ensemble", "results.json")
                else:
                    command = [sys.executable, "train.py"] + overrides
                    if variant == "weighted":
                        command.append("--class_weights=balanced")
                    results = os.path.join(folder, "results.json")
                log = os.path.join(folder, "grid_log.txt")
                yield streams, variant, seed, run(command, results, log)


def ensemble_seeds(args):
    """Seeds of the ensembles: model k of the ensemble with seed s trains
    with seed s + k on the draw s + k, so ensembles s and s + 1 would share
    n_models - 1 models; s0, s0 + N, s0 + 2N, ... share none."""
    first = args.seeds[0]
    return [first + i * args.n_models for i in range(len(args.seeds))]


def speech_text_runs(args):
    """Yields (config, seed, result) of the Xagorari et al. grid."""
    for name in args.speech_text:
        modalities, fusion = SPEECH_TEXT[name]
        for seed in args.seeds:
            folder = os.path.join(args.out, "speech_text", name, str(seed))
            command = [
                sys.executable,
                "train.py",
                "hparams/speech_text.yaml",
                f"--modalities={modalities}",
                f"--fusion={fusion}",
                f"--seed={seed}",
                f"--output_folder={folder}",
                f"--number_of_epochs={args.speech_text_epochs}",
            ]
            results = os.path.join(folder, "results.json")
            log = os.path.join(folder, "grid_log.txt")
            yield name, seed, run(command, results, log)


def mean_std(values):
    """Mean and population std, rounded."""
    return round(float(np.mean(values)), 4), round(float(np.std(values)), 4)


def summarise(rows, keys):
    """{metric: [mean, std], per_seed: {...}} of a list of results."""
    summary = {"per_seed": rows}
    for key in keys:
        summary[key] = mean_std([row[key] for row in rows.values()])
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--whisper", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1986, 1987, 1988]
    )
    parser.add_argument("--fusion_epochs", type=int, default=8)
    parser.add_argument("--speech_text_epochs", type=int, default=4)
    parser.add_argument("--n_models", type=int, default=3)
    parser.add_argument(
        "--streams", nargs="*", default=["acoustic", "linguistic", "fusion"]
    )
    parser.add_argument(
        "--variants", nargs="*", default=["plain", "weighted", "ensemble"]
    )
    parser.add_argument("--speech_text", nargs="*", default=list(SPEECH_TEXT))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not os.path.isfile(os.path.join(ROOT, "demo_data/manifests/test.json")):
        sys.path.insert(0, ROOT)
        from speechbrain_ser.demo.prepare import prepare_demo

        prepare_demo("demo_data", "demo_data/manifests")
    train = imbalanced_train(args.out)
    summary_path = os.path.join(args.out, "summary.json")
    summary = {
        "protocol": (
            "built-in demo corpus (espeak-ng, 400 utterances), speaker-"
            "independent split by voice (7 voices train, 1 valid, 2 test; "
            "test 80 utterances, 20 per class); UA = balanced accuracy, "
            "WA = accuracy; CCC on A/V/D normalised to [-1, 1]; mean and "
            "population std over seeds " + ", ".join(map(str, args.seeds))
        ),
        "fusion": {
            "yaml": FUSION_YAML + " on the demo manifests",
            "train": f"cut to {IMBALANCE} ({sum(IMBALANCE.values())} of 280)",
            "linguistic": f"{args.whisper} encoder, last layer, cached",
            "epochs": args.fusion_epochs,
            "n_models": args.n_models,
            "ensemble_seeds": ensemble_seeds(args),
            "results": {},
        },
        "speech_text": {
            "yaml": "hparams/speech_text.yaml (full balanced train, 280)",
            "epochs": args.speech_text_epochs,
            "results": {},
        },
        "command": "OMP_NUM_THREADS=1 python " + " ".join(sys.argv),
    }
    fusion = collections.defaultdict(dict)
    for streams, variant, seed, result in fusion_runs(args, train):
        row = {"UA": result["UA"], "WA": result["WA"]}
        if "models" in result:
            row["models"] = result["models"]
        fusion[f"{streams}/{variant}"][str(seed)] = row
        summary["fusion"]["results"] = {
            name: summarise(rows, ("UA", "WA")) for name, rows in fusion.items()
        }
        json.dump(summary, open(summary_path, "w"), indent=1)
    speech_text = collections.defaultdict(dict)
    for name, seed, result in speech_text_runs(args):
        ccc = result["CCC"]
        speech_text[name][str(seed)] = {
            "UA": result["UA"],
            "WA": result["WA"],
            "CCC_activation": ccc["activation"],
            "CCC_valence": ccc["valence"],
            "CCC_dominance": ccc["dominance"],
            "CCC_mean": ccc["mean"],
        }
        summary["speech_text"]["results"] = {
            name: summarise(
                rows,
                (
                    "UA",
                    "WA",
                    "CCC_activation",
                    "CCC_valence",
                    "CCC_dominance",
                    "CCC_mean",
                ),
            )
            for name, rows in speech_text.items()
        }
        json.dump(summary, open(summary_path, "w"), indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
