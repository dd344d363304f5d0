#!/usr/bin/env python3
"""CPC pre-training throughput: utterances (and seconds of audio) per second.

Runs full training steps (frame encoder, GRU, K prediction heads, InfoNCE,
backward, Adam) of a CPC YAML on synthetic batches, and prints one JSON
line.

    python bench/cpc_throughput.py                          # demo, fbank
    python bench/cpc_throughput.py --input_type=waveform    # demo, waveform
    python bench/cpc_throughput.py --device cuda --batch_size 32 \
        --hparams recipes/LibriSpeech/cpc/hparams/cpc.yaml

Times are taken after ``--warmup`` untimed steps. Unknown ``--key=value``
arguments override the YAML.
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
    """A PaddedBatch like unlabelled_dataio_prep's, with random audio."""
    items = []
    for i in range(batch_size):
        length = int(seconds * sample_rate * (0.7 + 0.3 * i / batch_size))
        if lengths is not None:  # samples of each utterance
            length = lengths[i]
        items.append(
            {
                "id": f"utt{i}",
                "sig": 0.1 * torch.randn(length, generator=generator),
            }
        )
    return sb.dataio.batch.PaddedBatch(items)


def main():
    args, overrides = parse(
        __doc__.split("\n\n")[0], os.path.join(ROOT, "hparams", "cpc.yaml")
    )
    brain, hparams = training_brain(
        args.hparams,
        overrides,
        args.device,
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
                "input_type": hparams["input_type"],
                "encoder_dim": hparams["encoder_dim"],
                "context_dim": hparams["context_dim"],
                "train_utterances_per_s": round(args.batch_size / step, 2),
                "train_audio_seconds_per_s": round(
                    audio_seconds(batch, hparams["sample_rate"]) / step, 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
