#!/usr/bin/env python3
"""Peak training memory of the speech + text model, and the batch that fits.

Xagorari et al. (2022) could fine-tune wav2vec2-base only with batch size
1 (Colab). This measures one full training step (speech encoder, text
encoder, late fusion, losses, backward, AdamW) of hparams/speech_text.yaml
on synthetic batches, for several micro-batch sizes and four settings:

* ``fp32``: plain;
* ``checkpointing``: gradient checkpointing of the speech encoder;
* ``mixed``: ``--precision`` bf16 (CPU) or fp16 (CUDA);
* ``checkpointing+mixed``.

SpeechBrain's gradient accumulation (``grad_accumulation_factor: k``)
keeps the memory of one micro-batch b and updates on b * k utterances, so
the effective batch is any multiple of the micro-batch that fits; the
``--accumulation_factors`` rows measure it (k micro-batch steps, one
optimizer step, the peak over all k).

    python bench/speech_text_memory.py                        # CPU, small
    python bench/speech_text_memory.py --speech base --seconds 2 \\
        --batch_sizes 1 2 4 8 16 --budget_gb 4 --max_gb 7   # CPU, paper's
    python bench/speech_text_memory.py --device cuda --speech base \\
        --batch_sizes 1 2 4 8 16 32 --seconds 8 --budget_gb 15 --max_gb 70

``--speech base`` builds a randomly initialised model with wav2vec2-base's
architecture (the paper's encoder; 95M parameters) and ``demo`` the small
one of the YAML. Memory: CUDA ``torch.cuda.max_memory_allocated`` during
the measured step; CPU the peak resident set size sampled during the step
minus the resident size before it (so the model and optimizer state,
created in an untimed first step on a batch of 1, are excluded; they are
reported apart). Each measurement runs in its own process; a batch size
whose total, extrapolated from the two smaller ones, would pass
``--max_gb`` is not run. Prints one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# wav2vec2-base (Baevski et al. 2020), the encoder Xagorari et al. 2022
# fine-tune; randomly initialised here (no weights are installable).
WAV2VEC2_BASE = {
    "model_type": "wav2vec2",
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "feat_extract_norm": "group",
    "do_stable_layer_norm": False,
}
SETTINGS = {
    "fp32": (False, False),
    "checkpointing": (True, False),
    "mixed": (False, True),
    "checkpointing+mixed": (True, True),
}


def rss_bytes():
    """Resident set size of this process (Linux)."""
    with open("/proc/self/statm") as fin:
        return int(fin.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples the resident set size in a thread; ``peak`` after exit."""

    def __enter__(self):
        self.peak, self._stop = rss_bytes(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def synthetic_batch(batch_size, seconds, tokenizer, generator):
    """A PaddedBatch like speech_text_dataio_prep's."""
    import speechbrain as sb
    import torch

    sentence = "well i really did not expect that to happen today at all"
    items = []
    for i in range(batch_size):
        length = int(seconds * 16000 * (0.7 + 0.3 * (i + 1) / batch_size))
        ids = tokenizer(sentence)["input_ids"][: 8 + i % 8]
        items.append(
            {
                "id": f"utt{i}",
                "sig": 0.1 * torch.randn(length, generator=generator),
                "text_tokens": torch.LongTensor(ids),
                "emotion_encoded": torch.LongTensor([i % 4]),
                "avd": torch.rand(3, generator=generator) * 2 - 1,
            }
        )
    return sb.dataio.batch.PaddedBatch(items)


def measure(args):
    """One (setting, batch size, accumulation) in this process: a JSON
    line on stdout."""
    import speechbrain as sb
    import torch
    from hyperpyyaml import load_hyperpyyaml

    torch.manual_seed(0)
    checkpointing, mixed = SETTINGS[args.setting]
    precision = "fp32"
    if mixed:
        precision = "fp16" if args.device.startswith("cuda") else "bf16"
    overrides = {
        "data_folder": "unused",
        "output_folder": tempfile.mkdtemp(),
        "gradient_checkpointing": checkpointing,
        "modalities": args.modalities,
    }
    if args.speech == "base":
        overrides["speech_config"] = WAV2VEC2_BASE
        overrides["speech_hidden_size"] = WAV2VEC2_BASE["hidden_size"]
    with open(args.hparams) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    brain = hparams["brain_class"](
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={
            "device": args.device,
            "precision": precision,
            "grad_accumulation_factor": args.grad_accumulation,
        },
    )
    brain.init_optimizers()
    brain.modules.train()
    brain.on_stage_start(sb.Stage.TRAIN)
    tokenizer = hparams["text_encoder"].tokenizer
    generator = torch.Generator().manual_seed(0)
    brain.fit_batch(synthetic_batch(1, args.seconds, tokenizer, generator))
    batch = synthetic_batch(args.batch_size, args.seconds, tokenizer, generator)
    result = {
        "setting": args.setting,
        "batch_size": args.batch_size,
        "grad_accumulation": args.grad_accumulation,
        "effective_batch": args.batch_size * args.grad_accumulation,
    }

    def update():  # k micro-batches, the optimizer steps on the last
        for step in range(1, args.grad_accumulation + 1):
            brain.step = step
            brain.fit_batch(batch)

    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        start = time.perf_counter()
        update()
        torch.cuda.synchronize()
        result["seconds_per_update"] = time.perf_counter() - start
        result["peak_gb"] = torch.cuda.max_memory_allocated() / 1e9
        result["model_and_optimizer_gb"] = before / 1e9
    else:
        before = rss_bytes()
        start = time.perf_counter()
        with PeakRSS() as peak:
            update()
        result["seconds_per_update"] = time.perf_counter() - start
        result["step_peak_gb"] = (peak.peak - before) / 1e9
        result["model_and_optimizer_gb"] = before / 1e9
        result["total_peak_gb"] = peak.peak / 1e9
    print(json.dumps(result), flush=True)


def extrapolated_total(rows, batch_size, peak_key):
    """Total memory a batch size would take, linear in the batch size
    from the two largest measured ones (None with fewer than two)."""
    done = [r for r in rows if peak_key in r]
    if len(done) < 2:
        return None
    a, b = done[-2], done[-1]
    slope = (b[peak_key] - a[peak_key]) / (b["batch_size"] - a["batch_size"])
    step = b[peak_key] + slope * (batch_size - b["batch_size"])
    return step + (
        b["model_and_optimizer_gb"] if peak_key == "step_peak_gb" else 0
    )


def run_one(args, setting, batch_size, accumulation):
    """Measures one configuration in a subprocess; its row."""
    command = [sys.executable, os.path.abspath(__file__)]
    command += [
        f"--hparams={args.hparams}",
        f"--device={args.device}",
        f"--speech={args.speech}",
        f"--modalities={args.modalities}",
        f"--seconds={args.seconds}",
        f"--setting={setting}",
        f"--batch_size={batch_size}",
        f"--grad_accumulation={accumulation}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode or not lines:
        tail = done.stderr.strip().splitlines()[-1:]
        return {
            "setting": setting,
            "batch_size": batch_size,
            "grad_accumulation": accumulation,
            "error": tail[0] if tail else "failed",
        }
    row = json.loads(lines[-1])
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--hparams", default=os.path.join(ROOT, "hparams", "speech_text.yaml")
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--speech", choices=("demo", "base"), default="demo")
    parser.add_argument("--modalities", default="both")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument(
        "--accumulation_factors",
        type=int,
        nargs="*",
        default=[4],
        help="gradient accumulation rows (k micro-batches per update)",
    )
    parser.add_argument(
        "--accumulation_batch_sizes", type=int, nargs="*", default=[1, 2]
    )
    parser.add_argument(
        "--max_gb",
        type=float,
        default=6.0,
        help="skip a batch size whose extrapolated total passes this",
    )
    parser.add_argument(
        "--budget_gb",
        type=float,
        default=None,
        help="report the largest measured batch whose peak fits in it",
    )
    parser.add_argument("--setting", help=argparse.SUPPRESS)
    parser.add_argument("--batch_size", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--grad_accumulation", type=int, default=1, help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.setting:
        return measure(args)
    peak_key = "peak_gb" if args.device.startswith("cuda") else "step_peak_gb"
    rows = []
    for setting in args.settings:
        measured = []
        for batch_size in args.batch_sizes:
            total = extrapolated_total(measured, batch_size, peak_key)
            if total is not None and total > args.max_gb:
                rows.append(
                    {
                        "setting": setting,
                        "batch_size": batch_size,
                        "skipped": f"extrapolated total {total:.2f} GB > "
                        f"--max_gb {args.max_gb}",
                    }
                )
                break
            row = run_one(args, setting, batch_size, 1)
            rows.append(row)
            measured.append(row)
            if "error" in row:
                break  # larger batches fail too (out of memory)
    for accumulation in args.accumulation_factors:
        for setting in args.settings:
            for batch_size in args.accumulation_batch_sizes:
                rows.append(run_one(args, setting, batch_size, accumulation))
    report = {
        "device": args.device,
        "speech": args.speech,
        "modalities": args.modalities,
        "seconds_per_utterance": args.seconds,
        "memory": peak_key,
        "rows": rows,
    }
    if args.budget_gb is not None:
        budget = args.budget_gb
        if peak_key == "step_peak_gb":  # the model must fit too
            budget -= max(r.get("model_and_optimizer_gb", 0) for r in rows)
        report["budget_gb"] = args.budget_gb
        report["largest_batch_that_fits"] = {
            setting: max(
                (
                    r["batch_size"]
                    for r in rows
                    if r["setting"] == setting
                    and r.get("grad_accumulation", 1) == 1
                    and r.get(peak_key, 1e9) <= budget
                ),
                default=0,
            )
            for setting in args.settings
        }
        report["largest_effective_batch_measured_that_fits"] = {
            setting: max(
                (
                    r["effective_batch"]
                    for r in rows
                    if r["setting"] == setting
                    and r.get(peak_key, 1e9) <= budget
                ),
                default=0,
            )
            for setting in args.settings
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
