"""RAVDESS (Livingstone and Russo, 2018), audio-only speech files.

Expected layout: ``<data_folder>/Actor_<nn>/<name>.wav`` with names of
seven two-digit fields ``modality-channel-emotion-intensity-statement-
repetition-actor``, e.g. ``03-01-05-02-01-01-12.wav`` (audio-only, speech,
angry, strong, "Kids are talking by the door", first take, actor 12).

Authors
 * speechbrain-ser developers 2026
"""

import glob
import os
import re

from speechbrain_ser.data.manifest import PreparationError, run_preparation
from speechbrain_ser.data.splits import split_by_speaker

EMOTION_CODES = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
STATEMENTS = {
    "01": "Kids are talking by the door",
    "02": "Dogs are sitting by the door",
}
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def scan_ravdess(data_folder, include_song=False):
    """Candidate entries of the audio-only files (modality 03).

    Arguments
    ---------
    data_folder : str
        RAVDESS root (with ``Actor_01`` ... ``Actor_24``).
    include_song : bool
        Also take the song files (vocal channel 02).

    Returns
    -------
    dict
        id -> entry with ``wav``, ``speaker``, ``gender``, ``emotion``,
        ``intensity``, ``vocal_channel`` and ``transcript``.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "Actor_12"))
    >>> for name in ("03-01-05-02-01-01-12", "01-01-05-02-01-01-12"):
    ...     path = os.path.join(root, "Actor_12", name + ".wav")
    ...     soundfile.write(path, np.zeros(1600), 16000)
    >>> entry = scan_ravdess(root)["03-01-05-02-01-01-12"]  # video skipped
    >>> entry["speaker"], entry["emotion"], entry["intensity"]
    ('Actor_12', 'angry', 'strong')

    Raises
    ------
    PreparationError
        For a malformed file name or an unknown emotion code.
    """
    entries = {}
    pattern = os.path.join(data_folder, "Actor_*", "*.wav")
    for path in sorted(glob.glob(pattern)):
        name = os.path.splitext(os.path.basename(path))[0]
        match = _NAME.match(name)
        if not match:
            raise PreparationError(
                f"{path}: not a RAVDESS file name (expected e.g. "
                "03-01-05-02-01-01-12.wav)"
            )
        modality, channel, emotion, intensity, statement, take, actor = (
            match.groups()
        )
        if modality != "03" or (channel == "02" and not include_song):
            continue
        if emotion not in EMOTION_CODES:
            raise PreparationError(f"{path}: unknown emotion code {emotion!r}")
        entries[name] = {
            "wav": path,
            "speaker": f"Actor_{actor}",
            "gender": "M" if int(actor) % 2 else "F",
            "emotion": EMOTION_CODES[emotion],
            "intensity": "strong" if intensity == "02" else "normal",
            "vocal_channel": "song" if channel == "02" else "speech",
            "transcript": STATEMENTS.get(statement, ""),
        }
    return entries


def prepare_ravdess(
    data_folder,
    save_folder,
    ratios=(0.75, 0.125, 0.125),
    seed=1234,
    include_song=False,
    on_error="raise",
):
    """Writes speaker-independent RAVDESS manifests (8 classes, 24 actors).

    Protocol: actors are dealt into train/valid/test by ``ratios`` (about
    18/3/3 actors by default), shuffled with ``seed``.

    Arguments
    ---------
    data_folder : str
        RAVDESS root (with ``Actor_01`` ... ``Actor_24``).
    save_folder : str
        Output folder.
    ratios : tuple of float
        Train, valid, test fractions of utterances.
    seed : int
        Actor shuffling seed.
    include_song : bool
        Also take the song files (vocal channel 02).
    on_error : str
        ``"raise"`` or ``"skip"``.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root, save = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> for actor in range(1, 5):
    ...     os.makedirs(os.path.join(root, f"Actor_{actor:02d}"))
    ...     for emotion in ("01", "05"):
    ...         name = f"03-01-{emotion}-01-01-01-{actor:02d}.wav"
    ...         path = os.path.join(root, f"Actor_{actor:02d}", name)
    ...         soundfile.write(path, np.zeros(1600), 16000)
    >>> prepare_ravdess(root, save, ratios=(0.5, 0.25, 0.25))
    >>> sorted(os.listdir(save))
    ['prepare_options.json', 'test.json', 'train.json', 'valid.json']
    """
    options = {
        "corpus": "RAVDESS",
        "split_protocol": "speaker-independent random actor split",
        "ratios": list(ratios),
        "seed": seed,
        "include_song": include_song,
    }
    run_preparation(
        lambda: scan_ravdess(data_folder, include_song),
        lambda entries: split_by_speaker(entries, ratios, seed),
        data_folder,
        save_folder,
        options,
        on_error,
        labels=set(EMOTION_CODES.values()),
    )
