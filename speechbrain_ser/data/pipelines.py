"""DynamicItemDataset pipelines shared by every recipe: audio and text.

Audio is read, mixed to mono and resampled to the YAML's ``sample_rate``
(:func:`audio_pipeline`, added to every split by
:func:`add_audio_pipelines`); failed reads can be skipped and counted at
collation; transcripts become the token ids of a text encoder's tokenizer
(:func:`text_tokens_pipeline`). The emotion labels and AVD targets are in
:mod:`speechbrain_ser.data.emotion`; each method's own data function sits
beside its Brain (e.g. :func:`speechbrain_ser.brains.sa2sr.sa2sr_dataio_prep`).

Authors
 * speechbrain-ser developers 2026
"""

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import AudioError, read_audio
from speechbrain_ser.data.batching import pad_right_batch

logger = get_logger(__name__)


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
