"""Utterance representations of a trained encoder, and their t-SNE picture.

Li et al. 2021 shows a t-SNE plot of CPC representations coloured by emotion:
points of one emotion cluster although CPC never saw a label. Here an
utterance's representation is u = [mean(c); std(c)] over its valid frames
(c: the encoder's frames, e.g. CPC's context vectors).

    speechbrain-ser tsne --run results/cpc/alt_fbank/1986 \
        --manifest demo_data/manifests/test.json --out tsne.png

Authors
 * speechbrain-ser developers 2026
"""

import os

import numpy as np
import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.checkpoints import torch_recovery
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.manifest import described_entries, read_manifest
from speechbrain_ser.data.pipelines import audio_pipeline
from speechbrain_ser.nnet.pooling import MeanStdPooling
from speechbrain_ser.strict_json import write_json

logger = get_logger(__name__)


class FeatureEncoder(torch.nn.Module):
    """Waveforms -> a recipe's encoder frames, as its Brain computes them
    (e.g. :meth:`speechbrain_ser.brains.emotion.EmotionBrain.encode`): the
    YAML's ``compute_features`` and normalisation (when it has them), the
    encoder, and, for an encoder that returns every hidden state
    (B, T, L, D), the run's learned layer weighting.

    Arguments
    ---------
    encoder : torch.nn.Module
        ``(features, lengths) -> (B, T, D)`` or ``(B, T, L, D)``.
    compute_features : callable, optional
        Waveforms -> features (e.g. SpeechBrain's ``Fbank``).
    normalize : torch.nn.Module, optional
        ``(features, lengths) -> features`` (e.g. ``InputNormalization``).
    layer_sum : callable, optional
        ``(B, T, L, D) -> (B, T, D')``, e.g. the head's
        :class:`~speechbrain_ser.nnet.layer_weighting.WeightedLayerSum`;
        without one, (B, T, L, D) frames are averaged over the layers.

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> class Encoder(torch.nn.Module):
    ...     def forward(self, x, lengths):
    ...         return x * 2
    >>> model = FeatureEncoder(Encoder(), Fbank(n_mels=20))
    >>> model(torch.rand(2, 16000), torch.ones(2)).shape
    torch.Size([2, 101, 20])
    >>> class EveryLayer(torch.nn.Module):
    ...     def forward(self, x, lengths):
    ...         return torch.stack([x, x], dim=2)
    >>> FeatureEncoder(EveryLayer(), Fbank(n_mels=20))(
    ...     torch.rand(2, 16000), torch.ones(2)
    ... ).shape
    torch.Size([2, 101, 20])
    """

    def __init__(
        self, encoder, compute_features=None, normalize=None, layer_sum=None
    ):
        super().__init__()
        self.encoder = encoder
        self.compute_features = compute_features
        self.normalize = normalize
        self.layer_sum = layer_sum

    def forward(self, wavs, lengths):
        """(B, samples) waveforms -> (B, T, D) frames."""
        x = wavs
        if self.compute_features is not None:
            x = self.compute_features(x)
        if self.normalize is not None:
            x = self.normalize(x, lengths)
        frames = self.encoder(x, lengths)
        if frames.dim() == 4:  # every hidden state
            if self.layer_sum is not None:
                return self.layer_sum(frames)
            return frames.mean(dim=2)
        return frames


# The YAML keys of the feature normalisation an encoder was trained with
# (EmotionBrain: mean_var_norm; SA2SRBrain: normalize)
NORMALIZERS = ("mean_var_norm", "normalize")


def default_module(hparams):
    """The module a t-SNE shows by default: ``cpc`` if the YAML has one
    (CPC pre-training), else ``encoder`` (the emotion recipes, their
    fine-tunings of SA2SR, CPC and tokenwise encoders, Whisper, and SA2SR
    pre-training).

    Arguments
    ---------
    hparams : dict
        The run's YAML.

    Returns
    -------
    str

    Example
    -------
    >>> default_module({"encoder": None})
    'encoder'
    """
    return "cpc" if "cpc" in hparams else "encoder"


def module_names(hparams):
    """The YAML's keys that hold a module, for ``--module``.

    Arguments
    ---------
    hparams : dict
        The run's YAML.

    Returns
    -------
    list of str
        Sorted.

    Example
    -------
    >>> module_names({"encoder": torch.nn.Linear(2, 2), "lr": 0.1})
    ['encoder']
    """
    return sorted(
        key
        for key, value in hparams.items()
        if isinstance(value, torch.nn.Module)
    )


