"""IEMOCAP (Busso et al., 2008) manifests.

Expected layout (the release as distributed)::

    <data_folder>/Session{1..5}/sentences/wav/<dialog>/<utterance>.wav
    <data_folder>/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt
    <data_folder>/Session{1..5}/dialog/transcriptions/<dialog>.txt

Labels come from the EmoEvaluation summary lines
``[start - end]<TAB>utterance<TAB>code<TAB>[V, A, D]`` (valence, activation,
dominance on a 1-5 scale; written to the manifest as ``activation``,
``valence``, ``dominance``).

Authors
 * speechbrain-ser developers 2026
"""

import glob
import os
import re

from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.manifest import run_preparation
from speechbrain_ser.data.splits import split_by_field

logger = get_logger(__name__)

# Class sets: code -> label. "4class" merges excited into happy (the usual
# 4-class protocol); "5class" keeps excited apart (Sarkar & Tarigopula).
CLASS_SETS = {
    "4class": {
        "neu": "neutral",
        "hap": "happy",
        "exc": "happy",
        "sad": "sad",
        "ang": "angry",
    },
    "5class": {
        "neu": "neutral",
        "hap": "happy",
        "exc": "excited",
        "sad": "sad",
        "ang": "angry",
    },
}
AVD_RANGE = (1.0, 5.0)
RECORDINGS = ("all", "improvised", "scripted")
_EVALUATION = re.compile(
    r"^\[([\d.]+) - ([\d.]+)\]\t(\S+)\t(\S+)\t"
    r"\[([\d.]+), ([\d.]+), ([\d.]+)\]"
)
_TRANSCRIPT = re.compile(r"^(Ses\S+) \[[\d.]+-[\d.]+\]: ?(.*)$")


def parse_emo_evaluation(path):
    """Utterance -> (code, valence, activation, dominance) of one dialog.

    Arguments
    ---------
    path : str
        An EmoEvaluation ``<dialog>.txt`` file.

    Returns
    -------
    dict

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "Ses01F_impro01.txt")
    >>> line = "[6.29 - 8.24]\\tSes01F_impro01_F000\\tneu\\t[2.5, 2.0, 3.5]\\n"
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("% [START_TIME - END_TIME] TURN_NAME\\n" + line)
    >>> parse_emo_evaluation(path)
    {'Ses01F_impro01_F000': ('neu', 2.5, 2.0, 3.5)}
    """
    labels = {}
    with open(path, encoding="utf-8", errors="replace") as fin:
        for line in fin:
            match = _EVALUATION.match(line)
            if match:
                _, _, uid, code, val, act, dom = match.groups()
                labels[uid] = (code, float(val), float(act), float(dom))
    return labels


def parse_transcriptions(path):
    """Utterance -> transcript of one dialog (empty if the file is absent).

    Arguments
    ---------
    path : str
        A ``transcriptions/<dialog>.txt`` file.

    Returns
    -------
    dict
        Utterance id -> transcript.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "Ses01F_impro01.txt")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("Ses01F_impro01_F000 [006.29-008.24]: Excuse me.")
    >>> parse_transcriptions(path)
    {'Ses01F_impro01_F000': 'Excuse me.'}
    >>> parse_transcriptions(path + ".missing")
    {}
    """
    transcripts = {}
    if not os.path.isfile(path):
        return transcripts
    with open(path, encoding="utf-8", errors="replace") as fin:
        for line in fin:
            match = _TRANSCRIPT.match(line.strip())
            if match:
                transcripts[match.group(1)] = match.group(2).strip()
    return transcripts


def scan_iemocap(data_folder, class_set="4class", keep_other_classes=False):
    """Candidate entries of every session.

    Arguments
    ---------
    data_folder : str
        IEMOCAP root.
    class_set : str
        ``"4class"`` or ``"5class"``.
    keep_other_classes : bool
        Keep utterances outside the class set (frustrated, surprised,
        no agreement...) without an ``emotion`` field, for AVD-only
        training; otherwise they are left out (and counted in the log).

    Returns
    -------
    dict
        id -> entry.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> def utterance(session, uid, code, text):
    ...     dialog = f"Ses{session:02d}F_impro01"
    ...     base = os.path.join(root, f"Session{session}")
    ...     for sub in ("dialog/EmoEvaluation", "dialog/transcriptions"):
    ...         os.makedirs(os.path.join(base, sub), exist_ok=True)
    ...     wavs = os.path.join(base, "sentences", "wav", dialog)
    ...     os.makedirs(wavs, exist_ok=True)
    ...     uid = f"{dialog}_{uid}"
    ...     soundfile.write(f"{wavs}/{uid}.wav", np.zeros(1600), 16000)
    ...     labels = f"[1.0 - 2.0]\\t{uid}\\t{code}\\t[2.5, 4.0, 3.5]\\n"
    ...     with open(f"{base}/dialog/EmoEvaluation/{dialog}.txt", "a") as f:
    ...         _ = f.write(labels)
    ...     with open(f"{base}/dialog/transcriptions/{dialog}.txt", "a") as f:
    ...         _ = f.write(f"{uid} [001.0000-002.0000]: {text}\\n")
    >>> utterance(1, "F000", "exc", "Great news!")
    >>> utterance(1, "M000", "fru", "Not again.")
    >>> entries = scan_iemocap(root)  # frustrated is not in the 4 classes
    >>> entry = entries["Ses01F_impro01_F000"]
    >>> entry["speaker"], entry["emotion"], entry["activation"]
    ('Ses01F', 'happy', 4.0)
    >>> entry["transcript"]
    'Great news!'
    """
    mapping = CLASS_SETS[class_set]
    entries, left_out = {}, 0
    for session in range(1, 6):
        session_dir = os.path.join(data_folder, f"Session{session}")
        pattern = os.path.join(session_dir, "dialog", "EmoEvaluation", "*.txt")
        for evaluation in sorted(glob.glob(pattern)):
            dialog = os.path.splitext(os.path.basename(evaluation))[0]
            transcripts = parse_transcriptions(
                os.path.join(
                    session_dir, "dialog", "transcriptions", f"{dialog}.txt"
                )
            )
            for uid, labels in parse_emo_evaluation(evaluation).items():
                code, valence, activation, dominance = labels
                if code not in mapping and not keep_other_classes:
                    left_out += 1
                    continue
                entry = {
                    "wav": os.path.join(
                        session_dir, "sentences", "wav", dialog, f"{uid}.wav"
                    ),
                    "speaker": f"Ses{session:02d}{uid.split('_')[-1][0]}",
                    "session": session,
                    "improvised": "impro" in dialog,
                    "emotion_code": code,
                    "activation": activation,
                    "valence": valence,
                    "dominance": dominance,
                }
                if code in mapping:
                    entry["emotion"] = mapping[code]
                if uid in transcripts:
                    entry["transcript"] = transcripts[uid]
                    entry["transcript_source"] = "human"
                entries[uid] = entry
    if left_out:
        logger.info(
            f"left out {left_out} utterances outside the {class_set} set"
        )
    return entries


