"""Training-side export: the inference folder a recognizer loads.

At the end of a training run, :func:`export_inference_folder` writes
``<output_folder>/inference/``: ``hyperparams.yaml`` (the model part of the
training YAML, with its overrides, plus a ``pretrainer``), one
``<module>.ckpt`` per module and ``label_encoder.ckpt``; see
:class:`speechbrain_ser.inference.EmotionRecognizer`.

Authors
 * speechbrain-ser developers 2026
"""

import io
import os

import ruamel.yaml
from hyperpyyaml import resolve_references
from speechbrain.utils.checkpoints import DEFAULT_SAVE_HOOKS, get_default_hook


def _strip_comments(node):
    """Removes ruamel round-trip comments, which land in odd places once
    keys are dropped."""
    if hasattr(node, "ca"):
        node.ca.items.clear()
        node.ca.comment = None
        node.ca.end = []
    if isinstance(node, dict):
        for value in node.values():
            _strip_comments(value)
    elif isinstance(node, list):
        for value in node:
            _strip_comments(value)


def export_inference_folder(
    hparams_file, overrides, modules, folder, label_encoder=None
):
    """Writes a folder that :class:`EmotionRecognizer` loads.

    Arguments
    ---------
    hparams_file : str
        The training YAML.
    overrides : dict or str
        The command-line overrides it was trained with.
    modules : dict
        name -> trained module (the YAML's ``modules``), saved with
        SpeechBrain's default checkpoint hooks.
    folder : str
        Output folder.
    label_encoder : CategoricalEncoder, optional
        The fitted label encoder (classification).

    Returns
    -------
    str
        ``folder``.

    Example
    -------
    >>> import tempfile
    >>> from hyperpyyaml import load_hyperpyyaml
    >>> from speechbrain_ser.tiny_models import TINY_MODEL_YAML
    >>> training = os.path.join(tempfile.mkdtemp(), "train.yaml")
    >>> with open(training, "w") as fout:
    ...     _ = fout.write(TINY_MODEL_YAML)
    >>> with open(training) as fin:
    ...     modules = load_hyperpyyaml(fin)["modules"]
    >>> folder = export_inference_folder(
    ...     training, {}, modules, tempfile.mkdtemp()
    ... )
    >>> sorted(os.listdir(folder))  # doctest: +NORMALIZE_WHITESPACE
    ['avd_out.ckpt', 'emotion_out.ckpt', 'encoder.ckpt', 'head.ckpt',
     'hyperparams.yaml', 'mean_var_norm.ckpt']
    """
    os.makedirs(folder, exist_ok=True)
    with open(hparams_file, encoding="utf-8") as fin:
        resolved = resolve_references(fin, overrides).getvalue()
    yaml = ruamel.yaml.YAML()
    training = yaml.load(resolved)
    exported = ruamel.yaml.comments.CommentedMap(
        (key, training[key]) for key in INFERENCE_KEYS if key in training
    )
    _strip_comments(exported)
    names = list(exported["modules"])
    buffer = io.StringIO()
    yaml.dump(exported, buffer)
    lines = [buffer.getvalue()]
    if label_encoder is not None:
        lines.append(
            "label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder"
        )
    lines.append(
        "pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer\n"
        "  loadables:"
    )
    lines += [f"    {name}: !ref <modules[{name}]>" for name in names]
    if label_encoder is not None:
        lines.append("    label_encoder: !ref <label_encoder>")
    with open(os.path.join(folder, "hyperparams.yaml"), "w") as fout:
        fout.write("\n".join(lines) + "\n")
    objects = dict(modules)
    if label_encoder is not None:
        objects["label_encoder"] = label_encoder
    for name, obj in objects.items():
        get_default_hook(obj, DEFAULT_SAVE_HOOKS)(
            obj, os.path.join(folder, f"{name}.ckpt")
        )
    return folder


# Top-level keys of a training YAML that inference needs.
INFERENCE_KEYS = (
    "sample_rate",
    "task",
    "avd_range",
    "compute_features",
    "chunk_seconds",
    "min_duration",
    "modules",
    # speech + text models (SpeechTextRecognizer)
    "modalities",
    "fusion",
    "text_max_length",
    "asr_source",
    "transcriber",
)
