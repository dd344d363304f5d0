"""Fusion of speech and text emotion models (Xagorari et al. 2022).

Two ways to combine a speech model and a text model, selectable in YAML:

* late: each modality has its own output layers; their class posteriors
  and their activation/valence/dominance predictions are averaged
  (:func:`late_fusion`), as when two single-modality models are combined;
* learned: the pooled utterance embeddings are concatenated and a small
  network maps them to one joint embedding (:class:`ConcatFusionHead`),
  followed by the usual output layers.

Authors
 * speechbrain-ser developers 2026
"""

import torch


def late_fusion(branch_outputs):
    """Averages the predictions of several single-modality models.

    Arguments
    ---------
    branch_outputs : list of dict
        One dict per modality with ``logits`` (B, C) and/or ``avd`` (B, 3).

    Returns
    -------
    dict
        ``logits``: log of the averaged class posteriors (so that a
        softmax gives back the average), ``avd``: the averaged AVD.

    Example
    -------
    >>> a = {
    ...     "logits": torch.log(torch.tensor([[0.8, 0.2]])),
    ...     "avd": torch.tensor([[0.2, 0.4, 0.0]]),
    ... }
    >>> b = {
    ...     "logits": torch.log(torch.tensor([[0.4, 0.6]])),
    ...     "avd": torch.tensor([[0.0, -0.4, 1.0]]),
    ... }
    >>> fused = late_fusion([a, b])
    >>> torch.softmax(fused["logits"], -1)
    tensor([[0.6000, 0.4000]])
    >>> fused["avd"]
    tensor([[0.1000, 0.0000, 0.5000]])
    """
    fused = {}
    if all("logits" in out for out in branch_outputs):
        probs = torch.stack(
            [torch.softmax(out["logits"], -1) for out in branch_outputs]
        )
        fused["logits"] = torch.log(probs.mean(0).clamp(min=1e-12))
    if all("avd" in out for out in branch_outputs):
        fused["avd"] = torch.stack([out["avd"] for out in branch_outputs]).mean(
            0
        )
    return fused


class ConcatFusionHead(torch.nn.Module):
    """Concatenated utterance embeddings -> joint embedding (learned
    fusion).

    Linear -> LayerNorm -> ReLU -> Dropout over ``[e_1; e_2; ...]``.

    Arguments
    ---------
    input_sizes : list of int
        Size of each modality's embedding, in the order they are given.
    hidden_size : int
        Size of the joint embedding.
    dropout : float
        Dropout on the joint embedding.

    Example
    -------
    >>> head = ConcatFusionHead([32, 16], hidden_size=8)
    >>> head([torch.rand(4, 32), torch.rand(4, 16)]).shape
    torch.Size([4, 8])
    """

    def __init__(self, input_sizes, hidden_size=256, dropout=0.1):
        super().__init__()
        self.input_sizes = list(input_sizes)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(sum(self.input_sizes), hidden_size),
            torch.nn.LayerNorm(hidden_size),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout),
        )

    def forward(self, embeddings):
        """Fuses a list of (B, E_i) embeddings into (B, hidden_size)."""
        sizes = [e.shape[-1] for e in embeddings]
        if sizes != self.input_sizes:
            raise ValueError(
                f"embedding sizes {sizes} differ from the configured "
                f"input_sizes {self.input_sizes}"
            )
        return self.net(torch.cat(embeddings, dim=-1))


# Output layers of each modality in a model's ``modules``: the speech
# model's are EmotionBrain's own, so a speech-only model is a plain one.
OUTPUT_PREFIXES = {"audio": "", "text": "text_", "fusion": "fusion_"}


def modality_outputs(modules, embedding, task, prefix=""):
    """``<prefix>emotion_out`` / ``<prefix>avd_out`` of one embedding.

    Arguments
    ---------
    modules : mapping
        name -> module (a Brain's ``modules``, a recognizer's ``mods``).
    embedding : torch.Tensor
        (B, E) utterance embedding.
    task : str
        classification, regression or both.
    prefix : str
        Name prefix of the output layers (:data:`OUTPUT_PREFIXES`).

    Returns
    -------
    dict
        ``logits`` (B, C) and/or ``avd`` (B, 3).

    Example
    -------
    >>> modules = {"text_avd_out": torch.nn.Linear(4, 3)}
    >>> modality_outputs(modules, torch.rand(2, 4), "regression", "text_")[
    ...     "avd"
    ... ].shape
    torch.Size([2, 3])
    """
    outputs = {}
    if task in ("classification", "both"):
        outputs["logits"] = modules[f"{prefix}emotion_out"](embedding)
    if task in ("regression", "both"):
        outputs["avd"] = modules[f"{prefix}avd_out"](embedding)
    return outputs


def fuse_modalities(modules, embeddings, task, fusion="late"):
    """Predictions from the utterance embeddings of one or two modalities.

    Arguments
    ---------
    modules : mapping
        name -> module, with the output layers of :data:`OUTPUT_PREFIXES`
        and, for learned fusion, ``fusion_head``.
    embeddings : dict
        ``audio`` and/or ``text`` -> (B, E) embedding.
    task : str
        classification, regression or both.
    fusion : str
        ``late`` (each modality's outputs, averaged by
        :func:`late_fusion`; they are returned under ``branches`` too) or
        ``learned`` (``fusion_head`` on the concatenated embeddings).

    Returns
    -------
    dict
        ``logits`` and/or ``avd``; ``branches`` with late fusion.

    Example
    -------
    >>> modules = {
    ...     "avd_out": torch.nn.Linear(4, 3),
    ...     "text_avd_out": torch.nn.Linear(2, 3),
    ... }
    >>> out = fuse_modalities(
    ...     modules,
    ...     {"audio": torch.rand(5, 4), "text": torch.rand(5, 2)},
    ...     "regression",
    ... )
    >>> out["avd"].shape, sorted(out["branches"])
    (torch.Size([5, 3]), ['audio', 'text'])
    """
    if fusion not in ("late", "learned"):
        raise ValueError(f"fusion must be late or learned, not {fusion!r}")
    if len(embeddings) == 1:
        (modality, embedding), *_ = embeddings.items()
        return modality_outputs(
            modules, embedding, task, OUTPUT_PREFIXES[modality]
        )
    if fusion == "learned":
        joint = modules["fusion_head"](
            [embeddings["audio"], embeddings["text"]]
        )
        return modality_outputs(modules, joint, task, "fusion_")
    branches = {
        modality: modality_outputs(
            modules, embedding, task, OUTPUT_PREFIXES[modality]
        )
        for modality, embedding in embeddings.items()
    }
    return {**late_fusion(list(branches.values())), "branches": branches}
