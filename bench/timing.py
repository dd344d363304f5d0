"""Shared pieces of the training-throughput benchmarks in bench/."""

import argparse
import time

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml


def parse(description, default_hparams):
    """Common options; unknown ``--key=value`` arguments are YAML overrides.

    Returns
    -------
    args : argparse.Namespace
    overrides : dict
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--hparams", default=default_hparams)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument(
        "--rounds", type=int, default=3, help="repeats; the median is kept"
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "fp16", "bf16"),
        help="SpeechBrain's mixed precision (autocast) for training steps",
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the modules"
    )
    args, overrides = parser.parse_known_args()
    overrides = dict(item.lstrip("-").split("=", 1) for item in overrides)
    overrides.setdefault("data_folder", "unused")
    return args, overrides


def training_brain(hparams_file, overrides, device, extras=None, **run_opts):
    """The YAML's Brain with its optimiser, ready for ``fit_batch``.

    ``run_opts`` (e.g. ``precision="bf16"``, ``compile=True``) go to the
    Brain as SpeechBrain's command-line options would.
    """
    with open(hparams_file) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    hparams.update(extras or {})
    brain = hparams["brain_class"](
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": device, **run_opts},
    )
    if run_opts.get("compile"):
        brain._compile()
    brain.init_optimizers()
    brain.on_stage_start(sb.Stage.TRAIN)
    return brain, hparams


def seconds_per_step(brain, batch, steps, warmup, device):
    """Mean wall time of ``brain.fit_batch(batch)`` after warm-up steps."""
    for _ in range(warmup):
        brain.fit_batch(batch)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        brain.fit_batch(batch)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def audio_seconds(batch, sample_rate):
    """Seconds of (unpadded) audio in a PaddedBatch's ``sig``."""
    wavs, lengths = batch.sig
    return lengths.sum().item() * wavs.shape[1] / sample_rate
