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
  intended use and limitations, a usage snippet, licence left to the user).

Authors
 * speechbrain-ser developers 2026
"""

import json
import os
import re
import shutil

from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

PLACEHOLDER_ID = "your-name/your-model"

# The metrics of results.json shown in the card, in this order.
CARD_METRICS = (
    ("UA", "unweighted accuracy (balanced accuracy)"),
    ("WA", "weighted accuracy"),
    ("F1_macro", "macro F1"),
    ("F1_weighted", "weighted F1"),
    ("ROC_AUC", "ROC AUC (one vs rest, macro)"),
)

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

from speechbrain_ser.inference.recognizers import {base}


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


def _format_interval(interval):
    """``[low, high]`` of a bootstrap interval dict, or ''."""
    if not isinstance(interval, dict) or "low" not in interval:
        return ""
    level = interval.get("confidence")
    prefix = f"{100 * level:.0f}% " if level else ""
    return f"{prefix}[{interval['low']:.3f}, {interval['high']:.3f}]"


def results_table(results):
    """Markdown rows of the test metrics, with intervals when given.

    Arguments
    ---------
    results : dict
        A run's ``results.json``; bootstrap intervals, when present, are
        read from ``results["intervals"][metric]`` (``low``, ``high``,
        ``confidence``).

    Returns
    -------
    list of str
        Table lines (header included), empty without metrics.

    Example
    -------
    >>> rows = results_table(
    ...     {
    ...         "UA": 0.5,
    ...         "CCC": {"valence": 0.25, "mean": 0.25},
    ...         "intervals": {
    ...             "UA": {"low": 0.25, "high": 0.75, "confidence": 0.95}
    ...         },
    ...     }
    ... )
    >>> rows[2]
    '| UA | unweighted accuracy (balanced accuracy) | 0.500 | 95% [0.250, 0.750] |'
    >>> rows[3]
    '| CCC valence | concordance correlation | 0.250 |  |'
    """
    intervals = results.get("intervals") or {}
    rows = []
    for key, meaning in CARD_METRICS:
        if results.get(key) is not None:
            rows.append(
                f"| {key} | {meaning} | {results[key]:.3f} | "
                f"{_format_interval(intervals.get(key))} |"
            )
    ccc_intervals = intervals.get("CCC") or {}
    for name, value in (results.get("CCC") or {}).items():
        if value is None:
            continue
        rows.append(
            f"| CCC {name} | concordance correlation | {value:.3f} | "
            f"{_format_interval(ccc_intervals.get(name))} |"
        )
    if not rows:
        return []
    return [
        "| metric | meaning | test | interval |",
        "|---|---|---|---|",
    ] + rows


def calibration_lines(results, calibration):
    """The card's calibration section.

    Arguments
    ---------
    results : dict
        ``results.json`` (its ``calibration`` section, when present).
    calibration : dict or None
        The model folder's ``calibration.json``, when present.

    Returns
    -------
    list of str
        Markdown lines.

    Example
    -------
    >>> calibration_lines({}, None)[0][:15]
    'Not calibrated:'
    >>> calibration_lines({}, {"temperature": 1.5})[0]
    '- temperature scaling: T = 1.500 (fitted on the validation set)'
    """
    if not calibration and not results.get("calibration"):
        return [
            "Not calibrated: the probabilities are the network's softmax, "
            "which is usually over-confident; do not read them as the "
            "chance of being right."
        ]
    lines = []
    if calibration and calibration.get("temperature") is not None:
        lines.append(
            f"- temperature scaling: T = {calibration['temperature']:.3f} "
            "(fitted on the validation set)"
        )
    widths = ((calibration or {}).get("conformal") or {}).get("half_widths")
    if widths:
        coverage = calibration["conformal"].get("coverage")
        shown = ", ".join(
            f"{k} +- {v:.3f}" for k, v in widths.items() if v is not None
        )
        lines.append(
            f"- split-conformal A/V/D intervals ({coverage} target "
            f"coverage, normalised scale): {shown}"
        )
    section = results.get("calibration") or {}
    for stage in ("before", "after"):
        metrics = section.get(stage)
        if isinstance(metrics, dict):
            shown = ", ".join(
                f"{k} {v:.3f}"
                for k, v in metrics.items()
                if isinstance(v, (int, float))
            )
            lines.append(f"- test set, {stage} calibration: {shown}")
    return lines


def _example_source(run_values):
    """The first audio file of the run's test manifest, or None."""
    manifest = run_values.get("test_manifest")
    if not manifest or not os.path.isfile(manifest):
        return None
    with open(manifest, encoding="utf-8") as fin:
        entries = json.load(fin)
    root = run_values.get("data_folder") or os.path.dirname(
        os.path.dirname(os.path.abspath(manifest))
    )
    for entry in entries.values():
        path = entry["wav"].replace("{data_root}", root)
        if os.path.isfile(path):
            return path
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


def usage_snippet(repo_id, name):
    """The card's Python usage: SpeechBrain's ``foreign_class`` by id.

    Arguments
    ---------
    repo_id : str
        ``org/name`` of the repository.
    name : str
        Folder name under ``pretrained_models/``.

    Returns
    -------
    str
        Python code (runs as it is once the repository is on the Hub or
        in the local Hub cache).

    Example
    -------
    >>> "foreign_class(" in usage_snippet("org/ser", "ser")
    True
    """
    return f"""from huggingface_hub import hf_hub_download
from speechbrain.inference.interfaces import foreign_class

recognizer = foreign_class(
    source="{repo_id}",
    pymodule_file="custom_interface.py",
    classname="EmotionRecognition",
    savedir="pretrained_models/{name}",
)
example = hf_hub_download("{repo_id}", "example.wav")
result = recognizer.classify_file(example)
print(result["emotion"] if "emotion" in result else result)"""


