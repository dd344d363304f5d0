"""Caches every Whisper encoder layer's frames for a class-folder corpus.

A frozen encoder gives the same frames in every run, so the Urdu ablation
(:mod:`bench.urdu_ablation`) encodes the 400 clips once:

    python bench/urdu_cache_layers.py --data_folder=../shared/data/urdu \\
        --whisper_source=../shared/models/whisper-tiny.en \\
        --out=results/urdu_whisper_layers.pt

The file maps ``<Emotion>/<stem>`` (the manifest id) to a float16 tensor
(n_layers + 1, T, D): the convolutional front end then every encoder
layer, cut to the clip's own frames (50 per second), plus the clip's
filterbank frames under ``fbank`` (for the fused recipes).

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import math
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
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    encoder = WhisperEncoder(
        args.whisper_source, save_path=tempfile.mkdtemp(), freeze=True
    ).eval()
    fbank = Fbank(sample_rate=16000, n_mels=args.n_mels)
    entries = scan_class_folders(args.data_folder, args.speaker_pattern)
    cache = {"layers": {}, "fbank": {}, "speaker": {}, "emotion": {}}
    for uid, entry in tqdm(sorted(entries.items())):
        wav = read_audio(entry["wav"], 16000).unsqueeze(0)
        with torch.no_grad():
            hiddens = encoder.whisper(wav)[:, 0]
            frames = math.ceil(wav.shape[1] / 16000 * 50)
            cache["layers"][uid] = hiddens[:, :frames].half().clone()
            cache["fbank"][uid] = fbank(wav)[0].half().clone()
        cache["speaker"][uid] = entry["speaker"]
        cache["emotion"][uid] = entry["emotion"]
    torch.save(cache, args.out)


if __name__ == "__main__":
    main()
