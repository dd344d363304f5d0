"""Urdu ablation on cached frozen Whisper layers: probes and trained heads.

Runs on the file of :mod:`bench.urdu_cache_layers` (every Whisper layer
of every clip, encoded once) and on the recipe's own speaker-independent
4-fold manifests (``prepare_class_folders``, seed 1234), so every number
is on the same folds as ``python -m speechbrain_ser.evaluation.crossval``:

    python bench/urdu_ablation.py --cache=results/urdu_whisper_layers.pt \\
        --data_folder=../shared/data/urdu --out=results/urdu_ablation.json \\
        --seeds=1986,1987,1988

Systems: logistic-regression probes (``C`` chosen on valid UA) on
mean/std of the last layer, of every layer concatenated, of filterbanks,
and of both; trained heads (statistics pooling + MLP, as the recipe's
``StatsPoolingMLP``) switched between last layer and a learned
softmax-weighted sum of all layers (SUPERB), masking of the cached frames
(SpeechBrain ``Augmenter`` + ``SpectrogramDrop``) or none, the test model
chosen on valid UA or the last epoch, and filterbank statistics fused or
not. UA = balanced accuracy pooled over the 400 test predictions, and
its mean over folds.

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import copy
import json
import os
import time

import numpy as np
import torch
from speechbrain.augment.augmenter import Augmenter
from speechbrain.augment.freq_domain import SpectrogramDrop

from speechbrain_ser.corpora.folder_prepare import prepare_class_folders
from speechbrain_ser.data.manifest import read_manifest
from speechbrain_ser.metrics import classification_report
from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.nnet.pooling import MeanStdPooling

LABELS = ["Angry", "Happy", "Neutral", "Sad"]

# name -> (layers, weighting, augment, selection, fuse, head)
SYSTEMS = {
    # Sarkar & Tarigopula's head: last layer, 3 x [Linear, LayerNorm, ReLU]
    "sarkar_last": dict(layers="last", head="sarkar"),
    "sarkar_last+select": dict(layers="last", head="sarkar", select=1),
    "sarkar_last+mask": dict(layers="last", head="sarkar", augment=1),
    "sarkar_weighted": dict(layers="weighted", head="sarkar"),
    "sarkar_weighted+mask+select": dict(
        layers="weighted", head="sarkar", augment=1, select=1
    ),
    # a small head: dropout 0.5, one hidden layer of 64
    "small_last": dict(layers="last", head="small"),
    "small_weighted+mask+select": dict(
        layers="weighted", head="small", augment=1, select=1
    ),
    "small_weighted+mask+select+fbank": dict(
        layers="weighted", head="small", augment=1, select=1, fuse=1
    ),
    # the fused recipe, one change at a time
    "small_last+mask+select+fbank": dict(
        layers="last", head="small", augment=1, select=1, fuse=1
    ),
    "small_weighted+mask+fbank": dict(
        layers="weighted", head="small", augment=1, fuse=1
    ),
    "small_weighted+select+fbank": dict(
        layers="weighted", head="small", select=1, fuse=1
    ),
}


def folds(data_folder, folder, n_folds=4):
    """split -> ids, for every fold, from the recipe's preparer."""
    out = []
    for fold in range(n_folds):
        save = os.path.join(folder, f"fold_{fold}")
        prepare_class_folders(
            data_folder,
            save,
            speaker_pattern=r"^(?P<speaker>S[MF]\d+)_",
            labels=LABELS,
            n_folds=n_folds,
            fold=fold,
        )
        out.append(
            {
                split: sorted(
                    read_manifest(os.path.join(save, f"{split}.json"))
                )
                for split in ("train", "valid", "test")
            }
        )
    return out


def stats(x):
    """(T, D) -> (2D,) mean and std over time."""
    return np.concatenate([x.mean(0), x.std(0)])