def load_trained_module(run_folder, module=None, checkpoint=None):
    """Rebuilds ``module`` from a run's YAML and loads its trained weights.

    By default the weights come from the run's ``checkpointer``, through
    SpeechBrain's own checkpoint loading: the checkpoint the run tested
    (its ``brain_class``'s ``test_checkpoint``, e.g. the lowest validation
    CPC loss, which is also what :class:`speechbrain_ser.brains.CPCBrain`
    saves to ``saved_model``), else the newest. The checkpointer must save
    the module, alone or inside a recoverable that holds it.

    Arguments
    ---------
    run_folder : str
        Output folder of a training run (it holds ``hyperparams.yaml``,
        the YAML with the run's overrides).
    module : str, optional
        Key of the module in that YAML (default: :func:`default_module`).
        An ``encoder`` comes with the YAML's features, normalisation
        (:data:`NORMALIZERS`) and, for every-layer encoders, the head's
        ``layer_sum`` (:class:`FeatureEncoder`), so that it takes
        waveforms like every other module here. A frozen ``encoder``
        (``freeze_encoder``, e.g. Whisper) need not be checkpointed: its
        weights are its source's.
    checkpoint : str, optional
        A state dict file to load instead (e.g. the YAML's
        ``saved_model``), with SpeechBrain's recovery for modules.

    Returns
    -------
    model : torch.nn.Module
        In eval mode.
    sample_rate : int
        The YAML's ``sample_rate`` (16000 if it has none).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> run = tempfile.mkdtemp()
    >>> _ = open(f"{run}/hyperparams.yaml", "w").write(
    ...     "cpc: !new:torch.nn.Linear [2, 2]\\n"
    ...     "checkpointer: !new:speechbrain.utils.checkpoints.Checkpointer\\n"
    ...     f"    checkpoints_dir: {run}/save\\n"
    ...     "    recoverables: {cpc: !ref <cpc>}\\n"
    ... )
    >>> trained = torch.nn.Linear(2, 2)
    >>> _ = Checkpointer(f"{run}/save", {"cpc": trained}).save_checkpoint()
    >>> model, sample_rate = load_trained_module(run)
    >>> torch.equal(model.weight, trained.weight), model.training, sample_rate
    (True, False, 16000)
    """
    yaml = os.path.join(run_folder, "hyperparams.yaml")
    for path in (yaml, checkpoint):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path}: not found; --run must be the output folder of a "
                "finished training run"
            )
    with open(yaml, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin)
    module = module or default_module(hparams)
    if not isinstance(hparams.get(module), torch.nn.Module):
        raise KeyError(
            f"{yaml}: no module named {module!r}; its modules: "
            f"{', '.join(module_names(hparams))} (give one with --module)"
        )
    model = hparams[module]
    # a frozen encoder is its source's (e.g. Whisper): the checkpoint
    # still holds what the run learned on it (the head's layer weights)
    frozen = module == "encoder" and hparams.get("freeze_encoder", False)
    if checkpoint is not None:
        torch_recovery(model, checkpoint, end_of_epoch=True)
    else:
        _recover_from_checkpointer(
            hparams, model, f"{yaml}: {module!r}", frozen
        )
    if module == "encoder":  # the Brain's features first
        normalize = next(
            (
                hparams[key]
                for key in NORMALIZERS
                if hparams.get(key) is not None
            ),
            None,
        )
        # per-utterance statistics need no checkpoint; global ones do
        stateless = getattr(normalize, "norm_type", None) == "sentence"
        if normalize is not None and (checkpoint is None or stateless):
            normalize.eval()
        else:
            normalize = None
        model = FeatureEncoder(
            model,
            hparams.get("compute_features"),
            normalize,
            getattr(hparams.get("head"), "layer_sum", None),
        )
    return model.eval(), hparams.get("sample_rate", 16000)


def _recover_from_checkpointer(hparams, model, name, frozen=False):
    """Loads the run's tested (else newest) checkpoint, ``model`` in it
    (or, for a ``frozen`` encoder, whatever it holds)."""
    checkpointer = hparams.get("checkpointer")
    recoverables = checkpointer.recoverables.values() if checkpointer else []
    if not frozen and not any(
        obj is model
        or (isinstance(obj, torch.nn.Module) and model in obj.modules())
        for obj in recoverables
    ):
        raise ValueError(
            f"{name}: not saved by the YAML's checkpointer; give its "
            "weights with --checkpoint"
        )
    if checkpointer is None:  # a frozen encoder alone
        return
    keys = getattr(hparams.get("brain_class"), "test_checkpoint", {})
    found = checkpointer.find_checkpoint(**keys)
    if found is None:
        selection = f" with {', '.join(keys.values())}" if keys else ""
        raise FileNotFoundError(
            f"{checkpointer.checkpoints_dir}: no checkpoint{selection} for "
            f"{name} (relative paths in the run's YAML start where training "
            "ran)"
        )
    checkpointer.load_checkpoint(found)


