"""The manifest format every preparer writes and every recipe reads.

A manifest is SpeechBrain's JSON data format: one object per utterance,
keyed by a unique id:

.. code-block:: json

    {
      "Ses01F_impro01_F000": {
        "wav": "{data_root}/Session1/sentences/wav/Ses01F_impro01/...wav",
        "duration": 1.95,
        "speaker": "Ses01F",
        "emotion": "neu",
        "activation": 2.5, "valence": 2.5, "dominance": 2.5,
        "transcript": "Excuse me.",
        "split": "train"
      }
    }

``wav``, ``duration`` (seconds) and ``speaker`` are always there;
``emotion`` (categorical label), ``activation``/``valence``/``dominance``
(in the corpus' own scale, see ``avd_range`` in the YAML), ``transcript``
and ``split`` when the corpus has them; corpus-specific fields
(``session``, ``gender``, ``improvised``...) may follow. ``{data_root}``
is replaced by the YAML's ``data_folder`` when the manifest is loaded, so
manifests survive moving the corpus. See ``docs/manifest.md``.

A preparer writes ``train.json``, ``valid.json`` and ``test.json`` into
its save folder, plus ``prepare_options.json``: the options they were made
with. Run again with the same options, it does nothing.

Authors
 * speechbrain-ser developers 2026
"""

import json
import math
import os

from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import AudioError, audio_info

logger = get_logger(__name__)

SPLITS = ("train", "valid", "test")
AVD_KEYS = ("activation", "valence", "dominance")
# Values of the proxy-sentiment field ``sentiment`` (in this order for the
# encoded index and the ``sentiment_probs`` columns).
SENTIMENTS = ("negative", "neutral", "positive")
OPTIONS_FILE = "prepare_options.json"


class PreparationError(ValueError):
    """A corpus problem found while writing manifests; names the file.

    Example
    -------
    >>> try:
    ...     read_manifest("missing.json")
    ... except FileNotFoundError as error:
    ...     print(error)
    missing.json: no such manifest
    >>> issubclass(PreparationError, ValueError)
    True
    """


def read_manifest(path):
    """Loads a manifest JSON file.

    Arguments
    ---------
    path : str
        Manifest path.

    Returns
    -------
    dict
        id -> entry.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".json")
    >>> write_manifest({"u1": {"wav": "a.wav", "speaker": "s1"}}, path)
    >>> read_manifest(path)
    {'u1': {'speaker': 's1', 'wav': 'a.wav'}}
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such manifest")
    with open(path, encoding="utf-8") as fin:
        try:
            return json.load(fin)
        except json.JSONDecodeError as error:
            raise PreparationError(
                f"{path}, line {error.lineno}, column {error.colno}: "
                f"not valid JSON ({error.msg})"
            ) from None


def read_audio_manifest(path, data_root=None):
    """:func:`read_manifest` with every entry's ``wav`` resolved.

    Arguments
    ---------
    path : str
        Manifest path.
    data_root : str, optional
        Replaces ``{data_root}`` (default: the manifest folder's parent,
        the layout every preparer writes).

    Returns
    -------
    dict
        id -> entry (a copy), in manifest order, ``wav`` resolved.

    Raises
    ------
    PreparationError
        Naming the manifest and the utterance that has no ``wav``.

    Example
    -------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> path = f"{root}/manifests/test.json"
    >>> write_manifest({"u1": {"wav": "{data_root}/u1.wav"}}, path)
    >>> read_audio_manifest(path)["u1"]["wav"] == f"{root}/u1.wav"
    True
    >>> write_manifest({"u1": {"wav": "a.wav"}, "u2": {}}, path)
    >>> try:
    ...     read_audio_manifest(path)
    ... except PreparationError as error:
    ...     print(str(error).replace(root, "ROOT"))
    ROOT/manifests/test.json: utterance 'u2': no "wav" field (the path of its audio file)
    """
    if data_root is None:
        data_root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    entries = {}
    for uid, entry in read_manifest(path).items():
        wav = entry.get("wav") if isinstance(entry, dict) else None
        if not isinstance(wav, str):
            raise PreparationError(
                f"{path}: utterance '{uid}': no \"wav\" field (the path of "
                "its audio file)"
            )
        entries[uid] = {**entry, "wav": wav.replace("{data_root}", data_root)}
    return entries


def manifest_field(path, field):
    """id -> value of one field, for the entries of a manifest that have it.

    Arguments
    ---------
    path : str
        A JSON manifest.
    field : str
        The entry field to read.

    Returns
    -------
    dict
        Utterance id -> value, only for the entries that have ``field``.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".json")
    >>> write_manifest({"u1": {"improvised": True}, "u2": {}}, path)
    >>> manifest_field(path, "improvised")
    {'u1': True}
    """
    return {
        uid: entry[field]
        for uid, entry in read_manifest(path).items()
        if field in entry
    }


def described_entries(path):
    """Yields (description, entry) for every utterance of a manifest.

    The description names the manifest, the id and the audio file, for
    error messages.

    Arguments
    ---------
    path : str
        Manifest path.

    Yields
    ------
    tuple
        (description, entry) per utterance.

    Raises
    ------
    ValueError
        If the manifest has no utterances.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".json")
    >>> write_manifest({"u1": {"wav": "a.wav"}}, path)
    >>> for description, entry in described_entries(path):
    ...     print(description.endswith("utterance 'u1' (a.wav)"), entry)
    True {'wav': 'a.wav'}
    """
    entries = read_manifest(path)
    if not entries:
        raise ValueError(f"{path}: the manifest has no utterances")
    for uid, entry in entries.items():
        yield f"{path}: utterance {uid!r} ({entry.get('wav', 'no wav')})", entry


def write_manifest(entries, path):
    """Writes id -> entry as an indented, key-sorted JSON manifest.

    Arguments
    ---------
    entries : dict
        id -> entry.
    path : str
        Output path (its folder is created).

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "new", "train.json")
    >>> write_manifest({"u1": {"wav": "a.wav"}}, path)
    >>> read_manifest(path)
    {'u1': {'wav': 'a.wav'}}
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(
            entries,
            fout,
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
            allow_nan=False,
        )