def probe(features, labels, split, c_values=(0.001, 0.01, 0.1, 1.0, 10.0)):
    """Logistic regression, ``C`` chosen on valid UA; test predictions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def xy(name):
        return (
            np.stack([features[u] for u in split[name]]),
            np.array([labels[u] for u in split[name]]),
        )

    (xt, yt), (xv, yv), (xs, _) = xy("train"), xy("valid"), xy("test")
    best = None
    for c in c_values:
        model = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=c, class_weight="balanced", max_iter=3000),
        )
        model.fit(xt, yt)
        ua = classification_report(yv, model.predict(xv), LABELS)["UA"]
        if best is None or ua > best[0]:
            best = (ua, model)
    return dict(zip(split["test"], best[1].predict(xs).tolist()))


class Head(torch.nn.Module):
    """Layer weighting + stats pooling (+ fbank stats) + MLP."""

    def __init__(self, n_layers, dim, fbank_dim, cfg):
        super().__init__()
        self.cfg = cfg
        self.layer_logits = torch.nn.Parameter(torch.zeros(n_layers))
        self.pool = MeanStdPooling()
        size = 2 * dim + (fbank_dim if cfg.get("fuse") else 0)
        if cfg["head"] == "sarkar":  # Sarkar & Tarigopula: 3 x [Lin, LN, ReLU]
            self.norm = torch.nn.Identity()
            mlp = StatsPoolingMLP(dim, 256, n_layers=3, dropout=0.1)
            width = 256
        else:  # small: standardised, dropout, one block of 64
            self.norm = torch.nn.BatchNorm1d(size, affine=False)
            mlp = StatsPoolingMLP(dim, 64, n_layers=1, dropout=0.5)
            width = 64
        if cfg.get("fuse"):  # the first Linear also takes the fbank stats
            first = mlp.mlp[0]
            mlp.mlp[0] = torch.nn.Linear(size, first.out_features)
        self.mlp = torch.nn.Sequential(
            *([torch.nn.Dropout(0.5)] if cfg["head"] == "small" else []),
            mlp.mlp,
            torch.nn.Linear(width, 4),
        )

    def frames(self, layers):
        """(B, L, T, D) -> (B, T, D)."""
        if self.cfg["layers"] == "last":
            return layers[:, -1]
        weights = torch.softmax(self.layer_logits, 0)
        return (layers * weights.view(1, -1, 1, 1)).sum(1)

    def forward(self, layers, lengths, fbank=None, augment=None):
        x = self.frames(layers)
        if augment is not None:
            x, lengths = augment(x, lengths)
        pooled = self.pool(x, lengths)
        if self.cfg.get("fuse"):
            pooled = torch.cat([pooled, fbank], -1)
        return self.mlp(self.norm(pooled))


def batch(cache, ids, last_only=False):
    """Padded (B, L, T, D) layers, relative lengths, fbank stats."""
    index = torch.tensor([cache["index"][u] for u in ids])
    frames = cache["frames"][index]
    longest = int(frames.max())
    first = cache["padded"].shape[1] - 1 if last_only else 0
    layers = cache["padded"][index, first:, :longest].float()
    return layers, frames.float() / longest, cache["fbank_matrix"][index]


def pad_cache(cache):
    """Pads every clip's layers once, into one (N, L, T, D) tensor."""
    ids = sorted(cache["layers"])
    items = [cache["layers"][u] for u in ids]
    longest = max(item.shape[1] for item in items)
    padded = torch.zeros(
        len(ids), *items[0].shape[:1], longest, items[0].shape[2]
    )
    padded = padded.half()
    for i, item in enumerate(items):
        padded[i, :, : item.shape[1]] = item
    cache["index"] = {u: i for i, u in enumerate(ids)}
    cache["padded"] = padded
    cache["frames"] = torch.tensor([item.shape[1] for item in items])
    cache["fbank_matrix"] = torch.stack([cache["fbank_stats"][u] for u in ids])


