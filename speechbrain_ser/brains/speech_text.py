"""Speech + transcript emotion recognition (Xagorari et al. 2022).

A speech encoder (wav2vec2 in the paper) and a text encoder (DistilRoBERTa
in the paper; any BERT-like model here) are fine-tuned together for the
emotion class and/or activation, valence and dominance, alone or fused.

Authors
 * speechbrain-ser developers 2026
"""

import speechbrain as sb

from speechbrain_ser.brains.emotion import EmotionBrain
from speechbrain_ser.nnet.fusion import fuse_modalities
from speechbrain_ser.nnet.pooling import token_attention_mask

MODALITIES = ("audio", "text", "both")


class SpeechTextBrain(EmotionBrain):
    """EmotionBrain with a transcript branch and speech/text fusion.

    Besides EmotionBrain's modules (``encoder`` and ``head`` for speech,
    ``emotion_out`` / ``avd_out`` its output layers), the YAML gives:

    * ``text_encoder``: an :class:`~speechbrain_ser.text.encoders.
      HFTextEncoder` ``(input_ids, attention_mask) -> (B, T, D)``;
    * ``text_head``: ``(B, T, D), lengths -> (B, E_t)`` over the tokens;
    * ``text_emotion_out`` / ``text_avd_out``: the text output layers;
    * ``fusion_head`` (learned fusion): ``[e_audio, e_text] -> (B, E)``,
      with ``fusion_emotion_out`` / ``fusion_avd_out``.

    Hparams: ``modalities`` (``audio``, ``text`` or ``both``) and
    ``fusion`` (``late``: the two single-modality models are each trained
    on their own loss and their posteriors / AVD averaged; ``learned``:
    a fusion head on the concatenated embeddings, trained on the joint
    loss). Metrics, checkpoints, results.json and the exported inference
    folder are EmotionBrain's; they describe the fused prediction.
    ``wav_augment`` is not applied (the transcript would no longer match).
    ``encoder_lr`` / ``text_encoder_lr`` (optional) give the pre-trained
    encoders their own learning rate (one Adam, three parameter groups);
    do not combine them with ``lr_annealing``, which sets one rate for all.

    Example
    -------
    The pre-trained encoders get their own learning rates:

    >>> import torch
    >>> modules = {
    ...     "encoder": torch.nn.Linear(4, 8),
    ...     "text_encoder": torch.nn.Linear(4, 8),
    ...     "head": torch.nn.Linear(8, 2),
    ... }
    >>> brain = SpeechTextBrain(
    ...     modules,
    ...     lambda groups: torch.optim.Adam(groups, lr=1e-3),
    ...     hparams={
    ...         "modalities": "both",
    ...         "encoder_lr": 5e-4,
    ...         "text_encoder_lr": 2e-5,
    ...     },
    ... )
    >>> brain.init_optimizers()
    >>> [group["lr"] for group in brain.optimizer.param_groups]
    [0.001, 0.0005, 2e-05]
    >>> brain.modalities
    'both'
    """

    def init_optimizers(self):
        """One optimizer; the encoders may have their own learning rate."""
        groups, special = [], set()
        for name in ("encoder", "text_encoder"):
            lr = getattr(self.hparams, f"{name}_lr", None)
            if lr is None or name not in self.modules:
                continue
            params = [
                p for p in self.modules[name].parameters() if p.requires_grad
            ]
            groups.append({"params": params, "lr": lr})
            special.update(id(p) for p in params)
        if not groups:
            return super().init_optimizers()
        rest = [p for p in self.modules.parameters() if id(p) not in special]
        self.optimizer = self.opt_class([{"params": rest}] + groups)
        self.optimizers_dict = {"opt_class": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

    @property
    def modalities(self):
        """audio, text or both."""
        value = self.hparams.modalities
        if value not in MODALITIES:
            raise ValueError(f"modalities must be one of {MODALITIES}")
        return value

    @property
    def fusion(self):
        """late or learned (used when both modalities are on)."""
        return getattr(self.hparams, "fusion", "late")

    def text_embedding(self, tokens, lengths):
        """(B, T) padded token ids and relative lengths -> (B, E_t)."""
        mask = token_attention_mask(tokens, lengths)
        hidden = self.modules.text_encoder(tokens, mask)
        return self.modules.text_head(hidden, lengths)

    def compute_forward(self, batch, stage):
        """Fused outputs (``logits`` / ``avd``) and, for late fusion,
        each modality's own outputs under ``branches``."""
        batch = batch.to(self.device)
        embeddings = {}
        if self.modalities in ("audio", "both"):
            wavs, lengths = batch.sig
            frames = self.encode(wavs, lengths, batch.id)
            embeddings["audio"] = self.modules.head(frames, lengths)
        if self.modalities in ("text", "both"):
            embeddings["text"] = self.text_embedding(*batch.text_tokens)
        return fuse_modalities(self.modules, embeddings, self.task, self.fusion)

    def compute_objectives(self, predictions, batch, stage):
        """The fused loss; with late fusion, the mean of the modalities'
        own losses (each single-modality model learns on its own)."""
        loss = super().compute_objectives(predictions, batch, stage)
        if "branches" not in predictions:
            return loss
        # EmotionBrain's loss without storing outputs (those of a TRAIN
        # stage are never stored): the fused outputs are the metrics'.
        losses = [
            super(SpeechTextBrain, self).compute_objectives(
                branch, batch, sb.Stage.TRAIN
            )
            for branch in predictions["branches"].values()
        ]
        return sum(losses) / len(losses)