def prepare_iemocap(
    data_folder,
    save_folder,
    class_set="4class",
    test_session=5,
    valid_speaker=None,
    keep_other_classes=False,
    on_error="raise",
    recordings="all",
):
    """Writes leave-one-session-out manifests for IEMOCAP.

    Protocol (speaker-independent): ``test_session`` (both its speakers)
    is test; one speaker of another session is validation (default: the
    female speaker of the next session, e.g. ``Ses01F`` for test session
    5); the rest is train. Run folds 1-5 for the usual 5-fold
    cross-validation.

    Arguments
    ---------
    data_folder : str
        IEMOCAP root (``IEMOCAP_full_release``).
    save_folder : str
        Output folder for train/valid/test.json.
    class_set : str
        ``"4class"`` (excited merged into happy) or ``"5class"`` (Sarkar & Tarigopula).
    test_session : int
        1-5.
    valid_speaker : str, optional
        Validation speaker, ``Ses<nn><F|M>``.
    keep_other_classes : bool
        See :func:`scan_iemocap`.
    on_error : str
        ``"raise"`` or ``"skip"`` for missing or unreadable audio.
    recordings : str
        ``"all"``, or only the ``"improvised"`` or ``"scripted"`` dialogs
        (the three conditions of Bhosale et al. 2020); every entry has an
        ``improvised`` flag either way.

    Example
    -------
    >>> import json, os, tempfile
    >>> import numpy as np, soundfile
    >>> root, save = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> for session in range(1, 6):  # one utterance per dialog
    ...     base = os.path.join(root, f"Session{session}")
    ...     labels = f"{base}/dialog/EmoEvaluation"
    ...     os.makedirs(labels, exist_ok=True)
    ...     for dialog in ("impro01", "script01_1"):
    ...         name = f"Ses{session:02d}F_{dialog}"
    ...         wavs = f"{base}/sentences/wav/{name}"
    ...         os.makedirs(wavs, exist_ok=True)
    ...         audio = f"{wavs}/{name}_F000.wav"
    ...         soundfile.write(audio, np.zeros(1600), 16000)
    ...         line = f"[1.0 - 2.0]\\t{name}_F000\\tneu\\t[2.5, 2.0, 2.5]\\n"
    ...         _ = open(f"{labels}/{name}.txt", "w").write(line)
    >>> prepare_iemocap(root, save, test_session=5, recordings="improvised")
    >>> test = json.load(open(f"{save}/test.json"))
    >>> valid = json.load(open(f"{save}/valid.json"))
    >>> sorted(test), sorted(valid)
    (['Ses05F_impro01_F000'], ['Ses01F_impro01_F000'])
    >>> test["Ses05F_impro01_F000"]["improvised"]
    True
    """
    if recordings not in RECORDINGS:
        raise ValueError(f"recordings must be one of {RECORDINGS}")
    if class_set not in CLASS_SETS:
        raise ValueError(f"class_set must be one of {sorted(CLASS_SETS)}")
    if test_session not in range(1, 6):
        raise ValueError(f"test_session must be 1-5, not {test_session}")
    if valid_speaker is None:
        valid_speaker = f"Ses{test_session % 5 + 1:02d}F"
    options = {
        "corpus": "IEMOCAP",
        "class_set": class_set,
        "split_protocol": "leave-one-session-out, speaker-independent",
        "test_session": test_session,
        "valid_speaker": valid_speaker,
        "keep_other_classes": keep_other_classes,
    }
    if recordings != "all":  # older manifests stay up to date
        options["recordings"] = recordings

    def scan():
        """Candidate entries, only of the ``recordings`` kind asked for."""
        entries = scan_iemocap(data_folder, class_set, keep_other_classes)
        if recordings == "all":
            return entries
        improvised = recordings == "improvised"
        return {
            uid: entry
            for uid, entry in entries.items()
            if entry["improvised"] == improvised
        }

    def split(entries):
        """Test session out; the validation speaker out."""
        test = {f"Ses{test_session:02d}F", f"Ses{test_session:02d}M"}
        return split_by_field(entries, "speaker", test, {valid_speaker})

    run_preparation(
        scan,
        split,
        data_folder,
        save_folder,
        options,
        on_error,
    )
