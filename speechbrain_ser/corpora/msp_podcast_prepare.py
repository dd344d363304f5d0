"""MSP-Podcast (Lotfian and Busso, 2019) manifests.

Expected layout::

    <data_folder>/Audios/<FileName>.wav
    <data_folder>/Labels/labels_consensus.csv
    <data_folder>/Transcripts/<FileName stem>.txt   (optional)

``labels_consensus.csv`` has the columns ``FileName, EmoClass, EmoAct,
EmoVal, EmoDom, SpkrID, Gender, Split_Set``; AVD are on a 1-7 scale.

Authors
 * speechbrain-ser developers 2026
"""

import csv
import os

from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.manifest import PreparationError, run_preparation
from speechbrain_ser.data.splits import split_by_field

logger = get_logger(__name__)

CLASS_CODES = {
    "A": "angry",
    "S": "sad",
    "H": "happy",
    "U": "surprise",
    "F": "fear",
    "D": "disgust",
    "C": "contempt",
    "N": "neutral",
    "O": "other",
    "X": "no_agreement",
}
FOUR_CLASSES = ("N", "H", "S", "A")
AVD_RANGE = (1.0, 7.0)
REQUIRED_COLUMNS = (
    "FileName",
    "EmoClass",
    "EmoAct",
    "EmoVal",
    "EmoDom",
    "SpkrID",
    "Split_Set",
)


def scan_msp_podcast(
    data_folder, classes=FOUR_CLASSES, keep_other_classes=False
):
    """Candidate entries from ``Labels/labels_consensus.csv``.

    Arguments
    ---------
    data_folder : str
        MSP-Podcast root.
    classes : sequence of str
        EmoClass codes that get an ``emotion`` label.
    keep_other_classes : bool
        Keep other utterances without ``emotion`` (AVD-only training).

    Returns
    -------
    dict
        id -> entry, with the official ``partition``.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> for folder in ("Audios", "Labels"):
    ...     os.makedirs(os.path.join(root, folder))
    >>> rows = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Split_Set"]
    >>> for i, (code, split) in enumerate(
    ...     [("A", "Train"), ("N", "Development"), ("H", "Test1")]
    ... ):
    ...     name = f"MSP-PODCAST_0001_000{i}.wav"
    ...     soundfile.write(f"{root}/Audios/{name}", np.zeros(1600), 16000)
    ...     rows.append(f"{name},{code},5.0,2.0,4.0,{i},{split}")
    >>> with open(f"{root}/Labels/labels_consensus.csv", "w") as fout:
    ...     _ = fout.write("\\n".join(rows))
    >>> entry = scan_msp_podcast(root)["MSP-PODCAST_0001_0000"]
    >>> entry["emotion"], entry["partition"], entry["activation"]
    ('angry', 'Train', 5.0)
    """
    labels_path = os.path.join(data_folder, "Labels", "labels_consensus.csv")
    if not os.path.isfile(labels_path):
        raise PreparationError(f"{labels_path}: label file not found")
    entries, left_out = {}, 0
    with open(labels_path, encoding="utf-8", newline="") as fin:
        reader = csv.DictReader(fin)
        missing = [
            c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise PreparationError(f"{labels_path}: missing columns {missing}")
        for line, row in enumerate(reader, start=2):
            code = row["EmoClass"].strip()
            if code not in classes and not keep_other_classes:
                left_out += 1
                continue
            stem = os.path.splitext(row["FileName"])[0]
            try:
                avd = [float(row[k]) for k in ("EmoAct", "EmoVal", "EmoDom")]
            except ValueError:
                raise PreparationError(
                    f"{labels_path}, line {line}: AVD values are not numbers"
                ) from None
            entry = {
                "wav": os.path.join(data_folder, "Audios", row["FileName"]),
                "speaker": row["SpkrID"].strip(),
                "gender": row.get("Gender", "").strip(),
                "partition": row["Split_Set"].strip(),
                "emotion_code": code,
                "activation": avd[0],
                "valence": avd[1],
                "dominance": avd[2],
            }
            if code in classes:
                entry["emotion"] = CLASS_CODES.get(code, code)
            transcript = os.path.join(data_folder, "Transcripts", f"{stem}.txt")
            if os.path.isfile(transcript):
                with open(transcript, encoding="utf-8") as tin:
                    entry["transcript"] = tin.read().strip()
                entry["transcript_source"] = "human"
            entries[stem] = entry
    if left_out:
        logger.info(
            f"left out {left_out} utterances outside classes {list(classes)}"
        )
    return entries


def prepare_msp_podcast(
    data_folder,
    save_folder,
    classes=FOUR_CLASSES,
    test_set="Test1",
    keep_other_classes=False,
    on_error="raise",
):
    """Writes manifests following the official partitions.

    Protocol: train = ``Train``, valid = ``Development``, test =
    ``test_set`` (``Test1``, ``Test2``...); other partitions are left out.
    The official partitions are speaker-independent.

    Arguments
    ---------
    data_folder : str
        MSP-Podcast root.
    save_folder : str
        Output folder.
    classes : sequence of str
        EmoClass codes kept as categories (default N, H, S, A).
    test_set : str
        Official test partition.
    keep_other_classes : bool
        Keep other utterances without ``emotion`` (AVD-only training).
    on_error : str
        ``"raise"`` or ``"skip"``.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> for folder in ("Audios", "Labels"):
    ...     os.makedirs(os.path.join(root, folder))
    >>> rows = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Split_Set"]
    >>> for i, (code, split) in enumerate(
    ...     [("A", "Train"), ("N", "Development"), ("H", "Test1")]
    ... ):
    ...     name = f"MSP-PODCAST_0001_000{i}.wav"
    ...     soundfile.write(f"{root}/Audios/{name}", np.zeros(1600), 16000)
    ...     rows.append(f"{name},{code},5.0,2.0,4.0,{i},{split}")
    >>> with open(f"{root}/Labels/labels_consensus.csv", "w") as fout:
    ...     _ = fout.write("\\n".join(rows))
    >>> save = tempfile.mkdtemp()
    >>> prepare_msp_podcast(root, save)
    >>> sorted(os.listdir(save))
    ['prepare_options.json', 'test.json', 'train.json', 'valid.json']
    """
    options = {
        "corpus": "MSP-Podcast",
        "classes": list(classes),
        "split_protocol": "official partitions (speaker-independent)",
        "test_set": test_set,
        "keep_other_classes": keep_other_classes,
    }

    def split(entries):
        """Train, Development and ``test_set`` partitions."""
        # Other test partitions are left out, never used for training.
        used = {"Train", "Development", test_set}
        entries = {u: e for u, e in entries.items() if e["partition"] in used}
        return split_by_field(entries, "partition", {test_set}, {"Development"})

    run_preparation(
        lambda: scan_msp_podcast(data_folder, classes, keep_other_classes),
        split,
        data_folder,
        save_folder,
        options,
        on_error,
    )
