"""A trained run as a Hugging Face model repository, with its model card.

:func:`export_hub_folder` turns a training run (its ``inference/`` folder,
``results.json`` and training YAML) into a folder ready to upload with
``huggingface-cli upload`` / ``git push``, laid out as SpeechBrain's own
model repositories are:

* ``hyperparams.yaml``, one ``<module>.ckpt`` per module,
  ``label_encoder.ckpt`` (and ``calibration.json`` when the run has one):
  what ``EmotionRecognizer.from_hparams(source="org/name")`` loads;
* ``custom_interface.py``: the recognizer class for SpeechBrain's
  ``foreign_class(source="org/name", pymodule_file="custom_interface.py",
  classname="EmotionRecognition")`` (speechbrain-ser installed);
* ``example.wav``: an example input (16 kHz mono);
* ``README.md``: the model card (Hub metadata, method and paper, training
  corpus and protocol, test metrics with their intervals, calibration,
  intended use and limitations, a usage snippet, licence left to the user;
  see :mod:`speechbrain_ser.inference.model_card`).

Authors
 * speechbrain-ser developers 2026
"""

import json
import os
import re
import shutil

from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.manifest import read_audio_manifest
from speechbrain_ser.inference.model_card import model_card

logger = get_logger(__name__)

PLACEHOLDER_ID = "your-name/your-model"

# custom_interface.py of an exported repository (SpeechBrain's foreign_class).
INTERFACE = '''"""The recognizer of this model repository, for SpeechBrain's foreign_class.

Needs the speechbrain-ser package (pip install speechbrain-ser):

    from speechbrain.inference.interfaces import foreign_class
    recognizer = foreign_class(
        source="{repo_id}",
        pymodule_file="custom_interface.py",
        classname="EmotionRecognition",
    )
    recognizer.classify_file("speech.wav")
"""

from speechbrain_ser.inference.code_tags import refuse_code_tags_beside
from speechbrain_ser.inference.recognizers import {base}

# foreign_class imports this file before it loads hyperparams.yaml: a YAML
# with PyYAML's !!python/ tags (arbitrary code) is refused here
refuse_code_tags_beside(__file__)


class EmotionRecognition({base}):
    """{base} of speechbrain-ser: emotion classes and/or
    activation, valence and dominance from audio of any length."""
'''


def find_run_folders(model):
    """The run folder and the inference folder of ``--model``.

    Arguments
    ---------
    model : str
        A training run's output folder (with ``inference/``), or its
        inference folder.

    Returns
    -------
    tuple
        (run folder, inference folder).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> inference = tiny_model_folder()
    >>> run, found = find_run_folders(os.path.dirname(inference))
    >>> found == inference, find_run_folders(inference)[1] == inference
    (True, True)
    """
    inner = os.path.join(model, "inference")
    if os.path.isfile(os.path.join(inner, "hyperparams.yaml")):
        return model, inner
    if os.path.isfile(os.path.join(model, "hyperparams.yaml")):
        return os.path.dirname(os.path.abspath(model)), model
    raise FileNotFoundError(
        f"{model}: neither a training run's output folder (with "
        "inference/hyperparams.yaml) nor an inference folder"
    )


def _top_level_values(path):
    """Top-level ``key: scalar`` lines of a YAML file (no evaluation:
    the file is code)."""
    values = {}
    if not os.path.isfile(path):
        return values
    with open(path, encoding="utf-8") as fin:
        for line in fin:
            found = re.match(r"^([A-Za-z_]\w*):\s+([^#\n]+?)\s*(#.*)?$", line)
            if found:
                values[found.group(1)] = found.group(2).strip("'\"")
    return values


