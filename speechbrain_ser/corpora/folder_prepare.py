"""Manifests from a folder-per-class layout: ``<root>/<Emotion>/*.wav``.

The speaker comes from each file name through a regular expression with a
``speaker`` group; the default takes everything before the first
underscore, which fits names like ``SM1_F10_A010.flac`` (the URDU corpus).

Authors
 * speechbrain-ser developers 2026
"""

import os
import re

from speechbrain_ser.data.manifest import PreparationError, run_preparation
from speechbrain_ser.data.splits import (
    check_class_coverage,
    split_by_speaker,
    split_by_speaker_folds,
)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus")
DEFAULT_SPEAKER_PATTERN = r"^(?P<speaker>[^_]+)_"


def scan_class_folders(data_folder, speaker_pattern=DEFAULT_SPEAKER_PATTERN):
    r"""Candidate entries: the class is the sub-folder name.

    Arguments
    ---------
    data_folder : str
        Root with one sub-folder per emotion.
    speaker_pattern : str
        Regular expression with a ``speaker`` group, searched in each file
        name (without extension). Its other named groups become fields of
        the entry: URDU's ``^(?P<speaker>S(?P<gender>[MF])\d+)_`` also
        reads the speaker's gender (``M`` / ``F``) from ``SM1_F01_A01``.

    Returns
    -------
    dict
        ``<class>/<stem>`` -> entry with ``wav``, ``speaker``, ``emotion``
        and the pattern's other named groups.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "Angry"))
    >>> path = os.path.join(root, "Angry", "SM1_F01_A01.wav")
    >>> soundfile.write(path, np.zeros(1600), 16000)
    >>> entry = scan_class_folders(root)["Angry/SM1_F01_A01"]
    >>> entry["speaker"], entry["emotion"]
    ('SM1', 'Angry')
    >>> pattern = r"^(?P<speaker>S(?P<gender>[MF])\d+)_"
    >>> scan_class_folders(root, pattern)["Angry/SM1_F01_A01"]["gender"]
    'M'

    Raises
    ------
    PreparationError
        For a file whose name does not match ``speaker_pattern``.
    """
    pattern = re.compile(speaker_pattern)
    if "speaker" not in pattern.groupindex:
        raise ValueError(
            f"speaker_pattern {speaker_pattern!r} has no (?P<speaker>...) group"
        )
    entries = {}
    for label in sorted(os.listdir(data_folder)):
        class_dir = os.path.join(data_folder, label)
        if not os.path.isdir(class_dir) or label.startswith("."):
            continue
        for name in sorted(os.listdir(class_dir)):
            stem, extension = os.path.splitext(name)
            if extension.lower() not in AUDIO_EXTENSIONS:
                continue
            path = os.path.join(class_dir, name)
            match = pattern.search(stem)
            if not match:
                raise PreparationError(
                    f"{path}: file name does not match speaker_pattern "
                    f"{speaker_pattern!r}"
                )
            entries[f"{label}/{stem}"] = {
                **match.groupdict(),
                "wav": path,
                "speaker": match.group("speaker"),
                "emotion": label,
            }
    return entries


def prepare_class_folders(
    data_folder,
    save_folder,
    speaker_pattern=DEFAULT_SPEAKER_PATTERN,
    labels=None,
    ratios=(0.7, 0.15, 0.15),
    n_folds=None,
    fold=0,
    seed=1234,
    on_error="raise",
    min_per_class=2,
):
    """Writes speaker-independent manifests for ``<root>/<Emotion>/*``.

    Protocols (both speaker-independent): whole speakers dealt out by
    ``ratios``; or, with ``n_folds``, class-stratified speaker folds
    (:func:`split_by_speaker_folds`), ``fold`` being test.

    Arguments
    ---------
    data_folder : str
        Root with one sub-folder per emotion.
    save_folder : str
        Output folder.
    speaker_pattern : str
        Regular expression with a ``speaker`` group, searched in each file
        name (without extension).
    labels : collection of str, optional
        Allowed class folder names; a file in another folder is an error
        (or skipped with ``on_error="skip"``).
    ratios : tuple of float
        Train, valid, test fractions (whole speakers are dealt out).
    n_folds : int, optional
        Use stratified speaker k-fold instead of ``ratios``.
    fold : int
        Test fold when ``n_folds`` is given.
    seed : int
        Speaker shuffling seed.
    on_error : str
        ``"raise"`` or ``"skip"``.
    min_per_class : int
        With ``ratios``: every class needs this many clips in valid and in
        test, else preparation stops and suggests ``n_folds`` with
        crossval (:func:`~speechbrain_ser.data.splits.
        check_class_coverage`); 0 turns the check off.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root, save = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> for label in ("Angry", "Sad"):
    ...     os.makedirs(os.path.join(root, label))
    ...     for speaker in ("SM1", "SF2", "SM3", "SF4"):
    ...         name = f"{speaker}_F01_{label[0]}01.wav"
    ...         path = os.path.join(root, label, name)
    ...         soundfile.write(path, np.zeros(1600), 16000)
    >>> prepare_class_folders(root, save, n_folds=4, fold=0)
    >>> sorted(os.listdir(save))
    ['prepare_options.json', 'test.json', 'train.json', 'valid.json']
    """
    options = {
        "corpus": "class folders",
        "data_folder": os.path.abspath(data_folder),
        "speaker_pattern": speaker_pattern,
        "labels": sorted(labels) if labels else None,
        "seed": seed,
    }
    if n_folds:
        options["split_protocol"] = (
            f"speaker-independent, class-stratified {n_folds}-fold, "
            f"test fold {fold}"
        )

        def split(entries):
            """Class-stratified speaker folds, ``fold`` being test."""
            return split_by_speaker_folds(entries, n_folds, fold, seed=seed)

    else:
        options["split_protocol"] = "speaker-independent random speaker split"
        options["ratios"] = list(ratios)

        options["min_per_class"] = min_per_class

        def split(entries):
            """Whole speakers dealt out by ``ratios``, checked."""
            try:
                return check_class_coverage(
                    split_by_speaker(entries, ratios, seed), min_per_class
                )
            except ValueError as error:
                raise PreparationError(f"{data_folder}: {error}") from None

    run_preparation(
        lambda: scan_class_folders(data_folder, speaker_pattern),
        split,
        data_folder,
        save_folder,
        options,
        on_error,
        labels=set(labels) if labels else None,
    )
