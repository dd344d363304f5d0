"""Sentiment-aware ASR pre-training (SA2SR, Ghriss et al. 2022).

Authors
 * speechbrain-ser developers 2026
"""

import os

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.epoch_loop import EpochCounterWithStopper
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.brains.stage_end import StageEndMixin
from speechbrain_ser.data.emotion import sort_training_set
from speechbrain_ser.data.manifest import described_entries
from speechbrain_ser.data.pipelines import add_audio_pipelines
from speechbrain_ser.metrics import classification_report, roc_auc
from speechbrain_ser.text.characters import normalize_transcript
from speechbrain_ser.text.sentiment import SENTIMENTS

logger = get_logger(__name__)


class SA2SRBrain(StageEndMixin, ResumableBrain):
    """CTC character recognition + lambda * proxy-sentiment cross-entropy.

    YAML ``modules``: ``normalize`` (per-utterance feature normalisation),
    ``encoder`` (e.g. :class:`speechbrain_ser.nnet.sa2sr.SA2SREncoder`),
    ``ctc_lin`` (encoder dim -> characters) and ``sentiment``
    (:class:`speechbrain_ser.nnet.sa2sr.SentimentSummarizer`). Other
    hparams: ``compute_features``, ``speed_perturb`` and ``spec_augment``
    (train only, optional), ``lambda_sentiment``, ``ctc_reduction``,
    ``blank_index``, ``char_encoder``, ``cer_computer``, ``saved_model``
    (where the selected encoder's weights go).

    After each validation pass: CER (greedy CTC decoding, SpeechBrain's
    ``ErrorRateStats``) and sentiment ROC-AUC (scikit-learn, one-vs-rest);
    the model is selected, and training stops early (``epoch_counter``
    being an ``EpochCounterWithStopper``), on M = CER - AUC (Ghriss et al. 2022,
    sec. 4.2), or on CER alone when ``lambda_sentiment`` is 0 (the ASR-only
    baseline, whose sentiment head is untrained).

    Example
    -------
    >>> from speechbrain.dataio.batch import PaddedBatch
    >>> from speechbrain.lobes.features import Fbank
    >>> from speechbrain.processing.features import InputNormalization
    >>> from speechbrain.utils.metric_stats import ErrorRateStats
    >>> from speechbrain_ser.nnet.sa2sr import SA2SREncoder, SentimentSummarizer
    >>> from speechbrain_ser.text.characters import character_encoder
    >>> chars = character_encoder()
    >>> modules = {
    ...     "normalize": InputNormalization(norm_type="sentence"),
    ...     "encoder": SA2SREncoder(20, hidden_size=8, num_layers=1),
    ...     "ctc_lin": torch.nn.Linear(16, len(chars)),
    ...     "sentiment": SentimentSummarizer(16, hidden_size=8),
    ... }
    >>> hparams = {
    ...     "compute_features": Fbank(n_mels=20),
    ...     "blank_index": 0,
    ...     "ctc_reduction": "batchmean",
    ...     "lambda_sentiment": 200,
    ...     "char_encoder": chars,
    ...     "cer_computer": ErrorRateStats,
    ... }
    >>> brain = SA2SRBrain(modules, hparams=hparams, run_opts={"device": "cpu"})
    >>> batch = PaddedBatch(
    ...     [
    ...         {
    ...             "id": "a",
    ...             "sig": torch.rand(16000),
    ...             "characters": "hi",
    ...             "tokens": chars.encode_sequence_torch(list("hi")),
    ...             "sentiment_encoded": torch.tensor([2]),
    ...         }
    ...     ]
    ... )
    >>> brain.on_stage_start(sb.Stage.VALID)
    >>> log_probs, logits, lengths = brain.compute_forward(
    ...     batch, sb.Stage.VALID
    ... )
    >>> log_probs.shape[-1] == len(chars), logits.shape
    (True, torch.Size([1, 3]))
    >>> loss = brain.compute_objectives(
    ...     (log_probs, logits, lengths), batch, sb.Stage.VALID
    ... )
    >>> len(brain.cer_metric.scores), loss.dim()
    (1, 0)
    """

    test_checkpoint = {"min_key": "M"}

    def compute_forward(self, batch, stage):
        """Returns CTC log-probabilities, sentiment logits and lengths."""
        batch = batch.to(self.device)
        wavs, lengths = batch.sig
        if stage == sb.Stage.TRAIN and self.hparams.speed_perturb is not None:
            wavs, lengths = self.hparams.speed_perturb(wavs, lengths)
        feats = self.hparams.compute_features(wavs)
        feats = self.modules.normalize(feats, lengths)
        if stage == sb.Stage.TRAIN and self.hparams.spec_augment is not None:
            feats, _ = self.hparams.spec_augment(feats, lengths)
        states = self.modules.encoder(feats, lengths)
        log_probs = torch.log_softmax(self.modules.ctc_lin(states), dim=-1)
        return log_probs, self.modules.sentiment(states, lengths), lengths

    def _replicated(self, stage, *targets):
        if stage == sb.Stage.TRAIN and self.hparams.speed_perturb is not None:
            return [
                self.hparams.speed_perturb.replicate_labels(t) for t in targets
            ]
        return list(targets)

    def compute_objectives(self, predictions, batch, stage):
        """CTC + lambda * CE; feeds the CER and AUC trackers."""
        log_probs, logits, lengths = predictions
        tokens, token_lengths = batch.tokens
        labels = batch.sentiment_encoded.data.view(-1)
        tokens, token_lengths, labels = self._replicated(
            stage, tokens, token_lengths, labels
        )
        loss_ctc = sb.nnet.losses.ctc_loss(
            log_probs,
            tokens,
            lengths,
            token_lengths,
            blank_index=self.hparams.blank_index,
            reduction=self.hparams.ctc_reduction,
        )
        loss_ce = torch.nn.functional.cross_entropy(logits, labels)
        self.loss_parts["ctc"] += loss_ctc.detach().item()
        self.loss_parts["sentiment"] += loss_ce.detach().item()
        self.loss_parts["batches"] += 1
        if stage != sb.Stage.TRAIN:
            decoded = sb.decoders.ctc_greedy_decode(
                log_probs, lengths, blank_id=self.hparams.blank_index
            )
            encoder = self.hparams.char_encoder
            self.cer_metric.append(
                batch.id,
                [encoder.decode_ndim(seq) for seq in decoded],
                [list(characters) for characters in batch.characters],
            )
            self.sentiment_outputs["probs"].append(
                torch.softmax(logits, -1).detach().cpu()
            )
            self.sentiment_outputs["labels"].append(labels.cpu())
        return loss_ctc + self.hparams.lambda_sentiment * loss_ce

    def on_stage_start(self, stage, epoch=None):
        """Fresh CER tracker and stored sentiment outputs."""
        self.loss_parts = {"ctc": 0.0, "sentiment": 0.0, "batches": 0}
        self.cer_metric = self.hparams.cer_computer()
        self.sentiment_outputs = {"probs": [], "labels": []}

    def sentiment_metrics(self):
        """ROC-AUC, UA and WA of the proxy-sentiment head this pass."""
        probs = torch.cat(self.sentiment_outputs["probs"]).numpy()
        labels = torch.cat(self.sentiment_outputs["labels"]).numpy()
        report = classification_report(labels, probs.argmax(1), SENTIMENTS)
        return {
            "AUC": roc_auc(labels, probs),
            "sentiment_UA": report["UA"],
            "sentiment_WA": report["WA"],
        }

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs losses, CER, AUC and M; checkpoints; writes test results."""
        steps = max(1, self.loss_parts["batches"])
        stats = {
            "loss": stage_loss,
            "ctc_loss": self.loss_parts["ctc"] / steps,
            "sentiment_loss": self.loss_parts["sentiment"] / steps,
        }
        if stage == sb.Stage.TRAIN:
            self.end_stage(stage, stats)
            return
        # Sequences are compared character by character (space included).
        stats["CER"] = self.cer_metric.summarize("error_rate") / 100
        stats.update(self.sentiment_metrics())
        auc = 0.0 if np.isnan(stats["AUC"]) else stats["AUC"]
        stats["M"] = (
            stats["CER"] - auc
            if self.hparams.lambda_sentiment > 0
            else stats["CER"]
        )
        if stage == sb.Stage.VALID and isinstance(
            self.hparams.epoch_counter, EpochCounterWithStopper
        ):
            self.hparams.epoch_counter.update_metric(stats["M"])
        self.end_stage(stage, stats, epoch)
        if stage == sb.Stage.TEST:
            stats.update(
                n_test=len(self.cer_metric.scores),
                lambda_sentiment=self.hparams.lambda_sentiment,
                protocol=self.hparams.protocol,
                n_train_files_skipped=len(self.skipped_files),
            )
            self.write_json(stats, "results.json")
            if sb.utils.distributed.if_main_process():
                with open(
                    os.path.join(self.hparams.output_folder, "cer.txt"), "w"
                ) as fout:
                    self.cer_metric.write_stats(fout)

    def on_recipe_end(self, hparams_file, overrides):
        """Saves the selected encoder to the YAML's ``saved_model``.

        Fine-tuning recipes load it with a ``Pretrainer``.
        """
        self.save_artifact(self.modules.encoder, self.hparams.saved_model)


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
