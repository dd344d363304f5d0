"""Checks across a run's splits: leakage, labels, class counts.

Used by :func:`speechbrain_ser.data.validation.validate_manifests`.

Authors
 * speechbrain-ser developers 2026
"""

import os


def wav_path(wav, data_folder):
    """``wav`` with ``{data_root}`` replaced by ``data_folder``.

    Arguments
    ---------
    wav : str
        A manifest's ``wav``.
    data_folder : str or None
        The YAML's ``data_folder``.

    Returns
    -------
    str

    Example
    -------
    >>> wav_path("{data_root}/a.wav", "/corpus")
    '/corpus/a.wav'
    """
    return wav.replace("{data_root}", data_folder) if data_folder else wav


def split_problems(paths, manifests, data_folder, task, n_classes):
    """Leakage between splits, unseen labels, the class count and
    degenerate label sets.

    Arguments
    ---------
    paths : dict
        split -> manifest path.
    manifests : dict
        split -> (id -> entry), as loaded.
    data_folder : str or None
        Replaces ``{data_root}`` in ``wav``.
    task : str or None
        Labels are checked for ``classification`` and ``both``.
    n_classes : int or None
        Classes the model has.

    Returns
    -------
    list of str

    Example
    -------
    >>> entries = {"a": {"wav": "a.wav", "emotion": "sad"}}
    >>> split_problems(
    ...     {"train": "t.json"},
    ...     {"train": entries},
    ...     None,
    ...     "classification",
    ...     None,
    ... )[0].split(";")[0]
    "t.json: every training utterance (1) has the label 'sad'"
    """
    problems = []
    owner_of_id, owner_of_wav = {}, {}
    for split, entries in manifests.items():
        for uid, entry in entries.items():
            other = owner_of_id.setdefault(uid, split)
            if other != split and paths[other] != paths[split]:
                problems.append(
                    f"{paths[split]}: utterance {uid!r} is also in "
                    f"{paths[other]}; the same id in two splits (leakage)"
                )
            if not isinstance(entry, dict) or "wav" not in entry:
                continue
            wav = os.path.abspath(wav_path(str(entry["wav"]), data_folder))
            other_split, other_uid = owner_of_wav.setdefault(wav, (split, uid))
            if other_split != split and paths[other_split] != paths[split]:
                problems.append(
                    f"{paths[split]}: utterance {uid!r} uses {wav}, as "
                    f"{other_uid!r} in {paths[other_split]} does (leakage)"
                )
    if task not in ("classification", "both") or "train" not in manifests:
        return problems
    counts = {}
    for entry in manifests["train"].values():
        if isinstance(entry, dict) and isinstance(entry.get("emotion"), str):
            counts[entry["emotion"]] = counts.get(entry["emotion"], 0) + 1
    for split, entries in manifests.items():
        if split == "train":
            continue
        for uid, entry in entries.items():
            label = entry.get("emotion") if isinstance(entry, dict) else None
            if isinstance(label, str) and label.strip() and label not in counts:
                problems.append(
                    f"{paths[split]}: utterance {uid!r}: unknown emotion "
                    f"label {label!r}: it never occurs in {paths['train']} "
                    f"(which has {sorted(counts)}), so no model learns it"
                )
    problems += _degenerate_problems(paths, manifests, counts)
    if n_classes is not None and counts and n_classes != len(counts):
        by_count = ", ".join(
            f"{label!r}: {n}"
            for label, n in sorted(counts.items(), key=lambda x: x[1])
        )
        problems.append(
            f"{paths['train']}: {len(counts)} emotion labels ({by_count}) "
            f"but the YAML has n_classes={n_classes}; fix the labels or "
            f"pass --n_classes={len(counts)}"
        )
    return problems


def _degenerate_problems(paths, manifests, train_counts):
    """Fewer than 2 classes in train, or one class in test: a classifier
    learns nothing, or UA = WA = F1 = 1.0 say nothing."""
    problems = []
    if len(train_counts) == 1:
        [(label, n)] = train_counts.items()
        problems.append(
            f"{paths['train']}: every training utterance ({n}) has the "
            f"label {label!r}; a classifier needs at least 2 classes (for "
            "one class and AVD only, use task: regression)"
        )
    labels = {
        entry.get("emotion")
        for entry in manifests.get("test", {}).values()
        if isinstance(entry, dict) and isinstance(entry.get("emotion"), str)
    }
    if len(labels) == 1 and len(train_counts) > 1:
        problems.append(
            f"{paths['test']}: every test utterance has the label "
            f"{labels.pop()!r}; UA, WA and F1 over one class are 1.0 or 0 "
            "whatever the model does: put utterances of at least 2 classes "
            "in test"
        )
    return problems
