"""Tokenwise contrastive speech-to-BERT pre-training and transcript-aware
fine-tuning (Sunder et al., Interspeech 2022; applied to emotion by Sarkar
and Tarigopula).

Authors
 * speechbrain-ser developers 2026
"""

import os

import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.emotion import EmotionBrain
from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.brains.stage_end import StageEndMixin
from speechbrain_ser.data.emotion import emotion_dataio_prep, sort_training_set
from speechbrain_ser.data.manifest import described_entries
from speechbrain_ser.data.pipelines import audio_pipeline, text_tokens_pipeline
from speechbrain_ser.nnet.encoders import train_top_layers
from speechbrain_ser.nnet.pooling import token_attention_mask

logger = get_logger(__name__)


def _unwrap(module):
    """The module inside a DDP / DP wrapper."""
    return getattr(module, "module", module)


def teacher_tokens(teacher, text_tokens):
    """Padded ``text_tokens`` (ids, relative lengths) -> (ids, mask).

    Padded positions get the teacher's pad id (a ``PaddedBatch`` pads
    with 0, RoBERTa's pad id is 1).

    Arguments
    ---------
    teacher : HFTextEncoder
        The text encoder whose tokenizer made the ids.
    text_tokens : tuple
        ``(ids (B, L), relative lengths (B,))``.

    Returns
    -------
    input_ids : torch.LongTensor
        (B, L).
    attention_mask : torch.LongTensor
        (B, L), 1 on real tokens.

    Example
    -------
    >>> import types
    >>> roberta = types.SimpleNamespace(
    ...     tokenizer=types.SimpleNamespace(pad_token_id=1)
    ... )
    >>> ids = torch.tensor([[0, 7, 2], [0, 2, 0]])
    >>> ids, mask = teacher_tokens(roberta, (ids, torch.tensor([1.0, 2 / 3])))
    >>> ids.tolist(), mask.tolist()
    ([[0, 7, 2], [0, 2, 1]], [[1, 1, 1], [1, 1, 0]])
    """
    ids, lengths = text_tokens
    mask = token_attention_mask(ids, lengths)
    pad_id = teacher.tokenizer.pad_token_id or 0
    return ids.masked_fill(mask == 0, pad_id), mask


class TokenwiseStats:
    """Running mean loss and token retrieval accuracy, DDP-gathered.

    The accuracy is over tokens (every valid token of every batch counts
    once), the loss a mean over batches.

    Example
    -------
    >>> stats = TokenwiseStats()
    >>> stats.append(torch.tensor(2.0), torch.tensor(0.5), 4)
    >>> stats.append(torch.tensor(1.0), torch.tensor(1.0), 6)
    >>> stats.summarize()
    {'loss': 1.5, 'retrieval_acc': 0.8, 'tokens': 10}
    """

    def __init__(self):
        self.loss = 0.0
        self.correct = 0.0
        self.tokens = 0
        self.batches = 0

    def append(self, loss, accuracy, tokens):
        """Adds one batch: loss and accuracy (tensors), its token count."""
        tokens = int(tokens)
        self.loss += loss.detach().item()
        self.correct += accuracy.detach().item() * tokens
        self.tokens += tokens
        self.batches += 1

    def summarize(self):
        """{"loss", "retrieval_acc", "tokens"} over every DDP process
        (empty if no batch)."""
        parts = [(self.loss, self.correct, self.tokens, self.batches)]
        if (
            torch.distributed.is_available()
            and torch.distributed.is_initialized()
        ):
            parts = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(
                parts, (self.loss, self.correct, self.tokens, self.batches)
            )
        batches = sum(part[3] for part in parts)
        tokens = sum(part[2] for part in parts)
        if not batches:
            return {}
        return {
            "loss": sum(part[0] for part in parts) / batches,
            "retrieval_acc": sum(part[1] for part in parts) / max(tokens, 1),
            "tokens": tokens,
        }


