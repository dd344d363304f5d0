"""Fills a recipe's ``encoder_cache_folder`` from the layer cache.

:mod:`bench.urdu_cache_layers` encoded every URDU clip once (every
Whisper hidden state, 30-s padding as the recipe's ``pad_to_30s: True``,
and the clip's filterbanks). This writes those frames in the format
EmotionBrain's on-disk cache reads (one float16 (T, L, D + n_mels) file
per utterance, ``encoder.txt`` = the recipe encoder's cache key: its
printout and a fingerprint of the weights it loads), so that
cross-validation of ``whisper_stats_pooling.yaml`` trains its heads
without running Whisper again on a shared CPU:

    python bench/urdu_fill_recipe_cache.py \\
        recipes/URDU/emotion/hparams/whisper_stats_pooling.yaml \\
        --cache=results/urdu_whisper_layers.pt \\
        --folder=results/urdu_recipe_cache \\
        --data_folder=../shared/data/urdu \\
        --whisper_source=../shared/models/whisper-tiny.en

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import os
import sys
import urllib.parse

import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_ser.brains.encoder_cache import encoder_cache_key


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hparams")
    parser.add_argument("--cache", required=True)
    parser.add_argument("--folder", required=True)
    args, overrides = parser.parse_known_args(argv)
    overrides = dict(o.lstrip("-").split("=", 1) for o in overrides)
    with open(args.hparams, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    encoder = hparams["encoder"]
    features = hparams.get("compute_features")
    n_mels = encoder.n_mels
    os.makedirs(args.folder, exist_ok=True)
    with open(os.path.join(args.folder, "encoder.txt"), "w") as fout:
        fout.write(encoder_cache_key(encoder, features))
    cache = torch.load(args.cache)
    for uid, layers in cache["layers"].items():
        frames = layers.permute(1, 0, 2)  # (T, L, D)
        if n_mels:
            fbank = cache["fbank"][uid]
            steps = frames.shape[0]
            index = torch.arange(steps) * fbank.shape[0] // steps
            fbank = fbank[index.clamp(max=fbank.shape[0] - 1)]
            fbank = fbank.unsqueeze(1).expand(-1, frames.shape[1], -1)
            frames = torch.cat([frames, fbank.to(frames.dtype)], dim=-1)
        path = os.path.join(args.folder, urllib.parse.quote(uid, safe=""))
        torch.save(frames.contiguous().clone(), path + ".pt")


if __name__ == "__main__":
    main(sys.argv[1:])
