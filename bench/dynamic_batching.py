#!/usr/bin/env python3
"""Training throughput with and without dynamic batching by duration.

One epoch over the same ``--n_utterances`` synthetic utterances (random
audio, lengths uniform in ``--min_seconds``..``--max_seconds``) is
trained twice by the YAML's Brain, in turn: in random batches of
``--batch_size`` (the YAML's default loader) and in the batches of
``dynamic_batching: True`` (SpeechBrain's ``DynamicBatchSampler`` through
``speechbrain_ser.data.batching``, at most ``--max_batch_seconds`` of
padded audio per batch). Prints one JSON line per mode: utterances and
seconds of audio per second, batches, and the fraction of computed audio
that is padding.

    python bench/dynamic_batching.py --kind=sa2sr --batch_size 8
    python bench/dynamic_batching.py --kind=cpc --crop_seconds=null
    python bench/dynamic_batching.py --kind=sa2sr --device cuda \
        --batch_size 32 --max_batch_seconds=400 --n_utterances=512

``--kind``, ``--n_utterances``, ``--min_seconds`` and ``--max_seconds``
are the bench's; other ``--key=value`` are YAML overrides (e.g.
``--max_batch_seconds=60``).
"""

import json
import os
import sys
import time

import numpy as np
import torch
import yaml
from timing import parse, training_brain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

KINDS = {
    "sa2sr": "recipes/LibriSpeech/sa2sr/hparams/sa2sr.yaml",
    "cpc": "recipes/LibriSpeech/cpc/hparams/cpc.yaml",
}


def batches_of(mode, durations, hparams, batch_size, seed=0):
    """Lists of utterance indices: random fixed-size or by duration."""
    from speechbrain.dataio.dataset import DynamicItemDataset

    from speechbrain_ser.data.batching import dynamic_batch_loader_options

    if mode == "fixed":
        order = np.random.default_rng(seed).permutation(len(durations))
        return [
            order[i : i + batch_size].tolist()
            for i in range(0, len(order), batch_size)
        ]
    data = DynamicItemDataset(
        {f"u{i}": {"duration": d} for i, d in enumerate(durations)}
    )
    options = dynamic_batch_loader_options(data, {**hparams, "seed": seed})
    return [list(batch) for batch in options["batch_sampler"]]


def main():
    args, overrides = parse(__doc__.split("\n\n")[0], None)
    kind = overrides.pop("kind", "sa2sr")
    n_utterances = int(overrides.pop("n_utterances", 48))
    low = float(overrides.pop("min_seconds", 1.0))
    high = float(overrides.pop("max_seconds", 10.0))
    overrides.setdefault("max_batch_seconds", "60")
    # YAML values (numbers, null), as on a train.py command line
    overrides = {key: yaml.safe_load(value) for key, value in overrides.items()}
    args.hparams = args.hparams or os.path.join(ROOT, KINDS[kind])
    extras = {}
    if kind == "sa2sr":
        from sa2sr_throughput import synthetic_batch

        from speechbrain_ser.text.characters import character_encoder

        extras = {"char_encoder": character_encoder()}
    else:
        from cpc_throughput import synthetic_batch
    brain, hparams = training_brain(
        args.hparams,
        overrides,
        args.device,
        extras=extras,
        precision=args.precision,
        compile=args.compile,
    )
    rate = hparams["sample_rate"]
    crop = hparams.get("crop_seconds") or float("inf")
    durations = np.random.default_rng(0).uniform(low, high, n_utterances)
    # what the model sees of each utterance (a crop when the YAML crops)
    seen = [int(rate * min(d, crop)) for d in durations]
    generator = torch.Generator().manual_seed(0)
    modes = {
        mode: batches_of(mode, durations, hparams, args.batch_size)
        for mode in ("fixed", "dynamic")
    }
    padded = {
        mode: [
            synthetic_batch(
                len(b), 0, rate, generator, lengths=[seen[i] for i in b]
            )
            for b in batches
        ]
        for mode, batches in modes.items()
    }
    brain.fit_batch(padded["fixed"][0])  # warm-up
    times = {mode: [] for mode in modes}
    for _ in range(args.rounds):
        for mode, batches in padded.items():
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            for batch in batches:
                brain.fit_batch(batch)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times[mode].append(time.perf_counter() - start)
    real = sum(seen) / rate
    for mode, batches in padded.items():
        seconds = float(np.median(times[mode]))
        computed = sum(b.sig[0].numel() for b in batches) / rate
        print(
            json.dumps(
                {
                    "hparams": os.path.relpath(args.hparams, ROOT),
                    "mode": mode,
                    "device": args.device,
                    "torch_threads": torch.get_num_threads(),
                    "precision": args.precision,
                    "n_utterances": len(seen),
                    "utterance_seconds": [low, high],
                    "crop_seconds": hparams.get("crop_seconds"),
                    "batch_size": args.batch_size if mode == "fixed" else None,
                    "max_batch_seconds": (
                        hparams["max_batch_seconds"]
                        if mode == "dynamic"
                        else None
                    ),
                    "batches": len(batches),
                    "rounds": args.rounds,
                    "epoch_s": round(seconds, 2),
                    "train_utterances_per_s": round(len(seen) / seconds, 2),
                    "train_audio_seconds_per_s": round(real / seconds, 2),
                    "padding_fraction": round(1 - real / computed, 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