def training_description(path):
    """The opening comment of a training YAML: what the method is and
    which paper it follows, in the recipe author's words.

    Arguments
    ---------
    path : str
        The run's ``hyperparams.yaml`` (or any training YAML).

    Returns
    -------
    tuple
        (description, source YAML name or None).

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.yaml")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write(
    ...         "# Generated 2026-01-01 from:\\n# /x/hparams/cpc.yaml\\n"
    ...         "# ####\\n# CPC pre-training (Li et al. 2021).\\n"
    ...         "#\\n#   python train.py x\\n# ####\\nseed: 1\\n"
    ...     )
    >>> training_description(path)
    ('CPC pre-training (Li et al. 2021).', 'cpc.yaml')
    """
    if not os.path.isfile(path):
        return "", None
    comments = []
    with open(path, encoding="utf-8") as fin:
        for line in fin:
            if not line.startswith("#"):
                break
            comments.append(line[1:].rstrip("\n"))
    source = None
    if comments and comments[0].strip().startswith("Generated"):
        source = os.path.basename(comments[1].strip()) if comments[1:] else None
        comments = comments[2:]
    text = []
    for line in comments:
        stripped = line.strip()
        if stripped.startswith("yamllint") or set(stripped) <= {"#"}:
            if text:
                break
            continue
        if not stripped or line.startswith("   "):  # commands, not prose
            if text:
                break
            continue
        text.append(stripped)
    return " ".join(text), source


def local_sources(hyperparams):
    """Entries of a model's ``hyperparams.yaml`` that name local paths.

    Such a model loads only where those paths exist: before uploading,
    replace them by Hugging Face Hub ids (every ``source`` of the package
    takes one).

    Arguments
    ---------
    hyperparams : str
        The text of ``hyperparams.yaml``.

    Returns
    -------
    list of tuple
        (key, path) for values that are absolute paths.

    Example
    -------
    >>> local_sources("  source: /data/wavlm\\n  asr_source: openai/whisper\\n")
    [('source', '/data/wavlm')]
    """
    found = re.findall(r"^\s*(\w+):\s+['\"]?(/[^'\"\s#]+)", hyperparams, re.M)
    return [(key, path) for key, path in found]


def _example_source(run_values):
    """The first audio file of the run's test manifest, or None."""
    manifest = run_values.get("test_manifest")
    if not manifest or not os.path.isfile(manifest):
        return None
    entries = read_audio_manifest(manifest, run_values.get("data_folder"))
    for entry in entries.values():
        if os.path.isfile(entry["wav"]):
            return entry["wav"]
    return None


def write_example(path, sample_rate, source=None, max_seconds=10.0):
    """Writes ``example.wav``: ``source`` (resampled, mono, at most
    ``max_seconds``), or a synthetic voiced vowel without one.

    Arguments
    ---------
    path : str
        Where to write.
    sample_rate : int
        The model's rate.
    source : str, optional
        An audio file.
    max_seconds : float
        Longest example kept.

    Returns
    -------
    str
        What the example is, for the card.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "example.wav")
    >>> write_example(path, 16000)
    'a synthetic voiced vowel (1 s), not real speech'
    """
    import numpy as np
    import soundfile

    if source is not None:
        from speechbrain_ser.data.audio import read_audio

        wav = read_audio(source, sample_rate)[: int(max_seconds * sample_rate)]
        soundfile.write(path, wav.numpy(), sample_rate)
        return (
            f"the first test utterance of the run ({os.path.basename(source)})"
        )
    t = np.arange(sample_rate) / sample_rate
    pitch = 150 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    vowel = sum(np.sin(k * phase) / k for k in range(1, 6))
    soundfile.write(path, 0.3 * vowel / np.abs(vowel).max(), sample_rate)
    return "a synthetic voiced vowel (1 s), not real speech"


