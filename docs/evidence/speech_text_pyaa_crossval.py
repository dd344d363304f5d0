#!/usr/bin/env python3
"""Audio vs text vs fused CCC on 47 real English clips (pyAudioAnalysis).

    python docs/evidence/speech_text_pyaa_crossval.py \\
        --data_folder ../shared/data/pyaa_speech_emotion \\
        --whisper ../shared/models/whisper-tiny.en --out results/pyaa_st

1. Transcribes every clip with the local Whisper (WhisperTranscriber).
2. Cuts the clips into 5 folds at random (clip level: the corpus has no
   speaker ids, so the folds are NOT speaker-independent); fold k is
   test, fold k+1 valid, the rest train.
3. Trains hparams/speech_text.yaml (regression) per fold and modality;
   the speech encoder is the frozen Whisper-tiny encoder (a pre-trained
   speech model; no wav2vec2 weights are installable), the text encoder
   the fine-tuned MiniLM. Dominance is not annotated: a constant
   placeholder target, not reported.
4. Fits the linear baselines (BASELINES) on the same fold manifests.
5. Pools the test predictions of all folds (every clip tested once) and
   reports CCC of arousal and valence, plus the mean and std over folds.

Writes ``<out>/summary.json``.
"""

import argparse
import csv
import json
import os
import random
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
sys.path.insert(0, os.path.abspath(ROOT))

from speechbrain_ser.metrics import concordance_correlation_coefficient as ccc  # noqa: E402
from speechbrain_ser.run import run_recipe  # noqa: E402

CONFIGS = {"audio": ("audio", "late"), "text": ("text", "late")}
CONFIGS["fused_late"] = ("both", "late")
CONFIGS["fused_learned"] = ("both", "learned")
# Linear baselines (speechbrain_ser.evaluation.probes) on the same folds: mean/std
# over time of 40 log mel filterbanks, of the frozen Whisper encoder's last
# layer, or of all its layers concatenated; ridge regression, alpha chosen
# on the fold's valid split (fold k+1), as for every recipe's crossval.
BASELINES = {
    "fbank_ridge": "fbank",
    "whisper_last_layer_ridge": "last_layer",
    "whisper_all_layers_ridge": "all_layers",
}


def read_labels(folder):
    labels = {}
    for name in ("arousal", "valence"):
        with open(os.path.join(folder, f"{name}.csv")) as fin:
            for wav, value in csv.reader(fin):
                labels.setdefault(wav, {})[name] = float(value)
    return labels


def transcripts(folder, wavs, whisper, cache):
    if os.path.isfile(cache):
        return json.load(open(cache))
    from speechbrain_ser.text.transcription import WhisperTranscriber

    asr = WhisperTranscriber(whisper, batch_size=4)
    paths = [os.path.join(folder, w) for w in wavs]
    texts = []
    for start in range(0, len(paths), 8):
        texts += asr.transcribe_files(paths[start : start + 8])
    result = dict(zip(wavs, texts))
    json.dump(result, open(cache, "w"), indent=1)
    return result


def whisper_yaml(out):
    """hparams/speech_text.yaml with the frozen Whisper encoder as the
    speech encoder (written to ``out``)."""
    with open(os.path.join(ROOT, "hparams", "speech_text.yaml")) as fin:
        text = fin.read()
    start = text.index("encoder: !new:speechbrain_ser.nnet.ssl_encoder")
    end = text.index("emb_size:")
    text = (
        text[:start]
        + "whisper_source: !PLACEHOLDER\n"
        + "encoder: !new:speechbrain_ser.nnet.encoders.WhisperEncoder\n"
        + "    source: !ref <whisper_source>\n"
        + "    save_path: !ref <save_folder>/whisper\n"
        + "    freeze: True\n"
        + text[end:]
    )
    path = os.path.join(out, "speech_text_whisper.yaml")
    with open(path, "w") as fout:
        fout.write(text)
    return path


