"""One check of a run's manifests and audio before the first training step.

:func:`validate_recipe_data` runs from ``run.py`` for every recipe, after
data preparation and before the datasets are built. It reads the
train/valid/test manifests named in the YAML and stops with one error
that lists every problem found, each naming the manifest and the line or
utterance id:

* JSON syntax (line and column), an utterance that is not an object, an
  id given twice in one manifest (JSON keeps only the last);
* field types: ``wav`` a non-empty string, ``duration`` and AVD values
  numbers (not strings), finite; AVD inside ``avd_range``;
* labels: an empty ``emotion``, one outside the YAML's ``labels`` (when
  given), a valid/test label never seen in training, and ``n_classes``
  against the number of training labels, fewer than 2 training labels or
  a test set of one label (degenerate metrics);
* leakage: the same id or audio file in two splits;
* audio: every training file's header is read (missing, unreadable,
  empty files), valid and test files are decoded in full (truncated
  files, NaN or infinite samples), and no file may be shorter than
  ``min_duration`` seconds;
* truncation: a file whose real length differs from the manifest's
  ``duration`` by more than 50 ms and 2 % (:data:`speechbrain_ser.data.audio_checks.DURATION_TOLERANCE`),
  or a WAV whose header claims more samples than the file holds
  (libsndfile reads the rest silently), is an error in valid/test and is
  left out of training (logged and counted) in train.

Audio results are cached in ``audio_check_cache`` (a JSON file keyed on
the file's path, size and modification time; see
:mod:`speechbrain_ser.data.audio_checks`), so a second run does not
decode the corpus again.

YAML keys (all optional): ``validate_data`` (default True),
``min_duration`` (default :data:`DEFAULT_MIN_DURATION` s), ``labels``,
``n_classes``, ``task``, ``avd_range``, ``decode_splits`` (default valid
and test), ``audio_check_cache`` (default ``audio_checks.json`` next to
the training manifest).

Authors
 * speechbrain-ser developers 2026
"""

import json
import math
import os
import re
import time

from speechbrain.utils.logger import get_logger
from tqdm import tqdm

from speechbrain_ser.data.audio_checks import AudioCheckCache, duration_mismatch
from speechbrain_ser.data.split_checks import split_problems, wav_path

logger = get_logger(__name__)

SPLITS = ("train", "valid", "test")
AVD_KEYS = ("activation", "valence", "dominance")
# Shorter clips give no or one feature frame (25 ms windows, 10 ms hop).
DEFAULT_MIN_DURATION = 0.1
DEFAULT_DECODE_SPLITS = ("valid", "test")
# Problems listed in full in one error; the rest are counted.
MAX_LISTED = 20


class ManifestError(ValueError):
    """Problems in a run's manifests or audio; the message lists them.

    Arguments
    ---------
    message : str
        The whole message (one problem per line after a header, when
        there are several).
    problems : list of str, optional
        The problems one by one, each naming the manifest and the line or
        utterance (default: ``[message]``).

    Example
    -------
    >>> try:
    ...     load_manifest("no/such/train.json")
    ... except ManifestError as error:
    ...     print(error)
    no/such/train.json: no such manifest
    """

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = list(problems) if problems else [message]

    def summary(self):
        """The problems in one line, for a command line's error: the
        first in full, then the others (up to :data:`MAX_LISTED` in all).

        Returns
        -------
        str

        Example
        -------
        >>> error = ManifestError("2 problems", ["a.json: x", "b.json: y"])
        >>> error.summary()
        'a.json: x (and 1 more problem found before training: b.json: y)'
        """
        first, *others = [" ".join(p.split()) for p in self.problems]
        if not others:
            return first
        listed = others[: MAX_LISTED - 1]
        left = len(others) - len(listed)
        return (
            f"{first} (and {len(others)} more "
            f"problem{'s' if len(others) > 1 else ''} found before "
            "training: "
            + " | ".join(listed)
            + (f" | {left} more not listed" if left else "")
            + ")"
        )


