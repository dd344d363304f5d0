#!/usr/bin/env python3
"""Corpus prediction throughput: one process against torchrun's ranks.

Exports an untrained model of ``--model`` (see bench/models.py), links
the first ``--n_files`` audio files of ``--audio`` (searched recursively)
into a corpus folder and predicts them with ``speechbrain-ser predict``:

* ``1 process x 1 thread`` and ``1 process x N threads`` (no torchrun);
* ``torchrun --nproc_per_node=N``, 1 thread per process.

Each run is timed from the command's start to its end (process start,
model loading, header reading and merging included). It prints one JSON
line per run: files per second, seconds of audio per second, and the
largest difference of any number against the single-process output (the
outputs must hold the same files; numbers within 1e-6).

    python bench/distributed_predict.py --model whisper_stats_pooling \\
        --whisper_source <a Whisper folder> --audio <folder> --n_files 120
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import soundfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODEL_TYPES, ROOT, inference_folder  # noqa

from speechbrain_ser.inference.corpus import expand_inputs  # noqa


def largest_difference(rows, reference):
    """Largest absolute difference of any number, over files."""
    worst = 0.0
    for name, row in reference.items():
        other = rows[name]
        for key, value in row.items():
            if key == "probabilities":
                for label, p in value.items():
                    worst = max(worst, abs(other[key][label] - p))
            elif isinstance(value, float):
                worst = max(worst, abs(other[key] - value))
    return worst


def run(command, threads, env_extra=None):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=str(threads))
    env.update(env_extra or {})
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr[-3000:])
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODEL_TYPES), required=True)
    parser.add_argument("--whisper_source", default=None)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--n_files", type=int, default=120)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", default=None, help="JSON lines to append")
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    model = inference_folder(args.model, args.whisper_source, work)
    corpus = os.path.join(work, "corpus")
    os.makedirs(corpus)
    files = sorted(expand_inputs([args.audio]))[: args.n_files]
    audio_seconds = 0.0
    for i, path in enumerate(files):
        ext = os.path.splitext(path)[1]
        os.symlink(os.path.abspath(path), f"{corpus}/{i:05d}{ext}")
        audio_seconds += soundfile.info(path).duration
    cli = ["-m", "speechbrain_ser.cli", "predict", "--model", model]
    n = args.processes
    runs = {
        "1 process x 1 thread": ([sys.executable], 1),
        f"1 process x {n} threads": ([sys.executable], n),
        f"torchrun {n} processes x 1 thread": (
            [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            + [f"--nproc_per_node={n}"],
            1,
        ),
    }
    reference = None
    for name, (launcher, threads) in runs.items():
        output = os.path.join(work, f"{len(name)}_{threads}.jsonl")
        command = launcher + cli + ["--output", output, "--no-progress"]
        seconds = run(command + [corpus], threads)
        rows = {}
        for line in open(output):
            row = json.loads(line)
            rows[row["file"]] = row
        if reference is None:
            reference = rows
        assert sorted(rows) == sorted(reference), name
        result = {
            "bench": "distributed_predict",
            "run": name,
            "model": args.model,
            "files": len(files),
            "audio_seconds": round(audio_seconds, 1),
            "seconds": round(seconds, 2),
            "files_per_second": round(len(files) / seconds, 3),
            "audio_seconds_per_second": round(audio_seconds / seconds, 2),
            "largest_difference_vs_1_process": largest_difference(
                rows, reference
            ),
            "cpu_count": os.cpu_count(),
        }
        print(json.dumps(result), flush=True)
        if args.out:
            with open(args.out, "a") as fout:
                fout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
