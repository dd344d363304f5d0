"""Downstream emotion recognition on top of any frame encoder.

Authors
 * speechbrain-ser developers 2026
"""

import json
import os
import urllib.parse

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger
from speechbrain.utils.optimizers import rm_vector_weight_decay

from speechbrain_ser.brains.encoder_cache import (
    check_encoder_cache_folder,
    encoder_cache_key,
)
from speechbrain_ser.brains.resumable import ResumableBrain
from speechbrain_ser.brains.stage_end import StageEndMixin
from speechbrain_ser.data.manifest import manifest_field
from speechbrain_ser.metrics import (
    ccc_report,
    classification_report,
    confusion_matrix,
    plot_confusion_matrix,
    roc_auc,
    subset_reports,
)
from speechbrain_ser.nnet.pooling import valid_frames
from speechbrain_ser.strict_json import write_json

logger = get_logger(__name__)


class EmotionBrain(StageEndMixin, ResumableBrain):
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

    Augmentation (training batches only; each optional, a SpeechBrain
    ``Augmenter``; labels are replicated when one concatenates the
    original batch): ``wav_augment`` on the waveforms (speed
    perturbation, noise, reverberation), ``fbank_augment`` on the
    features (time/frequency masking of filterbanks), ``frame_augment``
    on the encoder's output frames (masking of the cached features of a
    frozen encoder: the frozen encoder still runs once per utterance).

    Regularisation: ``label_smoothing`` (optional, cross-entropy), and in
    the YAML the heads' ``dropout`` and the optimiser's ``weight_decay``.
    Resume is exact and unreadable training audio is skipped and counted (see
    :class:`~speechbrain_ser.brains.resumable.ResumableBrain`).

    Optimiser: ``layer_weights_lr`` (optional, default null) gives the
    logits of every learned layer weighting
    (:class:`~speechbrain_ser.nnet.layer_weighting.WeightedLayerSum`) their
    own parameter group, at that learning rate and without weight decay
    (see :meth:`init_optimizers`); ``lr_annealing`` scales it by the same
    factor as the rest.

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

    def on_fit_start(self):
        """Freezes the encoder's parameters when asked, then recovers."""
        if self.hparams.freeze_encoder:
            self.modules.encoder.requires_grad_(False)
        super().on_fit_start()

    def init_optimizers(self):
        """One optimiser; the layer-weight logits may have their own group.

        With ``layer_weights_lr`` set, the ``weights`` of every
        :class:`~speechbrain_ser.nnet.layer_weighting.WeightedLayerSum`
        with ``layer="weighted"`` form the last parameter group, at that
        learning rate and with ``weight_decay`` 0: the logits start equal,
        and at the head's rate (with its decay pulling them back) the
        softmax barely leaves uniform in a few hundred steps. The group
        keeps ``lr_scale`` (its rate over the optimiser's), so that
        ``lr_annealing`` anneals it by the same factor; the optimiser is a
        checkpoint recoverable, groups included, so resume is exact.
        Without the option (or without learned layer weights) this is
        SpeechBrain's single group.

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
        lr = getattr(self.hparams, "layer_weights_lr", None)
        if lr is None or self.opt_class is None:
            return super().init_optimizers()
        logits = self.layer_weight_logits()
        if not logits:
            logger.warning(
                f"layer_weights_lr: {lr} is set but no module learns layer "
                "weights (WeightedLayerSum with layer='weighted'); one "
                "parameter group for all"
            )
            return super().init_optimizers()
        if self.remove_vector_weight_decay:
            groups = rm_vector_weight_decay(self.modules)
        else:
            groups = [{"params": list(self.modules.parameters())}]
        special = {id(p) for p in logits.values()}
        for group in groups:
            group["params"] = [
                p for p in group["params"] if id(p) not in special
            ]
        groups.append(
            {"params": list(logits.values()), "lr": lr, "weight_decay": 0.0}
        )
        self.optimizer = self.opt_class(groups)
        self.optimizer.param_groups[-1]["lr_scale"] = (
            lr / self.optimizer.defaults["lr"]
        )
        self.optimizers_dict = {"opt_class": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)
        logger.info(f"layer weights {sorted(logits)}: lr {lr}, no weight decay")

    def layer_weight_logits(self):
        """The learned layer-weight logits, by parameter name.

        Returns
        -------
        dict
            ``{"head.layer_sum.weights": Parameter, ...}``: the ``weights``
            of every :class:`~speechbrain_ser.nnet.layer_weighting.
            WeightedLayerSum` with ``layer="weighted"``; empty without one.
        """
        return {
            f"{name}.weights": module.weights
            for name, module in self._weighted_layer_sums().items()
        }

    def set_learning_rate(self, lr):
        """Sets every parameter group's learning rate to ``lr`` times its
        ``lr_scale`` (1 but for the layer weights' group, see
        :meth:`init_optimizers`)."""
        for i, group in enumerate(self.optimizer.param_groups):
            sb.nnet.schedulers.update_learning_rate(
                self.optimizer, lr * group.get("lr_scale", 1.0), [i]
            )

    @property
    def task(self):
        """classification, regression or both."""
        return self.hparams.task

    @property
    def class_weights(self):
        """Cross-entropy class weights from ``class_weights``, or None.

        ``balanced`` gives class c the weight N / (C * N_c) from the
        training manifest's counts (scikit-learn's convention).
        """
        if not hasattr(self, "_class_weights"):
            weights = getattr(self.hparams, "class_weights", None)
            if weights == "balanced":
                counts = torch.as_tensor(
                    self.hparams.train_class_counts, dtype=torch.float
                )
                weights = counts.sum() / (len(counts) * counts.clamp(min=1))
            if weights is not None:
                weights = torch.as_tensor(
                    weights, dtype=torch.float, device=self.device
                )
            self._class_weights = weights
        return self._class_weights

    def encode(self, wavs, lengths, ids=None, stage=None):
        """Waveforms -> (B, T, D) encoder frames (features first if set).

        With ``freeze_encoder`` and ``cache_frozen_encoder`` both true and
        ``ids`` given, each utterance's valid frames are stored in float16
        after their first pass and reused, so a frozen encoder (e.g.
        Whisper, which pads every clip to 30 s) runs once per utterance.
        The frames may be (B, T, L, D), every hidden state (encoder
        ``layer: all``): the cache then holds all of them, and the head
        weights them (:class:`~speechbrain_ser.nnet.layer_weighting.
        LayerWeightedHead`). The cache lives in memory, or with
        ``encoder_cache_folder`` on disk (one file per utterance, shared by
        runs and folds with the same encoder: the folder records the
        encoder's printout and a fingerprint of its weights, and refuses
        another encoder or other weights).
        """
        cache = self._encoder_cache
        if ids is not None and cache is not None:
            frames = [self._cached_frames(uid) for uid in ids]
            if all(item is not None for item in frames):
                return torch.nn.utils.rnn.pad_sequence(
                    [item.float() for item in frames], batch_first=True
                ).to(self.device)
        x = wavs
        if hasattr(self.hparams, "compute_features"):
            x = self.hparams.compute_features(x)
        if hasattr(self.modules, "mean_var_norm"):
            x = self.modules.mean_var_norm(x, lengths)
        if self._augments(stage, "fbank_augment"):
            x, lengths = self._augment("fbank_augment", x, lengths)
        if not self.hparams.freeze_encoder:
            return self.modules.encoder(x, lengths)
        self.modules.encoder.eval()
        with torch.no_grad():
            frames = self.modules.encoder(x, lengths).detach()
        if ids is not None and cache is not None:
            valid = valid_frames(lengths, frames.shape[1])
            for uid, item, n in zip(ids, frames, valid):
                self._store_frames(uid, item[:n].to(torch.float16).cpu())
        return frames

    def _cached_frames(self, uid):
        """An utterance's cached float16 frames, or None."""
        if uid in self._encoder_cache:
            return self._encoder_cache[uid]
        path = self._cache_path(uid)
        if path and os.path.exists(path):
            return torch.load(path)
        return None

    def _cache_path(self, uid):
        """``<encoder_cache_folder>/<quoted id>.pt``, or None."""
        folder = getattr(self.hparams, "encoder_cache_folder", None)
        if not folder:
            return None
        return os.path.join(folder, urllib.parse.quote(uid, safe="") + ".pt")

    def _store_frames(self, uid, frames):
        """Caches an utterance's frames in memory or in the cache folder."""
        path = self._cache_path(uid)
        if path is None:
            self._encoder_cache[uid] = frames
            return
        torch.save(frames, f"{path}.{os.getpid()}.tmp")
        os.replace(f"{path}.{os.getpid()}.tmp", path)

    @property
    def _encoder_cache(self):
        """The frozen-encoder cache (a dict), or None when not in use."""
        if not (
            self.hparams.freeze_encoder
            and getattr(self.hparams, "cache_frozen_encoder", False)
        ):
            return None
        if not hasattr(self, "_cache"):
            norm = getattr(self.modules, "mean_var_norm", None)
            if norm is not None and norm.norm_type != "sentence":
                raise ValueError(
                    "cache_frozen_encoder needs an encoder input that does "
                    "not change during training: use mean_var_norm with "
                    "norm_type: sentence, or no mean_var_norm"
                )
            self._check_cache_folder()
            self._cache = {}
        return self._cache

    def _check_cache_folder(self):
        """Creates ``encoder_cache_folder``, or checks that its frames
        come from the same encoder: same printout (options included),
        features and weights (see :mod:`~speechbrain_ser.brains.
        encoder_cache`, which also says how a folder written before the
        weights were recorded is handled)."""
        folder = getattr(self.hparams, "encoder_cache_folder", None)
        if not folder:
            return
        encoder = getattr(self.modules.encoder, "module", self.modules.encoder)
        features = getattr(self.hparams, "compute_features", None)
        check_encoder_cache_folder(folder, encoder_cache_key(encoder, features))

    def compute_forward(self, batch, stage):
        """Returns a dict with ``logits`` and/or ``avd``, and the lengths."""
        batch = batch.to(self.device)
        wavs, lengths = batch.sig
        ids = batch.id
        self._augmented = []  # the augmenters applied to this batch
        if self._augments(stage, "wav_augment"):
            wavs, lengths = self._augment("wav_augment", wavs, lengths)
        if self._augments(stage, "wav_augment", "fbank_augment"):
            ids = None  # augmented inputs differ every epoch: no caching
        frames = self.encode(wavs, lengths, ids, stage)
        if self._augments(stage, "fbank_augment"):  # masking keeps lengths
            lengths = self.hparams.fbank_augment.replicate_labels(lengths)
        if self._augments(stage, "frame_augment"):
            frames, lengths = self._augment_frames(frames, lengths)
        return self.predict(self.modules.head(frames, lengths))

    def _augments(self, stage, *names):
        """Whether any augmenter of ``names`` applies in ``stage``.

        Augmentation is for training only: valid and test inputs are
        never changed.
        """
        return stage == sb.Stage.TRAIN and any(
            getattr(self.hparams, name, None) is not None for name in names
        )

    def _augment_frames(self, frames, lengths):
        """``frame_augment`` on (B, T, D) frames, or on (B, T, L, D) hidden
        states viewed as (B, T, L * D): a time mask then covers every
        layer, a channel mask a band of one layer."""
        shape = frames.shape
        flat = frames.reshape(shape[0], shape[1], -1)
        flat, lengths = self._augment("frame_augment", flat, lengths)
        return flat.reshape(flat.shape[0], *shape[1:]), lengths

    def _augment(self, name, x, lengths):
        """Applies the Augmenter ``name``; notes it for the labels."""
        augmenter = getattr(self.hparams, name)
        x, lengths = augmenter(x, lengths)
        self._augmented.append(augmenter)
        return x, lengths

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
        targets = targets.data if hasattr(targets, "data") else targets
        if stage == sb.Stage.TRAIN:
            for augmenter in getattr(self, "_augmented", []):
                targets = augmenter.replicate_labels(targets)
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
                label_smoothing=getattr(self.hparams, "label_smoothing", 0.0),
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

    def _gathered(self):
        """This pass's outputs as numpy arrays, from every DDP process.

        DDP's sampler repeats a few items so that every process gets as
        many; each utterance is kept once.
        """
        parts = [self.outputs]
        if (
            torch.distributed.is_available()
            and torch.distributed.is_initialized()
        ):
            parts = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(parts, self.outputs)
        outputs = {"ids": []}
        arrays = {key: [] for key in self.outputs if key != "ids"}
        seen = set()
        for part in parts:
            rows = {key: torch.cat(part[key]) for key in arrays if part[key]}
            for i, uid in enumerate(part["ids"]):
                if uid in seen:
                    continue
                seen.add(uid)
                outputs["ids"].append(uid)
                for key, values in rows.items():
                    arrays[key].append(values[i].numpy())
        for key, rows in arrays.items():
            outputs[key] = np.stack(rows) if rows else []
        return outputs

    def compute_metrics(self):
        """UA/WA/F1/AUC and CCC of the current pass's outputs.

        Returns
        -------
        dict
            Metric name -> value, and ``score`` (higher is better).
        """
        outputs = self._gathered()
        metrics, scores = {}, []
        if len(outputs["probs"]):
            predicted = outputs["probs"].argmax(-1)
            metrics.update(
                classification_report(
                    outputs["labels"], predicted, self.class_names
                )
            )
            metrics["ROC_AUC"] = roc_auc(outputs["labels"], outputs["probs"])
            metrics["confusion_matrix"] = confusion_matrix(
                outputs["labels"], predicted, len(self.class_names)
            ).tolist()
            scores.append(metrics["UA"])
        if len(outputs["avd"]):
            metrics["CCC"] = ccc_report(outputs["avd_targets"], outputs["avd"])
            scores.append(metrics["CCC"]["mean"])
        metrics["score"] = float(np.mean(scores))
        metrics["n"] = len(outputs["ids"])
        selection = getattr(self.hparams, "selection_metric", None)
        if selection:
            metrics["score"] = self._selection_value(metrics, selection)
        self.last_outputs = outputs
        return metrics

    @staticmethod
    def _selection_value(metrics, name):
        """The value of ``selection_metric`` ``name`` in ``metrics``."""
        if name.startswith("CCC_") and "CCC" in metrics:
            value = metrics["CCC"].get(name[len("CCC_") :])
        else:
            value = metrics.get(name)
        if not isinstance(value, (int, float)):
            raise ValueError(
                f"selection_metric {name!r} is not a validation statistic "
                "of this task; use one of UA, WA, F1_macro, CCC_mean, "
                "CCC_activation, CCC_valence, CCC_dominance"
            )
        return float(value)

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
            lr = self.optimizer.param_groups[0]["lr"]
            if hasattr(self.hparams, "lr_annealing"):
                _, lr = self.hparams.lr_annealing(stage_loss)
                self.set_learning_rate(lr)
            counter = self.hparams.epoch_counter
            if hasattr(counter, "update_metric"):  # early stopping
                counter.update_metric(metrics["score"])
            self.end_stage(stage, summary, epoch, lr, meta={"epoch": epoch})
        elif stage == sb.Stage.TEST:
            selected = getattr(self, "selected_epoch", None)
            self.end_stage(stage, summary, loaded=selected)
            if sb.utils.distributed.if_main_process():
                self.write_results(
                    {**metrics, **extras, "selected_epoch": selected}
                )
                self.report_layer_weights()

    def extra_stats(self):
        """Statistics a subclass adds to each stage's log (none here).

        Called once per stage on every DDP process, so it may gather.
        """
        return {}

    def layer_weights(self):
        """Normalised weights of every learned layer weighting, by name.

        Returns
        -------
        dict
            e.g. ``{"head.layer_sum": [0.1, ...]}``; empty without
            :class:`~speechbrain_ser.nnet.layer_weighting.WeightedLayerSum`.
        """
        return {
            name: module.layer_weights()
            for name, module in self._weighted_layer_sums().items()
        }

    def _weighted_layer_sums(self):
        """Every WeightedLayerSum with learned weights, by module name."""
        from speechbrain_ser.nnet.layer_weighting import WeightedLayerSum

        return {
            name.replace("module.", ""): module
            for name, module in self.modules.named_modules()
            if isinstance(module, WeightedLayerSum)
            and module.layer == "weighted"
        }

    def report_layer_weights(self):
        """Logs the layer weights to train_log.txt, adds them to
        results.json and plots them to ``layer_weights.png``."""
        weights = self.layer_weights()
        if not weights:
            return
        from speechbrain_ser.plotting import plot_layer_weights

        folder = self.hparams.output_folder
        path = os.path.join(folder, "results.json")
        with open(path, encoding="utf-8") as fin:
            results = json.load(fin)
        results["layer_weights"] = weights
        write_json(results, path)
        lines = [
            f"layer weights ({name}): " + " ".join(f"{w:.4f}" for w in ws)
            for name, ws in weights.items()
        ]
        with open(
            self.hparams.train_logger.save_file, "a", encoding="utf-8"
        ) as fout:
            fout.write("\n".join(lines) + "\n")
        logger.info("; ".join(lines))
        plot_layer_weights(weights, os.path.join(folder, "layer_weights.png"))

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
            kwargs={
                "label_encoder": getattr(self.hparams, "label_encoder", None)
            },
        )
        logger.info(f"inference model exported to {folder}")

    def write_results(self, metrics):
        """Writes results.json (and confusion_matrix.png) to output_folder.

        results.json keys: ``UA``, ``WA``, ``F1_macro``, ``F1_weighted``,
        ``per_class_recall``, ``ROC_AUC``, ``confusion_matrix``, ``labels``
        (classification); ``CCC`` = {activation, valence, dominance, mean}
        (regression); ``n_test``, ``task``, ``protocol``,
        ``selected_epoch`` (the epoch of the tested checkpoint) and
        ``n_train_files_skipped`` (training utterances left out because
        their audio failed to load) always. Strict JSON: an undefined
        metric is ``null``, explained in ``null_reasons``.
        predictions.json holds each test utterance's prediction and target
        (see :meth:`utterance_predictions`).
        """
        folder = self.hparams.output_folder
        results = {
            "task": self.task,
            "protocol": getattr(self.hparams, "protocol", "unspecified"),
            "n_test": metrics.pop("n"),
            "n_train_files_skipped": len(self.skipped_files),
        }
        metrics.pop("score")
        results.update(metrics)
        if "UA" in metrics:
            results["labels"] = self.class_names
            field = getattr(self.hparams, "subset_field", None)
            if field:
                outputs = self.last_outputs
                results[f"by_{field}"] = subset_reports(
                    outputs["ids"],
                    outputs["labels"],
                    outputs["probs"].argmax(-1),
                    manifest_field(self.hparams.test_manifest, field),
                    self.class_names,
                )
            plot_confusion_matrix(
                np.array(metrics["confusion_matrix"]),
                self.class_names,
                os.path.join(folder, "confusion_matrix.png"),
                title=f"UA {metrics['UA']:.3f}, WA {metrics['WA']:.3f}",
            )
        path = os.path.join(folder, "results.json")
        write_json(results, path)
        write_json(
            self.utterance_predictions(),
            os.path.join(folder, "predictions.json"),
            indent=1,
        )
        logger.info(f"test results written to {path}")

    def utterance_predictions(self):
        """id -> prediction of the last pass (label and/or AVD in [-1, 1]).

        Returns
        -------
        dict
            ``{id: {"emotion": ..., "target": ..., "avd": [...],
            "avd_target": [...]}}`` with the keys the task has.
        """
        outputs = self.last_outputs
        predictions = {uid: {} for uid in outputs["ids"]}
        for i, uid in enumerate(outputs["ids"]):
            if len(outputs["probs"]):
                predictions[uid]["emotion"] = self.class_names[
                    int(outputs["probs"][i].argmax())
                ]
                predictions[uid]["target"] = self.class_names[
                    int(outputs["labels"][i])
                ]
            if len(outputs["avd"]):
                predictions[uid]["avd"] = outputs["avd"][i].tolist()
                predictions[uid]["avd_target"] = outputs["avd_targets"][
                    i
                ].tolist()
        return predictions
