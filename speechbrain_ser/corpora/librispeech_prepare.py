"""LibriSpeech (Panayotov et al., 2015) manifests for pre-training.

Expected layout (official)::

    <data_folder>/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac
    <data_folder>/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt

Other layouts with FLAC files and a JSON-lines transcript file
(``{"path": <relative to data_folder>, "text": ...}`` per line) are read
with ``transcripts_file``.

Authors
 * speechbrain-ser developers 2026
"""

import glob
import json
import os

from speechbrain_ser.data.manifest import PreparationError, run_preparation


def read_trans_files(folder):
    """Utterance id -> transcript from every ``*.trans.txt`` under folder.

    Arguments
    ---------
    folder : str
        A LibriSpeech subset (or any folder above its chapters).

    Returns
    -------
    dict
        Utterance id -> transcript.

    Example
    -------
    >>> import os, tempfile
    >>> chapter = os.path.join(tempfile.mkdtemp(), "19", "198")
    >>> os.makedirs(chapter)
    >>> with open(os.path.join(chapter, "19-198.trans.txt"), "w") as fout:
    ...     _ = fout.write("19-198-0000 NORTHANGER ABBEY\\n")
    >>> read_trans_files(os.path.dirname(os.path.dirname(chapter)))
    {'19-198-0000': 'NORTHANGER ABBEY'}
    """
    transcripts = {}
    pattern = os.path.join(folder, "**", "*.trans.txt")
    for path in glob.glob(pattern, recursive=True):
        with open(path, encoding="utf-8") as fin:
            for line in fin:
                uid, _, text = line.strip().partition(" ")
                if uid:
                    transcripts[uid] = text
    return transcripts


def read_transcripts_jsonl(path, data_folder):
    """Utterance id -> transcript from a JSON-lines file of path/text.

    Arguments
    ---------
    path : str
        JSON-lines file, one ``{"path": ..., "text": ...}`` per line.
    data_folder : str
        The corpus root (paths are matched by file name).

    Returns
    -------
    dict
        Utterance id (file name without extension) -> transcript.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "transcripts.jsonl")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write('{"path": "a/19-198-0000.flac", "text": "HI "}')
    >>> read_transcripts_jsonl(path, "/corpus")
    {'19-198-0000': 'HI'}
    """
    transcripts = {}
    with open(path, encoding="utf-8") as fin:
        for number, line in enumerate(fin, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                uid = os.path.splitext(os.path.basename(record["path"]))[0]
                transcripts[uid] = record["text"].strip()
            except (json.JSONDecodeError, KeyError) as error:
                raise PreparationError(
                    f"{path}, line {number}: expected a JSON object with "
                    f"'path' and 'text' ({error})"
                ) from None
    return transcripts


def scan_librispeech(data_folder, subsets, transcripts_file=None):
    """Candidate entries of the given subsets, with transcripts.

    Arguments
    ---------
    data_folder : str
        LibriSpeech root.
    subsets : dict
        split name -> list of subset folder names.
    transcripts_file : str, optional
        JSON-lines transcripts for non-official layouts.

    Returns
    -------
    dict
        id -> entry (an entry without a transcript gets none, and
        :func:`prepare_librispeech` reports it).

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> chapter = os.path.join(root, "dev-clean", "19", "198")
    >>> os.makedirs(chapter)
    >>> soundfile.write(f"{chapter}/19-198-0000.flac", np.zeros(1600), 16000)
    >>> with open(os.path.join(chapter, "19-198.trans.txt"), "w") as fout:
    ...     _ = fout.write("19-198-0000 NORTHANGER ABBEY\\n")
    >>> entries = scan_librispeech(root, {"valid": ["dev-clean"]})
    >>> entry = entries["19-198-0000"]
    >>> entry["speaker"], entry["split"], entry["transcript"]
    ('19', 'valid', 'NORTHANGER ABBEY')
    """
    extra = (
        read_transcripts_jsonl(transcripts_file, data_folder)
        if transcripts_file
        else {}
    )
    entries = {}
    for split, folders in subsets.items():
        for subset in folders:
            root = os.path.join(data_folder, subset)
            if not os.path.isdir(root):
                raise PreparationError(f"{root}: subset folder not found")
            transcripts = {**read_trans_files(root), **extra}
            pattern = os.path.join(root, "**", "*.flac")
            for path in sorted(glob.glob(pattern, recursive=True)):
                uid = os.path.splitext(os.path.basename(path))[0]
                entries[uid] = {
                    "wav": path,
                    "speaker": uid.split("-")[0],
                    "subset": subset,
                    "split": split,
                }
                if uid in transcripts:
                    entries[uid]["transcript"] = transcripts[uid]
    return entries


def prepare_librispeech(
    data_folder,
    save_folder,
    train_splits=("train-clean-100",),
    valid_splits=("dev-clean",),
    test_splits=("test-clean",),
    transcripts_file=None,
    on_error="raise",
):
    """Writes LibriSpeech manifests (no emotion labels) for pre-training.

    Every utterance needs a transcript: one without is an error naming the
    file (or, with ``on_error="skip"``, left out and counted).

    Arguments
    ---------
    data_folder : str
        LibriSpeech root.
    save_folder : str
        Output folder.
    train_splits, valid_splits, test_splits : sequence of str
        Subset folder names for each split (official: speaker-disjoint).
    transcripts_file : str, optional
        JSON-lines transcripts for other layouts.
    on_error : str
        ``"raise"`` or ``"skip"``.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root, save = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> for subset, speaker in [("train", "19"), ("dev", "84"), ("test", "61")]:
    ...     chapter = os.path.join(root, subset, speaker, "100")
    ...     os.makedirs(chapter)
    ...     uid = f"{speaker}-100-0000"
    ...     soundfile.write(f"{chapter}/{uid}.flac", np.zeros(1600), 16000)
    ...     with open(f"{chapter}/{speaker}-100.trans.txt", "w") as fout:
    ...         _ = fout.write(f"{uid} HELLO\\n")
    >>> prepare_librispeech(root, save, ["train"], ["dev"], ["test"])
    >>> sorted(os.listdir(save))
    ['prepare_options.json', 'test.json', 'train.json', 'valid.json']
    """
    subsets = {
        "train": list(train_splits),
        "valid": list(valid_splits),
        "test": list(test_splits),
    }
    options = {
        "corpus": "LibriSpeech",
        "split_protocol": "official subsets",
        "subsets": subsets,
        "transcripts_file": transcripts_file,
    }

    def scan():
        """Entries of every subset; one without a transcript is a problem."""
        entries = scan_librispeech(data_folder, subsets, transcripts_file)
        for entry in entries.values():
            if "transcript" not in entry:
                entry["problem"] = "no transcript for this utterance"
        return entries

    def split(entries):
        """The official subsets, as configured per split."""
        return {
            name: {u: e for u, e in entries.items() if e["split"] == name}
            for name in subsets
        }

    run_preparation(scan, split, data_folder, save_folder, options, on_error)