@torch.no_grad()
def utterance_embeddings(
    model,
    manifest,
    data_folder,
    label_key="emotion",
    sample_rate=16000,
    batch_size=8,
):
    """Embeds every utterance of a labelled manifest.

    Arguments
    ---------
    model : torch.nn.Module
        ``(wavs, lengths) -> (B, T, D)`` frames, e.g. a CPC model.
    manifest : str
        Manifest JSON whose entries have ``wav`` and ``label_key``.
    data_folder : str
        Replaces ``{data_root}`` in the manifest.
    label_key : str
        The entry field that colours the picture.
    sample_rate : int
        Rate the model expects (audio is resampled to it).
    batch_size : int
        Utterances per forward pass (padding does not change the result).

    Returns
    -------
    ids : list of str
    embeddings : numpy.ndarray
        (N, 2D) u = [mean; std] of each utterance's valid frames.
    labels : list of str

    Example
    -------
    >>> import tempfile
    >>> import numpy as np, soundfile
    >>> from speechbrain_ser.data.manifest import write_manifest
    >>> root = tempfile.mkdtemp()
    >>> entries = {}
    >>> for i, emotion in enumerate(["happy", "sad"]):
    ...     soundfile.write(f"{root}/{i}.wav", np.ones(1600) * i, 16000)
    ...     entries[f"u{i}"] = {"wav": f"{root}/{i}.wav", "emotion": emotion}
    >>> write_manifest(entries, f"{root}/test.json")
    >>> class Frames(torch.nn.Module):
    ...     def forward(self, wavs, lengths):
    ...         return wavs.view(len(wavs), 10, 160)
    >>> ids, embeddings, labels = utterance_embeddings(
    ...     Frames(), f"{root}/test.json", root
    ... )
    >>> ids, embeddings.shape, labels
    (['u0', 'u1'], (2, 320), ['happy', 'sad'])
    """
    for where, entry in described_entries(manifest):
        if entry.get(label_key) in (None, ""):
            raise ValueError(f"{where}: no {label_key!r} to colour it by")
    labels = {
        uid: str(entry[label_key])
        for uid, entry in read_manifest(manifest).items()
    }
    dataset = sb.dataio.dataset.DynamicItemDataset.from_json(
        json_path=manifest,
        replacements={"data_root": data_folder},
        dynamic_items=[audio_pipeline(sample_rate)],
        output_keys=["id", "sig"],
    )
    loader = sb.dataio.dataloader.make_dataloader(
        dataset, batch_size=batch_size
    )
    pooling = MeanStdPooling()
    ids, embeddings = [], []
    for batch in loader:
        wavs, lengths = batch.sig
        embeddings.append(pooling(model(wavs, lengths), lengths))
        ids += list(batch.id)
    return (
        ids,
        torch.cat(embeddings).numpy(),
        [labels[uid] for uid in ids],
    )


def tsne_picture(embeddings, labels, path, title=None, seed=0):
    """2-D t-SNE of the embeddings, one colour per label, saved as PNG.

    Also writes ``<path without .png>.json`` with the 2-D points and the
    silhouette score of the labels in the original space (cosine
    distance; 1 = tight, separate clusters, about 0 = mixed), a number to
    go with the picture.

    Arguments
    ---------
    embeddings : numpy.ndarray
        (N, D), N >= 3.
    labels : list of str
        N labels.
    path : str
        Output PNG.
    title : str, optional
        Plot title (the silhouette score is appended).
    seed : int
        t-SNE's random state.

    Returns
    -------
    dict
        ``{"points": (N, 2) list, "labels": [...], "silhouette": float}``

    Example
    -------
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(0, 1, (20, 4))
    >>> x[10:, 0] += 8  # two clusters
    >>> labels = ["a"] * 10 + ["b"] * 10
    >>> out = tsne_picture(x, labels, tempfile.mktemp(".png"))
    >>> len(out["points"]), out["silhouette"] > 0.5
    (20, True)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score

    count = len(embeddings)
    if count < 3:
        raise ValueError(f"t-SNE needs at least 3 utterances, got {count}")
    points = TSNE(
        n_components=2,
        perplexity=min(30.0, (count - 1) / 3),
        init="pca",
        random_state=seed,
    ).fit_transform(np.asarray(embeddings, dtype=np.float64))
    silhouette = (
        float(silhouette_score(embeddings, labels, metric="cosine"))
        if 1 < len(set(labels)) < count
        else float("nan")
    )
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for label in sorted(set(labels)):
        chosen = [i for i, item in enumerate(labels) if item == label]
        ax.scatter(*points[chosen].T, s=14, label=label)
    ax.legend(fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title or 't-SNE'} (silhouette {silhouette:.2f})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    result = {
        "points": points.tolist(),
        "labels": list(labels),
        "silhouette": silhouette,
    }
    write_json(result, os.path.splitext(path)[0] + ".json", indent=None)
    logger.info(f"t-SNE of {count} utterances written to {path}")
    return result
