"""DynamicItemDataset pipelines shared by every recipe.

Audio is read, mixed to mono and resampled to the YAML's ``sample_rate``;
emotion labels are encoded with SpeechBrain's ``CategoricalEncoder``; AVD
targets are mapped from the corpus scale ``avd_range = [low, high]`` to
[-1, 1] (``normalize_avd``), the range every model predicts in;
transcripts become character tokens for CTC (``transcript_pipeline``) or
the token ids of a text encoder's tokenizer (``text_tokens_pipeline``).

Authors
 * speechbrain-ser developers 2026
"""

import math
import os
import random

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.dataio.sampler import BalancingDataSampler
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import AudioError, read_audio
from speechbrain_ser.data.batching import pad_right_batch
from speechbrain_ser.data.manifest import (
    AVD_KEYS,
    SENTIMENTS,
    described_entries,
    read_manifest,
)
from speechbrain_ser.text.characters import normalize_transcript

TASKS = ("classification", "regression", "both")

logger = get_logger(__name__)


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


def audio_pipeline(sample_rate, on_error="raise"):
    """Dynamic item ``wav -> sig``: mono waveform at ``sample_rate``.

    Arguments
    ---------
    sample_rate : int
        Output sample rate.
    on_error : str
        ``"raise"``: an unreadable file stops the run (an ``AudioError``
        naming it); ``"skip"``: it is logged and ``sig`` is None, and
        :func:`collate_skipping_failed` leaves the utterance out.

    Returns
    -------
    callable
        The dynamic item (SpeechBrain ``takes``/``provides`` pipeline).

    Example
    -------
    >>> pipeline = audio_pipeline(16000, on_error="skip")
    >>> pipeline.takes, pipeline.provides
    (('wav',), ('sig',))
    >>> pipeline("no/such.wav") is None
    True
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be raise or skip, not {on_error!r}")

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig")
    def read(wav):
        """Reads one file, mono, at ``sample_rate``."""
        try:
            return read_audio(wav, sample_rate)
        except AudioError as error:
            if on_error == "raise":
                raise
            logger.warning(f"left out of this batch: {error}")
            return None

    return read


def collate_skipping_failed(examples):
    """``PaddedBatch`` of the examples whose audio could be read.

    The ids of the others (``sig`` None, see :func:`audio_pipeline`) are
    in the batch's ``skipped_ids``; a batch with no readable example is
    an empty ``list`` subclass :class:`SkippedBatch`.

    Arguments
    ---------
    examples : list of dict
        The examples of one batch, each with ``id`` and ``sig``.

    Returns
    -------
    PaddedBatch or SkippedBatch
        The readable examples, padded, with ``skipped_ids``; or an empty
        :class:`SkippedBatch` when none was readable.

    Example
    -------
    >>> batch = collate_skipping_failed(
    ...     [{"id": "a", "sig": torch.ones(3)}, {"id": "b", "sig": None}]
    ... )
    >>> batch.id, batch.skipped_ids
    (['a'], ['b'])
    >>> collate_skipping_failed([{"id": "b", "sig": None}]).skipped_ids
    ['b']
    """
    kept = [ex for ex in examples if ex.get("sig") is not None]
    skipped = [ex["id"] for ex in examples if ex.get("sig") is None]
    if not kept:
        return SkippedBatch(skipped)
    batch = PaddedBatch(kept, padding_func=pad_right_batch)
    batch.skipped_ids = skipped
    return batch


def collate_padded(examples):
    """SpeechBrain's ``PaddedBatch`` with :func:`pad_right_batch` padding.

    Arguments
    ---------
    examples : list of dict
        The examples of one batch.

    Returns
    -------
    PaddedBatch

    Example
    -------
    >>> batch = collate_padded([{"sig": torch.ones(3)}, {"sig": torch.ones(2)}])
    >>> batch.sig.data.shape, batch.sig.lengths.tolist()
    (torch.Size([2, 3]), [1.0, 0.6666666865348816])
    """
    return PaddedBatch(examples, padding_func=pad_right_batch)


class SkippedBatch(list):
    """A training batch whose every utterance failed to load.

    Arguments
    ---------
    skipped_ids : iterable of str
        The ids of the utterances that failed to load.

    Example
    -------
    >>> batch = SkippedBatch(["a", "b"])
    >>> len(batch), batch.skipped_ids, batch.to("cpu") is batch
    (0, ['a', 'b'], True)
    """

    def __init__(self, skipped_ids):
        super().__init__()
        self.skipped_ids = list(skipped_ids)

    def to(self, device):
        """Nothing to move."""
        return self


def add_audio_pipelines(datasets, hparams):
    """Adds ``wav -> sig`` to every split.

    Training audio that fails to load mid-epoch is left out, logged and
    counted (the Brain's ``skipped_files``) unless the YAML says
    ``on_error: raise``; valid and test audio, decoded in full before
    training (:mod:`speechbrain_ser.data.validation`), always raise.

    Arguments
    ---------
    datasets : dict
        split -> DynamicItemDataset.
    hparams : dict
        Reads ``sample_rate``, ``on_error`` (default ``skip``) and sets
        ``train_dataloader_options["collate_fn"]`` (unless the YAML gives
        one): :func:`collate_skipping_failed` when skipping, else
        :func:`collate_padded`.

    Example
    -------
    >>> import tempfile
    >>> import numpy as np, soundfile
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> root = tempfile.mkdtemp()
    >>> soundfile.write(f"{root}/a.wav", np.zeros(800), 16000)
    >>> data = {"a": {"wav": f"{root}/a.wav"}, "b": {"wav": f"{root}/none.wav"}}
    >>> datasets = {"train": DynamicItemDataset(data)}
    >>> hparams = {"sample_rate": 16000, "train_dataloader_options": {}}
    >>> add_audio_pipelines(datasets, hparams)
    >>> datasets["train"].set_output_keys(["id", "sig"])
    >>> datasets["train"][0]["sig"].shape, datasets["train"][1]["sig"]
    (torch.Size([800]), None)
    >>> hparams["train_dataloader_options"]["collate_fn"].__name__
    'collate_skipping_failed'
    """
    on_error = hparams.get("on_error", "skip")
    for split, dataset in datasets.items():
        dataset.add_dynamic_item(
            audio_pipeline(
                hparams["sample_rate"],
                on_error if split == "train" else "raise",
            )
        )
    if "train" in datasets:
        options = hparams["train_dataloader_options"]
        options.setdefault(
            "collate_fn",
            collate_skipping_failed if on_error == "skip" else collate_padded,
        )


def crop_pipeline(crop_samples, generator=None):
    """Dynamic item ``sig -> sig_crop``: a random window of the waveform.

    Utterances no longer than ``crop_samples`` are kept whole. CPC
    pre-training trains on short random windows (20480 samples in the
    original CPC), which also bounds the memory of long utterances.

    Arguments
    ---------
    crop_samples : int
        Window length in samples.
    generator : torch.Generator, optional
        Source of the window start (for reproducible tests).

    Returns
    -------
    callable
        The dynamic item.

    Example
    -------
    >>> crop = crop_pipeline(4, torch.Generator().manual_seed(0))
    >>> window = crop(torch.arange(10.0))
    >>> len(window), bool((window.diff() == 1).all())
    (4, True)
    >>> len(crop(torch.arange(3.0)))
    3
    """

    @sb.utils.data_pipeline.takes("sig")
    @sb.utils.data_pipeline.provides("sig_crop")
    def crop(sig):
        """A random ``crop_samples`` window (the whole if shorter)."""
        if sig is None:  # left out (see audio_pipeline)
            return None
        extra = len(sig) - crop_samples
        if extra <= 0:
            return sig
        start = int(torch.randint(0, extra + 1, (1,), generator=generator))
        return sig[start : start + crop_samples]

    return crop


def unlabelled_dataio_prep(hparams):
    """Datasets of audio only, for self-supervised pre-training (CPC).

    Reads ``train_manifest``, ``valid_manifest``, ``test_manifest``,
    ``data_folder`` (replaces ``{data_root}``), ``sample_rate``,
    ``sorting`` and ``crop_seconds`` (null: whole utterances; otherwise
    training utterances are cut to a random window of that length, a new
    one each epoch; valid and test stay whole) from ``hparams``. Labels,
    if the manifests have any, are ignored.

    Arguments
    ---------
    hparams : dict
        Loaded YAML.

    Returns
    -------
    datasets : dict
        split -> DynamicItemDataset with ``id`` and ``sig``.
    extras : dict
        Empty.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.data.tiny_corpus import write_tiny_corpus
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp())
    >>> datasets, extras = unlabelled_dataio_prep(
    ...     {**hparams, "crop_seconds": 0.05}
    ... )
    >>> datasets["train"][0]["sig"].shape, datasets["valid"][0]["sig"].shape
    (torch.Size([800]), torch.Size([1600]))
    """
    datasets = {}
    for split in ("train", "valid", "test"):
        path = hparams[f"{split}_manifest"]
        for where, entry in described_entries(path):
            if not entry.get("wav"):
                raise ValueError(f"{where}: no 'wav' path")
        datasets[split] = sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=path,
            replacements={"data_root": hparams["data_folder"]},
        )
    add_audio_pipelines(datasets, hparams)
    sb.dataio.dataset.set_output_keys(list(datasets.values()), ["id", "sig"])
    sort_training_set(datasets, hparams)
    crop_seconds = hparams.get("crop_seconds")
    if crop_seconds:
        samples = int(crop_seconds * hparams["sample_rate"])
        datasets["train"].add_dynamic_item(crop_pipeline(samples))
        datasets["train"].set_output_keys({"id": "id", "sig": "sig_crop"})
    return datasets, {}


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


def transcript_pipeline(char_encoder):
    """Dynamic item ``transcript -> characters, tokens`` for CTC targets.

    The transcript is normalised (:func:`normalize_transcript`) and
    encoded character by character.

    Arguments
    ---------
    char_encoder : CTCTextEncoder
        E.g. :func:`speechbrain_ser.text.characters.character_encoder`.

    Returns
    -------
    callable
        The dynamic item.

    Example
    -------
    >>> from speechbrain_ser.text.characters import character_encoder
    >>> item = transcript_pipeline(character_encoder())
    >>> chars, tokens = item.func("Hi, Bo!")
    >>> chars, tokens.tolist()
    ('hi bo', [10, 11, 1, 4, 17])
    """

    @sb.utils.data_pipeline.takes("transcript")
    @sb.utils.data_pipeline.provides("characters", "tokens")
    def encode(transcript):
        """Yields the normalised text, then its character tokens."""
        characters = normalize_transcript(transcript)
        yield characters
        yield char_encoder.encode_sequence_torch(list(characters))

    return encode


def text_tokens_pipeline(tokenizer, max_length=None):
    """Dynamic item ``transcript -> text_tokens`` with a HF tokenizer.

    The ids include the model's special tokens (``[CLS]`` ... ``[SEP]``,
    ``<s>`` ... ``</s>``); SpeechBrain's collation pads them and gives
    their relative lengths, from which the attention mask follows.

    Arguments
    ---------
    tokenizer : transformers.PreTrainedTokenizerBase
        E.g. ``HFTextEncoder(...).tokenizer``.
    max_length : int, optional
        Longer transcripts are truncated (default: the tokenizer's limit).

    Returns
    -------
    callable
        The dynamic item, giving a (L,) LongTensor per utterance.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.tiny_models import save_tiny_bert
    >>> from transformers import AutoTokenizer
    >>> tokenizer = AutoTokenizer.from_pretrained(
    ...     save_tiny_bert(tempfile.mkdtemp())
    ... )
    >>> item = text_tokens_pipeline(tokenizer, max_length=4)
    >>> item.func("Hello world!").tolist(), item.func("a dog is sad").tolist()
    ([2, 25, 26, 3], [2, 5, 8, 3])
    """

    @sb.utils.data_pipeline.takes("transcript")
    @sb.utils.data_pipeline.provides("text_tokens")
    def encode(transcript):
        """Token ids (with special tokens) of one transcript."""
        ids = tokenizer(
            transcript,
            truncation=max_length is not None,
            max_length=max_length,
        )["input_ids"]
        return torch.LongTensor(ids)

    return encode


def downsample_classes(entries, key="emotion", max_per_class=None, seed=0):
    """Ids that keep at most N utterances of every class (N: the smallest
    class, or ``max_per_class``).

    Xagorari et al. (2022) truncate the largest classes of MSP-Podcast
    (Happy, Neutral) so that the training set is about uniform; Bhosale et
    al. (2020) train each model of an ensemble on such a subsample, a new
    draw (seed) per model (:mod:`speechbrain_ser.ensemble`).

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


def speech_text_dataio_prep(hparams):
    """Datasets of :func:`emotion_dataio_prep` plus transcript tokens.

    Reads also ``modalities`` (``audio``, ``text`` or ``both``; with text
    every manifest entry needs a ``transcript``), ``text_encoder`` (its
    tokenizer encodes the transcripts), ``text_max_length`` and
    ``downsample_classes`` (classification: keep at most as many training
    utterances of each class as the smallest class has, or
    ``max_per_class`` if it is a number).

    Returns
    -------
    datasets : dict
        split -> DynamicItemDataset with ``id``, ``sig``, the targets and,
        with text, ``text_tokens``.
    extras : dict
        As :func:`emotion_dataio_prep`, with the downsampled class counts.

    Arguments
    ---------
    hparams : dict
        What :func:`emotion_dataio_prep` reads, and the keys above.

    Example
    -------
    >>> import tempfile, types
    >>> from transformers import AutoTokenizer
    >>> from speechbrain_ser.data.tiny_corpus import write_tiny_corpus
    >>> from speechbrain_ser.tiny_models import save_tiny_bert
    >>> tokenizer = AutoTokenizer.from_pretrained(
    ...     save_tiny_bert(tempfile.mkdtemp())
    ... )
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp(), ["happy", "sad"])
    >>> hparams.update(task="classification", modalities="both", seed=1)
    >>> root = hparams["data_folder"]
    >>> hparams["label_encoder_file"] = f"{root}/label_encoder.txt"
    >>> hparams["text_encoder"] = types.SimpleNamespace(tokenizer=tokenizer)
    >>> datasets, extras = speech_text_dataio_prep(hparams)
    >>> datasets["train"][0]["text_tokens"].tolist()
    [2, 5, 8, 10, 13, 3]
    """
    datasets, extras = emotion_dataio_prep(hparams)
    if hparams["modalities"] not in ("audio", "text", "both"):
        raise ValueError(
            "modalities must be audio, text or both, not "
            f"{hparams['modalities']!r}"
        )
    if hparams["modalities"] != "audio":
        for split in ("train", "valid", "test"):
            for where, entry in described_entries(hparams[f"{split}_manifest"]):
                if not isinstance(entry.get("transcript"), str):
                    raise ValueError(
                        f"{where}: no 'transcript'; add them with "
                        "`speechbrain-ser transcribe` or train with "
                        "--modalities=audio"
                    )
        item = text_tokens_pipeline(
            hparams["text_encoder"].tokenizer, hparams.get("text_max_length")
        )
        sb.dataio.dataset.add_dynamic_item(list(datasets.values()), item)
        keys = list(datasets["train"].pipeline.output_mapping)
        sb.dataio.dataset.set_output_keys(
            list(datasets.values()), keys + ["text_tokens"]
        )
    downsample = hparams.get("downsample_classes", False)
    if downsample and extras:
        if hparams.get("balanced_sampling", False):
            raise ValueError(
                "choose one of downsample_classes and balanced_sampling"
            )
        entries = read_manifest(hparams["train_manifest"])
        kept = downsample_classes(
            entries,
            max_per_class=None if downsample is True else int(downsample),
            seed=hparams["seed"],
        )
        datasets["train"] = datasets["train"].filtered_sorted(
            key_test={"id": lambda uid: uid in kept}
        )
        counts = [0] * len(extras["label_encoder"])
        for uid in kept:
            index = extras["label_encoder"].lab2ind[entries[uid]["emotion"]]
            counts[index] += 1
        extras["train_class_counts"] = counts
    return datasets, extras


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


def sentiment_pipeline():
    """Dynamic item ``sentiment -> sentiment_encoded`` (index in
    negative, neutral, positive).

    Returns
    -------
    callable
        The dynamic item.

    Example
    -------
    >>> sentiment_pipeline().func("positive")
    tensor([2])
    """

    @sb.utils.data_pipeline.takes("sentiment")
    @sb.utils.data_pipeline.provides("sentiment_encoded")
    def encode(sentiment):
        """The label's index in SENTIMENTS."""
        return torch.LongTensor([SENTIMENTS.index(sentiment)])

    return encode


def check_pretraining_manifest(path):
    """Every entry needs a transcript and a known proxy sentiment label.

    Arguments
    ---------
    path : str
        Manifest JSON.

    Raises
    ------
    ValueError
        Naming the manifest and utterance that has no transcript or label.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> path = tempfile.mktemp(suffix=".json")
    >>> write_manifest({"u1": {"wav": "a.wav", "transcript": "Hi."}}, path)
    >>> check_pretraining_manifest(path)
    Traceback (most recent call last):
    ...
    ValueError: ...: sentiment None is not one of ...
    """
    for where, entry in described_entries(path):
        if not entry.get("transcript"):
            raise ValueError(f"{where}: no transcript")
        if entry.get("sentiment") not in SENTIMENTS:
            raise ValueError(
                f"{where}: sentiment {entry.get('sentiment')!r} is not one of "
                f"{SENTIMENTS}; label the manifest first "
                "(speechbrain_ser.text.sentiment.label_manifest)"
            )


def sa2sr_dataio_prep(hparams):
    """Datasets for SA2SR pre-training: audio, characters, proxy labels.

    Reads ``train_manifest``, ``valid_manifest``, ``test_manifest``
    (manifests labelled by :func:`label_manifest`), ``data_folder``,
    ``sample_rate`` and ``sorting`` from ``hparams``.

    Arguments
    ---------
    hparams : dict
        Loaded YAML.

    Returns
    -------
    datasets : dict
        split -> DynamicItemDataset with ``id``, ``sig``, ``characters``,
        ``tokens``, ``sentiment_encoded``.
    extras : dict
        ``char_encoder``: the 29-symbol CTC character encoder.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.data.tiny_corpus import write_tiny_corpus
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp())
    >>> datasets, extras = sa2sr_dataio_prep(hparams)
    >>> item = datasets["train"][0]
    >>> item["characters"], item["sentiment_encoded"]
    ('a dog is sad', tensor([1]))
    >>> len(extras["char_encoder"])
    29
    """
    from speechbrain_ser.text.characters import character_encoder

    char_encoder = character_encoder()
    items = [transcript_pipeline(char_encoder), sentiment_pipeline()]
    datasets = {}
    for split in ("train", "valid", "test"):
        path = hparams[f"{split}_manifest"]
        check_pretraining_manifest(path)
        datasets[split] = sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=path,
            replacements={"data_root": hparams["data_folder"]},
            dynamic_items=items,
        )
    add_audio_pipelines(datasets, hparams)
    sb.dataio.dataset.set_output_keys(
        list(datasets.values()),
        ["id", "sig", "characters", "tokens", "sentiment_encoded"],
    )
    sort_training_set(datasets, hparams)
    return datasets, {"char_encoder": char_encoder}


