#!/usr/bin/env python3
"""SA2SR training throughput: utterances (and seconds of audio) per second.

Runs full training steps (speed perturbation, features, SpecAugment,
encoder, CTC + sentiment loss, backward, Adam) of an SA2SR YAML on
synthetic batches, and prints one JSON line.

    python bench/sa2sr_throughput.py                # demo model, CPU
    python bench/sa2sr_throughput.py --device cuda --batch_size 32 \
        --hparams recipes/LibriSpeech/sa2sr/hparams/sa2sr.yaml

Numbers count input utterances (speed perturbation triples what the model
sees), after ``--warmup`` untimed steps.
"""

import json
import os
import sys

import speechbrain as sb
import torch
from timing import audio_seconds, parse, seconds_per_step, training_brain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def synthetic_batch(batch_size, seconds, sample_rate, generator, lengths=None):
    """A PaddedBatch like sa2sr_dataio_prep's, with random audio and text."""
    from speechbrain_ser.text.characters import character_encoder

    encoder = character_encoder()
    items = []
    for i in range(batch_size):
        length = int(seconds * sample_rate * (0.7 + 0.3 * i / batch_size))
        if lengths is not None:  # samples of each utterance
            length = lengths[i]
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
    args, overrides = parse(
        __doc__.split("\n\n")[0], os.path.join(ROOT, "hparams", "sa2sr.yaml")
    )
    from speechbrain_ser.text.characters import character_encoder

    brain, hparams = training_brain(
        args.hparams,
        overrides,
        args.device,
        extras={"char_encoder": character_encoder()},
        precision=args.precision,
        compile=args.compile,
    )
    generator = torch.Generator().manual_seed(0)
    batch = synthetic_batch(
        args.batch_size, args.seconds, hparams["sample_rate"], generator
    )
    step = seconds_per_step(brain, batch, args.steps, args.warmup, args.device)
    print(
        json.dumps(
            {
                "hparams": os.path.relpath(args.hparams, ROOT),
                "device": args.device,
                "precision": args.precision,
                "compile": args.compile,
                "torch_threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "hidden_size": hparams["hidden_size"],
                "num_layers": hparams["num_layers"],
                "train_utterances_per_s": round(args.batch_size / step, 2),
                "train_audio_seconds_per_s": round(
                    audio_seconds(batch, hparams["sample_rate"]) / step, 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
