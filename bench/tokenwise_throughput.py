#!/usr/bin/env python3
"""Tokenwise contrastive pre-training throughput: utterances, seconds of
audio and transcript tokens per second.

Runs full training steps (speech encoder, frozen teacher, cross-modal
block, tokenwise InfoNCE, backward, Adam) of a tokenwise YAML on synthetic
batches (random audio, a fixed English sentence per utterance), and prints
one JSON line.

    python bench/tokenwise_throughput.py                   # demo YAML, CPU
    python bench/tokenwise_throughput.py --device cuda --batch_size 32 \
        --hparams $RECIPE/hparams/tokenwise.yaml --speech_size=384 \
        --whisper_source=../shared/models/whisper-tiny.en
    # RECIPE=recipes/LibriSpeech/tokenwise

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

SENTENCES = [
    "I can't believe you did that again.",
    "The meeting was moved to Thursday afternoon.",
    "What a wonderful surprise, thank you so much!",
    "Leave me alone, I have had enough of this.",
]


def synthetic_batch(batch_size, seconds, sample_rate, tokenizer, generator):
    """A PaddedBatch like tokenwise_dataio_prep's, with random audio."""
    items = []
    for i in range(batch_size):
        length = int(seconds * sample_rate * (0.7 + 0.3 * i / batch_size))
        ids = tokenizer(SENTENCES[i % len(SENTENCES)])["input_ids"]
        items.append(
            {
                "id": f"utt{i}",
                "sig": 0.1 * torch.randn(length, generator=generator),
                "text_tokens": torch.LongTensor(ids),
            }
        )
    return sb.dataio.batch.PaddedBatch(items)


def main():
    args, overrides = parse(
        __doc__.split("\n\n")[0],
        os.path.join(ROOT, "hparams", "tokenwise.yaml"),
    )
    brain, hparams = training_brain(args.hparams, overrides, args.device)
    generator = torch.Generator().manual_seed(0)
    batch = synthetic_batch(
        args.batch_size,
        args.seconds,
        hparams["sample_rate"],
        hparams["teacher"].tokenizer,
        generator,
    )
    step = seconds_per_step(brain, batch, args.steps, args.warmup, args.device)
    ids, lengths = batch.text_tokens
    tokens = lengths.sum().item() * ids.shape[1]
    print(
        json.dumps(
            {
                "hparams": os.path.relpath(args.hparams, ROOT),
                "device": args.device,
                "torch_threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "seconds": args.seconds,
                "speech_encoder": type(hparams["speech_encoder"]).__name__,
                "speech_size": hparams["speech_size"],
                "teacher_hidden_size": hparams["text_hidden_size"],
                "cross_modal_layers": hparams["cross_modal_layers"],
                "seconds_per_step": round(step, 3),
                "train_utterances_per_s": round(args.batch_size / step, 2),
                "train_audio_seconds_per_s": round(
                    audio_seconds(batch, hparams["sample_rate"]) / step, 2
                ),
                "train_tokens_per_s": round(tokens / step, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
