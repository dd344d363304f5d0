"""Berlin Database of Emotional Speech (EmoDB; Burkhardt et al., 2005).

Expected layout: ``<data_folder>/wav/<name>.wav`` with names like
``03a01Fa.wav``: speaker (2 digits), text code (3 characters), emotion
letter, version letter.

Authors
 * speechbrain-ser developers 2026
"""

import glob
import os
import re

from speechbrain_ser.data.manifest import PreparationError, run_preparation
from speechbrain_ser.data.splits import split_by_field, split_random

EMOTION_LETTERS = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
SPEAKERS = ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")
MALE_SPEAKERS = ("03", "10", "11", "12", "15")
_NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")


def scan_emodb(data_folder):
    """Candidate entries from the file names.

    Arguments
    ---------
    data_folder : str
        EmoDB root (with ``wav/``).

    Returns
    -------
    dict
        id -> entry with ``wav``, ``speaker``, ``gender``, ``text_id`` and
        ``emotion``.

    Raises
    ------
    PreparationError
        For a file name that does not follow the EmoDB convention or an
        unknown emotion letter.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "wav"))
    >>> for name in ("03a01Wa", "08a02Na"):
    ...     path = os.path.join(root, "wav", name + ".wav")
    ...     soundfile.write(path, np.zeros(1600), 16000)
    >>> entries = scan_emodb(root)
    >>> [(e["speaker"], e["gender"], e["emotion"]) for e in entries.values()]
    [('03', 'M', 'anger'), ('08', 'F', 'neutral')]
    """
    entries = {}
    for path in sorted(glob.glob(os.path.join(data_folder, "wav", "*.wav"))):
        name = os.path.splitext(os.path.basename(path))[0]
        match = _NAME.match(name)
        if not match:
            raise PreparationError(
                f"{path}: not an EmoDB file name (expected e.g. 03a01Fa.wav)"
            )
        speaker, text, letter, _ = match.groups()
        if letter not in EMOTION_LETTERS:
            raise PreparationError(
                f"{path}: unknown emotion letter {letter!r}; expected one "
                f"of {sorted(EMOTION_LETTERS)}"
            )
        entries[name] = {
            "wav": path,
            "speaker": speaker,
            "gender": "M" if speaker in MALE_SPEAKERS else "F",
            "text_id": text,
            "emotion": EMOTION_LETTERS[letter],
        }
    return entries


def prepare_emodb(
    data_folder,
    save_folder,
    protocol="random_70_20_10",
    test_speaker="03",
    valid_speaker="08",
    seed=1234,
    on_error="raise",
):
    """Writes EmoDB manifests (7 classes, 10 speakers).

    Protocols:

    * ``random_70_20_10``: Sarkar & Tarigopula's utterance-level 70:20:10 split; NOT
      speaker-independent (speakers are shared across splits);
    * ``loso``: leave-one-speaker-out, speaker-independent:
      ``test_speaker`` is test, ``valid_speaker`` is validation.

    Arguments
    ---------
    data_folder : str
        EmoDB root (with ``wav/``).
    save_folder : str
        Output folder.
    protocol : str
        ``"random_70_20_10"`` or ``"loso"``.
    test_speaker : str
        For ``loso``.
    valid_speaker : str
        For ``loso``.
    seed : int
        For the random split.
    on_error : str
        ``"raise"`` or ``"skip"``.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root, save = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "wav"))
    >>> for name in ("03a01Wa", "08a01Wa", "09a01Wa", "09a01Na"):
    ...     path = os.path.join(root, "wav", name + ".wav")
    ...     soundfile.write(path, np.zeros(1600), 16000)
    >>> prepare_emodb(root, save, protocol="loso")
    >>> sorted(os.listdir(save))
    ['prepare_options.json', 'test.json', 'train.json', 'valid.json']
    """
    if protocol not in ("random_70_20_10", "loso"):
        raise ValueError(
            f"protocol must be random_70_20_10 or loso, not {protocol!r}"
        )
    # "03", 3 and "3" all name speaker 03 (YAML overrides give integers).
    test_speaker = str(test_speaker).zfill(2)
    valid_speaker = str(valid_speaker).zfill(2)
    options = {"corpus": "EmoDB", "split_protocol": protocol, "seed": seed}
    if protocol == "loso":
        options.update(test_speaker=test_speaker, valid_speaker=valid_speaker)

        def split(entries):
            """Leave-one-speaker-out: test and valid speakers held out."""
            return split_by_field(
                entries, "speaker", {test_speaker}, {valid_speaker}
            )

    else:

        def split(entries):
            """Utterance-level random split (speakers shared)."""
            return split_random(entries, (0.7, 0.2, 0.1), seed)

    run_preparation(
        lambda: scan_emodb(data_folder),
        split,
        data_folder,
        save_folder,
        options,
        on_error,
        labels=set(EMOTION_LETTERS.values()),
    )
