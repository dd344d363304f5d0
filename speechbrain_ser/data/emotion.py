"""The emotion pipelines every method uses: labels, AVD targets, manifests.

Emotion labels are encoded with SpeechBrain's ``CategoricalEncoder``; AVD
targets are mapped from the corpus scale ``avd_range = [low, high]`` to
[-1, 1] (``normalize_avd``), the range every model predicts in;
:func:`emotion_dataio_prep` builds the train/valid/test datasets of every
downstream emotion recipe.

Authors
 * speechbrain-ser developers 2026
"""

import math
import os
import random

import speechbrain as sb
import torch
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.dataio.sampler import BalancingDataSampler
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.manifest import (
    AVD_KEYS,
    described_entries,
    read_manifest,
)
from speechbrain_ser.data.pipelines import add_audio_pipelines

logger = get_logger(__name__)

TASKS = ("classification", "regression", "both")


def normalize_avd(values, avd_range):
    """Maps values on the corpus scale [low, high] to [-1, 1].

    Arguments
    ---------
    values : float or torch.Tensor
        Values on the corpus scale.
    avd_range : sequence of float
        (low, high) of the corpus scale, e.g. (1, 5) for IEMOCAP.

    Returns
    -------
    float or torch.Tensor
        Values in [-1, 1].

    Example
    -------
    >>> normalize_avd(torch.tensor([1.0, 3.0, 5.0]), (1, 5))
    tensor([-1.,  0.,  1.])
    """
    low, high = avd_range
    return 2 * (values - low) / (high - low) - 1


def denormalize_avd(values, avd_range):
    """Inverse of :func:`normalize_avd`.

    Arguments
    ---------
    values : float or torch.Tensor
        Values in [-1, 1].
    avd_range : sequence of float
        (low, high) of the corpus scale.

    Returns
    -------
    float or torch.Tensor
        Values on the corpus scale.

    Example
    -------
    >>> denormalize_avd(torch.tensor([-1.0, 0.0, 1.0]), (1, 7))
    tensor([1., 4., 7.])
    """
    low, high = avd_range
    return (values + 1) / 2 * (high - low) + low


def check_manifest(path, task, avd_range=None, known_labels=None):
    """Checks that a manifest has what the task needs, naming what is wrong.

    Arguments
    ---------
    path : str
        Manifest JSON.
    task : str
        ``classification``, ``regression`` or ``both``.
    avd_range : sequence of float, optional
        Corpus scale; AVD values outside it are errors.
    known_labels : collection of str, optional
        Labels the model knows; others are errors (unknown label).

    Raises
    ------
    ValueError
        For an empty manifest, a missing label or transcript field, a NaN or
        out-of-range AVD target, or an unknown label.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> path = tempfile.mktemp(suffix=".json")
    >>> write_manifest({"u1": {"wav": "a.wav", "emotion": "sad"}}, path)
    >>> check_manifest(path, "classification")
    >>> check_manifest(path, "regression")
    Traceback (most recent call last):
    ...
    ValueError: ...: utterance 'u1' (a.wav): no 'activation' target
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    for where, entry in described_entries(path):
        if "wav" not in entry:
            raise ValueError(f"{where}: no 'wav' field")
        if task in ("classification", "both"):
            label = entry.get("emotion")
            if label is None:
                raise ValueError(f"{where}: no 'emotion' label")
            if known_labels is not None and label not in known_labels:
                raise ValueError(
                    f"{where}: unknown emotion label {label!r}; the model "
                    f"knows {sorted(known_labels)}"
                )
        if task in ("regression", "both"):
            for key in AVD_KEYS:
                value = entry.get(key)
                if value is None:
                    raise ValueError(f"{where}: no {key!r} target")
                if not math.isfinite(float(value)):
                    raise ValueError(f"{where}: {key} target is {value}")
                if avd_range and not avd_range[0] <= value <= avd_range[1]:
                    raise ValueError(
                        f"{where}: {key}={value} is outside avd_range "
                        f"{list(avd_range)}"
                    )


def emotion_pipeline(label_encoder):
    """Dynamic item ``emotion -> emotion_encoded`` (a (1,) long tensor).

    Arguments
    ---------
    label_encoder : CategoricalEncoder
        A fitted encoder.

    Returns
    -------
    callable
        The dynamic item.

    Example
    -------
    >>> from speechbrain.dataio.encoder import CategoricalEncoder
    >>> encoder = CategoricalEncoder()
    >>> encoder.update_from_iterable(["happy", "sad"])
    >>> emotion_pipeline(encoder).func("sad")
    tensor([1])
    """

    @sb.utils.data_pipeline.takes("emotion")
    @sb.utils.data_pipeline.provides("emotion_encoded")
    def encode(emotion):
        """The label's index."""
        return label_encoder.encode_label_torch(emotion)

    return encode


