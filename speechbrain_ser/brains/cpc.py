"""Contrastive predictive coding: pre-training and joint training (Li et al. 2021).

Authors
 * speechbrain-ser developers 2026
"""

import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.emotion import EmotionBrain
from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.brains.stage_end import StageEndMixin
from speechbrain_ser.data.emotion import sort_training_set
from speechbrain_ser.data.manifest import described_entries
from speechbrain_ser.data.pipelines import add_audio_pipelines

logger = get_logger(__name__)


class CPCStats:
    """Running means of the CPC loss and of the accuracy of each step k.

    Example
    -------
    >>> stats = CPCStats()
    >>> stats.append(torch.tensor(2.0), [0.5, 0.25])
    >>> stats.append(torch.tensor(1.0), [1.0, 0.75])
    >>> stats.summarize()
    {'cpc_loss': 1.5, 'acc_k1': 0.75, 'acc_k2': 0.5, 'acc_mean': 0.625}
    """

    def __init__(self):
        self.loss = 0.0
        self.accuracies = []
        self.batches = 0

    def append(self, loss, accuracies):
        """Adds one batch's loss (tensor) and per-k accuracies (floats)."""
        self.loss += loss.detach().item()
        if len(accuracies) > len(self.accuracies):
            self.accuracies += [0.0] * (len(accuracies) - len(self.accuracies))
        for k, accuracy in enumerate(accuracies):
            self.accuracies[k] += accuracy
        self.batches += 1

    def summarize(self):
        """``cpc_loss``, ``acc_k1`` to ``acc_kK`` and ``acc_mean`` (or {}).

        Accuracies are averaged over batches (of every DDP process); a
        step k that a batch was too short for counts as 0 for that batch.
        """
        parts = [(self.loss, self.accuracies, self.batches)]
        if (
            torch.distributed.is_available()
            and torch.distributed.is_initialized()
        ):
            parts = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(
                parts, (self.loss, self.accuracies, self.batches)
            )
        batches = sum(part[2] for part in parts)
        if not batches:
            return {}
        steps = max(len(part[1]) for part in parts)
        totals = [
            sum(part[1][k] for part in parts if k < len(part[1]))
            for k in range(steps)
        ]
        stats = {"cpc_loss": sum(part[0] for part in parts) / batches}
        for k, total in enumerate(totals, start=1):
            stats[f"acc_k{k}"] = total / batches
        if totals:
            stats["acc_mean"] = sum(totals) / (batches * steps)
        return stats


class CPCBrain(StageEndMixin, ResumableBrain):
    """Pre-trains a :class:`speechbrain_ser.nnet.cpc.CPCModel` with InfoNCE.

    YAML ``modules``: ``cpc`` (the CPC model; its frame encoder takes
    waveforms, or computes filterbanks itself). Other hparams:
    ``wav_augment`` (optional, train only), ``epoch_counter``,
    ``train_logger``, ``output_folder``, ``protocol``, ``saved_model``
    (where the selected model's weights go).

    Every validation pass logs the CPC loss and the accuracy of each
    prediction step k (how often the true future frame z_{i+k} scores
    highest among the candidates); the checkpoint with the lowest
    validation loss is kept, tested, and saved to ``saved_model`` for
    fine-tuning recipes.

    Example
    -------
    >>> from speechbrain.dataio.batch import PaddedBatch
    >>> from speechbrain_ser.nnet.cpc import CPCModel, WaveformConvEncoder
    >>> model = CPCModel(WaveformConvEncoder(16), 16, 24, n_predictions=3)
    >>> brain = CPCBrain({"cpc": model}, run_opts={"device": "cpu"})
    >>> batch = PaddedBatch(
    ...     [
    ...         {"id": "a", "sig": torch.rand(8000)},
    ...         {"id": "b", "sig": torch.rand(6000)},
    ...     ]
    ... )
    >>> brain.on_stage_start(sb.Stage.VALID)
    >>> loss = brain.compute_objectives(
    ...     brain.compute_forward(batch, sb.Stage.VALID), batch, sb.Stage.VALID
    ... )
    >>> sorted(brain.cpc_stats.summarize())
    ['acc_k1', 'acc_k2', 'acc_k3', 'acc_mean', 'cpc_loss']
    """

    test_checkpoint = {"min_key": "cpc_loss"}

    def compute_forward(self, batch, stage):
        """Returns the CPC loss and per-k accuracies of the batch."""
        batch = batch.to(self.device)
        wavs, lengths = batch.sig
        if stage == sb.Stage.TRAIN and self.hparams.wav_augment is not None:
            wavs, lengths = self.hparams.wav_augment(wavs, lengths)
        _, loss, accuracies = self.modules.cpc(wavs, lengths, with_loss=True)
        return loss, accuracies

    def compute_objectives(self, predictions, batch, stage):
        """The InfoNCE loss; records it and the accuracies."""
        loss, accuracies = predictions
        self.cpc_stats.append(loss, accuracies)
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Fresh loss and accuracy accumulators (those of the checkpoint
        when training resumes mid-epoch)."""
        self.cpc_stats = self.running_stats.start(CPCStats(), stage)

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs loss and accuracies per k; checkpoints; writes results."""
        stats = self.cpc_stats.summarize()
        self.end_stage(stage, stats, epoch)
        if stage == sb.Stage.TEST:
            protocol = self.hparams.protocol
            skipped = len(self.skipped_files)
            self.write_json(
                {
                    **stats,
                    "protocol": protocol,
                    "n_train_files_skipped": skipped,
                },
                "results.json",
            )

    def on_recipe_end(self, hparams_file, overrides):
        """Saves the selected CPC model to the YAML's ``saved_model``."""
        self.save_artifact(self.modules.cpc, self.hparams.saved_model)