def model_card(info):
    """The README.md of the repository: Hub metadata and the card.

    Arguments
    ---------
    info : dict
        What :func:`export_hub_folder` gathered: ``repo_id``, ``name``,
        ``description``, ``yaml_name``, ``brain``, ``task``, ``labels``,
        ``sample_rate``, ``modules``, ``results``, ``calibration``,
        ``seed``, ``example``, ``local_sources``, ``files``.

    Returns
    -------
    str
        Markdown with a YAML front matter.
    """
    results = info["results"] or {}
    labels = info["labels"]
    front = [
        "---",
        "library_name: speechbrain",
        "pipeline_tag: audio-classification",
        "tags:",
        "- speechbrain",
        "- speechbrain-ser",
        "- speech-emotion-recognition",
        "- audio-classification",
        "# license: set the licence you may give (the training corpus's "
        "licence may restrict it), e.g. license: apache-2.0",
        "---",
        "",
    ]
    task = {
        "classification": "emotion classes",
        "regression": "activation, valence and dominance (A/V/D)",
        "both": "emotion classes and activation, valence and dominance",
    }.get(info["task"], info["task"])
    lines = [
        f"# {info['name']}: speech emotion recognition",
        "",
        f"Predicts {task} from speech. Trained with speechbrain-ser, a "
        "speech emotion recognition plugin of "
        "[SpeechBrain](https://speechbrain.github.io), which loads it.",
        "",
        "## Model",
        "",
        info["description"] or "(the training YAML carries no description)",
        "",
        f"- training YAML: `{info['yaml_name'] or 'unknown'}`, trained by "
        f"`{info['brain'] or 'unknown'}`",
        f"- modules: {', '.join(info['modules'])}",
        f"- input: audio of any length, rate and channel count (resampled "
        f"to {info['sample_rate']} Hz mono)",
    ]
    if labels:
        lines.append(f"- classes: {', '.join(labels)}")
    lines += ["", "## Training data and protocol", ""]
    lines.append(
        results.get("protocol")
        or "No results.json in the run: the protocol is not recorded."
    )
    details = []
    if info.get("seed") is not None:
        details.append(f"seed {info['seed']}")
    if results.get("selected_epoch") is not None:
        details.append(f"checkpoint of epoch {results['selected_epoch']}")
    if results.get("n_test") is not None:
        details.append(f"{results['n_test']} test utterances")
    if details:
        lines += ["", "Run: " + ", ".join(details) + "."]
    lines += ["", "## Test results", ""]
    table = results_table(results)
    if table:
        lines += table
        resampled = (results.get("intervals") or {}).get("resampled")
        lines += [
            "",
            "Intervals: percentile bootstrap over the test set"
            + (f" ({resampled} resampled)" if resampled else "")
            + "."
            if results.get("intervals")
            else "No intervals in results.json (a single test set: read "
            "differences of a few points with care).",
        ]
    else:
        lines.append("No test results in the run.")
    lines += ["", "## Calibration", ""]
    lines += calibration_lines(results, info["calibration"])
    lines += [
        "",
        "## Usage",
        "",
        "```bash",
        "pip install speechbrain-ser",
        f"speechbrain-ser predict --model {info['repo_id']} speech.wav",
        "```",
        "",
        "```python",
        usage_snippet(info["repo_id"], info["name"]),
        "```",
        "",
        "or, with the package's own class: "
        "`speechbrain_ser.inference.load_recognizer"
        f'("{info["repo_id"]}")`. '
        "Offline, with `HF_HUB_OFFLINE=1`, both load from the local Hugging "
        "Face cache. `classify_file` returns JSON-able dicts; audio without "
        'speech gets `"speech": false` and no emotion.',
        "",
        f"`example.wav` is {info['example']}.",
        "",
        "## Intended use and limitations",
        "",
        "- For research on speech emotion recognition and for analysing "
        "recordings in bulk, not for decisions about a person (hiring, "
        "health, policing, credit): emotion recognised from the voice is "
        "an estimate of how speech sounds, not of what someone feels.",
        "- It knows only the classes and the rating scale of its training "
        "corpus, and is reliable only on speech like it (language, "
        "acted or natural speech, microphones, speakers); expect lower "
        "numbers elsewhere than in the table above.",
        "- The model folder is code: `hyperparams.yaml` runs Python through "
        "HyperPyYAML. Load only repositories you trust.",
    ]
    if info["local_sources"]:
        lines.append(
            "- **Before uploading**: `hyperparams.yaml` names local folders ("
            + ", ".join(f"`{k}: {p}`" for k, p in info["local_sources"])
            + "); replace them by Hugging Face Hub ids, or the model loads "
            "only on this machine."
        )
    lines += [
        "",
        "## Licence",
        "",
        "Not set: choose one in the front matter above (`license:`), "
        "compatible with the licence of the training corpus.",
        "",
        "## Files",
        "",
    ]
    lines += [f"- `{name}`" for name in info["files"]]
    lines += [
        "",
        "## Citation",
        "",
        "Cite the paper(s) the method above names, and SpeechBrain:",
        "",
        "```bibtex",
        "@misc{speechbrainV1,",
        "  title={Open-Source Conversational AI with SpeechBrain 1.0},",
        "  author={Mirco Ravanelli and Titouan Parcollet and others},",
        "  year={2024},",
        "  eprint={2407.00463},",
        "  archivePrefix={arXiv},",
        "}",
        "```",
        "",
    ]
    return "\n".join(front + lines)


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
