"""The built-in demo corpus: acted emotional English speech from espeak-ng.

No download: voices come from the espeak-ng that ``espeakng-loader``
ships. Each utterance is a sentence from :mod:`demo_sentences`, spoken by
one of several voice variants (the speakers) in one emotion style:

* acoustic cue: the style is a prosody preset (rate, pitch, pitch range,
  volume) applied with a random intensity on top of the speaker's own
  voice;
* linguistic cue: the sentence's polarity depends on the emotion (happy
  speech is mostly positive text, angry and sad mostly negative, neutral
  mostly neutral), but not always;
* AVD targets (1-5 scale, as IEMOCAP) come from the style, scaled by the
  intensity, with valence moved by the VADER compound score of the text.

Happy and angry share high arousal and differ in text; angry and sad share
negative text and differ in prosody, so audio-only, text-only and fused
models each have something to show.

Authors
 * speechbrain-ser developers 2026
"""

import os
import random

import numpy as np
import soundfile
import torch
import torchaudio
from speechbrain.utils.logger import get_logger
from tqdm import tqdm

from speechbrain_ser.data.manifest import (
    manifests_up_to_date,
    read_manifest,
    write_manifest,
    write_splits,
)
from speechbrain_ser.data.splits import split_by_field
from speechbrain_ser.demo.sentences import sentence_bank

logger = get_logger(__name__)

EMOTIONS = ("neutral", "happy", "angry", "sad")
AVD_RANGE = (1.0, 5.0)

# (id, espeak-ng voice, base pitch 0-100, base rate words/min)
SPEAKERS = {
    "main": (
        ("m1", "en+m1", 40, 165),
        ("m3", "en+m3", 35, 170),
        ("m5", "en+m5", 45, 160),
        ("m7", "en+m7", 38, 175),
        ("um2", "en-us+m2", 42, 168),
        ("f1", "en+f1", 55, 170),
        ("f3", "en+f3", 60, 165),
        ("f5", "en+f5", 52, 175),
        ("uf2", "en-us+f2", 58, 162),
        ("uf4", "en-us+f4", 50, 172),
    ),
    "alt": (
        ("m2", "en+m2", 40, 170),
        ("m4", "en+m4", 44, 165),
        ("m6", "en+m6", 36, 172),
        ("um8", "en-us+m8", 41, 160),
        ("f2", "en+f2", 57, 168),
        ("f4", "en+f4", 53, 175),
        ("uf1", "en-us+f1", 60, 165),
        ("uf3", "en-us+f3", 55, 170),
    ),
}

# Voices held out of training in the default split of each part.
HELD_OUT = {
    "main": {"valid": ("f5",), "test": ("m5", "uf2")},
    "alt": {"valid": ("f4",), "test": ("um8",)},
}

# Prosody offsets at full intensity, AVD at full intensity, and how likely
# each text polarity is for the style.
STYLES = {
    "neutral": {
        "rate": 1.0,
        "pitch": 0,
        "range": 0,
        "volume": 1.0,
        "avd": (3.0, 3.0, 3.0),
        "text": {"neutral": 0.6, "positive": 0.2, "negative": 0.2},
    },
    "happy": {
        "rate": 1.2,
        "pitch": 20,
        "range": 40,
        "volume": 1.2,
        "avd": (4.0, 4.3, 3.5),
        "text": {"positive": 0.7, "neutral": 0.2, "negative": 0.1},
    },
    "angry": {
        "rate": 1.3,
        "pitch": 8,
        "range": 25,
        "volume": 1.7,
        "avd": (4.4, 1.7, 4.3),
        "text": {"negative": 0.7, "neutral": 0.2, "positive": 0.1},
    },
    "sad": {
        "rate": 0.7,
        "pitch": -18,
        "range": -35,
        "volume": 0.6,
        "avd": (1.7, 1.9, 1.9),
        "text": {"negative": 0.7, "neutral": 0.2, "positive": 0.1},
    },
}