def train_head(cache, split, labels, cfg, seed, epochs, lr, weight_decay):
    """Trains on train; test predictions of the chosen epoch + its epoch."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    first = cache["layers"][split["train"][0]]
    model = Head(first.shape[0], first.shape[2], 80, cfg)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=lr, weight_decay=weight_decay
    )
    augment = None
    if cfg.get("augment"):
        augment = Augmenter(
            min_augmentations=2,
            max_augmentations=2,
            augmentations=[
                SpectrogramDrop(
                    drop_length_low=5,
                    drop_length_high=25,
                    drop_count_low=1,
                    drop_count_high=3,
                    dim=1,
                ),
                SpectrogramDrop(
                    drop_length_low=10,
                    drop_length_high=40,
                    drop_count_low=1,
                    drop_count_high=2,
                    dim=2,
                ),
            ],
        )
    y = {u: LABELS.index(labels[u]) for u in labels}
    counts = np.bincount([y[u] for u in split["train"]], minlength=4)
    weight = torch.tensor(counts.sum() / (4 * np.maximum(counts, 1))).float()
    last_only = cfg["layers"] == "last"
    evaluation = {
        s: batch(cache, split[s], last_only) for s in ("valid", "test")
    }

    def predict(name):
        model.eval()
        with torch.no_grad():
            layers, lengths, fbank = evaluation[name]
            return model(layers, lengths, fbank).argmax(-1).numpy()

    best = (-1.0, None, 0)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(split["train"])
        for start in range(0, len(order), 16):
            ids = list(order[start : start + 16])
            layers, lengths, fbank = batch(cache, ids, last_only)
            target = torch.tensor([y[u] for u in ids])
            logits = model(layers, lengths, fbank, augment)
            loss = torch.nn.functional.cross_entropy(
                logits, target, weight=weight, label_smoothing=0.1
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        valid = predict("valid")
        ua = classification_report(
            [y[u] for u in split["valid"]], valid, LABELS
        )["UA"]
        history.append(ua)
        if ua > best[0]:
            best = (ua, copy.deepcopy(model.state_dict()), epoch)
    chosen = epochs
    if cfg.get("select"):
        model.load_state_dict(best[1])
        chosen = best[2]
    test = predict("test")
    weights = torch.softmax(model.layer_logits.detach(), 0).tolist()
    predictions = {u: LABELS[int(p)] for u, p in zip(split["test"], test)}
    return predictions, chosen, weights, history


def report(predictions_per_fold, labels, fold_splits):
    pooled = {}
    fold_ua = []
    for predictions, split in zip(predictions_per_fold, fold_splits):
        pooled.update(predictions)
        fold_ua.append(
            classification_report(
                [labels[u] for u in split["test"]],
                [predictions[u] for u in split["test"]],
                LABELS,
            )["UA"]
        )
    ids = sorted(pooled)
    ua = classification_report(
        [labels[u] for u in ids], [pooled[u] for u in ids], LABELS
    )["UA"]
    return {"pooled_UA": ua, "fold_UA": fold_ua}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", required=True)
    parser.add_argument("--data_folder", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--folds_folder", default="results/urdu_folds")
    parser.add_argument("--seeds", default="1986")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight_decay", type=float, default=1e-2)
    parser.add_argument("--probes", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cache = torch.load(args.cache)
    labels = cache["emotion"]
    cache["fbank_stats"] = {
        u: torch.from_numpy(stats(f.float().numpy()))
        for u, f in cache["fbank"].items()
    }
    pad_cache(cache)
    fold_splits = folds(args.data_folder, args.folds_folder)
    results = {}
    if os.path.exists(args.out):
        results = json.load(open(args.out))
    if args.probes:
        pooled = {
            "probe_last_layer": lambda u: stats(
                cache["layers"][u][-1].float().numpy()
            ),
            "probe_all_layers": lambda u: np.concatenate(
                [stats(x.float().numpy()) for x in cache["layers"][u]]
            ),
            "probe_fbank": lambda u: cache["fbank_stats"][u].numpy(),
        }
        pooled["probe_all_layers+fbank"] = lambda u: np.concatenate(
            [pooled["probe_all_layers"](u), pooled["probe_fbank"](u)]
        )
        for name, function in pooled.items():
            features = {u: function(u) for u in labels}
            predictions = [probe(features, labels, s) for s in fold_splits]
            results[name] = report(predictions, labels, fold_splits)
            print(name, results[name], flush=True)
    for name in args.systems.split(","):
        cfg = SYSTEMS[name]
        runs = []
        for seed in map(int, args.seeds.split(",")):
            start = time.time()
            outputs = [
                train_head(
                    cache,
                    s,
                    labels,
                    cfg,
                    seed,
                    args.epochs,
                    args.lr,
                    args.weight_decay,
                )
                for s in fold_splits
            ]
            run = report([o[0] for o in outputs], labels, fold_splits)
            run.update(
                seed=seed,
                selected_epochs=[o[1] for o in outputs],
                layer_weights=[o[2] for o in outputs],
                valid_UA_history=[o[3] for o in outputs],
                seconds=round(time.time() - start, 1),
            )
            runs.append(run)
            print(
                name, seed, run["pooled_UA"], run["selected_epochs"], flush=True
            )
        ua = [r["pooled_UA"] for r in runs]
        results[name] = {
            "config": cfg,
            "epochs": args.epochs,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "pooled_UA_mean": float(np.mean(ua)),
            "pooled_UA_std": float(np.std(ua)),
            "runs": runs,
        }
        with open(args.out, "w") as fout:
            json.dump(results, fout, indent=1)
    with open(args.out, "w") as fout:
        json.dump(results, fout, indent=1)


if __name__ == "__main__":
    main()