def downsample_classes(entries, key="emotion", max_per_class=None, seed=0):
    """Ids that keep at most N utterances of every class (N: the smallest
    class, or ``max_per_class``).

    Xagorari et al. (2022) truncate the largest classes of MSP-Podcast
    (Happy, Neutral) so that the training set is about uniform; Bhosale et
    al. (2020) train each model of an ensemble on such a subsample, a new
    draw (seed) per model (:mod:`speechbrain_ser.evaluation.ensemble`).

    Arguments
    ---------
    entries : dict
        Manifest: id -> entry with ``key``.
    key : str
        The class field.
    max_per_class : int, optional
        Cap per class; default: the size of the smallest class.
    seed : int
        Seed of the random choice of the utterances kept.

    Returns
    -------
    set of str
        The ids kept.

    Example
    -------
    >>> entries = {f"u{i}": {"emotion": "neu"} for i in range(5)}
    >>> entries.update({"a0": {"emotion": "ang"}, "a1": {"emotion": "ang"}})
    >>> kept = downsample_classes(entries)
    >>> len(kept), {"a0", "a1"} <= kept
    (4, True)
    >>> len(downsample_classes(entries, max_per_class=3))
    5
    """
    by_class = {}
    for uid, entry in sorted(entries.items()):
        if key not in entry:
            raise ValueError(f"utterance {uid!r} has no {key!r} label")
        by_class.setdefault(entry[key], []).append(uid)
    cap = max_per_class or min(len(ids) for ids in by_class.values())
    rng = random.Random(seed)
    kept = set()
    for ids in by_class.values():
        kept.update(rng.sample(ids, cap) if len(ids) > cap else ids)
    return kept


def avd_pipeline(avd_range):
    """Dynamic item ``activation, valence, dominance -> avd`` in [-1, 1].

    Arguments
    ---------
    avd_range : sequence of float
        (low, high) of the corpus scale.

    Returns
    -------
    callable
        The dynamic item.

    Example
    -------
    >>> avd_pipeline((1, 5)).func(1.0, 3.0, 5.0)
    tensor([-1.,  0.,  1.])
    """

    @sb.utils.data_pipeline.takes(*AVD_KEYS)
    @sb.utils.data_pipeline.provides("avd")
    def targets(activation, valence, dominance):
        """The three values as a (3,) tensor in [-1, 1]."""
        values = torch.tensor(
            [activation, valence, dominance], dtype=torch.float
        )
        return normalize_avd(values, avd_range)

    return targets


def sort_training_set(datasets, hparams):
    """Applies the YAML's ``sorting`` to ``datasets["train"]``.

    ``ascending`` or ``descending`` sort by duration (and turn off
    shuffling); ``random`` (default) leaves the order to the loader.

    Arguments
    ---------
    datasets : dict
        split -> DynamicItemDataset; ``train`` is replaced when sorted.
    hparams : dict
        Loaded YAML (``sorting``, ``train_dataloader_options``).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = {"a": {"duration": 2.0}, "b": {"duration": 1.0}}
    >>> datasets = {"train": DynamicItemDataset(data)}
    >>> hparams = {"sorting": "ascending", "train_dataloader_options": {}}
    >>> sort_training_set(datasets, hparams)
    >>> datasets["train"].set_output_keys(["id"])
    >>> [item["id"] for item in datasets["train"]]
    ['b', 'a']
    >>> hparams["train_dataloader_options"]
    {'shuffle': False}
    """
    sorting = hparams.get("sorting", "random")
    if sorting in ("ascending", "descending"):
        datasets["train"] = datasets["train"].filtered_sorted(
            sort_key="duration", reverse=sorting == "descending"
        )
        hparams["train_dataloader_options"]["shuffle"] = False
    elif sorting != "random":
        raise ValueError(
            f"sorting must be ascending, descending or random, not {sorting!r}"
        )


def fitted_label_encoder(path, train_set, n_classes=None, save_folder=None):
    """The label encoder of the training labels, saved to ``path``.

    An encoder saved by an earlier run is reused when it has exactly the
    training labels. One with other labels (the data changed) is rebuilt,
    unless ``save_folder`` holds checkpoints trained with it: then the run
    stops, naming the file and the fix.

    Arguments
    ---------
    path : str
        ``label_encoder_file`` of the YAML.
    train_set : DynamicItemDataset
        The training set (its ``emotion`` values are the labels).
    n_classes : int, optional
        The model's class count; a mismatch stops the run.
    save_folder : str, optional
        The checkpoint folder.

    Returns
    -------
    CategoricalEncoder

    Example
    -------
    >>> import tempfile
    >>> data = sb.dataio.dataset.DynamicItemDataset(
    ...     {"a": {"emotion": "sad"}, "b": {"emotion": "happy"}}
    ... )
    >>> path = os.path.join(tempfile.mkdtemp(), "label_encoder.txt")
    >>> fitted_label_encoder(path, data, n_classes=2).lab2ind
    {'sad': 0, 'happy': 1}
    >>> fitted_label_encoder(path, data, n_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: n_classes=3 in the YAML, but the training labels are 2: ...
    """
    with train_set.output_keys_as(["emotion"]):
        train_labels = {item["emotion"] for item in train_set}
    encoder = CategoricalEncoder()
    if encoder.load_if_possible(path) and set(encoder.lab2ind) != train_labels:
        checkpoints = []
        if save_folder and os.path.isdir(save_folder):
            checkpoints = [
                name
                for name in os.listdir(save_folder)
                if name.startswith("CKPT")
            ]
        if checkpoints:
            raise ValueError(
                f"{path}: saved by an earlier run with labels "
                f"{sorted(encoder.lab2ind)}, but the training manifest now "
                f"has {sorted(train_labels)}, and the checkpoints in "
                f"{save_folder} were trained with the old labels. Delete "
                f"{path} and {save_folder}/CKPT* (or use another "
                "output_folder) to train afresh"
            )
        logger.warning(
            f"{path}: labels {sorted(encoder.lab2ind)} from an earlier run "
            f"differ from the training labels {sorted(train_labels)}; rebuilt"
        )
        encoder = CategoricalEncoder()
    if not encoder.lab2ind:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        encoder.update_from_didataset(train_set, "emotion")
        encoder.save(path)
    if n_classes is not None and n_classes != len(encoder):
        raise ValueError(
            f"n_classes={n_classes} in the YAML, but the training labels "
            f"are {len(encoder)}: {sorted(encoder.lab2ind)}"
        )
    encoder.expect_len(len(encoder))
    return encoder


