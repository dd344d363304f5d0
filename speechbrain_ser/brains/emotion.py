"""Downstream emotion recognition on top of any frame encoder.

Authors
 * speechbrain-ser developers 2026
"""

import functools
import os

import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedData
from speechbrain.utils.epoch_loop import EpochCounterWithStopper
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.augmentation import BatchAugmentation
from speechbrain_ser.brains.defaults import optional_module
from speechbrain_ser.brains.encoder_cache import EncoderCache
from speechbrain_ser.brains.full_batch import FullBatchMixin
from speechbrain_ser.brains.results import (
    emotion_metrics,
    gather_outputs,
    report_layer_weights,
    write_emotion_results,
)
from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.brains.stage_end import StageEndMixin
from speechbrain_ser.nnet.layer_weighting import (
    layer_weight_logits,
    layer_weights,
)

logger = get_logger(__name__)


class EmotionBrain(FullBatchMixin, StageEndMixin, ResumableBrain):
    """Trains an utterance-level emotion model: encoder -> head -> outputs.

    The YAML names the pieces; in ``modules``:

    * ``encoder``: any module ``(x, lengths) -> (B, T, D)``, fed with the
      waveforms or, when the YAML has ``compute_features``, with features
      (then optionally ``mean_var_norm``-alised);
    * ``head``: ``(B, T, D), lengths -> (B, E)`` utterance embedding;
    * ``emotion_out``: ``E -> classes`` (classification);
    * ``avd_out``: ``E -> 3`` (regression to activation, valence,
      dominance in [-1, 1]).

    Other hparams: ``task`` (classification, regression or both),
    ``freeze_encoder``, ``cache_frozen_encoder`` and
    ``encoder_cache_folder`` (see :meth:`encode`),
    ``ccc_loss``, ``class_weights`` (null, "balanced"
    or a list), ``classification_weight`` / ``regression_weight`` (for
    ``both``), ``lr_annealing``
    (optional), ``output_folder``, ``protocol`` (a sentence stating the
    corpus, split and speaker independence; copied into results.json),
    ``subset_field`` (optional: a manifest field such as IEMOCAP's
    ``improvised``; test UA/WA are also reported per value of it).

    Model selection: checkpoints are kept on the validation ``score``,
    by default UA for classification, mean CCC for regression, their mean
    for both; ``selection_metric`` (optional) names another validation
    statistic where higher is better (e.g. ``WA``, ``F1_macro``,
    ``CCC_valence``). The checkpoint best on it is the one tested; the
    train log and results.json (``selected_epoch``) say which epoch it
    was. With an ``EpochCounterWithStopper`` as ``epoch_counter``
    (``limit_to_stop`` = patience, ``direction: max``), training stops
    once the score has not improved for that many epochs.

    Augmentation (training batches only, see
    :class:`~speechbrain_ser.brains.augmentation.BatchAugmentation`; each
    optional, a SpeechBrain ``Augmenter``; labels are replicated when one
    concatenates the original batch): ``wav_augment`` on the waveforms (speed
    perturbation, noise, reverberation), ``fbank_augment`` on the
    features (time/frequency masking of filterbanks), ``frame_augment``
    on the encoder's output frames (masking of the cached features of a
    frozen encoder: the frozen encoder still runs once per utterance).

    Regularisation: ``label_smoothing`` (optional, cross-entropy), and in
    the YAML the heads' ``dropout`` and the optimiser's ``weight_decay``.
    Resume is exact and unreadable training audio is skipped and counted (see
    :class:`~speechbrain_ser.brains.resumable.ResumableBrain`).

    Training: ``training: epochs`` (default) is SpeechBrain's epoch loop;
    ``training: full_batch`` fits the head once, to convergence, on a
    frozen encoder's fixed statistics (``layers: concat`` or one layer),
    its L2 strength chosen on valid or by inner speaker-grouped CV
    (:class:`~speechbrain_ser.brains.full_batch.FullBatchMixin`).

    Optimiser: ``layer_weights_lr`` (optional, default null) gives the
    logits of every learned layer weighting
    (:class:`~speechbrain_ser.nnet.layer_weighting.WeightedLayerSum`) their
    own parameter group, at that learning rate and without weight decay
    (see :meth:`lr_groups`); ``lr_annealing`` scales it by the same
    factor as the rest.

    Every optional key above has its default in
    :data:`~speechbrain_ser.brains.defaults.OPTIONAL_HPARAMS`. Test
    results: :mod:`~speechbrain_ser.brains.results`; the frozen-encoder
    cache: :mod:`~speechbrain_ser.brains.encoder_cache`.

    Example
    -------
    >>> from speechbrain.dataio.batch import PaddedBatch
    >>> from speechbrain.lobes.features import Fbank
    >>> from speechbrain_ser.nnet.encoders import ConvEncoder
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> from speechbrain_ser.nnet.losses import ccc_loss
    >>> modules = {
    ...     "encoder": ConvEncoder(input_size=20, channels=8, n_layers=1),
    ...     "head": StatsPoolingMLP(input_size=8, hidden_size=8),
    ...     "emotion_out": torch.nn.Linear(8, 2),
    ...     "avd_out": torch.nn.Linear(8, 3),
    ... }
    >>> hparams = {
    ...     "task": "both",
    ...     "freeze_encoder": False,
    ...     "compute_features": Fbank(n_mels=20),
    ...     "ccc_loss": ccc_loss,
    ...     "classification_weight": 1.0,
    ...     "regression_weight": 1.0,
    ... }
    >>> brain = EmotionBrain(
    ...     modules, hparams=hparams, run_opts={"device": "cpu"}
    ... )
    >>> batch = PaddedBatch(
    ...     [
    ...         {
    ...             "id": f"u{i}",
    ...             "sig": torch.rand(1600 - 400 * i),
    ...             "emotion_encoded": torch.tensor([i]),
    ...             "avd": torch.rand(3) * 2 - 1,
    ...         }
    ...         for i in range(2)
    ...     ]
    ... )
    >>> brain.on_stage_start(sb.Stage.VALID)
    >>> predictions = brain.compute_forward(batch, sb.Stage.VALID)
    >>> predictions["logits"].shape, predictions["avd"].shape
    (torch.Size([2, 2]), torch.Size([2, 3]))
    >>> loss = brain.compute_objectives(predictions, batch, sb.Stage.VALID)
    >>> loss.dim(), brain.outputs["ids"]
    (0, ['u0', 'u1'])
    """

    test_checkpoint = {"max_key": "score"}
    selected_epoch = None  # the epoch of the tested checkpoint
    augmentation = BatchAugmentation()  # the current training batch's

    def on_fit_start(self):
        """Freezes the encoder's parameters when asked, then recovers."""
        if self.hparams.freeze_encoder:
            self.modules.encoder.requires_grad_(False)
        super().on_fit_start()

    def lr_groups(self):
        """The layer-weight logits' own group, with ``layer_weights_lr``.

        The ``weights`` of every
        :class:`~speechbrain_ser.nnet.layer_weighting.WeightedLayerSum`
        with ``layer="weighted"`` train at that learning rate and with
        ``weight_decay`` 0: the logits start equal, and at the head's rate
        (with its decay pulling them back) the softmax barely leaves
        uniform in a few hundred steps. ``lr_annealing`` anneals the group
        by the same factor as the rest, and resume is exact (see
        :mod:`~speechbrain_ser.brains.param_groups`). Without the option
        (or without learned layer weights) there is SpeechBrain's single
        group.

        Example
        -------
        >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
        >>> from speechbrain_ser.nnet.layer_weighting import (
        ...     LayerWeightedHead,
        ... )
        >>> head = LayerWeightedHead(StatsPoolingMLP(4, 8), n_layers=3)
        >>> brain = EmotionBrain(
        ...     {"head": head, "emotion_out": torch.nn.Linear(8, 2)},
        ...     lambda groups: torch.optim.AdamW(groups, lr=1e-3),
        ...     hparams={"layer_weights_lr": 0.05},
        ... )
        >>> brain.init_optimizers()
        >>> [(g["lr"], g["weight_decay"]) for g in brain.optimizer.param_groups]
        [(0.001, 0.01), (0.05, 0.0)]
        >>> brain.set_learning_rate(5e-4)  # as lr_annealing does
        >>> [g["lr"] for g in brain.optimizer.param_groups]
        [0.0005, 0.025]
        """
        lr = self.hparams.layer_weights_lr
        if lr is None:
            return []
        logits = layer_weight_logits(self.modules)
        if not logits:
            logger.warning(
                f"layer_weights_lr: {lr} is set but no module learns layer "
                "weights (WeightedLayerSum with layer='weighted'); one "
                "parameter group for all"
            )
            return []
        logger.info(f"layer weights {sorted(logits)}: lr {lr}, no weight decay")
        return [
            {"params": list(logits.values()), "lr": lr, "weight_decay": 0.0}
        ]

    @property
    def task(self):
        """classification, regression or both."""
        return self.hparams.task

    @functools.cached_property
    def class_weights(self):
        """Cross-entropy class weights from ``class_weights``, or None.

        ``balanced`` gives class c the weight N / (C * N_c) from the
        training manifest's counts (scikit-learn's convention).
        """
        weights = self.hparams.class_weights
        if weights == "balanced":
            counts = torch.as_tensor(
                self.hparams.train_class_counts, dtype=torch.float
            )
            weights = counts.sum() / (len(counts) * counts.clamp(min=1))
        if weights is not None:
            weights = torch.as_tensor(
                weights, dtype=torch.float, device=self.device
            )
        return weights

    @functools.cached_property
    def encoder_cache(self):
        """The frozen encoder's :class:`~speechbrain_ser.brains.
        encoder_cache.EncoderCache`, or None when not in use.

        In use with ``freeze_encoder`` and ``cache_frozen_encoder``; on
        disk with ``encoder_cache_folder`` (shared by runs and folds with
        the same encoder: the folder records the encoder's printout and a
        fingerprint of its weights, and refuses another encoder or other
        weights).
        """
        if not (
            self.hparams.freeze_encoder and self.hparams.cache_frozen_encoder
        ):
            return None
        norm = optional_module(self.modules, "mean_var_norm")
        if norm is not None and norm.norm_type != "sentence":
            raise ValueError(
                "cache_frozen_encoder needs an encoder input that does "
                "not change during training: use mean_var_norm with "
                "norm_type: sentence, or no mean_var_norm"
            )
        return EncoderCache(
            self.hparams.encoder_cache_folder,
            getattr(self.modules.encoder, "module", self.modules.encoder),
            self.hparams.compute_features,
        )

    def encode(self, wavs, lengths, ids=None, stage=None):
        """Waveforms -> (B, T, D) encoder frames (features first if set).

        With an :attr:`encoder_cache` and ``ids`` given, each utterance's
        valid frames are stored in float16 after their first pass and
        reused, so a frozen encoder (e.g. Whisper, which pads every clip
        to 30 s) runs once per utterance. The frames may be (B, T, L, D),
        every hidden state (encoder ``layer: all``): the cache then holds
        all of them, and the head weights them
        (:class:`~speechbrain_ser.nnet.layer_weighting.LayerWeightedHead`).
        """
        cache = self.encoder_cache
        if ids is not None and cache is not None:
            frames = cache.lookup(ids)
            if frames is not None:
                return frames.to(self.device)
        x = wavs
        if self.hparams.compute_features is not None:
            x = self.hparams.compute_features(x)
        norm = optional_module(self.modules, "mean_var_norm")
        if norm is not None:
            x = norm(x, lengths)
        if stage == sb.Stage.TRAIN and self.augmentation.uses("fbank_augment"):
            x, lengths = self.augmentation.apply("fbank_augment", x, lengths)
        if not self.hparams.freeze_encoder:
            return self.modules.encoder(x, lengths)
        self.modules.encoder.eval()
        with torch.no_grad():
            frames = self.modules.encoder(x, lengths).detach()
        if ids is not None and cache is not None:
            # the frames a later pass reads back, so that a batch gives the
            # same numbers fresh or cached (e.g. by another DDP rank)
            return cache.store(ids, frames, lengths).to(self.device)
        return frames

    def compute_forward(self, batch, stage):
        """Returns a dict with ``logits`` and/or ``avd``, and the lengths."""
        batch = batch.to(self.device)
        wavs, lengths = batch.sig
        ids = batch.id
        augmentation = self.augmentation = BatchAugmentation(
            self.hparams, stage
        )
        if augmentation.uses("wav_augment"):
            wavs, lengths = augmentation.apply("wav_augment", wavs, lengths)
        if augmentation.uses("wav_augment", "fbank_augment"):
            ids = None  # augmented inputs differ every epoch: no caching
        frames = self.encode(wavs, lengths, ids, stage)
        if augmentation.uses("fbank_augment"):  # masking keeps lengths
            lengths = self.hparams.fbank_augment.replicate_labels(lengths)
        if augmentation.uses("frame_augment"):
            frames, lengths = augmentation.apply_to_frames(frames, lengths)
        return self.predict(self.modules.head(frames, lengths))

    def predict(self, embedding):
        """Utterance embeddings -> dict with ``logits`` and/or ``avd``."""
        outputs = {}
        if self.task in ("classification", "both"):
            outputs["logits"] = self.modules.emotion_out(embedding)
        if self.task in ("regression", "both"):
            outputs["avd"] = self.modules.avd_out(embedding)
        return outputs

    def _targets(self, batch, stage, key):
        targets = getattr(batch, key)
        if isinstance(targets, PaddedData):
            targets = targets.data
        if stage == sb.Stage.TRAIN:
            targets = self.augmentation.targets(targets)
        return targets

    def compute_objectives(self, predictions, batch, stage):
        """Cross-entropy and/or CCC loss; stores outputs for the metrics."""
        loss = 0.0
        if "logits" in predictions:
            labels = self._targets(batch, stage, "emotion_encoded").view(-1)
            loss_ce = torch.nn.functional.cross_entropy(
                predictions["logits"],
                labels,
                weight=self.class_weights,
                label_smoothing=self.hparams.label_smoothing,
            )
            loss = loss + self.hparams.classification_weight * loss_ce
        if "avd" in predictions:
            avd = self._targets(batch, stage, "avd")
            loss_ccc = self.hparams.ccc_loss(predictions["avd"], avd)
            loss = loss + self.hparams.regression_weight * loss_ccc
        if stage != sb.Stage.TRAIN:
            self.outputs["ids"] += list(batch.id)
            if "logits" in predictions:
                self.outputs["probs"].append(
                    torch.softmax(predictions["logits"], -1).detach().cpu()
                )
                self.outputs["labels"].append(labels.cpu())
            if "avd" in predictions:
                self.outputs["avd"].append(predictions["avd"].detach().cpu())
                self.outputs["avd_targets"].append(avd.cpu())
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Resets the stored outputs of a validation or test pass."""
        self.outputs = {
            "ids": [],
            "probs": [],
            "labels": [],
            "avd": [],
            "avd_targets": [],
        }

    def compute_metrics(self):
        """UA/WA/F1/AUC and CCC of the current pass's outputs (from every
        DDP process; kept as ``last_outputs``).

        Returns
        -------
        dict
            Metric name -> value, and ``score`` (higher is better; see
            :func:`~speechbrain_ser.brains.results.emotion_metrics`).
        """
        outputs = gather_outputs(self.outputs)
        names = self.class_names if len(outputs["probs"]) else None
        metrics = emotion_metrics(outputs, names, self.hparams.selection_metric)
        self.last_outputs = outputs
        return metrics

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Loads the checkpoint best on ``max_key`` and notes its epoch."""
        super().on_evaluate_start(max_key=max_key, min_key=min_key)
        self.selected_epoch = None
        if self.checkpointer is None:
            return
        checkpoint = self.checkpointer.find_checkpoint(
            max_key=max_key, min_key=min_key
        )
        if checkpoint is not None:
            self.selected_epoch = checkpoint.meta.get(
                "epoch", self.hparams.epoch_counter.current
            )
            logger.info(
                f"testing the checkpoint of epoch {self.selected_epoch} "
                f"(best validation score {checkpoint.meta.get('score')})"
            )

    @property
    def class_names(self):
        """Class names in index order (classification tasks)."""
        encoder = self.hparams.label_encoder
        return encoder.decode_ndim(list(range(len(encoder))))

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, anneals the learning rate, checkpoints, writes results."""
        if stage == sb.Stage.TRAIN:
            stats = {"loss": stage_loss, **self.extra_stats()}
            if self.skipped_files:
                stats["skipped_files"] = len(self.skipped_files)
            self.end_stage(stage, stats)
            return
        metrics = self.compute_metrics()
        extras = self.extra_stats()  # every DDP process calls it once
        summary = {"loss": stage_loss, "score": metrics["score"], **extras}
        for key in ("UA", "WA", "F1_macro"):
            if key in metrics:
                summary[key] = metrics[key]
        if "CCC" in metrics:
            summary.update({f"CCC_{k}": v for k, v in metrics["CCC"].items()})
        if stage == sb.Stage.VALID:
            lr = self.anneal_learning_rate(stage_loss)
            counter = self.hparams.epoch_counter
            if isinstance(counter, EpochCounterWithStopper):
                counter.update_metric(metrics["score"])
            self.end_stage(stage, summary, epoch, lr, meta={"epoch": epoch})
        elif stage == sb.Stage.TEST:
            self.end_stage(stage, summary, loaded=self.selected_epoch)
            if sb.utils.distributed.if_main_process():
                self.write_results(
                    {**metrics, **extras, "selected_epoch": self.selected_epoch}
                )

    def extra_stats(self):
        """Statistics a subclass adds to each stage's log (none here).

        Called once per stage on every DDP process, so it may gather.
        """
        return {}

    def write_results(self, metrics):
        """Writes the test results (see :func:`~speechbrain_ser.brains.
        results.write_emotion_results`) and reports the learned layer
        weights (:func:`~speechbrain_ser.brains.results.
        report_layer_weights`) to ``output_folder``."""
        from speechbrain_ser.brains.reliability import brain_reliability_results

        folder = self.hparams.output_folder
        outputs = self.last_outputs
        field = self.hparams.subset_field
        # intervals, calibration, risk-coverage, conformal, subgroups
        reliability = brain_reliability_results(
            self,
            folder,
            group_by=self.hparams.group_by,
            n_resamples=self.hparams.bootstrap_resamples,
        )
        write_emotion_results(
            folder,
            {**metrics, **reliability},
            outputs,
            {
                "task": self.task,
                "protocol": self.hparams.protocol,
                "n_train_files_skipped": len(self.skipped_files),
            },
            class_names=self.class_names if "UA" in metrics else None,
            subset=(field, self.hparams.test_manifest) if field else None,
            fields=self.test_fields,
        )
        report_layer_weights(
            layer_weights(self.modules),
            folder,
            self.hparams.train_logger.save_file,
        )

    def on_recipe_end(self, hparams_file, overrides):
        """Exports the best model to ``<output_folder>/inference``.

        The folder loads with
        ``EmotionRecognizer.from_hparams(source=<folder>)``. Every DDP
        process calls this; only the main one writes.
        """
        from speechbrain_ser.brains.export import export_inference_folder

        folder = os.path.join(self.hparams.output_folder, "inference")
        modules = {
            name: getattr(module, "module", module)  # unwrap DDP
            for name, module in self.modules.items()
        }
        sb.utils.distributed.run_on_main(
            export_inference_folder,
            args=[hparams_file, overrides, modules, folder],
            kwargs={"label_encoder": self.hparams.label_encoder},
        )
        calibration = getattr(self, "calibration", None)
        if calibration is not None:  # beside the weights it belongs to
            sb.utils.distributed.run_on_main(calibration.save, args=[folder])
        logger.info(f"inference model exported to {folder}")

    def fit_calibration(self, valid_set, loader_kwargs=None, **checkpoint):
        """Fits temperature scaling and conformal A/V/D intervals on the
        validation outputs of the checkpoint that will be tested.

        Stored as ``self.calibration``: results.json reports the test
        metrics before and after, and the exported model folder carries it
        (``calibration.json``). ``calibrate: false`` in the hparams skips
        it; ``calibration_bias`` and ``conformal_coverage`` (default 0.9)
        tune it (see :mod:`speechbrain_ser.brains.reliability`).

        Arguments
        ---------
        valid_set : Dataset or DataLoader
            The validation data.
        loader_kwargs : dict, optional
            DataLoader options.
        **checkpoint
            ``max_key`` / ``min_key`` of the checkpoint that is tested.

        Returns
        -------
        Calibration or None
            None when switched off or without validation data.
        """
        from speechbrain_ser.brains.reliability import (
            fit_calibration,
            validation_outputs,
        )

        self.calibration = None
        if not self.hparams.calibrate:
            return None
        outputs = validation_outputs(
            self, valid_set, loader_kwargs, **checkpoint
        )
        if not len(outputs["ids"]):
            return None
        self.calibration = fit_calibration(
            outputs,
            bias=self.hparams.calibration_bias,
            coverage=self.hparams.conformal_coverage,
        )
        logger.info(f"calibration: {self.calibration.to_dict()}")
        return self.calibration
