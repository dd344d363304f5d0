#!/usr/bin/env python3
"""Inference cost per shipped model type against its bare PyTorch twin.

For each model type (demo conv, SA2SR paper size, CPC, and Whisper-tiny
stats pooling when ``--whisper_source`` is given), on one CPU thread:
``EmotionRecognizer.classify_file`` on a ``--seconds`` clip (reading
included) against a bare program that reads the file with soundfile and
calls the same feature extractor and modules (same weights) directly.
The bare program, ``classify_file`` and the ONNX graph's
``classify_file`` are timed in turn, round after round (``--repeats``,
the order rotating), so that load on a shared machine hits them alike;
medians and minima are reported; ``ours_over_bare`` is the median of the
per-round ratios, ``ours_over_bare_min`` the ratio of the minima (the
least disturbed runs). The clip is
a synthetic voiced signal (the speech detector must let it through).
Also the resident memory of a child process per model: after loading,
and its peak while ``classify_file`` reads a ``--long_seconds`` file. Prints one
JSON line per model type.

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


def interleaved_ms(runs, repeats):
    """Milliseconds of each run, the runs taken in turn.

    ``runs`` maps a name to a function. Each is called once to warm up,
    then all are called one after the other ``repeats`` times, the order
    rotating every round, so that load changes on a shared machine hit
    all of them alike.

    Returns
    -------
    dict
        name -> ``median_ms``, ``min_ms`` and ``ratio``: the median over
        rounds of its time over the first run's time (a paired ratio).
    """
    for run in runs.values():
        run()
    names = list(runs)
    times = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    first = times[names[0]]
    return {
        name: {
            "median_ms": 1000 * statistics.median(t),
            "min_ms": 1000 * min(t),
            "ratio": statistics.median(a / b for a, b in zip(t, first)),
        }
        for name, t in times.items()
    }


MEMORY_CHILD = """
import sys, torch
torch.set_num_threads(1)
from speechbrain_ser.inference import EmotionRecognizer


def status_mb(key):
    with open("/proc/self/status") as fin:
        for line in fin:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024


folder, path = sys.argv[1:3]
r = EmotionRecognizer.from_hparams(source=folder, run_opts={"device": "cpu"})
r.classify_file(sys.argv[3])  # first call: lazy allocations
base = status_mb("VmRSS")
load_peak = status_mb("VmHWM")
with open("/proc/self/clear_refs", "w") as fout:
    fout.write("5")  # resets VmHWM (the peak) to the current RSS
result = r.classify_file(path)
assert result["speech"], result
print(base, load_peak, status_mb("VmHWM"))
"""


def peak_memory_mb(folder, path, warm_clip):
    """Resident memory (MB) of a child process that predicts ``path``.

    Returns the RSS after loading the model (and one short prediction),
    the peak up to then, and the peak while ``classify_file(path)`` runs
    (Linux's VmHWM, reset before the call through ``clear_refs``).
    """
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    )
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, folder, path, warm_clip],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
    return tuple(float(value) for value in out[-3:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--long_seconds", type=float, default=3600.0)
    parser.add_argument(
        "--repeats", type=int, default=15, help="interleaved rounds"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--whisper_source", default=None)
    parser.add_argument("--models", nargs="+", default=list(MODEL_TYPES))
    parser.add_argument("--no_onnx", action="store_true")
    parser.add_argument("--no_memory", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from speechbrain_ser.inference import EmotionRecognizer

    work = tempfile.mkdtemp()
    clip = os.path.join(work, "clip.wav")
    soundfile.write(clip, voiced_wave(args.seconds), 16000)
    long_clip = os.path.join(work, "long.flac")
    if not args.no_memory:
        with soundfile.SoundFile(
            long_clip, "w", samplerate=16000, channels=1
        ) as fout:
            minute = voiced_wave(60.0)
            for _ in range(int(args.long_seconds // 60)):
                fout.write(minute)
    for kind in args.models:
        if kind == "whisper_stats_pooling" and not args.whisper_source:
            continue
        folder = inference_folder(kind, args.whisper_source)
        recognizer = EmotionRecognizer.from_hparams(
            source=folder, run_opts={"device": "cpu"}
        )
        if not recognizer.classify_file(clip)["speech"]:
            raise RuntimeError(f"{clip}: the speech detector refused it")
        forward = bare_forward(recognizer)

        def bare():
            data, _ = soundfile.read(clip, dtype="float32")
            wav = torch.from_numpy(data).unsqueeze(0)
            forward(wav, torch.ones(1))

        runs = {"bare": bare, "ours": lambda: recognizer.classify_file(clip)}
        row = {
            "model": kind,
            "hparams": MODEL_TYPES[kind][0],
            "threads": args.threads,
            "clip_seconds": args.seconds,
            "repeats": args.repeats,
        }
        if not args.no_onnx:
            try:
                from speechbrain_ser.inference.onnx import (
                    OnnxEmotionRecognizer,
                    export_onnx,
                )

                path = export_onnx(recognizer, os.path.join(work, "m.onnx"))
                onnx = OnnxEmotionRecognizer.from_hparams(
                    source=folder, run_opts={"device": "cpu"}
                ).load_onnx(path, threads=args.threads)
                runs["onnx"] = lambda: onnx.classify_file(clip)
            except Exception as error:  # report, do not stop the bench
                row["onnx_error"] = f"{type(error).__name__}: {error}"[:300]
        timed = interleaved_ms(runs, args.repeats)
        ours, bare_ = timed["ours"], timed["bare"]
        row.update(
            classify_file_ms=round(ours["median_ms"], 1),
            bare_ms=round(bare_["median_ms"], 1),
            x_real_time=round(1000 * args.seconds / ours["median_ms"], 1),
            bare_x_real_time=round(1000 * args.seconds / bare_["median_ms"], 1),
            ours_over_bare=round(ours["ratio"], 3),
            classify_file_min_ms=round(ours["min_ms"], 1),
            bare_min_ms=round(bare_["min_ms"], 1),
            ours_over_bare_min=round(ours["min_ms"] / bare_["min_ms"], 3),
        )
        if "onnx" in timed:
            onnx_ = timed["onnx"]
            row.update(
                onnx_classify_file_ms=round(onnx_["median_ms"], 1),
                onnx_min_ms=round(onnx_["min_ms"], 1),
                onnx_over_bare=round(onnx_["ratio"], 3),
                onnx_over_ours=round(onnx_["median_ms"] / ours["median_ms"], 3),
            )
        if not args.no_memory:
            base, load_peak, peak = peak_memory_mb(folder, long_clip, clip)
            row["long_seconds"] = args.long_seconds
            row["rss_after_load_mb"] = round(base, 1)
            row["peak_rss_loading_mb"] = round(load_peak, 1)
            row["peak_rss_long_file_mb"] = round(peak, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