def check_transcripts(path):
    """Every entry of the manifest at ``path`` needs a non-empty
    ``transcript``.

    Arguments
    ---------
    path : str
        A JSON manifest; raises a ValueError naming the entry otherwise.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.data.tiny_corpus import write_tiny_corpus
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp())
    >>> check_transcripts(hparams["train_manifest"])
    >>> blank = write_tiny_corpus(tempfile.mkdtemp(), transcript=" ")
    >>> try:
    ...     check_transcripts(blank["train_manifest"])
    ... except ValueError as error:
    ...     print("no transcript" in str(error))
    True
    """
    for where, entry in described_entries(path):
        if not str(entry.get("transcript") or "").strip():
            raise ValueError(
                f"{where}: no transcript; tokenwise training needs one per "
                "utterance (e.g. from `speechbrain-ser transcribe`)"
            )


def tokenwise_dataio_prep(hparams):
    """Datasets for tokenwise contrastive pre-training: audio + tokens.

    Reads ``train_manifest``, ``valid_manifest``, ``test_manifest``,
    ``data_folder`` (replaces ``{data_root}``), ``sample_rate``,
    ``sorting`` and ``teacher`` (an :class:`HFTextEncoder`, whose
    tokenizer tokenises the ``transcript`` field) from ``hparams``.

    Returns
    -------
    datasets : dict
        split -> DynamicItemDataset with ``id``, ``sig``, ``text_tokens``.
    extras : dict
        Empty.

    Arguments
    ---------
    hparams : dict
        The keys above.

    Example
    -------
    >>> import tempfile, types
    >>> from transformers import AutoTokenizer
    >>> from speechbrain_ser.data.tiny_corpus import write_tiny_corpus
    >>> from speechbrain_ser.tiny_models import save_tiny_bert
    >>> tokenizer = AutoTokenizer.from_pretrained(
    ...     save_tiny_bert(tempfile.mkdtemp())
    ... )
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp(), ["happy", "sad"])
    >>> hparams["teacher"] = types.SimpleNamespace(tokenizer=tokenizer)
    >>> hparams["sorting"] = "ascending"
    >>> datasets, extras = tokenwise_dataio_prep(hparams)
    >>> item = datasets["train"][0]
    >>> item["sig"].shape, item["text_tokens"].tolist(), extras
    (torch.Size([1600]), [2, 5, 8, 10, 13, 3], {})
    """
    items = [
        audio_pipeline(hparams["sample_rate"]),
        text_tokens_pipeline(hparams["teacher"].tokenizer),
    ]
    datasets = {}
    for split in ("train", "valid", "test"):
        path = hparams[f"{split}_manifest"]
        check_transcripts(path)
        datasets[split] = sb.dataio.dataset.DynamicItemDataset.from_json(
            json_path=path,
            replacements={"data_root": hparams["data_folder"]},
            dynamic_items=items,
            output_keys=["id", "sig", "text_tokens"],
        )
    sort_training_set(datasets, hparams)
    return datasets, {}