def load_manifest(path):
    """Reads a manifest strictly: syntax errors and repeated ids name the line.

    Arguments
    ---------
    path : str
        Manifest JSON.

    Returns
    -------
    dict
        id -> entry.

    Raises
    ------
    ManifestError
        For a missing file, invalid JSON (with line and column), a top
        level that is not an object, or an id given twice.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".json")
    >>> _ = open(path, "w").write('{"a": {"wav": "x"},\\n "a": {"wav": "y"}}')
    >>> load_manifest(path)
    Traceback (most recent call last):
    ...
    speechbrain_ser.data.validation.ManifestError: ...json, line 2: id 'a' ...
    """
    if os.path.isdir(path):
        raise ManifestError(f"{path}: is a folder, not a manifest file")
    if not os.path.isfile(path):
        raise ManifestError(f"{path}: no such manifest")
    with open(path, encoding="utf-8") as fin:
        text = fin.read()
    repeated = []

    def no_repeats(pairs):
        """``json`` object hook: a dict of ``pairs``, noting repeated ids."""
        seen = set()
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        return dict(pairs)

    try:
        entries = json.loads(text, object_pairs_hook=no_repeats)
    except json.JSONDecodeError as error:
        raise ManifestError(
            f"{path}, line {error.lineno}, column {error.colno}: not valid "
            f"JSON ({error.msg})"
        ) from None
    if not isinstance(entries, dict):
        raise ManifestError(
            f"{path}: the top level must be an object (id -> utterance), "
            f"not a {type(entries).__name__}"
        )
    for key in repeated:
        lines = _key_lines(text, key)
        if key in entries and len(lines) >= 2:
            raise ManifestError(
                f"{path}, line {lines[1]}: id {key!r} is given twice (line "
                f"{lines[0]} and line {lines[1]}); JSON keeps only the last"
            )
        raise ManifestError(
            f"{path}: field {key!r} is given twice in one utterance"
            + (f" (lines {lines})" if lines else "")
        )
    return entries