class JointCPCBrain(EmotionBrain):
    """jointCPC: emotion loss + ``cpc_weight`` * CPC loss, trained together.

    The ``encoder`` module must be a
    :class:`speechbrain_ser.nnet.cpc.CPCModel` fed with waveforms (its
    frame encoder computes any features). Everything else is as in
    :class:`EmotionBrain` (the head, outputs, CCC or cross-entropy losses,
    checkpoint selection on the validation score, results and export);
    the CPC loss and per-k accuracies are logged for every stage.

    Example
    -------
    >>> from speechbrain.dataio.batch import PaddedBatch
    >>> from speechbrain_ser.nnet.cpc import CPCModel, WaveformConvEncoder
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> modules = {
    ...     "encoder": CPCModel(
    ...         WaveformConvEncoder(16), 16, 24, n_predictions=3
    ...     ),
    ...     "head": StatsPoolingMLP(input_size=24, hidden_size=8),
    ...     "emotion_out": torch.nn.Linear(8, 2),
    ... }
    >>> hparams = {
    ...     "task": "classification",
    ...     "freeze_encoder": False,
    ...     "classification_weight": 1.0,
    ...     "cpc_weight": 0.5,
    ... }
    >>> brain = JointCPCBrain(
    ...     modules, hparams=hparams, run_opts={"device": "cpu"}
    ... )
    >>> batch = PaddedBatch(
    ...     [
    ...         {
    ...             "id": "a",
    ...             "sig": torch.rand(8000),
    ...             "emotion_encoded": torch.tensor([0]),
    ...         },
    ...         {
    ...             "id": "b",
    ...             "sig": torch.rand(6000),
    ...             "emotion_encoded": torch.tensor([1]),
    ...         },
    ...     ]
    ... )
    >>> brain.on_stage_start(sb.Stage.VALID)
    >>> predictions = brain.compute_forward(batch, sb.Stage.VALID)
    >>> sorted(predictions)
    ['cpc', 'logits']
    >>> loss = brain.compute_objectives(predictions, batch, sb.Stage.VALID)
    >>> "cpc_loss" in brain.extra_stats(), loss.dim()
    (True, 0)
    """

    def on_fit_start(self):
        """Joint training updates the encoder: it cannot be frozen."""
        if self.hparams.freeze_encoder:
            raise ValueError(
                "jointCPC trains the CPC encoder with the emotion loss: "
                "set freeze_encoder: False"
            )
        super().on_fit_start()

    def compute_forward(self, batch, stage):
        """Emotion outputs, plus the batch's CPC loss and accuracies."""
        batch = batch.to(self.device)
        wavs, lengths = batch.sig
        if stage == sb.Stage.TRAIN and self.hparams.wav_augment is not None:
            wavs, lengths = self.hparams.wav_augment(wavs, lengths)
        frames, loss, accuracies = self.modules.encoder(
            wavs, lengths, with_loss=True
        )
        outputs = self.predict(self.modules.head(frames, lengths))
        outputs["cpc"] = (loss, accuracies)
        return outputs

    def compute_objectives(self, predictions, batch, stage):
        """Emotion loss (see :class:`EmotionBrain`) + weighted CPC loss."""
        loss_cpc, accuracies = predictions.pop("cpc")
        self.cpc_stats.append(loss_cpc, accuracies)
        loss = super().compute_objectives(predictions, batch, stage)
        return loss + self.hparams.cpc_weight * loss_cpc

    def on_stage_start(self, stage, epoch=None):
        """Fresh outputs and CPC accumulators (see :meth:`CPCBrain.
        on_stage_start`)."""
        super().on_stage_start(stage, epoch)
        self.cpc_stats = self.running_stats.start(CPCStats(), stage)

    def extra_stats(self):
        """This stage's CPC loss and accuracies."""
        return self.cpc_stats.summarize()


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
