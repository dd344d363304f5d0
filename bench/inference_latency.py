#!/usr/bin/env python3
"""Inference cost per shipped model type against its bare PyTorch twin.

For each model type (demo conv, SA2SR paper size, CPC, and Whisper-tiny
stats pooling when ``--whisper_source`` is given), on one CPU thread:
``EmotionRecognizer.classify_file`` on a ``--seconds`` clip (reading
included) against a bare program that reads the file with soundfile and
calls the same feature extractor and modules (same weights) directly.
Reported as x real time (audio seconds per compute second), their ratio,
the ONNX graph's latency where it exports, and the peak resident memory
of ``classify_file`` on a ``--long_seconds`` file (run in a child process
per model). Prints one JSON line per model type.

    python bench/inference_latency.py
    python bench/inference_latency.py \
        --whisper_source ../shared/models/whisper-tiny.en
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODEL_TYPES, ROOT, bare_forward, inference_folder  # noqa

sys.path.insert(0, ROOT)


def median_seconds(run, repeats):
    """Median wall time of ``run()`` over ``repeats`` calls after one."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory_mb(folder, path):
    """Peak RSS (MB) of a child process that predicts ``path``."""
    code = (
        "import resource, sys, torch\n"
        "torch.set_num_threads(1)\n"
        "from speechbrain_ser.inference import EmotionRecognizer\n"
        f"r = EmotionRecognizer.from_hparams(source={folder!r},"
        " run_opts={'device': 'cpu'})\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"r.classify_file({path!r})\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(base / 1024, peak / 1024)\n"
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    return float(out[-2]), float(out[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--long_seconds", type=float, default=3600.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--whisper_source", default=None)
    parser.add_argument("--models", nargs="+", default=list(MODEL_TYPES))
    parser.add_argument("--no_onnx", action="store_true")
    parser.add_argument("--no_memory", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from speechbrain_ser.inference import EmotionRecognizer

    work = tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    clip = os.path.join(work, "clip.wav")
    soundfile.write(
        clip, rng.standard_normal(int(16000 * args.seconds)) * 0.1, 16000
    )
    long_clip = os.path.join(work, "long.flac")
    if not args.no_memory:
        with soundfile.SoundFile(
            long_clip, "w", samplerate=16000, channels=1
        ) as fout:
            for _ in range(int(args.long_seconds // 60)):
                fout.write(rng.standard_normal(16000 * 60) * 0.1)
    for kind in args.models:
        if kind == "whisper_stats_pooling" and not args.whisper_source:
            continue
        folder = inference_folder(kind, args.whisper_source)
        recognizer = EmotionRecognizer.from_hparams(
            source=folder, run_opts={"device": "cpu"}
        )
        forward = bare_forward(recognizer)

        def bare():
            data, _ = soundfile.read(clip, dtype="float32")
            wav = torch.from_numpy(data).unsqueeze(0)
            forward(wav, torch.ones(1))

        ours = median_seconds(lambda: recognizer.classify_file(clip), 5)
        plain = median_seconds(bare, args.repeats)
        row = {
            "model": kind,
            "hparams": MODEL_TYPES[kind][0],
            "threads": args.threads,
            "clip_seconds": args.seconds,
            "classify_file_ms": round(1000 * ours, 1),
            "bare_ms": round(1000 * plain, 1),
            "x_real_time": round(args.seconds / ours, 1),
            "bare_x_real_time": round(args.seconds / plain, 1),
            "ours_over_bare": round(ours / plain, 3),
        }
        if not args.no_onnx:
            try:
                from speechbrain_ser.onnx_export import (
                    OnnxEmotionRecognizer,
                    export_onnx,
                )

                path = export_onnx(recognizer, os.path.join(work, "m.onnx"))
                onnx = OnnxEmotionRecognizer.from_hparams(
                    source=folder, run_opts={"device": "cpu"}
                ).load_onnx(path, threads=args.threads)
                row["onnx_classify_file_ms"] = round(
                    1000 * median_seconds(lambda: onnx.classify_file(clip), 5),
                    1,
                )
            except Exception as error:  # report, do not stop the bench
                row["onnx_error"] = f"{type(error).__name__}: {error}"[:300]
        if not args.no_memory:
            base, peak = peak_memory_mb(folder, long_clip)
            row["long_seconds"] = args.long_seconds
            row["rss_after_load_mb"] = round(base, 1)
            row["peak_rss_long_file_mb"] = round(peak, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
