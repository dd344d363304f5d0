"""Train/valid/test protocols for emotion corpora.

Published SER numbers are only comparable under the same protocol, so
every preparer names the one it applies (``split_protocol`` in its
options, written next to the manifests).

Authors
 * speechbrain-ser developers 2026
"""

import random


def split_by_speaker(entries, ratios=(0.7, 0.15, 0.15), seed=1234):
    """Speaker-independent split: every speaker in exactly one split.

    Speakers are shuffled with ``seed`` and dealt out so that each split
    gets about its ratio of utterances; valid and test get at least one
    speaker each when there are three or more.

    Arguments
    ---------
    entries : dict
        id -> entry with a ``speaker`` field.
    ratios : tuple of float
        Fractions for (train, valid, test).
    seed : int
        Shuffling seed.

    Returns
    -------
    dict
        ``{"train": {...}, "valid": {...}, "test": {...}}``.

    Example
    -------
    >>> spk = "abcdefghij"
    >>> entries = {f"{s}{i}": {"speaker": s} for s in spk for i in range(3)}
    >>> splits = split_by_speaker(entries, (0.8, 0.1, 0.1), seed=0)
    >>> [len(splits[k]) for k in ("train", "valid", "test")]
    [24, 3, 3]
    >>> speakers = [{e["speaker"] for e in splits[k].values()} for k in splits]
    >>> set.intersection(*speakers)
    set()
    """
    by_speaker = {}
    for uid, entry in entries.items():
        by_speaker.setdefault(entry["speaker"], []).append(uid)
    speakers = sorted(by_speaker)
    random.Random(seed).shuffle(speakers)
    total = len(entries)
    assigned = {"train": [], "valid": [], "test": []}
    for split, ratio in (("test", ratios[2]), ("valid", ratios[1])):
        count = 0
        # Deal whole speakers until the split has its share; always leave
        # one speaker for training.
        while len(speakers) > 1 and count < ratio * total:
            speaker = speakers.pop(0)
            assigned[split].append(speaker)
            count += len(by_speaker[speaker])
    assigned["train"] = speakers
    return {
        split: {
            uid: entries[uid]
            for spk in assigned[split]
            for uid in by_speaker[spk]
        }
        for split in ("train", "valid", "test")
    }


def split_random(entries, ratios=(0.7, 0.2, 0.1), seed=1234):
    """Utterance-level random split (NOT speaker-independent).

    Sarkar & Tarigopula's 70:20:10 protocol; speakers appear in several splits, so
    results are optimistic compared with speaker-independent ones.

    Arguments
    ---------
    entries : dict
        id -> entry.
    ratios : tuple of float
        Fractions for (train, valid, test).
    seed : int
        Shuffling seed.

    Returns
    -------
    dict
        ``{"train": {...}, "valid": {...}, "test": {...}}``.

    Example
    -------
    >>> splits = split_random({str(i): {} for i in range(10)}, seed=0)
    >>> [len(splits[k]) for k in ("train", "valid", "test")]
    [7, 2, 1]
    """
    ids = sorted(entries)
    random.Random(seed).shuffle(ids)
    n_train = round(ratios[0] * len(ids))
    n_valid = round(ratios[1] * len(ids))
    parts = {
        "train": ids[:n_train],
        "valid": ids[n_train : n_train + n_valid],
        "test": ids[n_train + n_valid :],
    }
    return {
        split: {uid: entries[uid] for uid in part}
        for split, part in parts.items()
    }


def split_by_field(entries, field, test_values, valid_values):
    """Leave-out split on a field (session, speaker, official partition).

    Arguments
    ---------
    entries : dict
        id -> entry.
    field : str
        Entry field to split on.
    test_values : collection
        Values of ``field`` that go to test.
    valid_values : collection
        Values that go to valid; everything else is train.

    Returns
    -------
    dict
        ``{"train": {...}, "valid": {...}, "test": {...}}``.

    Example
    -------
    >>> entries = {str(i): {"session": i % 5 + 1} for i in range(10)}
    >>> splits = split_by_field(entries, "session", {5}, {4})
    >>> [len(splits[k]) for k in ("train", "valid", "test")]
    [6, 2, 2]
    """
    overlap = set(test_values) & set(valid_values)
    if overlap:
        raise ValueError(
            f"{field} values {sorted(overlap)} are in both valid and test"
        )
    splits = {"train": {}, "valid": {}, "test": {}}
    for uid, entry in entries.items():
        value = entry[field]
        if value in test_values:
            splits["test"][uid] = entry
        elif value in valid_values:
            splits["valid"][uid] = entry
        else:
            splits["train"][uid] = entry
    return splits


