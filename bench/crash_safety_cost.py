"""Cost of issue 22's safety checks: the run lock, the atomic checkpoint
and the duration / WAV-header truncation check.

    python bench/crash_safety_cost.py --data_folder <a corpus folder>

* lock: :class:`speechbrain_ser.run_lock.RunLock` acquire + release;
* save: one checkpoint of ``hparams/demo.yaml``'s model (all its
  recoverables), SpeechBrain's ``Checkpointer`` against
  :class:`speechbrain_ser.brains.checkpoints.AtomicCheckpointer` (temporary
  name, fsync of every file, rename), and the recovery-time validation of
  one checkpoint folder;
* duration: the audio check of every file under ``--data_folder``
  (header + WAV truncation; the comparison with the manifest's duration
  is arithmetic), first pass (no audio check cache; the OS file cache as
  it is) and second pass (from the cache file).

Prints one JSON line (medians in seconds).
"""

import argparse
import glob
import json
import os
import statistics
import tempfile
import time

from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_ser.brains.checkpoints import AtomicCheckpointer
from speechbrain_ser.data.audio_checks import AudioCheckCache, wav_truncation
from speechbrain_ser.run_lock import RunLock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data_folder", required=True)
    parser.add_argument("--saves", type=int, default=20)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    report = {}

    def lock_once():
        with RunLock(tmp):
            pass

    report["lock_acquire_release_s"] = median_seconds(lock_once, 200)

    with open(os.path.join(ROOT, "hparams", "demo.yaml")) as fin:
        hparams = load_hyperpyyaml(
            fin, {"output_folder": os.path.join(tmp, "demo")}
        )
    recoverables = dict(hparams["checkpointer"].recoverables)
    size = sum(p.numel() for p in hparams["modules"]["encoder"].parameters())
    report["demo_encoder_parameters"] = size
    for name, cls in (
        ("speechbrain", Checkpointer),
        ("atomic", AtomicCheckpointer),
    ):
        checkpointer = cls(os.path.join(tmp, name), recoverables)
        report[f"save_{name}_s"] = median_seconds(
            checkpointer.save_checkpoint, args.saves
        )
    checkpointer = AtomicCheckpointer(os.path.join(tmp, "v"), recoverables)
    saved = checkpointer.save_checkpoint()
    report["validate_checkpoint_folder_s"] = median_seconds(
        lambda: checkpointer.checkpoint_problem(saved.path), 200
    )
    report["checkpoint_bytes"] = sum(
        os.path.getsize(p) for p in glob.glob(f"{saved.path}/*")
    )

    files = sorted(
        p
        for p in glob.glob(f"{args.data_folder}/**/*", recursive=True)
        if p.lower().endswith((".wav", ".flac"))
    )
    cache_file = os.path.join(tmp, "audio_checks.json")
    for name in ("first_pass", "cached"):
        cache = AudioCheckCache(cache_file)
        start = time.perf_counter()
        for path in files:
            cache.check_file(path, decode=False)
        cache.save()
        report[f"header_check_{name}_s"] = time.perf_counter() - start
    start = time.perf_counter()
    for path in files:
        wav_truncation(path)
    report["wav_truncation_only_s"] = time.perf_counter() - start
    report["files"] = len(files)
    print(
        json.dumps(
            {
                k: v if isinstance(v, int) else round(v, 5)
                for k, v in report.items()
            }
        )
    )


if __name__ == "__main__":
    main()