def manifests_up_to_date(save_folder, options):
    """True if every split manifest exists and was made with ``options``.

    Arguments
    ---------
    save_folder : str
        Folder with ``train.json``, ``valid.json``, ``test.json``.
    options : dict
        The JSON-serialisable preparation options.

    Returns
    -------
    bool

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> manifests_up_to_date(folder, {"a": 1})
    False
    >>> write_splits({s: {} for s in SPLITS}, folder, {"a": 1})
    >>> manifests_up_to_date(folder, {"a": 1})
    True
    >>> manifests_up_to_date(folder, {"a": 2})
    False
    """
    paths = [os.path.join(save_folder, f"{split}.json") for split in SPLITS]
    options_path = os.path.join(save_folder, OPTIONS_FILE)
    if not all(os.path.isfile(p) for p in paths + [options_path]):
        return False
    with open(options_path, encoding="utf-8") as fin:
        saved = json.load(fin)
    return saved == json.loads(json.dumps(options))


def write_splits(split_entries, save_folder, options):
    """Writes one manifest per split and records the options used.

    Each entry gets its ``split`` field. The options file is written last,
    so an interrupted preparation is redone next time.

    Arguments
    ---------
    split_entries : dict
        split name -> (id -> entry), for every name in SPLITS.
    save_folder : str
        Output folder.
    options : dict
        JSON-serialisable preparation options.

    Example
    -------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> splits = {"train": {"u1": {"wav": "a.wav"}}, "valid": {}, "test": {}}
    >>> write_splits(splits, folder, {"seed": 1})
    >>> sorted(os.listdir(folder))
    ['prepare_options.json', 'test.json', 'train.json', 'valid.json']
    >>> read_manifest(os.path.join(folder, "train.json"))["u1"]["split"]
    'train'
    """
    os.makedirs(save_folder, exist_ok=True)
    options_path = os.path.join(save_folder, OPTIONS_FILE)
    if os.path.exists(options_path):
        os.remove(options_path)
    for split in SPLITS:
        entries = split_entries.get(split, {})
        for entry in entries.values():
            entry["split"] = split
        write_manifest(entries, os.path.join(save_folder, f"{split}.json"))
        logger.info(f"{split}: {len(entries)} utterances")
    with open(options_path, "w", encoding="utf-8") as fout:
        json.dump(options, fout, indent=2, sort_keys=True)