def _key_lines(text, key):
    """1-based line numbers where ``"key":`` occurs in a JSON text."""
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    return [text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def entry_problems(entry, task=None, avd_range=None, labels=None):
    """What is wrong with one utterance's fields (empty list if nothing).

    Arguments
    ---------
    entry : dict
        One manifest entry.
    task : str, optional
        ``classification`` needs ``emotion``, ``regression`` the AVD
        fields, ``both`` all four.
    avd_range : sequence of float, optional
        (low, high): AVD values outside are problems.
    labels : collection of str, optional
        Allowed emotion labels.

    Returns
    -------
    list of str

    Example
    -------
    >>> entry_problems({"wav": "a.wav", "valence": "3.0"}, avd_range=(1, 5))
    ["valence is the string '3.0'; write numbers without quotes"]
    >>> entry_problems({"wav": "a.wav", "emotion": " "}, task="classification")
    ['empty emotion label']
    """
    if not isinstance(entry, dict):
        return [f"expected an object, not {type(entry).__name__}"]
    problems = []
    wav = entry.get("wav")
    if not isinstance(wav, str) or not wav.strip():
        problems.append(f"'wav' must be a non-empty path, not {wav!r}")
    if "duration" in entry:
        problems += _number_problems("duration", entry["duration"], (0, None))
    needs_label = task in ("classification", "both")
    if needs_label or "emotion" in entry:
        label = entry.get("emotion")
        if label is None:
            problems.append("no 'emotion' label")
        elif not isinstance(label, str):
            problems.append(f"emotion must be a string, not {label!r}")
        elif not label.strip():
            problems.append("empty emotion label")
        elif labels is not None and label not in labels:
            problems.append(
                f"unknown emotion label {label!r}; the YAML's labels are "
                f"{sorted(labels)}"
            )
    for key in AVD_KEYS:
        if key not in entry:
            if task in ("regression", "both"):
                problems.append(f"no {key!r} target")
            continue
        problems += _number_problems(key, entry[key], avd_range)
    return problems


def _number_problems(key, value, bounds):
    if isinstance(value, str):
        return [f"{key} is the string {value!r}; write numbers without quotes"]
    if not _is_number(value):
        return [f"{key} must be a number, not {value!r}"]
    if not math.isfinite(value):
        return [f"{key} is {value}"]
    if bounds:
        low, high = bounds
        if (low is not None and value < low) or (
            high is not None and value > high
        ):
            name = "avd_range" if key in AVD_KEYS else "range"
            return [f"{key}={value} is outside {name} {list(bounds)}"]
    return []


def validate_manifests(
    paths,
    data_folder=None,
    task=None,
    avd_range=None,
    labels=None,
    n_classes=None,
    min_duration=DEFAULT_MIN_DURATION,
    decode_splits=DEFAULT_DECODE_SPLITS,
    cache_file=None,
):
    """Checks a run's manifests and audio; raises once with every problem.

    Arguments
    ---------
    paths : dict
        split name -> manifest path (``train`` first; valid/test labels
        must be seen in ``train``).
    data_folder : str, optional
        Replaces ``{data_root}`` in ``wav``.
    task : str, optional
        ``classification``, ``regression``, ``both``, or None (no label
        needed).
    avd_range : sequence of float, optional
        The corpus scale of AVD targets.
    labels : collection of str, optional
        Allowed emotion labels (the YAML's ``labels``).
    n_classes : int, optional
        Classes the model has; must equal the number of training labels.
    min_duration : float, optional
        Shortest usable audio in seconds.
    decode_splits : collection of str
        Splits whose audio is decoded in full; the others are header
        checked.
    cache_file : str, optional
        Audio check cache (see :class:`AudioCheckCache`).

    Returns
    -------
    dict
        Counts: ``utterances``, ``files_checked``, ``files_decoded``,
        ``cache_hits``, ``seconds`` taken, and ``train_left_out``: the
        training ids whose audio is truncated (see :func:`without_ids`).

    Raises
    ------
    ManifestError
        Listing the problems (the first :data:`MAX_LISTED` in full).

    Example
    -------
    >>> import json, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> soundfile.write(f"{root}/a.wav", np.zeros(16000), 16000)
    >>> manifest = {
    ...     "a": {
    ...         "wav": "{data_root}/a.wav",
    ...         "duration": 1.0,
    ...         "emotion": "sad",
    ...     },
    ...     "b": {
    ...         "wav": "{data_root}/b.wav",
    ...         "duration": 1.0,
    ...         "emotion": "sad",
    ...     },
    ... }
    >>> _ = open(f"{root}/train.json", "w").write(json.dumps(manifest))
    >>> try:
    ...     validate_manifests({"train": f"{root}/train.json"}, root)
    ... except ManifestError as error:
    ...     print("'b'" in str(error), "'a'" in str(error))
    True False
    """
    start = time.time()
    labels = set(labels) if labels else None
    manifests, problems = {}, []
    for split, path in paths.items():
        try:
            manifests[split] = load_manifest(path)
        except ManifestError as error:
            problems.append(str(error))
            continue
        if not manifests[split]:
            problems.append(f"{path}: the manifest has no utterances")
        for uid, entry in manifests[split].items():
            for problem in entry_problems(entry, task, avd_range, labels):
                problems.append(f"{path}: utterance {uid!r}: {problem}")
    problems += split_problems(paths, manifests, data_folder, task, n_classes)
    cache = AudioCheckCache(cache_file)
    counts = {"files_checked": 0, "files_decoded": 0}
    files = [
        (split, uid, wav_path(entry["wav"], data_folder))
        for split, entries in manifests.items()
        for uid, entry in entries.items()
        if isinstance(entry, dict) and isinstance(entry.get("wav"), str)
    ]
    truncated = {}
    for split, uid, wav in tqdm(files, desc="checking audio", leave=False):
        decode = split in decode_splits
        result = cache.check_file(wav, decode)
        duration, error = result["duration"], result["error"]
        counts["files_checked"] += 1
        counts["files_decoded"] += decode
        where = f"{paths[split]}: utterance {uid!r}"
        too_short = min_duration and duration and duration < min_duration
        if not error and not too_short:
            cut = result["truncated"] or duration_mismatch(
                wav, duration, manifests[split][uid].get("duration")
            )
            if cut and split == "train":  # left out, as unreadable ones are
                truncated[uid] = cut
                continue
            error = cut
        if error:
            problems.append(f"{where}: {error}")
        elif min_duration and duration < min_duration:
            problems.append(
                f"{where}: {wav} lasts {duration} s, shorter than "
                f"min_duration={min_duration} s (set min_duration in the "
                "YAML, or remove the utterance)"
            )
    cache.save()
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        raise ManifestError(
            f"{len(problems)} problem(s) in the data, found before "
            f"training:\n  {listed}"
            + (f"\n  ... and {more} more" if more > 0 else ""),
            problems,
        )
    if truncated:
        logger.warning(
            f"{len(truncated)} training utterance(s) left out, their audio "
            "is shorter than the manifest says:\n  "
            + "\n  ".join(f"{uid}: {why}" for uid, why in truncated.items())
        )
    counts.update(
        utterances=len(files),
        cache_hits=cache.hits,
        seconds=round(time.time() - start, 3),
        train_left_out=sorted(truncated),
    )
    return counts


def validate_recipe_data(hparams):
    """:func:`validate_manifests` with the YAML's keys; logs the counts.

    Does nothing when ``validate_data`` is false or the YAML names no
    ``train_manifest``.

    Arguments
    ---------
    hparams : dict
        The loaded YAML (see the module docstring for the keys read).

    Returns
    -------
    dict or None
        The counts of :func:`validate_manifests`.

    Example
    -------
    >>> import json, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> soundfile.write(f"{root}/a.wav", np.zeros(16000), 16000)
    >>> manifest = {
    ...     "a": {
    ...         "wav": "{data_root}/a.wav",
    ...         "duration": 1.0,
    ...         "emotion": "sad",
    ...     },
    ... }
    >>> _ = open(f"{root}/train.json", "w").write(json.dumps(manifest))
    >>> hparams = {"train_manifest": f"{root}/train.json", "data_folder": root}
    >>> validate_recipe_data(hparams)["files_checked"]
    1
    >>> validate_recipe_data({**hparams, "validate_data": False}) is None
    True
    """
    if not hparams.get("validate_data", True):
        return None
    paths = {
        split: hparams[f"{split}_manifest"]
        for split in SPLITS
        if hparams.get(f"{split}_manifest")
    }
    if "train" not in paths:
        return None
    cache_file = hparams.get("audio_check_cache")
    if cache_file is None:
        cache_file = os.path.join(
            os.path.dirname(os.path.abspath(paths["train"])),
            "audio_checks.json",
        )
    counts = validate_manifests(
        paths,
        data_folder=hparams.get("data_folder"),
        task=hparams.get("task"),
        avd_range=hparams.get("avd_range"),
        labels=hparams.get("labels"),
        n_classes=hparams.get("n_classes")
        if hparams.get("task") in ("classification", "both")
        else None,
        min_duration=hparams.get("min_duration", DEFAULT_MIN_DURATION),
        decode_splits=hparams.get("decode_splits", DEFAULT_DECODE_SPLITS),
        cache_file=cache_file,
    )
    logger.info(
        f"data checked: {counts['utterances']} utterances, "
        f"{counts['files_decoded']} decoded in full, {counts['cache_hits']} "
        f"from {cache_file}, in {counts['seconds']} s"
    )
    return counts


def without_ids(dataset, ids):
    """A dataset without the utterances ``ids`` (order kept).

    Arguments
    ---------
    dataset : speechbrain.dataio.dataset.DynamicItemDataset
        E.g. the training set.
    ids : collection of str
        Utterance ids to leave out (e.g. ``train_left_out`` of
        :func:`validate_manifests`).

    Returns
    -------
    DynamicItemDataset
        ``dataset`` itself when ``ids`` is empty or the dataset cannot be
        filtered.

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = DynamicItemDataset({"a": {"x": 1}, "b": {"x": 2}, "c": {"x": 3}})
    >>> without_ids(data, {"b"}).data_ids
    ['a', 'c']
    """
    ids = set(ids)
    if not ids or not hasattr(dataset, "filtered_sorted"):
        return dataset
    return dataset.filtered_sorted(key_test={"id": lambda uid: uid not in ids})