class TokenwiseContrastiveBrain(StageEndMixin, ResumableBrain):
    """Tokenwise contrastive pre-training of a speech encoder with a frozen
    BERT-like teacher (Sunder et al., Interspeech 2022, sec. 2).

    The transcript's tokens (teacher's tokenizer) give the queries: the
    teacher's embedding-layer output. The cross-modal block attends from
    them to the speech frames and returns one vector per token, which must
    retrieve the teacher's contextual embedding of the same token among
    all tokens of the batch (tokenwise InfoNCE; special tokens and padding
    excluded).

    YAML ``modules``: ``speech_encoder`` (``(wavs, lengths) -> frames``),
    ``cross_modal`` (:class:`CrossModalEncoder`), ``teacher``
    (:class:`HFTextEncoder`, frozen), ``loss``
    (:class:`TokenwiseContrastiveLoss`; in ``modules`` so that a learned
    temperature is trained). Other hparams: ``speech_trainable_layers``
    (null: train the speech encoder fully; N: only its top N layers),
    ``epoch_counter``, ``train_logger``, ``output_folder``, ``protocol``.

    Every validation pass logs the loss and the token retrieval top-1
    accuracy; the checkpoint with the lowest validation loss is kept,
    tested, and exported as ``<output_folder>/speech_encoder.ckpt`` and
    ``<output_folder>/cross_modal.ckpt`` for fine-tuning recipes.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.dataio.batch import PaddedBatch
    >>> from speechbrain.lobes.features import Fbank
    >>> from speechbrain_ser.nnet.tokenwise import CrossModalEncoder
    >>> from speechbrain_ser.nnet.encoders import ConvEncoder
    >>> from speechbrain_ser.nnet.tokenwise import TokenwiseContrastiveLoss
    >>> from speechbrain_ser.nnet.tokenwise import FeatureFrameEncoder
    >>> from speechbrain_ser.text.encoders import HFTextEncoder
    >>> from speechbrain_ser.tiny_models import save_tiny_bert
    >>> _ = torch.manual_seed(0)
    >>> teacher = HFTextEncoder(save_tiny_bert(tempfile.mkdtemp()), freeze=True)
    >>> tokens = [
    ...     torch.LongTensor(teacher.tokenizer(text)["input_ids"])
    ...     for text in ("a dog is sad", "hello world")
    ... ]
    >>> batch = PaddedBatch(
    ...     [
    ...         {"id": f"u{i}", "sig": torch.randn(4000), "text_tokens": ids}
    ...         for i, ids in enumerate(tokens)
    ...     ]
    ... )
    >>> speech = FeatureFrameEncoder(
    ...     Fbank(n_mels=20), ConvEncoder(20, 16, n_layers=1)
    ... )
    >>> modules = {
    ...     "speech_encoder": speech,
    ...     "cross_modal": CrossModalEncoder(16, 16, n_heads=2, d_ffn=32),
    ...     "teacher": teacher,
    ...     "loss": TokenwiseContrastiveLoss(0.1),
    ... }
    >>> brain = TokenwiseContrastiveBrain(
    ...     modules, hparams={"speech_trainable_layers": None}
    ... )
    >>> brain.on_stage_start(sb.Stage.VALID)
    >>> outputs = brain.compute_forward(batch, sb.Stage.VALID)
    >>> loss = brain.compute_objectives(outputs, batch, sb.Stage.VALID)
    >>> loss.dim(), bool(torch.isfinite(loss))
    (0, True)
    """

    test_checkpoint = {"min_key": "loss"}

    def on_fit_start(self):
        """Teacher frozen, [CLS] query stored, top-N layers, then recover."""
        teacher = self.modules.teacher
        if not teacher.freeze or any(
            p.requires_grad for p in teacher.parameters()
        ):
            raise ValueError(
                "the teacher must be frozen: HFTextEncoder(freeze=True)"
            )
        cls_id = teacher.tokenizer.cls_token_id
        if cls_id is None:
            cls_id = teacher.tokenizer.bos_token_id
        ids = torch.tensor([[cls_id]], device=self.device)
        self.modules.cross_modal.set_cls_query(
            teacher.input_embeddings(ids)[0, 0]
        )
        layers = self.hparams.speech_trainable_layers
        if layers is not None:
            names = train_top_layers(self.modules.speech_encoder, layers)
            logger.info(f"training {len(names)} speech encoder tensors")
        super().on_fit_start()

    def compute_forward(self, batch, stage):
        """Returns the loss, the retrieval accuracy and the token count."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        teacher = self.modules.teacher
        ids, mask = teacher_tokens(teacher, batch.text_tokens)
        frames = self.modules.speech_encoder(wavs, wav_lens)
        queries = teacher.input_embeddings(ids)
        targets = teacher(ids, mask)
        content = teacher.content_mask(ids, mask)
        outputs = self.modules.cross_modal(queries, mask, frames, wav_lens)
        loss, accuracy = self.modules.loss(outputs, targets, content)
        return loss, accuracy, content.sum()

    def compute_objectives(self, predictions, batch, stage):
        """The tokenwise InfoNCE loss; records it and the accuracy."""
        loss, accuracy, tokens = predictions
        self.tokenwise_stats.append(loss, accuracy, tokens)
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Fresh loss and accuracy accumulators (those of the checkpoint
        when training resumes mid-epoch)."""
        self.tokenwise_stats = self.running_stats.start(TokenwiseStats(), stage)

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs loss and retrieval accuracy; checkpoints; writes results."""
        stats = self.tokenwise_stats.summarize()
        stats["temperature"] = _unwrap(self.modules.loss).temperature.item()
        self.end_stage(stage, stats, epoch)
        if stage == sb.Stage.TEST:
            protocol = self.hparams.protocol
            self.write_json({**stats, "protocol": protocol}, "results.json")

    def on_recipe_end(self, hparams_file, overrides):
        """Saves ``speech_encoder.ckpt`` and ``cross_modal.ckpt`` (with the
        [CLS] query) to ``<output_folder>``."""
        for name in ("speech_encoder", "cross_modal"):
            path = os.path.join(self.hparams.output_folder, f"{name}.ckpt")
            model = _unwrap(self.modules[name])
            sb.utils.distributed.run_on_main(
                torch.save, args=[model.state_dict(), path]
            )
            logger.info(f"pre-trained {name} saved to {path}")


class TranscriptEmotionBrain(EmotionBrain):
    """:class:`EmotionBrain` whose head also reads the transcript.

    For :class:`TokenwiseHead` with ``query: transcript`` (the source's
    pooled token embeddings with a given or ASR transcript): the batch's
    ``text_tokens`` (see
    :func:`speechbrain_ser.brains.tokenwise.transcript_emotion_dataio_prep`)
    become the teacher's input embeddings, the head's queries. The
    ``teacher`` (frozen :class:`HFTextEncoder`) is an hparam, not a
    module: it is neither trained nor exported. Metrics, checkpoints and
    results are :class:`EmotionBrain`'s. Waveform augmentation is not
    supported (it would need the tokens replicated too).

    Example
    -------
    >>> brain = TranscriptEmotionBrain(
    ...     {"head": torch.nn.Linear(2, 2)},
    ...     hparams={"wav_augment": lambda wavs, lengths: (wavs, lengths)},
    ... )
    >>> try:  # the augmented audio would no longer match the tokens
    ...     brain.on_fit_start()
    ... except ValueError as error:
    ...     print(error)
    TranscriptEmotionBrain has no wav_augment
    """

    def on_fit_start(self):
        """Moves the teacher to the device, then as EmotionBrain."""
        if self.hparams.wav_augment is not None:
            raise ValueError("TranscriptEmotionBrain has no wav_augment")
        self.hparams.teacher.to(self.device)
        super().on_fit_start()

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Moves the teacher to the device, then as EmotionBrain."""
        self.hparams.teacher.to(self.device)
        super().on_evaluate_start(max_key=max_key, min_key=min_key)

    def compute_forward(self, batch, stage):
        """Emotion outputs from speech frames and transcript queries."""
        batch = batch.to(self.device)
        wavs, lengths = batch.sig
        frames = self.encode(wavs, lengths, batch.id)
        teacher = self.hparams.teacher
        ids, mask = teacher_tokens(teacher, batch.text_tokens)
        queries = teacher.input_embeddings(ids)
        return self.predict(self.modules.head(frames, lengths, queries, mask))


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
