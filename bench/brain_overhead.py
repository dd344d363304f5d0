#!/usr/bin/env python3
"""Training-loop overhead: our Brain against a bare PyTorch loop.

The same model (the YAML's modules, copied so that both start from the
same weights), the same batches and the same optimiser settings are
trained ``--steps`` steps by ``EmotionBrain.fit_batch`` and by a plain
loop (features, normalisation, encoder, head, cross-entropy + CCC,
backward, gradient-norm clipping as SpeechBrain does, Adam step). The two
alternate in ``--rounds`` rounds and the median is kept. The data loader
that training uses (``emotion_dataio_prep`` + SpeechBrain's loader over
``--loader_batches`` batches of WAV files written here) is timed alone, to
show it is never the bottleneck, next to the same loader with SpeechBrain's
default collation (``PaddedBatch`` padding each waveform, then stacking).
Its rate is the steady one within an epoch (worker processes started
once, as ``persistent_workers`` does, and the first batch not counted);
the first epoch's rate, start-up included, is printed next to it, and the
training process's CPU time per batch (with workers: the cost of receiving
it). Prints one JSON line.

    python bench/brain_overhead.py                       # demo model, CPU
    python bench/brain_overhead.py --device cuda --batch_size 32 \
        --num_workers=8 [--file_system_sharing=True]
"""

import copy
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import soundfile
import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from timing import parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

LABELS = ("angry", "happy", "neutral", "sad")


def write_corpus(folder, n, seconds, sample_rate=16000, seed=0):
    """n random WAV clips of 0.7-1.0 x ``seconds`` and three manifests."""
    rng = np.random.default_rng(seed)
    entries = {}
    for i in range(n):
        path = os.path.join(folder, f"utt{i}.wav")
        length = int(sample_rate * seconds * rng.uniform(0.7, 1.0))
        soundfile.write(path, rng.standard_normal(length) * 0.1, sample_rate)
        entries[f"utt{i}"] = {
            "wav": path,
            "duration": length / sample_rate,
            "speaker": f"s{i % 4}",
            "emotion": LABELS[i % 4],
            "activation": float(rng.uniform(1, 5)),
            "valence": float(rng.uniform(1, 5)),
            "dominance": float(rng.uniform(1, 5)),
        }
    paths = {}
    for split in ("train", "valid", "test"):
        paths[split] = os.path.join(folder, f"{split}.json")
        with open(paths[split], "w") as fout:
            json.dump(entries, fout)
    return paths