def transcript_emotion_dataio_prep(hparams):
    """:func:`emotion_dataio_prep` plus the teacher's ``text_tokens`` of
    each ``transcript`` (given or ASR-made), for models whose head reads
    the transcript (``TokenwiseHead`` with ``query: transcript``).

    Reads what :func:`emotion_dataio_prep` reads, and ``teacher``.

    Arguments
    ---------
    hparams : dict
        The keys above.

    Returns
    -------
    datasets : dict
        split -> DynamicItemDataset with the outputs of
        :func:`emotion_dataio_prep` and ``text_tokens``.
    extras : dict
        As :func:`emotion_dataio_prep`.

    Example
    -------
    >>> import tempfile, types
    >>> from transformers import AutoTokenizer
    >>> from speechbrain_ser.data.tiny_corpus import write_tiny_corpus
    >>> from speechbrain_ser.tiny_models import save_tiny_bert
    >>> tokenizer = AutoTokenizer.from_pretrained(
    ...     save_tiny_bert(tempfile.mkdtemp())
    ... )
    >>> hparams = write_tiny_corpus(tempfile.mkdtemp(), ["happy", "sad"])
    >>> hparams["teacher"] = types.SimpleNamespace(tokenizer=tokenizer)
    >>> hparams.update(task="classification", seed=1)
    >>> root = hparams["data_folder"]
    >>> hparams["label_encoder_file"] = f"{root}/label_encoder.txt"
    >>> datasets, extras = transcript_emotion_dataio_prep(hparams)
    >>> item = datasets["train"][1]
    >>> item["emotion_encoded"], item["text_tokens"].tolist()
    (tensor([1]), [2, 5, 8, 10, 13, 3])
    """
    datasets, extras = emotion_dataio_prep(hparams)
    for split in ("train", "valid", "test"):
        check_transcripts(hparams[f"{split}_manifest"])
    item = text_tokens_pipeline(hparams["teacher"].tokenizer)
    for dataset in datasets.values():
        dataset.add_dynamic_item(item)
        keys = list(dataset.pipeline.output_mapping) + ["text_tokens"]
        dataset.set_output_keys(keys)
    return datasets, extras
