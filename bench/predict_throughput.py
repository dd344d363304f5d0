#!/usr/bin/env python3
"""Corpus prediction throughput: batched against one file at a time.

Writes ``--n_files`` random clips of ``--min_seconds``..``--max_seconds``
and predicts them all with one model type (see bench/models.py):

* ``one_by_one``: ``EmotionRecognizer.classify_file`` per file;
* ``batched``: ``predict_corpus`` (length-sorted batches bounded by total
  duration), once for each ``--num_workers`` value (processes that decode,
  check for speech and pad; 0: all in the main process);
* ``bare_one_by_one`` / ``bare_batched``: a bare PyTorch program with the
  same feature extractor and modules: soundfile reading, then one file at
  a time, or length-sorted batches of ``--bare_batch_size``.

For each ``--threads`` and ``--num_workers`` value it prints one JSON line
with files per second, x real time and the batching speed-ups of ours and
of the bare program: medians of ``--rounds`` rounds, each of which times
every variant in turn (so a busy machine slows them alike).

    python bench/predict_throughput.py --model sa2sr_paper --threads 1 2
    python bench/predict_throughput.py --device cuda --threads 16
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import soundfile
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import (  # noqa
    MODEL_TYPES,
    ROOT,
    bare_forward,
    inference_folder,
    voiced_wave,
)

sys.path.insert(0, ROOT)


def write_clips(folder, n, low, high, seed=0):
    """n voiced 16 kHz clips (``models.voiced_wave``, which the speech
    detector lets through: white noise would skip the model) with
    durations uniform in [low, high]."""
    rng = np.random.default_rng(seed)
    paths, seconds = [], 0.0
    for i in range(n):
        duration = rng.uniform(low, high)
        path = os.path.join(folder, f"clip{i:04d}.wav")
        soundfile.write(path, voiced_wave(duration, seed=i), 16000)
        paths.append(path)
        seconds += duration
    return paths, seconds


def bare_runs(forward, paths, batch_size, device):
    """Bare PyTorch: one by one, then length-sorted batches."""
    from speechbrain.utils.data_utils import batch_pad_right

    def read(path):
        return torch.from_numpy(soundfile.read(path, dtype="float32")[0])

    start = time.perf_counter()
    for path in paths:
        forward(read(path).unsqueeze(0).to(device), torch.ones(1).to(device))
    one = time.perf_counter() - start
    start = time.perf_counter()
    wavs = sorted((read(path) for path in paths), key=len, reverse=True)
    for first in range(0, len(wavs), batch_size):
        batch, lengths = batch_pad_right(wavs[first : first + batch_size])
        forward(batch.to(device), lengths.to(device))
    return one, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="sa2sr_paper", choices=MODEL_TYPES)
    parser.add_argument("--whisper_source", default=None)
    parser.add_argument("--n_files", type=int, default=512)
    parser.add_argument("--min_seconds", type=float, default=2.0)
    parser.add_argument("--max_seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch_seconds", type=float, default=80.0)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--bare_batch_size", type=int, default=16)
    parser.add_argument("--num_workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from speechbrain_ser.inference import EmotionRecognizer
    from speechbrain_ser.inference.corpus import predict_corpus

    work = tempfile.mkdtemp()
    paths, audio = write_clips(
        work, args.n_files, args.min_seconds, args.max_seconds
    )
    folder = inference_folder(args.model, args.whisper_source)
    recognizer = EmotionRecognizer.from_hparams(
        source=folder, run_opts={"device": args.device}
    )
    forward = bare_forward(recognizer)
    for threads in args.threads:
        torch.set_num_threads(threads)
        # warm-up of every variant (allocator, thread pool, first batches)
        for path in paths[:16]:
            recognizer.classify_file(path)
        for workers in args.num_workers:
            predict_corpus(
                recognizer,
                paths[:32],
                os.path.join(work, f"warmup_{threads}_{workers}.jsonl"),
                max_batch_seconds=args.batch_seconds,
                max_batch_size=args.batch_size,
                num_workers=workers,
                progress=False,
            )
        bare_runs(forward, paths[:32], args.bare_batch_size, args.device)
        times = {"one": [], "bare_one": [], "bare_batched": []}
        times.update({workers: [] for workers in args.num_workers})
        for round_ in range(args.rounds):  # interleaved: same load for all
            start = time.perf_counter()
            for path in paths:
                recognizer.classify_file(path)
            times["one"].append(time.perf_counter() - start)
            for workers in args.num_workers:
                out = os.path.join(work, f"{threads}_{workers}_{round_}.jsonl")
                start = time.perf_counter()
                predict_corpus(
                    recognizer,
                    paths,
                    out,
                    max_batch_seconds=args.batch_seconds,
                    max_batch_size=args.batch_size,
                    num_workers=workers,
                    progress=False,
                )
                times[workers].append(time.perf_counter() - start)
            bare_one, bare_batched = bare_runs(
                forward, paths, args.bare_batch_size, args.device
            )
            times["bare_one"].append(bare_one)
            times["bare_batched"].append(bare_batched)
        one, bare_one, bare_batched = (
            statistics.median(times[key])
            for key in ("one", "bare_one", "bare_batched")
        )
        for workers in args.num_workers:
            batched = statistics.median(times[workers])
            row = {
                "model": args.model,
                "device": args.device,
                "threads": threads,
                "files": len(paths),
                "audio_seconds": round(audio, 1),
                "rounds": args.rounds,
                "num_workers": workers,
                "one_by_one_files_per_s": round(len(paths) / one, 1),
                "batched_files_per_s": round(len(paths) / batched, 1),
                "batched_x_real_time": round(audio / batched, 1),
                "batching_speedup": round(one / batched, 2),
                "bare_one_by_one_files_per_s": round(len(paths) / bare_one, 1),
                "bare_batched_files_per_s": round(len(paths) / bare_batched, 1),
                "bare_batching_speedup": round(bare_one / bare_batched, 2),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