def check_entries(candidates, data_folder, on_error="raise", labels=None):
    """Checks the audio and labels of candidate entries; adds durations.

    Arguments
    ---------
    candidates : dict
        id -> entry with at least ``wav`` (absolute path) and ``speaker``;
        a ``problem`` field marks an entry the scanner found wrong.
    data_folder : str
        Corpus root: paths under it are stored as ``{data_root}/...``.
    on_error : str
        ``"raise"`` stops at the first bad entry with an error naming the
        file; ``"skip"`` leaves bad entries out and logs how many and why.
    labels : collection of str, optional
        Allowed ``emotion`` values; others are errors.

    Returns
    -------
    dict
        id -> checked entry, with ``duration`` and a portable ``wav``.

    Raises
    ------
    PreparationError
        With ``on_error="raise"``, for the first bad entry.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> soundfile.write(os.path.join(root, "a.wav"), np.zeros(8000), 16000)
    >>> candidates = {
    ...     "a": {"wav": os.path.join(root, "a.wav"), "emotion": "sad"},
    ...     "b": {"wav": os.path.join(root, "b.wav"), "emotion": "sad"},
    ...     "c": {"wav": os.path.join(root, "a.wav"), "emotion": "bored"},
    ... }
    >>> check_entries(candidates, root, "skip", labels={"sad"})
    {'a': {'wav': '{data_root}/a.wav', 'emotion': 'sad', 'duration': 0.5}}
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(
            f"on_error must be 'raise' or 'skip', not {on_error!r}"
        )
    root = os.path.abspath(data_folder)
    checked, problems = {}, []
    for uid, entry in candidates.items():
        try:
            problem = _entry_problem(entry, labels)
            if problem:
                raise PreparationError(f"{entry['wav']}: {problem}")
            entry["duration"] = round(audio_info(entry["wav"])[0], 4)
        except (AudioError, PreparationError) as error:
            if on_error == "raise":
                raise PreparationError(
                    f"{error}\n(pass on_error='skip' to leave such files out)"
                ) from None
            problems.append(str(error))
            continue
        path = os.path.abspath(entry["wav"])
        if path.startswith(root + os.sep):
            entry["wav"] = "{data_root}" + path[len(root) :]
        checked[uid] = entry
    if problems:
        logger.warning(
            f"skipped {len(problems)} of {len(candidates)} utterances; "
            f"first: {problems[0]}"
        )
    return checked


def _entry_problem(entry, labels):
    """A description of what is wrong with an entry's labels, or None.

    A scanner may flag an entry with a ``problem`` field (e.g. a missing
    transcript); it is reported here and never written.
    """
    problem = entry.pop("problem", None)
    if problem:
        return problem
    if labels is not None and "emotion" in entry:
        if entry["emotion"] not in labels:
            return (
                f"unknown emotion label {entry['emotion']!r}; "
                f"expected one of {sorted(labels)}"
            )
    for key in AVD_KEYS:
        value = entry.get(key)
        if value is not None and not math.isfinite(value):
            return f"{key} is {value}"
    return None


def run_preparation(
    scan, split, data_folder, save_folder, options, on_error, labels=None
):
    """The steps every preparer shares, skipped when already done.

    Arguments
    ---------
    scan : callable
        ``() -> {id: entry}``: candidate entries with absolute ``wav``.
    split : callable
        ``entries -> {"train": ..., "valid": ..., "test": ...}``.
    data_folder : str
        Corpus root.
    save_folder : str
        Where the manifests go.
    options : dict
        Everything that changes the manifests (for idempotency).
    on_error : str
        ``"raise"`` or ``"skip"`` (see :func:`check_entries`).
    labels : collection of str, optional
        Allowed emotion labels.

    Returns
    -------
    bool
        False if the manifests were already up to date.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root, save = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> soundfile.write(os.path.join(root, "a.wav"), np.zeros(1600), 16000)
    >>> def scan():
    ...     return {"a": {"wav": os.path.join(root, "a.wav"), "speaker": "s"}}
    >>> def split(entries):
    ...     return {"train": entries, "valid": entries, "test": entries}
    >>> run_preparation(scan, split, root, save, {"seed": 1}, "raise")
    True
    >>> run_preparation(scan, split, root, save, {"seed": 1}, "raise")
    False
    """
    if manifests_up_to_date(save_folder, options):
        logger.info(f"manifests in {save_folder} are up to date; skipping")
        return False
    if not os.path.isdir(data_folder):
        raise PreparationError(f"{data_folder}: no such corpus folder")
    entries = check_entries(scan(), data_folder, on_error, labels)
    if not entries:
        raise PreparationError(
            f"{data_folder}: no usable utterances found for "
            f"{options.get('corpus', 'this corpus')}; check the folder layout"
        )
    write_splits(split(entries), save_folder, options)
    return True