def split_by_speaker_folds(
    entries, n_folds=4, fold=0, label="emotion", seed=1234
):
    """Speaker-independent k-fold split, stratified on a label.

    scikit-learn's ``StratifiedGroupKFold`` (groups = speakers) makes
    ``n_folds`` folds whose class mix is as close as possible to the whole
    corpus; fold ``fold`` is test, fold ``fold + 1`` (mod n_folds) is
    valid, the rest is train. Run every ``fold`` for cross-validation. Use
    it when speakers carry few emotions each, where a random speaker split
    can leave a class out of test.

    Arguments
    ---------
    entries : dict
        id -> entry with ``speaker`` and ``label`` fields.
    n_folds : int
        Number of folds (>= 3).
    fold : int
        Test fold, 0 <= fold < n_folds.
    label : str
        Field to stratify on.
    seed : int
        Shuffling seed.

    Returns
    -------
    dict
        ``{"train": {...}, "valid": {...}, "test": {...}}``.

    Example
    -------
    >>> entries = {
    ...     f"{s}{i}": {"speaker": s, "emotion": "ab"[n % 2]}
    ...     for n, s in enumerate("abcdefgh")
    ...     for i in range(2)
    ... }
    >>> splits = split_by_speaker_folds(entries, n_folds=4, fold=0, seed=0)
    >>> [len(splits[k]) for k in ("train", "valid", "test")]
    [8, 4, 4]
    >>> sorted({e["emotion"] for e in splits["test"].values()})
    ['a', 'b']
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if n_folds < 3 or not 0 <= fold < n_folds:
        raise ValueError("need n_folds >= 3 and 0 <= fold < n_folds")
    ids = sorted(entries)
    folds = StratifiedGroupKFold(
        n_splits=n_folds, shuffle=True, random_state=seed
    )
    fold_of = {}
    for index, (_, held_out) in enumerate(
        folds.split(
            ids,
            [entries[u][label] for u in ids],
            groups=[entries[u]["speaker"] for u in ids],
        )
    ):
        fold_of.update({ids[i]: index for i in held_out})
    valid_fold = (fold + 1) % n_folds
    splits = {"train": {}, "valid": {}, "test": {}}
    for uid in ids:
        part = (
            "test"
            if fold_of[uid] == fold
            else "valid"
            if fold_of[uid] == valid_fold
            else "train"
        )
        splits[part][uid] = entries[uid]
    return splits


def check_class_coverage(splits, min_per_class=2, label="emotion"):
    """Stops a split whose valid or test set cannot measure every class.

    With a few hundred clips and few speakers, a speaker split can leave
    classes out of valid or test (then the model is selected on a score
    of a few clips, and UA is over the classes present only). Every class
    of train must have at least ``min_per_class`` clips in valid and in
    test; entries without ``label`` (A/V/D only) are not checked.

    Arguments
    ---------
    splits : dict
        ``{"train": {...}, "valid": {...}, "test": {...}}`` of entries.
    min_per_class : int
        Minimum clips per class in valid and test; 0 turns the check off.
    label : str
        The class field.

    Returns
    -------
    dict
        ``splits``, unchanged.

    Raises
    ------
    ValueError
        Naming the missing or rare classes per split, and the fix:
        speaker-grouped k-fold cross-validation.

    Example
    -------
    >>> entries = lambda s, labels: {
    ...     f"{s}{i}": {"speaker": s, "emotion": e}
    ...     for i, e in enumerate(labels)
    ... }
    >>> splits = {
    ...     "train": entries("a", "xxyy"),
    ...     "valid": entries("b", "xxyy"),
    ...     "test": entries("c", "xxx"),
    ... }
    >>> check_class_coverage(splits)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: test has 0 clip(s) of y (need 2 per class); a single ...
    >>> _ = check_class_coverage(splits, min_per_class=0)
    """
    if not min_per_class:
        return splits
    classes = sorted(
        {e[label] for e in splits.get("train", {}).values() if label in e}
    )
    problems = []
    for name in ("valid", "test"):
        counts = {}
        for entry in splits.get(name, {}).values():
            if label in entry:
                counts[entry[label]] = counts.get(entry[label], 0) + 1
        rare = [c for c in classes if counts.get(c, 0) < min_per_class]
        if rare:
            found = ", ".join(
                f"{counts.get(c, 0)} clip(s) of {c}" for c in rare
            )
            problems.append(f"{name} has {found}")
    if problems:
        raise ValueError(
            f"{'; '.join(problems)} (need {min_per_class} per class); a "
            "single speaker split of this corpus cannot select or test "
            "every class. Use speaker-grouped k-fold cross-validation: "
            "give the preparer n_folds (e.g. 4) and fold, and run python "
            "-m speechbrain_ser.evaluation.crossval <your yaml> (every clip "
            "is tested once, metrics pooled over folds); or other ratios, "
            "more speakers, or min_per_class: 0 to accept the split"
        )
    return splits
