"""The model card of an exported model repository (its README.md).

:func:`model_card` writes what the Hugging Face Hub shows for a model
exported by :func:`speechbrain_ser.inference.hub.export_hub_folder`: Hub
metadata, the method and paper, the training corpus and protocol, the test
metrics with their bootstrap intervals (:func:`results_table`),
calibration (:func:`calibration_lines`), a usage snippet
(:func:`usage_snippet`), intended use and limitations, and the licence
left for the user.

Authors
 * speechbrain-ser developers 2026
"""

CARD_METRICS = (
    ("UA", "unweighted accuracy (balanced accuracy)"),
    ("WA", "weighted accuracy"),
    ("F1_macro", "macro F1"),
    ("F1_weighted", "weighted F1"),
    ("ROC_AUC", "ROC AUC (one vs rest, macro)"),
)


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

    Example
    -------
    >>> card = model_card(
    ...     {
    ...         "repo_id": "org/ser",
    ...         "name": "ser",
    ...         "description": "A model (Someone et al. 2020).",
    ...         "yaml_name": "demo.yaml",
    ...         "brain": "EmotionBrain",
    ...         "task": "classification",
    ...         "labels": ["sad", "happy"],
    ...         "sample_rate": 16000,
    ...         "modules": ["encoder", "head"],
    ...         "results": {"UA": 0.5, "protocol": "corpus X"},
    ...         "calibration": None,
    ...         "example": "a vowel",
    ...         "local_sources": [],
    ...         "files": ["README.md"],
    ...     }
    ... )
    >>> card.splitlines()[1], "| UA |" in card, "corpus X" in card
    ('library_name: speechbrain', True, True)
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
