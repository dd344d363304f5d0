"""Whisper recipe head vs ``layers: concat`` full-batch head vs probes.

Runs on the layer caches of :mod:`bench.urdu_cache_layers` (every
Whisper-tiny.en hidden state of every clip, encoded once per corpus and
input path), so that every configuration, fold and seed reads the same
frames and the CPU cost is the heads' only:

    python bench/whisper_probe_vs_recipe.py --cache=urdu_layers.pt \\
        --protocol=urdu4 --seeds=1986,1987,1988 --out=urdu4.json
    python bench/whisper_probe_vs_recipe.py --cache=urdu_layers.pt \\
        --protocol=loso --seeds=1986 --out=loso.json
    python bench/whisper_probe_vs_recipe.py --cache=pyaa_layers.pt \\
        --protocol=pyaa5 --labels=<pyaa folder> --out=pyaa.json

Protocols: ``urdu4`` the Urdu recipe's speaker-independent,
class-stratified 4 folds (``split_by_speaker_folds``, seed 1234: the
recipe's own manifests), valid = next fold; ``loso`` leave one speaker
out over URDU's 29 speakers, valid = the next speaker in sorted order
(the single-validation-speaker situation); ``pyaa5`` the 47 pyAudioAnalysis
clips in 5 clip-level folds (no speaker ids: NOT speaker-independent;
``random.Random(0)`` as docs/evidence/pyaa_avd_crossval.py), valid = next
fold, arousal/valence (dominance not annotated).

Systems (all from this package's modules):

* ``recipe``: the recipe's defaults re-implemented on the cached frames
  (``LayerWeightedHead`` with learned layer weights over every hidden state
  with the clip's 40 log mel filterbanks appended, ``StatsPoolingMLP``
  standardised input, input dropout 0.5, one block of 64, dropout 0.5;
  AdamW lr 1e-3, weight decay 0.01, batch 16, label smoothing 0.1 and
  balanced class weights (classes) or CCC loss (A/V/D), NewBob annealing
  on valid loss, 30 epochs, patience 10, the epoch best on valid tested);
* ``concat_linear[_fbank]``: ``layers: concat`` (every hidden state's
  mean/std, 5 x 384 x 2; ``_fbank``: with the filterbanks appended to every
  layer, as the recipe's ``EncoderWithFbank`` does), standardised, a linear
  layer fit with L-BFGS (:class:`speechbrain_ser.brains.full_batch.
  FullBatchTrainer`, the code ``training: full_batch`` runs), L2 strength
  among 1e-4..1 chosen on valid; ``_nested``: chosen by 4-fold inner
  speaker-grouped CV over train + valid speakers, refit on both;
* ``probe_all_layers`` / ``probe_last_layer``: the crossval probes
  (:func:`speechbrain_ser.evaluation.probes.fit_logistic_regression` /
  ``fit_ridge_regression``, ``C`` / ``alpha`` on valid).

Writes per system the pooled metric per seed and every test prediction
(for paired bootstrap comparisons on the same clips).

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import copy
import csv
import json
import os
import random
import time

import numpy as np
import torch
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.nnet.schedulers import NewBobScheduler

from speechbrain_ser.brains import EmotionBrain
from speechbrain_ser.brains.full_batch import FullBatchTrainer
from speechbrain_ser.data.splits import split_by_speaker_folds
from speechbrain_ser.evaluation.probes import (
    fit_logistic_regression,
    fit_ridge_regression,
)
from speechbrain_ser.metrics import ccc_report, classification_report
from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.nnet.layer_weighting import (
    LayerWeightedHead,
    layer_input_size,
)
from speechbrain_ser.nnet.losses import ccc_loss

LABELS = ["Angry", "Happy", "Neutral", "Sad"]
WEIGHT_DECAYS = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]


# ---------------------------------------------------------------- data
def load(cache_path, labels_folder=None):
    """Clips: id -> dict(frames (T, L, D+40) half, hidden, target, speaker)."""
    cache = torch.load(cache_path)
    avd = {}
    if labels_folder:
        for name in ("arousal", "valence"):
            with open(os.path.join(labels_folder, f"{name}.csv")) as fin:
                for wav, value in csv.reader(fin):
                    avd.setdefault(wav, {})[name] = float(value)
    clips = {}
    for uid, hidden in cache["layers"].items():
        hidden = hidden.transpose(0, 1)  # (T, L, D)
        fbank = cache["fbank"][uid]
        steps = hidden.shape[0]
        index = torch.arange(steps) * fbank.shape[0] // steps
        fbank = fbank[index.clamp(max=fbank.shape[0] - 1)]
        fbank = fbank.unsqueeze(1).expand(-1, hidden.shape[1], -1)
        clips[uid] = {
            "hidden": hidden,
            "frames": torch.cat([hidden, fbank], -1),
            "speaker": cache["speaker"].get(uid),
            "emotion": cache["emotion"].get(uid),
        }
        if avd:
            a = avd[uid]
            clips[uid]["avd"] = [a["arousal"], a["valence"], 0.0]
    return clips


def make_folds(clips, protocol):
    """[(name, {"train", "valid", "test"} -> ids)] of the protocol."""
    ids = sorted(clips)
    if protocol == "urdu4":
        entries = {u: clips[u] for u in ids}
        return [
            (str(k), {s: sorted(v) for s, v in splits.items()})
            for k in range(4)
            for splits in [split_by_speaker_folds(entries, 4, k, seed=1234)]
        ]
    if protocol == "loso":
        speakers = sorted({clips[u]["speaker"] for u in ids})
        folds = []
        for k, test in enumerate(speakers):
            valid = speakers[(k + 1) % len(speakers)]
            split = {"train": [], "valid": [], "test": []}
            for u in ids:
                s = clips[u]["speaker"]
                part = (
                    "test" if s == test else "valid" if s == valid else "train"
                )
                split[part].append(u)
            folds.append((test, split))
        return folds
    if protocol == "pyaa5":
        order = ids[:]
        random.Random(0).shuffle(order)
        parts = [order[i::5] for i in range(5)]
        return [
            (
                str(k),
                {
                    "test": sorted(parts[k]),
                    "valid": sorted(parts[(k + 1) % 5]),
                    "train": sorted(
                        u
                        for i, p in enumerate(parts)
                        if i not in (k, (k + 1) % 5)
                        for u in p
                    ),
                },
            )
            for k in range(5)
        ]
    raise ValueError(protocol)


def batch(clips, ids, key="frames"):
    """Padded (B, T, L, D) frames and relative lengths."""
    items = [clips[u][key].float() for u in ids]
    lengths = torch.tensor([len(x) for x in items], dtype=torch.float)
    padded = torch.nn.utils.rnn.pad_sequence(items, batch_first=True)
    return padded, lengths / lengths.max()


def targets(clips, ids, task):
    if task == "classification":
        return torch.tensor([LABELS.index(clips[u]["emotion"]) for u in ids])
    return torch.tensor([clips[u]["avd"] for u in ids])


def pooled_metric(task, truth, predicted):
    """UA (classes) or mean CCC of arousal and valence."""
    if task == "classification":
        return classification_report(truth, predicted, LABELS)["UA"]
    report = ccc_report(np.asarray(truth), np.asarray(predicted))
    return float(np.mean([report["activation"], report["valence"]]))


# ---------------------------------------------------------------- recipe
def train_recipe(clips, split, task, seed, epochs=30, patience=10):
    """The recipe's head and loop (see the module docstring)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    first = clips[split["train"][0]]["frames"]
    n_layers, size = first.shape[1], first.shape[2]
    head = LayerWeightedHead(
        StatsPoolingMLP(
            size,
            64,
            n_layers=1,
            dropout=0.5,
            input_norm=True,
            input_dropout=0.5,
        ),
        n_layers=n_layers,
        layers="weighted",
    )
    out = torch.nn.Linear(64, 4 if task == "classification" else 3)
    model = torch.nn.ModuleDict({"head": head, "out": out})
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=1e-3, weight_decay=0.01
    )
    annealing = NewBobScheduler(
        initial_value=1e-3,
        improvement_threshold=0.0025,
        annealing_factor=0.8,
        patient=0,
    )
    y = {s: targets(clips, split[s], task) for s in split}
    weight = None
    if task == "classification":
        counts = torch.bincount(y["train"], minlength=4).float()
        weight = counts.sum() / (4 * counts.clamp(min=1))

    def loss_of(outputs, truth):
        if task == "classification":
            return torch.nn.functional.cross_entropy(
                outputs, truth, weight=weight, label_smoothing=0.1
            )
        return ccc_loss(outputs, truth.float())

    valid_x = batch(clips, split["valid"])
    test_x = batch(clips, split["test"])

    def evaluate(x):
        model.eval()
        with torch.no_grad():
            return out(head(*x))

    best, best_epoch, best_state, stale = None, 0, None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(split["train"]))
        for start in range(0, len(order), 16):
            rows = order[start : start + 16]
            ids = [split["train"][i] for i in rows]
            outputs = out(head(*batch(clips, ids)))
            loss = loss_of(outputs, y["train"][rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        outputs = evaluate(valid_x)
        valid_loss = float(loss_of(outputs, y["valid"]))
        _, lr = annealing(valid_loss)
        for group in optimizer.param_groups:
            group["lr"] = lr
        predicted = (
            outputs.argmax(-1).numpy()
            if task == "classification"
            else outputs.numpy()
        )
        score = pooled_metric(task, y["valid"].numpy(), predicted)
        if best is None or score > best:
            best, best_epoch, stale = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= patience:
                break
    model.load_state_dict(best_state)
    outputs = evaluate(test_x)
    if task == "classification":
        return outputs.argmax(-1).tolist(), best_epoch
    return outputs.tolist(), best_epoch


# ---------------------------------------------------------------- concat
def concat_statistics(clips, key):
    """id -> every hidden state's mean/std, as ``layers: concat`` pools."""
    first = clips[next(iter(clips))][key]
    head = LayerWeightedHead(
        StatsPoolingMLP(
            layer_input_size(first.shape[2], first.shape[1], "concat"),
            n_layers=0,
        ),
        n_layers=first.shape[1],
        layers="concat",
    )
    return {
        u: head(c[key].float().unsqueeze(0))[0].double()
        for u, c in clips.items()
    }


def full_batch_brain(task, n_features, counts):
    head = StatsPoolingMLP(n_features // 2, n_layers=0, input_norm=True)
    modules = {"head": head}
    if task == "classification":
        modules["emotion_out"] = torch.nn.Linear(head.output_size, 4)
    else:
        modules["avd_out"] = torch.nn.Linear(head.output_size, 3)
    encoder = CategoricalEncoder()
    encoder.update_from_iterable(LABELS)
    hparams = {
        "task": task,
        "freeze_encoder": True,
        "classification_weight": 1.0,
        "regression_weight": 1.0,
        "class_weights": "balanced",
        "train_class_counts": counts,
        "label_encoder": encoder,
        "ccc_loss": ccc_loss,
        "full_batch_weight_decay": WEIGHT_DECAYS,
        "inner_folds": 4,
        "seed": 1234,
        "selection_metric": "CCC_mean" if task == "regression" else None,
    }
    return EmotionBrain(modules, hparams=hparams, run_opts={"device": "cpu"})


def train_concat(clips, stats, split, task, nested):
    """The full-batch trainer on one fold; test predictions."""

    def data(ids):
        y = targets(clips, ids, task)
        return {
            "ids": list(ids),
            "x": torch.stack([stats[u] for u in ids]),
            "labels": y if task == "classification" else None,
            "avd": y if task == "regression" else None,
            # no speaker ids (pyaa): clip-level inner folds, as its protocol
            "speakers": [clips[u]["speaker"] or u for u in ids]
            if nested
            else None,
        }

    train, valid, test = (data(split[s]) for s in ("train", "valid", "test"))
    fit_ids = split["train"] + (split["valid"] if nested else [])
    counts = [0] * 4
    if task == "classification":
        counts = torch.bincount(
            targets(clips, fit_ids, task), minlength=4
        ).tolist()
    brain = full_batch_brain(task, train["x"].shape[1], counts)
    trainer = FullBatchTrainer(brain)
    brain.hparams.full_batch_selection = "inner_cv" if nested else "valid"
    start = time.time()
    weight_decay, fit_data = trainer.select(train, valid)
    info = trainer.fit(fit_data, np.arange(len(fit_data["ids"])), weight_decay)
    seconds = time.time() - start
    x = trainer.standardise(test["x"], info["mean"], info["var"]).float()
    with torch.no_grad():
        outputs = trainer.forward(x)
    if task == "classification":
        predicted = outputs["logits"].argmax(-1).tolist()
    else:
        predicted = outputs["avd"].tolist()
    return predicted, {
        "weight_decay": weight_decay,
        "iterations": info["iterations"],
        "seconds": round(seconds, 2),
    }


# ---------------------------------------------------------------- probes
def probe(clips, features, split, task):
    def xy(s):
        x = np.stack([features[u] for u in split[s]])
        if task == "classification":
            return x, [clips[u]["emotion"] for u in split[s]]
        return x, np.array([clips[u]["avd"] for u in split[s]])

    if task == "classification":
        _, predicted = fit_logistic_regression(
            xy("train"), xy("valid"), xy("test")
        )
        return [LABELS.index(p) for p in predicted]
    _, predicted = fit_ridge_regression(xy("train"), xy("valid"), xy("test"))
    return predicted.tolist()


def mean_std_numpy(x):
    x = x.double()
    return torch.cat([x.mean(0), x.std(0, unbiased=False)]).numpy()


# ---------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", required=True)
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--labels", default=None, help="pyaa folder")
    parser.add_argument("--seeds", default="1986,1987,1988")
    parser.add_argument(
        "--systems",
        default="probe_last_layer,probe_all_layers,concat_linear,"
        "concat_linear_fbank,concat_linear_nested,recipe",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    task = "regression" if args.protocol == "pyaa5" else "classification"
    clips = load(args.cache, args.labels)
    folds = make_folds(clips, args.protocol)
    results = {}
    if os.path.exists(args.out):
        results = json.load(open(args.out))
    results.update(
        protocol=args.protocol,
        cache=os.path.basename(args.cache),
        n_clips=len(clips),
        folds={name: split for name, split in folds},
    )
    systems = results.setdefault("systems", {})
    truth = {}
    for _, split in folds:
        for u, t in zip(split["test"], targets(clips, split["test"], task)):
            truth[u] = t.tolist()
    results["truth"] = truth
    ids = sorted(truth)

    def finish(name, runs):
        for run in runs:
            run["pooled"] = pooled_metric(
                task,
                [truth[u] for u in ids],
                [run["predictions"][u] for u in ids],
            )
        values = [r["pooled"] for r in runs]
        systems[name] = {
            "runs": runs,
            "pooled_mean": float(np.mean(values)),
            "pooled_std": float(np.std(values)),
        }
        print(name, [round(v, 4) for v in values], flush=True)
        with open(args.out, "w") as fout:
            json.dump(results, fout)

    stats = {}
    for name in args.systems.split(","):
        start = time.time()
        if name.startswith("probe"):
            if name == "probe_last_layer":
                features = {
                    u: mean_std_numpy(c["hidden"][:, -1])
                    for u, c in clips.items()
                }
            else:
                features = {
                    u: np.concatenate(
                        [
                            mean_std_numpy(c["hidden"][:, layer])
                            for layer in range(c["hidden"].shape[1])
                        ]
                    )
                    for u, c in clips.items()
                }
            predictions = {}
            for _, split in folds:
                predicted = probe(clips, features, split, task)
                predictions.update(zip(split["test"], predicted))
            run = {"seed": None, "predictions": predictions}
            run["seconds"] = round(time.time() - start, 1)
            finish(name, [run])
        elif name.startswith("concat_linear"):
            key = "frames" if "fbank" in name else "hidden"
            if key not in stats:
                stats[key] = concat_statistics(clips, key)
            predictions, chosen = {}, {}
            for fold, split in folds:
                predicted, info = train_concat(
                    clips, stats[key], split, task, "nested" in name
                )
                predictions.update(zip(split["test"], predicted))
                chosen[fold] = info
            run = {"seed": None, "predictions": predictions, "folds": chosen}
            run["seconds"] = round(time.time() - start, 1)
            finish(name, [run])
        elif name == "recipe":
            runs = []
            for seed in map(int, args.seeds.split(",")):
                start = time.time()
                predictions, epochs = {}, {}
                for fold, split in folds:
                    predicted, epoch = train_recipe(clips, split, task, seed)
                    predictions.update(zip(split["test"], predicted))
                    epochs[fold] = epoch
                runs.append(
                    {
                        "seed": seed,
                        "predictions": predictions,
                        "selected_epochs": epochs,
                        "seconds": round(time.time() - start, 1),
                    }
                )
                print("recipe seed", seed, runs[-1]["seconds"], "s", flush=True)
            finish(name, runs)


if __name__ == "__main__":
    main()