def bare_step(modules, features, optimizer, batch, hparams, device):
    """One plain PyTorch training step of the same computation."""
    wavs, lengths = batch.sig
    x = features(wavs.to(device))
    lengths = lengths.to(device)
    if "mean_var_norm" in modules:
        x = modules["mean_var_norm"](x, lengths)
    embedding = modules["head"](modules["encoder"](x, lengths), lengths)
    labels = batch.emotion_encoded.data.to(device).view(-1)
    loss = torch.nn.functional.cross_entropy(
        modules["emotion_out"](embedding), labels
    )
    loss = loss + hparams["ccc_loss"](
        modules["avd_out"](embedding), batch.avd.data.to(device)
    )
    loss.backward()
    torch.nn.utils.clip_grad_norm_(
        [p for m in modules.values() for p in m.parameters()], 5.0
    )
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def timed(run, batches, device):
    """Wall seconds of ``run(batch)`` over all batches."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for batch in batches:
        run(batch)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def batches_per_second(loader):
    """Steady rate of one epoch of ``loader``: the batches after the first
    over the time after it (worker start-up and first fill excluded), and
    this process's CPU seconds per batch (with workers: what receiving a
    batch costs the training process)."""
    iterator = iter(loader)
    next(iterator)
    start, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in iterator)
    seconds = time.perf_counter() - start
    return count / seconds, (time.process_time() - cpu) / count


def main():
    args, overrides = parse(
        __doc__.split("\n\n")[0], os.path.join(ROOT, "hparams", "demo.yaml")
    )
    workers = overrides.pop("num_workers", None)  # the loader's only
    args.num_workers = None if workers is None else int(workers)
    args.loader_batches = int(overrides.pop("loader_batches", 40))
    args.file_system_sharing = overrides.pop("file_system_sharing", "") in (
        "True",
        "true",
    )
    from hyperpyyaml import load_hyperpyyaml

    from speechbrain_ser.data.emotion import emotion_dataio_prep

    folder = tempfile.mkdtemp()
    n_files = args.batch_size * max(args.steps, args.loader_batches)
    paths = write_corpus(folder, n_files, args.seconds)
    overrides.update(
        {
            "data_folder": folder,
            "output_folder": os.path.join(folder, "run"),
            "train_manifest": paths["train"],
            "valid_manifest": paths["valid"],
            "test_manifest": paths["test"],
            "batch_size": args.batch_size,
            "prepare": None,
        }
    )
    with open(args.hparams) as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    datasets, extras = emotion_dataio_prep(hparams)
    hparams.update(extras)
    loader_options = dict(hparams["train_dataloader_options"])
    if args.num_workers is not None:
        loader_options["num_workers"] = args.num_workers
    if loader_options.get("num_workers", 0) > 0:
        # workers start once, as in an epoch of real length; their
        # start-up is timed on its own
        loader_options["persistent_workers"] = True
    if args.file_system_sharing:
        from speechbrain_ser.data.batching import share_tensors_by_file_system

        loader_options["worker_init_fn"] = share_tensors_by_file_system
    loader = sb.dataio.dataloader.make_dataloader(
        datasets["train"], **loader_options
    )
    # the same loader with SpeechBrain's default collation (pad each
    # waveform, then stack), for comparison with the pipeline's own
    plain_options = dict(loader_options, collate_fn=PaddedBatch)
    plain_loader = sb.dataio.dataloader.make_dataloader(
        datasets["train"], **plain_options
    )
    start = time.perf_counter()
    batches = list(loader)  # starts the workers, if any
    loader_first_epoch = time.perf_counter() - start
    list(plain_loader)
    loader_rates, loader_cpu, plain_rates = [], [], []
    for _ in range(args.rounds):
        rate, cpu = batches_per_second(loader)
        loader_rates.append(rate)
        loader_cpu.append(cpu)
        plain_rates.append(batches_per_second(plain_loader)[0])
    loader_rate = statistics.median(loader_rates)
    plain_rate = statistics.median(plain_rates)
    batches = batches[: args.steps]

    bare_modules = {
        name: copy.deepcopy(module).to(args.device).train()
        for name, module in hparams["modules"].items()
    }
    features = copy.deepcopy(hparams["compute_features"]).to(args.device)
    bare_optimizer = hparams["opt_class"](
        [p for m in bare_modules.values() for p in m.parameters()]
    )
    brain = hparams["brain_class"](
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts={"device": args.device},
    )
    brain.init_optimizers()
    brain.modules.train()
    brain.on_stage_start(sb.Stage.TRAIN)

    def bare(batch):
        bare_step(
            bare_modules, features, bare_optimizer, batch, hparams, args.device
        )

    for _ in range(args.warmup):
        brain.fit_batch(batches[0])
        bare(batches[0])
    brain_times, bare_times = [], []
    for _ in range(args.rounds):
        brain_times.append(timed(brain.fit_batch, batches, args.device))
        bare_times.append(timed(bare, batches, args.device))
    brain_step = statistics.median(brain_times) / len(batches)
    bare_step_s = statistics.median(bare_times) / len(batches)
    print(
        json.dumps(
            {
                "hparams": os.path.relpath(args.hparams, ROOT),
                "device": args.device,
                "torch_threads": torch.get_num_threads(),
                "batch_size": args.batch_size,
                "clip_seconds": args.seconds,
                "steps": len(batches),
                "rounds": args.rounds,
                "brain_step_ms": round(1000 * brain_step, 2),
                "bare_step_ms": round(1000 * bare_step_s, 2),
                "brain_over_bare": round(brain_step / bare_step_s, 3),
                "loader_workers": loader_options.get("num_workers", 0),
                "file_system_sharing": args.file_system_sharing,
                "loader_batches": len(loader),
                "loader_batches_per_s": round(loader_rate, 2),
                "loader_main_process_cpu_ms_per_batch": round(
                    1000 * statistics.median(loader_cpu), 2
                ),
                "loader_first_epoch_batches_per_s": round(
                    len(loader) / loader_first_epoch, 2
                ),
                "loader_speechbrain_collate_batches_per_s": round(
                    plain_rate, 2
                ),
                "loader_ms_per_utterance": round(
                    1000 / (loader_rate * args.batch_size), 3
                ),
                "steps_per_s": round(1 / brain_step, 2),
                "loader_over_step_rate": round(loader_rate * brain_step, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