def emotion_dataio_prep(hparams):
    """Builds the train/valid/test datasets of an emotion recipe.

    Reads from ``hparams``: ``train_manifest``, ``valid_manifest``,
    ``test_manifest``, ``data_folder`` (replaces ``{data_root}``),
    ``sample_rate``, ``task``, ``avd_range`` (regression),
    ``label_encoder_file`` (classification), ``sorting``
    (``ascending``/``descending``/``random``), ``balanced_sampling``
    (classification: draw training utterances with SpeechBrain's
    ``BalancingDataSampler``, so that every class comes about equally
    often).

    Arguments
    ---------
    hparams : dict
        Loaded YAML.

    Returns
    -------
    datasets : dict
        split -> DynamicItemDataset with ``id``, ``sig`` and the targets.
    extras : dict
        For classification: ``label_encoder`` (a CategoricalEncoder fitted
        on train and saved to ``label_encoder_file``) and
        ``train_class_counts`` (utterances per class, in encoder order).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.data.tiny_corpus import write_tiny_corpus
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp())  # happy, sad, sad
    >>> hparams.update(task="both", avd_range=[1, 5], seed=1)  # A/V/D 2, 3, 4
    >>> root = hparams["data_folder"]
    >>> hparams["label_encoder_file"] = f"{root}/label_encoder.txt"
    >>> datasets, extras = emotion_dataio_prep(hparams)
    >>> item = datasets["train"][1]
    >>> item["sig"].shape, item["emotion_encoded"], item["avd"]
    (torch.Size([1600]), tensor([1]), tensor([-0.5000,  0.0000,  0.5000]))
    >>> extras["train_class_counts"]
    [1, 2]
    """
    task = hparams["task"]
    avd_range = hparams.get("avd_range")
    replacements = {"data_root": hparams["data_folder"]}
    paths = {
        split: hparams[f"{split}_manifest"]
        for split in ("train", "valid", "test")
    }
    check_manifest(paths["train"], task, avd_range)
    datasets, output_keys = {}, ["id", "sig"]
    for split, path in paths.items():
        datasets[split] = sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=path, replacements=replacements
        )
    add_audio_pipelines(datasets, hparams)
    extras = {}
    if task in ("classification", "both"):
        label_encoder = fitted_label_encoder(
            hparams["label_encoder_file"],
            datasets["train"],
            hparams.get("n_classes"),
            hparams.get("save_folder"),
        )
        sb.dataio.dataset.add_dynamic_item(
            list(datasets.values()), emotion_pipeline(label_encoder)
        )
        output_keys += ["emotion", "emotion_encoded"]
        counts = [0] * len(label_encoder)
        for entry in read_manifest(paths["train"]).values():
            counts[label_encoder.lab2ind[entry["emotion"]]] += 1
        extras = {"label_encoder": label_encoder, "train_class_counts": counts}
        balanced = hparams.get("balanced_sampling", False)
    if task in ("regression", "both"):
        sb.dataio.dataset.add_dynamic_item(
            list(datasets.values()), avd_pipeline(avd_range)
        )
        output_keys += ["avd"]
    known = set(extras["label_encoder"].lab2ind) if extras else None
    for split in ("valid", "test"):
        check_manifest(paths[split], task, avd_range, known)
    sb.dataio.dataset.set_output_keys(list(datasets.values()), output_keys)
    sort_training_set(datasets, hparams)
    if extras and balanced:
        # Each class drawn about equally often, with replacement.
        hparams["train_dataloader_options"]["sampler"] = BalancingDataSampler(
            dataset=datasets["train"], key="emotion", seed=hparams["seed"]
        )
        hparams["train_dataloader_options"]["shuffle"] = False
    return datasets, extras