def write_fold(out, entries, folds, k):
    n = len(folds)
    parts = {"test": folds[k], "valid": folds[(k + 1) % n]}
    parts["train"] = [
        w for i, f in enumerate(folds) if i not in (k, (k + 1) % n) for w in f
    ]
    paths = {}
    for split, wavs in parts.items():
        paths[split] = os.path.join(out, f"fold_{k}", f"{split}.json")
        os.makedirs(os.path.dirname(paths[split]), exist_ok=True)
        json.dump({w: entries[w] for w in wavs}, open(paths[split], "w"))
    return paths


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_folder", required=True)
    parser.add_argument("--whisper", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS) + list(BASELINES)
    )
    args = parser.parse_args()
    import soundfile

    os.makedirs(args.out, exist_ok=True)
    labels = read_labels(args.data_folder)
    wavs = sorted(labels)
    texts = dict.fromkeys(wavs, "")  # the baselines need no transcripts
    if set(args.configs) & set(CONFIGS):
        texts = transcripts(
            args.data_folder,
            wavs,
            args.whisper,
            os.path.join(args.out, "transcripts.json"),
        )
    entries = {
        w: {
            "wav": "{data_root}/" + w,
            "duration": soundfile.info(
                os.path.join(args.data_folder, w)
            ).duration,
            "activation": labels[w]["arousal"],
            "valence": labels[w]["valence"],
            "dominance": 0.0,  # not annotated: placeholder, not reported
            "transcript": texts[w],
        }
        for w in wavs
    }
    order = wavs[:]
    random.Random(0).shuffle(order)
    folds = [order[i :: args.folds] for i in range(args.folds)]
    summary = {
        "protocol": (
            f"pyAudioAnalysis speech emotion clips ({len(wavs)} English "
            f"clips, arousal/valence in [-1, 1]); {args.folds}-fold "
            "cross-validation at clip level (no speaker ids: NOT "
            "speaker-independent), fold k test, fold k+1 valid, rest train;"
            " CCC over the pooled test predictions (every clip once); "
            f"transcripts by {os.path.basename(args.whisper)}; speech "
            "encoder: frozen Whisper-tiny.en encoder (last layer); text "
            f"encoder: all-MiniLM-L6-v2 fine-tuned; {args.epochs} epochs"
        ),
        "results": {},
    }
    summary_path = os.path.join(args.out, "summary.json")
    if os.path.isfile(summary_path):  # add to the configs run before
        summary["results"] = json.load(open(summary_path))["results"]
    baselines = [name for name in args.configs if name in BASELINES]
    if baselines:
        fold_predictions = run_baselines(args, entries, folds)
        for name in baselines:
            summary["results"][name] = pooled_summary(
                [fold[BASELINES[name]] for fold in fold_predictions],
                "baseline",
                "ridge on mean/std features",
            )
    for name in [c for c in args.configs if c in CONFIGS]:
        modalities, fusion = CONFIGS[name]
        fold_predictions = []
        for k in range(args.folds):
            paths = write_fold(args.out, entries, folds, k)
            out = os.path.join(args.out, name, f"fold_{k}")
            overrides = {
                "data_folder": args.data_folder,
                "output_folder": out,
                "prepare": "null",
                "train_manifest": paths["train"],
                "valid_manifest": paths["valid"],
                "test_manifest": paths["test"],
                "task": "regression",
                "avd_range": "[-1, 1]",
                "number_of_epochs": args.epochs,
                "modalities": modalities,
                "fusion": fusion,
                "freeze_encoder": True,
                "cache_frozen_encoder": True,
                "speech_hidden_size": 384,
                "whisper_source": args.whisper,
            }
            if not os.path.isfile(os.path.join(out, "predictions.json")):
                run_recipe(
                    [whisper_yaml(args.out)]
                    + [f"--{key}={value}" for key, value in overrides.items()]
                )
            fold_predictions.append(
                json.load(open(os.path.join(out, "predictions.json")))
            )
        summary["results"][name] = pooled_summary(
            fold_predictions, modalities, fusion
        )
        json.dump(summary, open(summary_path, "w"), indent=1)
    json.dump(summary, open(summary_path, "w"), indent=1)
    print(json.dumps(summary, indent=1))


def pooled_summary(fold_predictions, modalities, fusion):
    """Pooled and per-fold CCC of arousal and valence."""
    pooled, per_fold = {}, []
    for predictions in fold_predictions:
        pooled.update(predictions)
        fold = np.array([p["avd"] for p in predictions.values()])
        target = np.array([p["avd_target"] for p in predictions.values()])
        per_fold.append([float(ccc(target[:, i], fold[:, i])) for i in (0, 1)])
    avd = np.array([p["avd"] for p in pooled.values()])
    target = np.array([p["avd_target"] for p in pooled.values()])
    per_fold = np.array(per_fold)
    return {
        "modalities": modalities,
        "fusion": fusion,
        "pooled_CCC_arousal": float(ccc(target[:, 0], avd[:, 0])),
        "pooled_CCC_valence": float(ccc(target[:, 1], avd[:, 1])),
        "fold_CCC_arousal_mean": float(per_fold[:, 0].mean()),
        "fold_CCC_arousal_std": float(per_fold[:, 0].std()),
        "fold_CCC_valence_mean": float(per_fold[:, 1].mean()),
        "fold_CCC_valence_std": float(per_fold[:, 1].std()),
        "n": len(pooled),
    }


def run_baselines(args, entries, folds):
    """Per fold: feature name -> test predictions of the ridge baselines."""
    from speechbrain_ser.evaluation.probes import (
        EncoderStatistics,
        FbankStatistics,
        linear_baseline,
    )
    from speechbrain_ser.nnet.encoders import WhisperEncoder

    whisper = WhisperEncoder(
        args.whisper, save_path=os.path.join(args.out, "whisper"), freeze=True
    )
    featurizers = [FbankStatistics(), EncoderStatistics(whisper)]
    caches = [{}, {}]
    out = []
    for k in range(len(folds)):
        paths = write_fold(args.out, entries, folds, k)
        fold = {}
        for featurizer, cache in zip(featurizers, caches):
            result = linear_baseline(
                paths, args.data_folder, "regression", featurizer, cache
            )
            fold.update({n: r["predictions"] for n, r in result.items()})
        out.append(fold)
    return out


if __name__ == "__main__":
    main()