BASE_RANGE = 50
BASE_VOLUME = 100


def plan_corpus(n_utterances, part="main", seed=1234):
    """Decides who says what in which style, without synthesising.

    Arguments
    ---------
    n_utterances : int
        Corpus size; emotions and speakers are balanced.
    part : str
        ``"main"`` or ``"alt"``: speaker set and sentence half.
    seed : int
        Everything random derives from it.

    Returns
    -------
    list of dict
        One plan per utterance: id, speaker, voice, emotion, text, text
        polarity, prosody parameters and AVD targets.

    Example
    -------
    >>> plans = plan_corpus(8, seed=0)
    >>> sorted({p["emotion"] for p in plans}) == sorted(EMOTIONS)
    True
    >>> plans == plan_corpus(8, seed=0)
    True
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    rng = random.Random(seed)
    bank = sentence_bank(part)
    vader = SentimentIntensityAnalyzer()
    speakers = SPEAKERS[part]
    plans = []
    for index in range(n_utterances):
        emotion = EMOTIONS[index % len(EMOTIONS)]
        speaker, voice, pitch, rate = speakers[
            (index // len(EMOTIONS)) % len(speakers)
        ]
        style = STYLES[emotion]
        polarity = rng.choices(
            list(style["text"]), weights=list(style["text"].values())
        )[0]
        text = rng.choice(bank[polarity])
        intensity = rng.uniform(0.5, 1.0)
        compound = vader.polarity_scores(text)["compound"]
        avd = [
            3.0 + intensity * (target - 3.0) + rng.gauss(0.0, 0.1)
            for target in style["avd"]
        ]
        avd[1] += 0.5 * compound
        plans.append(
            {
                "id": f"demo_{part}_{speaker}_{index:05d}",
                "speaker": speaker,
                "voice": voice,
                "emotion": emotion,
                "transcript": text,
                "text_polarity": polarity,
                "vader_compound": compound,
                "rate": round(rate * (1 + intensity * (style["rate"] - 1))),
                "pitch": round(
                    min(99, max(1, pitch + intensity * style["pitch"]))
                ),
                "pitch_range": round(
                    min(99, max(1, BASE_RANGE + intensity * style["range"]))
                ),
                "volume": round(
                    BASE_VOLUME * (1 + intensity * (style["volume"] - 1))
                ),
                "activation": round(float(np.clip(avd[0], *AVD_RANGE)), 3),
                "valence": round(float(np.clip(avd[1], *AVD_RANGE)), 3),
                "dominance": round(float(np.clip(avd[2], *AVD_RANGE)), 3),
            }
        )
    return plans


def generate_demo_corpus(
    data_folder, n_utterances=400, part="main", seed=1234, sample_rate=16000
):
    """Synthesises the demo corpus into ``data_folder``.

    Writes ``wavs/<id>.wav`` (16-bit, ``sample_rate``) and ``corpus.json``,
    a manifest of every utterance (wav, duration, speaker, emotion,
    transcript, AVD on a 1-5 scale, VADER compound, prosody used).
    Deterministic under ``seed``.

    Arguments
    ---------
    data_folder : str
        Output folder.
    n_utterances : int
        Number of utterances.
    part : str
        ``"main"`` (labelled demo corpus) or ``"alt"`` (other voices and
        sentences, e.g. for unlabelled pre-training).
    seed : int
        Random seed.
    sample_rate : int
        Output sample rate.

    Returns
    -------
    dict
        The manifest: id -> entry.

    Example
    -------
    >>> import tempfile
    >>> manifest = generate_demo_corpus(tempfile.mkdtemp(), n_utterances=2)
    >>> entry = next(iter(manifest.values()))
    >>> entry["wav"].startswith("{data_root}/wavs/"), entry["duration"] > 0
    (True, True)
    """
    from speechbrain_ser.demo.synthesis import synthesize_in_fresh_process

    wav_folder = os.path.join(data_folder, "wavs")
    os.makedirs(wav_folder, exist_ok=True)
    manifest = {}
    plans = plan_corpus(n_utterances, part, seed)
    requests = [
        {
            "text": plan["transcript"],
            "voice": plan["voice"],
            "rate": plan["rate"],
            "pitch": plan["pitch"],
            "pitch_range": plan["pitch_range"],
            "volume": plan["volume"],
        }
        for plan in plans
    ]
    waveforms = synthesize_in_fresh_process(requests, seed=seed)
    for plan, (wav, synth_rate) in tqdm(
        zip(plans, waveforms), total=len(plans), desc="synthesising demo corpus"
    ):
        wav = torchaudio.functional.resample(
            torch.from_numpy(wav), synth_rate, sample_rate
        ).numpy()
        peak = np.abs(wav).max()
        if peak > 0.99:
            wav = wav * (0.99 / peak)
        path = os.path.join(wav_folder, f"{plan['id']}.wav")
        soundfile.write(path, wav, sample_rate, subtype="PCM_16")
        entry = {key: value for key, value in plan.items() if key != "id"}
        entry["wav"] = "{data_root}/wavs/" + f"{plan['id']}.wav"
        entry["duration"] = round(len(wav) / sample_rate, 4)
        entry["transcript_source"] = "human"  # the script it was made from
        manifest[plan["id"]] = entry
    write_manifest(manifest, os.path.join(data_folder, "corpus.json"))
    return manifest


def prepare_demo(
    data_folder,
    save_folder,
    n_utterances=400,
    part="main",
    seed=1234,
    valid_speakers=None,
    test_speakers=None,
):
    """Generates the demo corpus if needed and writes split manifests.

    The split is speaker-independent: ``test_speakers`` and
    ``valid_speakers`` (voice ids of :data:`SPEAKERS`) are held out; by
    default :data:`HELD_OUT` of the part.
    Nothing is redone when the corpus and manifests exist with the same
    options.

    Arguments
    ---------
    data_folder : str
        Where the audio goes (and is looked for).
    save_folder : str
        Where ``train.json``, ``valid.json``, ``test.json`` go.
    n_utterances : int
        Corpus size.
    part : str
        ``"main"`` or ``"alt"``.
    seed : int
        Generation seed.
    valid_speakers : sequence of str, optional
        Speakers held out for validation.
    test_speakers : sequence of str, optional
        Speakers held out for test.

    Example
    -------
    >>> import os, tempfile
    >>> from speechbrain_ser.data.manifest import read_manifest
    >>> folder = tempfile.mkdtemp()
    >>> save = os.path.join(folder, "manifests")
    >>> prepare_demo(folder, save, n_utterances=3)
    >>> splits = ("train", "valid", "test")
    >>> sum(len(read_manifest(f"{save}/{s}.json")) for s in splits)
    3
    """
    valid_speakers = valid_speakers or HELD_OUT[part]["valid"]
    test_speakers = test_speakers or HELD_OUT[part]["test"]
    options = {
        "corpus": "demo",
        "n_utterances": n_utterances,
        "part": part,
        "seed": seed,
        "split_protocol": "speaker-independent: held-out voices",
        "valid_speakers": sorted(valid_speakers),
        "test_speakers": sorted(test_speakers),
    }
    if manifests_up_to_date(save_folder, options):
        logger.info(f"demo manifests in {save_folder} are up to date")
        return
    corpus_options = os.path.join(data_folder, "corpus_options.json")
    wanted = {"n_utterances": n_utterances, "part": part, "seed": seed}
    if not (
        os.path.isfile(corpus_options)
        and read_manifest(corpus_options) == wanted
    ):
        generate_demo_corpus(data_folder, n_utterances, part, seed)
        write_manifest(wanted, corpus_options)
    manifest = read_manifest(os.path.join(data_folder, "corpus.json"))
    splits = split_by_field(manifest, "speaker", test_speakers, valid_speakers)
    write_splits(splits, save_folder, options)
