"""Speech + transcript emotion recognition (Xagorari et al. 2022).

A speech encoder (wav2vec2 in the paper) and a text encoder (DistilRoBERTa
in the paper; any BERT-like model here) are fine-tuned together for the
emotion class and/or activation, valence and dominance, alone or fused.

Authors
 * speechbrain-ser developers 2026
"""

import speechbrain as sb

from speechbrain_ser.brains.emotion import EmotionBrain
from speechbrain_ser.data.emotion import downsample_classes, emotion_dataio_prep
from speechbrain_ser.data.manifest import described_entries, read_manifest
from speechbrain_ser.data.pipelines import text_tokens_pipeline
from speechbrain_ser.nnet.pooling import token_attention_mask
from speechbrain_ser.nnet.speech_text import fuse_modalities

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
    encoders their own learning rate (one optimiser, three parameter
    groups); ``lr_annealing`` scales the three by the same factor.

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
    >>> brain.set_learning_rate(5e-4)  # as lr_annealing does
    >>> [group["lr"] for group in brain.optimizer.param_groups]
    [0.0005, 0.00025, 1e-05]
    >>> brain.modalities
    'both'
    """

    def lr_groups(self):
        """The encoders' own groups, at ``encoder_lr`` / ``text_encoder_lr``
        (each optional), after EmotionBrain's (see
        :mod:`~speechbrain_ser.brains.param_groups`)."""
        groups = super().lr_groups()
        for name in ("encoder", "text_encoder"):
            lr = getattr(self.hparams, f"{name}_lr")
            if lr is None or name not in self.modules:
                continue
            params = [
                p for p in self.modules[name].parameters() if p.requires_grad
            ]
            groups.append({"params": params, "lr": lr})
        return groups

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
        return self.hparams.fusion

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
