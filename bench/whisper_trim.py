#!/usr/bin/env python3
"""Whisper's encoder padded to 30 s vs trimmed to the real length.

For each clip duration, times ``WhisperEncoder`` (frozen, inference) with
``pad_to_30s=True`` (as SpeechBrain's wrapper and Whisper's training) and
``pad_to_30s=False`` (only the real length), and compares their frames:
mean cosine over the clip's frames, per hidden state. One JSON line per
duration on stdout (and appended to ``--output``).

    python bench/whisper_trim.py --source ../shared/models/whisper-tiny.en \\
        --audio ../shared/data/librispeech_351 --threads 1
    python bench/whisper_trim.py --source <whisper> --device cuda \\
        --batch_size 16

Clips are cut from the ``--audio`` folder's files (``*.flac``/``*.wav``,
resampled to 16 kHz), or are noise bursts without it. Times are medians of
``--repeats`` passes after ``--warmup`` untimed ones.
"""

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from speechbrain_ser.nnet.encoders import WhisperEncoder  # noqa: E402

SAMPLE_RATE = 16000


def clips(folder, seconds, count, generator):
    """``count`` clips of ``seconds`` of speech (or noise bursts)."""
    samples = int(seconds * SAMPLE_RATE)
    if folder is None:
        wav = 0.1 * torch.randn(count, samples, generator=generator)
        envelope = (torch.arange(samples) // 2000 % 3 != 0).float()
        return wav * envelope
    from speechbrain_ser.data.audio import read_audio

    files = sorted(
        glob.glob(os.path.join(folder, "**", "*.flac"), recursive=True)
        + glob.glob(os.path.join(folder, "**", "*.wav"), recursive=True)
    )
    out = []
    for path in files:
        wav = read_audio(path, SAMPLE_RATE)
        if wav.shape[0] >= samples:
            out.append(wav[:samples])
        if len(out) == count:
            return torch.stack(out)
    raise ValueError(f"{folder}: fewer than {count} files of {seconds} s")


def timed(encoder, wavs, repeats, warmup, device):
    """Median seconds of one forward pass, and its output."""
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            out = encoder(wavs)
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="Whisper folder")
    parser.add_argument("--audio", default=None, help="folder of speech")
    parser.add_argument("--durations", default="2,3,5,10")
    parser.add_argument("--batch_size", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--output", default=None, help="JSON lines file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    encoder = WhisperEncoder(
        args.source, save_path=tempfile.mkdtemp(), layer="all"
    )
    encoder = encoder.to(args.device).eval()
    generator = torch.Generator().manual_seed(0)
    for seconds in [float(s) for s in args.durations.split(",")]:
        wavs = clips(args.audio, seconds, args.batch_size, generator)
        wavs = wavs.to(args.device)
        encoder.pad_to_30s = True
        padded_s, padded = timed(
            encoder, wavs, args.repeats, args.warmup, args.device
        )
        encoder.pad_to_30s = False
        trimmed_s, trimmed = timed(
            encoder, wavs, args.repeats, args.warmup, args.device
        )
        cosine = torch.nn.functional.cosine_similarity(padded, trimmed, -1)
        row = {
            "source": os.path.basename(os.path.normpath(args.source)),
            "device": args.device,
            "gpu": torch.cuda.get_device_name()
            if args.device == "cuda"
            else None,
            "torch_threads": torch.get_num_threads(),
            "batch_size": args.batch_size,
            "clip_seconds": seconds,
            "audio": "speech" if args.audio else "noise bursts",
            "padded_ms": round(1000 * padded_s, 2),
            "trimmed_ms": round(1000 * trimmed_s, 2),
            "speedup": round(padded_s / trimmed_s, 2),
            "frames": trimmed.shape[1],
            # mean over clips and frames, per hidden state (0: embedding)
            "cosine_per_layer": [
                round(c, 4) for c in cosine.mean(dim=(0, 1)).tolist()
            ],
            "cosine_first_10_frames_last_layer": round(
                cosine[:, :10, -1].mean().item(), 4
            ),
        }
        line = json.dumps(row)
        print(line, flush=True)
        if args.output:
            with open(args.output, "a", encoding="utf-8") as fout:
                fout.write(line + "\n")


if __name__ == "__main__":
    main()
