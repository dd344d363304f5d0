"""Downstream emotion recognition on top of any frame encoder.

Authors
 * speechbrain-ser developers 2026
"""

import os

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.stage_end import StageEndMixin
from speechbrain_ser.metrics import (
    ccc_report,
    classification_report,
    confusion_matrix,
    plot_confusion_matrix,
    roc_auc,
)
from speechbrain_ser.nnet.pooling import valid_frames

logger = get_logger(__name__)


class EmotionBrain(StageEndMixin, sb.Brain):
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
    ``freeze_encoder``, ``cache_frozen_encoder`` (see :meth:`encode`),
    ``ccc_loss``, ``class_weights`` (null, "balanced"
    or a list), ``classification_weight`` / ``regression_weight`` (for
    ``both``), ``wav_augment`` (optional, train only), ``lr_annealing``
    (optional), ``output_folder``, ``protocol`` (a sentence stating the
    corpus, split and speaker independence; copied into results.json).

    Checkpoints are kept on the validation ``score``: UA for
    classification, mean CCC for regression, their mean for both.

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

    def encode(self, wavs, lengths, ids=None):
        """Waveforms -> (B, T, D) encoder frames (features first if set).

        With ``freeze_encoder`` and ``cache_frozen_encoder`` both true and
        ``ids`` given, each utterance's valid frames are kept in memory
        after their first pass and reused, so a frozen encoder (e.g.
        Whisper, which pads every clip to 30 s) runs once per utterance.
        """
        if ids is not None and self._encoder_cache is not None:
            if all(uid in self._encoder_cache for uid in ids):
                frames = [self._encoder_cache[uid] for uid in ids]
                return torch.nn.utils.rnn.pad_sequence(
                    frames, batch_first=True
                ).to(self.device)
        x = wavs
        if hasattr(self.hparams, "compute_features"):
            x = self.hparams.compute_features(x)
        if hasattr(self.modules, "mean_var_norm"):
            x = self.modules.mean_var_norm(x, lengths)
        if not self.hparams.freeze_encoder:
            return self.modules.encoder(x, lengths)
        self.modules.encoder.eval()
        with torch.no_grad():
            frames = self.modules.encoder(x, lengths).detach()
        if ids is not None and self._encoder_cache is not None:
            valid = valid_frames(lengths, frames.shape[1])
            for uid, item, n in zip(ids, frames, valid):
                self._encoder_cache[uid] = item[:n].cpu()
        return frames

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
            self._cache = {}
        return self._cache

    def compute_forward(self, batch, stage):
        """Returns a dict with ``logits`` and/or ``avd``, and the lengths."""
        batch = batch.to(self.device)
        wavs, lengths = batch.sig
        ids = batch.id
        if stage == sb.Stage.TRAIN and hasattr(self.hparams, "wav_augment"):
            wavs, lengths = self.hparams.wav_augment(wavs, lengths)
            ids = None  # augmented audio differs every epoch: no caching
        frames = self.encode(wavs, lengths, ids)
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
        targets = targets.data if hasattr(targets, "data") else targets
        if stage == sb.Stage.TRAIN and hasattr(self.hparams, "wav_augment"):
            targets = self.hparams.wav_augment.replicate_labels(targets)
        return targets

    def compute_objectives(self, predictions, batch, stage):
        """Cross-entropy and/or CCC loss; stores outputs for the metrics."""
        loss = 0.0
        if "logits" in predictions:
            labels = self._targets(batch, stage, "emotion_encoded").view(-1)
            loss_ce = torch.nn.functional.cross_entropy(
                predictions["logits"], labels, weight=self.class_weights
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
        self.last_outputs = outputs
        return metrics

    @property
    def class_names(self):
        """Class names in index order (classification tasks)."""
        encoder = self.hparams.label_encoder
        return encoder.decode_ndim(list(range(len(encoder))))

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, anneals the learning rate, checkpoints, writes results."""
        if stage == sb.Stage.TRAIN:
            self.end_stage(stage, {"loss": stage_loss, **self.extra_stats()})
            return
        metrics = self.compute_metrics()
        extras = self.extra_stats()  # every DDP process calls it once
        summary = {"loss": stage_loss, "score": metrics["score"], **extras}
        for key in ("UA", "WA", "F1_macro"):
            if key in metrics:
                summary[key] = metrics[key]
        if "CCC" in metrics:
            summary.update({f"CCC_{k}": v for k, v in metrics["CCC"].items()})
        lr = None
        if stage == sb.Stage.VALID and hasattr(self.hparams, "lr_annealing"):
            _, lr = self.hparams.lr_annealing(stage_loss)
            sb.nnet.schedulers.update_learning_rate(self.optimizer, lr)
        self.end_stage(stage, summary, epoch, lr)
        if stage == sb.Stage.TEST and sb.utils.distributed.if_main_process():
            self.write_results({**metrics, **extras})

    def extra_stats(self):
        """Statistics a subclass adds to each stage's log (none here).

        Called once per stage on every DDP process, so it may gather.
        """
        return {}

    def on_recipe_end(self, hparams_file, overrides):
        """Exports the best model to ``<output_folder>/inference``.

        The folder loads with
        ``EmotionRecognizer.from_hparams(source=<folder>)``. Every DDP
        process calls this; only the main one writes.
        """
        from speechbrain_ser.inference import export_inference_folder

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
        (regression); ``n_test``, ``task``, ``protocol`` always.
        predictions.json holds each test utterance's prediction and target
        (see :meth:`utterance_predictions`).
        """
        folder = self.hparams.output_folder
        results = {
            "task": self.task,
            "protocol": getattr(self.hparams, "protocol", "unspecified"),
            "n_test": metrics.pop("n"),
        }
        metrics.pop("score")
        results.update(metrics)
        if "UA" in metrics:
            results["labels"] = self.class_names
            plot_confusion_matrix(
                np.array(metrics["confusion_matrix"]),
                self.class_names,
                os.path.join(folder, "confusion_matrix.png"),
                title=f"UA {metrics['UA']:.3f}, WA {metrics['WA']:.3f}",
            )
        path = self.write_json(results, "results.json")
        self.write_json(self.utterance_predictions(), "predictions.json", 1)
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
