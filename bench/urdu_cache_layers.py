"""Caches every Whisper encoder layer's frames for a class-folder corpus.

A frozen encoder gives the same frames in every run, so the Urdu ablation
(:mod:`bench.urdu_ablation`) encodes the 400 clips once:

    python bench/urdu_cache_layers.py --data_folder=../shared/data/urdu \\
        --whisper_source=../shared/models/whisper-tiny.en \\
        --out=results/urdu_whisper_layers.pt

The file maps ``<Emotion>/<stem>`` (the manifest id) to a float16 tensor
(n_layers + 1, T, D): the convolutional front end then every encoder
layer, cut to the clip's own frames (50 per second), plus the clip's
filterbank frames under ``fbank`` (for the fused recipes). The frames are
those of the recipe's ``WhisperEncoder`` (``layer: all``): padded to 30 s
as Whisper was trained, or with ``--trimmed`` the real length only;
``--flat`` reads a flat folder of WAVs (pyaa) instead of class folders.

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import math
import os
import tempfile

import torch
from speechbrain.lobes.features import Fbank
from tqdm import tqdm

from speechbrain_ser.corpora.folder_prepare import scan_class_folders
from speechbrain_ser.data.audio import read_audio
from speechbrain_ser.nnet.encoders import WhisperEncoder


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_folder", required=True)
    parser.add_argument("--whisper_source", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--speaker_pattern", default=r"^(?P<speaker>S[MF]\d+)_")
    parser.add_argument("--n_mels", type=int, default=40)
    parser.add_argument(
        "--trimmed",
        action="store_true",
        help="encode the real length only (pad_to_30s: False)",
    )
    parser.add_argument(
        "--flat",
        action="store_true",
        help="a flat folder of WAVs (no classes, no speakers), e.g. pyaa",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    encoder = WhisperEncoder(
        args.whisper_source,
        save_path=tempfile.mkdtemp(),
        freeze=True,
        layer="all",
        pad_to_30s=not args.trimmed,
    ).eval()
    fbank = Fbank(sample_rate=16000, n_mels=args.n_mels)
    if args.flat:
        entries = {
            name: {"wav": os.path.join(args.data_folder, name)}
            for name in os.listdir(args.data_folder)
            if name.endswith(".wav")
        }
    else:
        entries = scan_class_folders(args.data_folder, args.speaker_pattern)
    cache = {"layers": {}, "fbank": {}, "speaker": {}, "emotion": {}}
    for uid, entry in tqdm(sorted(entries.items())):
        wav = read_audio(entry["wav"], 16000).unsqueeze(0)
        with torch.no_grad():
            hiddens = encoder(wav)[0].transpose(0, 1)  # (L, T, D)
            frames = math.ceil(wav.shape[1] / 16000 * 50)
            cache["layers"][uid] = hiddens[:, :frames].half().clone()
            cache["fbank"][uid] = fbank(wav)[0].half().clone()
        cache["speaker"][uid] = entry.get("speaker")
        cache["emotion"][uid] = entry.get("emotion")
    torch.save(cache, args.out)


if __name__ == "__main__":
    main()
