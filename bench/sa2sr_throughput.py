#!/usr/bin/env python3
"""SA2SR training throughput: utterances (and seconds of audio) per second.

Runs full training steps (speed perturbation, features, SpecAugment,
encoder, CTC + sentiment loss, backward, Adam) of an SA2SR YAML on
synthetic batches, and prints one JSON line.

    python bench/sa2sr_throughput.py                # demo model, CPU
    python bench/sa2sr_throughput.py --device cuda --batch_size 32 \
        --hparams recipes/LibriSpeech/SA2SR/hparams/sa2sr.yaml

Numbers count input utterances (speed perturbation triples what the model
sees), after ``--warmup`` untimed steps.
"""

import argparse
import json
import os
import sys
import time

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def synthetic_batch(batch_size, seconds, sample_rate, generator):
    """A PaddedBatch like sa2sr_dataio_prep's, with random audio and text."""
    from speechbrain_ser.text.characters import character_encoder

    encoder = character_encoder()
    items = []
    for i in range(batch_size):
        length = int(seconds * sample_rate * (0.7 + 0.3 * i / batch_size))
        text = "the quick brown fox jumps over the lazy dog"[: 15 + i % 25]
        items.append(
            {
                "id": f"utt{i}",
                "sig": 0.1 * torch.randn(length, generator=generator),
                "characters": text,
                "tokens": encoder.encode_sequence_torch(list(text)),
                "sentiment_encoded": torch.LongTensor([i % 3]),
            }
        )
    return sb.dataio.batch.PaddedBatch(items)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--hparams", default=os.path.join(ROOT, "hparams", "sa2sr.yaml")
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args, overrides = parser.parse_known_args()
    overrides = dict(item.lstrip("-").split("=", 1) for item in overrides)
    overrides.setdefault("data_folder", "unused")
    with open(args.hparams) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    from speechbrain_ser.text.characters import character_encoder

    hparams["char_encoder"] = character_encoder()
    brain = hparams["brain_class"](
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": args.device},
    )
    brain.init_optimizers()
    brain.on_stage_start(sb.Stage.TRAIN)
    generator = torch.Generator().manual_seed(0)
    batch = synthetic_batch(
        args.batch_size, args.seconds, hparams["sample_rate"], generator
    )
    audio_seconds = (
        batch.sig[1].sum().item()
        * batch.sig[0].shape[1]
        / hparams["sample_rate"]
    )
    for _ in range(args.warmup):
        brain.fit_batch(batch)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        brain.fit_batch(batch)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "hparams": os.path.relpath(args.hparams, ROOT),
                "device": args.device,
                "torch_threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "hidden_size": hparams["hidden_size"],
                "num_layers": hparams["num_layers"],
                "train_utterances_per_s": round(
                    args.steps * args.batch_size / elapsed, 2
                ),
                "train_audio_seconds_per_s": round(
                    args.steps * audio_seconds / elapsed, 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