def export_hub_folder(model, out, repo_id=None, example=None):
    """Writes a Hugging Face model repository folder from a training run.

    Arguments
    ---------
    model : str
        A training run's output folder, or its ``inference/`` folder.
    out : str
        The folder to write (created; files of the same names replaced).
    repo_id : str, optional
        ``org/name`` it will be uploaded as (for the card's snippets);
        default ``your-name/<out's name>``.
    example : str, optional
        An audio file for ``example.wav``; default the first test file of
        the run, else a synthetic vowel.

    Returns
    -------
    str
        ``out``.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> out = export_hub_folder(tiny_model_folder(), tempfile.mkdtemp())
    >>> sorted(os.listdir(out))  # doctest: +NORMALIZE_WHITESPACE
    ['README.md', 'avd_out.ckpt', 'custom_interface.py', 'emotion_out.ckpt',
     'encoder.ckpt', 'example.wav', 'head.ckpt', 'hyperparams.yaml',
     'label_encoder.ckpt', 'mean_var_norm.ckpt']
    """
    run, inference = find_run_folders(model)
    os.makedirs(out, exist_ok=True)
    name = os.path.basename(os.path.normpath(out))
    repo_id = repo_id or f"{PLACEHOLDER_ID.split('/')[0]}/{name}"
    for entry in sorted(os.listdir(inference)):
        source = os.path.join(inference, entry)
        if os.path.isfile(source):
            shutil.copyfile(source, os.path.join(out, entry))
    with open(os.path.join(out, "hyperparams.yaml"), encoding="utf-8") as fin:
        hyperparams = fin.read()
    model_values = _top_level_values(os.path.join(out, "hyperparams.yaml"))
    base = (
        "SpeechTextRecognizer"
        if "modalities" in model_values
        else "EmotionRecognizer"
    )
    with open(os.path.join(out, "custom_interface.py"), "w") as fout:
        fout.write(INTERFACE.format(repo_id=repo_id, base=base))
    run_yaml = os.path.join(run, "hyperparams.yaml")
    run_values = _top_level_values(run_yaml)
    sample_rate = int(model_values.get("sample_rate", 16000))
    described = write_example(
        os.path.join(out, "example.wav"),
        sample_rate,
        example or _example_source(run_values),
    )
    results = _read_json(os.path.join(run, "results.json"))
    description, yaml_name = training_description(run_yaml)
    labels = (results or {}).get("labels") or _labels(out)
    found = local_sources(hyperparams)
    for key, path in found:
        logger.warning(
            f"{out}/hyperparams.yaml: {key} names the local path {path}; "
            "replace it by a Hugging Face Hub id before uploading"
        )
    brain = run_values.get("brain_class", "").rsplit(".", 1)[-1] or None
    info = {
        "repo_id": repo_id,
        "name": name,
        "description": description,
        "yaml_name": yaml_name,
        "brain": brain,
        "task": model_values.get("task", "classification"),
        "labels": labels,
        "sample_rate": sample_rate,
        "modules": _module_names(hyperparams),
        "results": results,
        "calibration": _read_json(os.path.join(out, "calibration.json")),
        "seed": run_values.get("seed"),
        "example": described,
        "local_sources": found,
        "files": sorted(os.listdir(out)) + ["README.md"],
    }
    info["files"] = sorted(set(info["files"]))
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as fout:
        fout.write(model_card(info))
    return out


def _module_names(hyperparams):
    """The keys of the ``modules:`` block of a hyperparams.yaml text."""
    block = re.search(r"^modules:\n((?:[ \t]+.*\n)*)", hyperparams, re.M)
    if not block:
        return ["(see hyperparams.yaml)"]
    indent = re.match(r"[ \t]*", block.group(1)).group(0)
    return re.findall(rf"^{indent}(\w+):", block.group(1), re.M)


def _read_json(path):
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fin:
        return json.load(fin)


def _labels(folder):
    """Class names from a label_encoder.ckpt, or None."""
    path = os.path.join(folder, "label_encoder.ckpt")
    if not os.path.isfile(path):
        return None
    from speechbrain.dataio.encoder import CategoricalEncoder

    encoder = CategoricalEncoder()
    encoder.load(path)
    return [encoder.ind2lab[i] for i in range(len(encoder))]
