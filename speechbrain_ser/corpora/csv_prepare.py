"""Manifests from a CSV file: the way in for in-house corpora.

The CSV has a header row. Required columns: ``id``, ``wav`` (absolute, or
relative to ``data_folder``), ``speaker``. Optional: ``emotion``,
``activation``, ``valence``, ``dominance``, ``transcript``, ``split``
(``train``/``valid``/``test``); any other column is copied as a string.
Without a ``split`` column the split is speaker-independent by ``ratios``.

Like every preparer, it does nothing when its manifests were made from the
same CSV content and options (so hand edits of the manifests are kept);
a changed CSV remakes them.

Authors
 * speechbrain-ser developers 2026
"""

import csv
import hashlib
import math
import os

from speechbrain_ser.data.manifest import (
    AVD_KEYS,
    SPLITS,
    PreparationError,
    run_preparation,
)
from speechbrain_ser.data.splits import (
    check_class_coverage,
    split_by_field,
    split_by_speaker,
    split_by_speaker_folds,
)

REQUIRED_COLUMNS = ("id", "wav", "speaker")


def scan_csv(csv_file, data_folder):
    """Candidate entries of every row.

    Arguments
    ---------
    csv_file : str
        The CSV (columns ``id``, ``wav``, ``speaker`` and optional ones).
    data_folder : str
        Root that relative ``wav`` paths are under.

    Returns
    -------
    dict
        id -> entry (every non-empty cell; AVD values as floats).

    Example
    -------
    >>> import os, tempfile
    >>> csv_file = os.path.join(tempfile.mkdtemp(), "corpus.csv")
    >>> with open(csv_file, "w") as fout:
    ...     _ = fout.write("id,wav,speaker,valence\\nu1,a.wav,s1,3.5\\n")
    >>> entry = scan_csv(csv_file, "/corpus")["u1"]
    >>> entry["wav"], entry["speaker"], entry["valence"]
    ('/corpus/a.wav', 's1', 3.5)

    Raises
    ------
    PreparationError
        For a missing column, a duplicate id, an empty required cell, a
        non-numeric AVD value or an unknown split, naming file and line.
    """
    if not os.path.isfile(csv_file):
        raise PreparationError(f"{csv_file}: CSV file not found")
    entries = {}
    with open(csv_file, encoding="utf-8", newline="") as fin:
        reader = csv.DictReader(fin)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise PreparationError(
                f"{csv_file}: missing columns {missing} (has {columns})"
            )
        for line, row in enumerate(reader, start=2):
            where = f"{csv_file}, line {line}"
            for column in REQUIRED_COLUMNS:
                if not (row[column] or "").strip():
                    raise PreparationError(f"{where}: empty {column!r}")
            uid = row["id"].strip()
            if uid in entries:
                raise PreparationError(f"{where}: duplicate id {uid!r}")
            entry = {
                key: value.strip()
                for key, value in row.items()
                if key and value is not None and value.strip() != ""
            }
            del entry["id"]
            entry["wav"] = os.path.join(data_folder, entry["wav"])
            for key in AVD_KEYS:
                if key in entry:
                    try:
                        entry[key] = float(entry[key])
                    except ValueError:
                        raise PreparationError(
                            f"{where}: {key}={entry[key]!r} is not a number"
                        ) from None
                    if not math.isfinite(entry[key]):
                        entry["problem"] = f"{key} is {entry[key]}"
            if entry.get("split", "train") not in SPLITS:
                raise PreparationError(
                    f"{where}: split {entry['split']!r} is not one of {SPLITS}"
                )
            entries[uid] = entry
    return entries


def _csv_digest(csv_file):
    """(sha1 of the content, whether the header has a split column)."""
    if not os.path.isfile(csv_file):
        raise PreparationError(f"{csv_file}: CSV file not found")
    with open(csv_file, "rb") as fin:
        content = fin.read()
    header = content.decode("utf-8", errors="replace").split("\n", 1)[0]
    columns = [c.strip() for c in next(csv.reader([header]), [])]
    return hashlib.sha1(content).hexdigest(), "split" in columns


def prepare_csv(
    csv_file,
    data_folder,
    save_folder,
    labels=None,
    ratios=(0.8, 0.1, 0.1),
    seed=1234,
    on_error="raise",
    n_folds=None,
    fold=0,
    min_per_class=2,
):
    """Writes manifests from a CSV file (see the module docstring).

    Arguments
    ---------
    csv_file : str
        The CSV.
    data_folder : str
        Root that relative ``wav`` paths are under.
    save_folder : str
        Output folder.
    labels : collection of str, optional
        Allowed emotion labels; others are errors (or skipped).
    ratios : tuple of float
        Speaker-independent split when the CSV has no ``split`` column.
    seed : int
        Speaker shuffling seed.
    on_error : str
        ``"raise"`` or ``"skip"``.
    n_folds : int, optional
        Without a ``split`` column: class-stratified speaker k-fold
        (:func:`~speechbrain_ser.data.splits.split_by_speaker_folds`),
        ``fold`` being test, for ``python -m
        speechbrain_ser.evaluation.crossval`` (the way for a few hundred
        clips and few speakers).
    fold : int
        Test fold when ``n_folds`` is given.
    min_per_class : int
        A single split (not k-fold) must have at least this many clips of
        every class in valid and in test, else preparation stops and says
        how to cross-validate instead
        (:func:`~speechbrain_ser.data.splits.check_class_coverage`); 0
        turns the check off.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root, save = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> rows = ["id,wav,speaker,emotion,split"]
    >>> for i, split in enumerate(["train", "train", "valid", "test"]):
    ...     soundfile.write(f"{root}/{i}.wav", np.zeros(1600), 16000)
    ...     rows.append(f"u{i},{i}.wav,s{i},happy,{split}")
    >>> with open(os.path.join(root, "corpus.csv"), "w") as fout:
    ...     _ = fout.write("\\n".join(rows))
    >>> csv_file = os.path.join(root, "corpus.csv")
    >>> prepare_csv(csv_file, root, save, min_per_class=1)
    >>> sorted(os.listdir(save))
    ['prepare_options.json', 'test.json', 'train.json', 'valid.json']
    """
    digest, has_split_column = _csv_digest(csv_file)
    options = {
        "corpus": "csv",
        "csv_file": os.path.abspath(csv_file),
        "csv_sha1": digest,
        "labels": sorted(labels) if labels else None,
        "ratios": list(ratios),
        "seed": seed,
        "split_protocol": "the CSV's split column"
        if has_split_column
        else f"speaker-independent, class-stratified {n_folds}-fold, "
        f"test fold {fold}"
        if n_folds
        else "speaker-independent random speaker split",
        "min_per_class": min_per_class,
    }

    def split(entries):
        """Train/valid/test: the CSV's ``split`` column, else by speaker."""
        if has_split_column:
            if not all("split" in entry for entry in entries.values()):
                raise PreparationError(
                    f"{csv_file}: the split column has empty cells; fill "
                    "them with train, valid or test"
                )
            splits = split_by_field(entries, "split", {"test"}, {"valid"})
        elif n_folds:  # pooled over folds by crossval: no per-fold check
            return split_by_speaker_folds(entries, n_folds, fold, seed=seed)
        else:
            splits = split_by_speaker(entries, ratios, seed)
        try:
            return check_class_coverage(splits, min_per_class)
        except ValueError as error:
            raise PreparationError(f"{csv_file}: {error}") from None

    run_preparation(
        lambda: scan_csv(csv_file, data_folder),
        split,
        data_folder,
        save_folder,
        options,
        on_error,
        labels=set(labels) if labels else None,
    )
