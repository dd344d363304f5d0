"""Every YAML key is used and every key the code reads is defined.

SpeechBrain's ``tests/consistency/test_yaml.py`` (``check_yaml_vs_script``)
looks for each top-level YAML key in the recipe's ``train.py``. Here every
``train.py`` is the generic driver: the keys are read by
``speechbrain_ser/run.py`` (with the package functions ``run_recipe``
calls, e.g. ``validate_recipe_data`` and ``dynamic_batch_loader_options``),
the Brain the YAML names (``brain_class``, with its base classes and
mixins), the data preparation (``prepare``, ``dataio_prep``) and the
modules the YAML instantiates. A ``brain_class`` / ``dataio_prep`` chosen
from a mapping (``!apply:operator.getitem [!ref <brain_classes>, !ref
<downstream_input>]``) follows the YAML's own choice for the reads and
every alternative for the uses. This check follows that chain for every
YAML under ``hparams/`` and ``recipes/`` (found by glob, so a new YAML is
checked without listing it):

* unused: a top-level key that no other key references (``<key>``) and
  that no file of the chain reads;
* undefined: a key that the chain reads without a default (not one of
  the Brains' optional keys, whose defaults are listed in
  ``speechbrain_ser/brains/defaults.py``, nor guarded by ``hasattr``,
  ``getattr(..., default)``, ``.get`` or ``in``) and that the YAML does
  not define.

A YAML that is not a recipe (no ``brain_class``: e.g. an Optuna search
space read by ``speechbrain-ser search``) is listed in ``NOT_RECIPES``
with the reader that checks it.

SpeechBrain's own run options (``device``, ``debug``...) count as used,
as in upstream's check. Exceptions are listed below with their reason.
"""

import ast
import glob
import importlib
import inspect
import os
import re
import subprocess

import pytest
import yaml
from speechbrain.utils.run_opts import RunOptions

from speechbrain_ser.brains.defaults import OPTIONAL_HPARAMS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN_PY = os.path.join(ROOT, "speechbrain_ser", "run.py")

# Keys that are legitimately not read by the chain, with the reason.
UNUSED_ALLOWED = {
    "seed": "seeds the run through __set_seed and names output_folder",
    "__set_seed": "an !apply: evaluated while the YAML loads",
    "frame_masking": (
        "the Whisper recipes' opt-in frame augmenter, off by default: "
        "selected on the command line with "
        "--frame_augment='!ref <frame_masking>' (see their READMEs)"
    ),
}

# YAMLs under hparams/ that are not recipes, with what reads (and tests) them.
NOT_RECIPES = {
    "hparams/search_space.yaml": (
        "Optuna search space of `speechbrain-ser search`, read by "
        "speechbrain_ser/evaluation/search.py (tests/unit/test_search.py, "
        "tests/integration/test_search.py)"
    ),
    "recipes/URDU/emotion/hparams/search_space_head.yaml": (
        "Optuna search space over the Urdu Whisper recipe's head, read by "
        "speechbrain_ser/evaluation/search.py "
        "(tests/unit/evaluation/test_search_space_head.py)"
    ),
}

# Keys read without a default only on a branch the YAML does not take.
# key -> (reason, predicate on the YAML's top-level values: True when the
# branch that reads the key is not taken).
READ_ONLY_WHEN = {
    "classification_weight": (
        "EmotionBrain weighs the cross-entropy only for classification",
        lambda values: values.get("task") == "regression",
    ),
    "regression_weight": (
        "EmotionBrain weighs the CCC loss only for regression",
        lambda values: values.get("task") == "classification",
    ),
    "ccc_loss": (
        "EmotionBrain computes the CCC loss only for regression",
        lambda values: values.get("task") == "classification",
    ),
    "label_encoder_file": (
        "emotion_dataio_prep fits a label encoder only for classification",
        lambda values: values.get("task") == "regression",
    ),
    "max_batch_seconds": (
        "run.py builds the DynamicBatchSampler only for dynamic_batching",
        lambda values: not values.get("dynamic_batching"),
    ),
    "train_class_counts": (
        "added by emotion_dataio_prep; read only for class_weights: balanced",
        lambda values: values.get("class_weights") != "balanced",
    ),
}


def repository_files(paths):
    """The ``paths`` git tracks (or has staged), relative to the root.

    A YAML a user copies into ``hparams/`` for their own corpus
    (docs/adding_a_corpus.md) is theirs, not one of the repository's
    recipes: untracked, it is not checked here (``git add`` it, with a row
    in tests/recipes/, to make it one). Outside a git checkout every path
    counts.
    """
    relative = sorted(os.path.relpath(path, ROOT) for path in paths)
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--", "hparams", "recipes"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return relative
    tracked = set(listed)
    return [path for path in relative if path in tracked]


def all_yamls():
    """Every hparams file of the repository, found by glob."""
    paths = glob.glob(os.path.join(ROOT, "hparams", "*.yaml"))
    paths += glob.glob(
        os.path.join(ROOT, "recipes", "**", "hparams", "*.yaml"),
        recursive=True,
    )
    return repository_files(paths)


class _TaggedLoader(yaml.SafeLoader):
    """A YAML loader that keeps HyperPyYAML tags as plain text or None."""


def _tag(loader, suffix, node):
    """HyperPyYAML ``!new:`` / ``!name:`` / ``!ref`` ... -> a placeholder."""
    if isinstance(node, yaml.ScalarNode):
        return f"!{suffix} {node.value}"
    return f"!{suffix}"


_TaggedLoader.add_multi_constructor("!", _tag)


def top_level_keys(path):
    """Top-level keys of a YAML file, and its values with tags as text."""
    with open(path, encoding="utf-8") as fin:
        text = fin.read()
    values = yaml.load(text, Loader=_TaggedLoader) or {}
    return values, text


def references(text):
    """Keys referenced inside the YAML (``<key>`` and ``<key[...]>``)."""
    found = set()
    for line in text.splitlines():
        line = line.split(" #")[0]
        if line.lstrip().startswith("#"):
            continue
        found.update(re.findall(r"<([A-Za-z_]\w*)(?:\[[^>]*\])?>", line))
    return found


def named_objects(text):
    """``speechbrain_ser`` objects named by ``!new:`` / ``!name:`` tags."""
    return sorted(
        set(re.findall(r"!(?:new|name|apply):(speechbrain_ser[\w.]*)", text))
    )


def resolve(dotted):
    """Imports ``a.b.C`` and returns the object."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def module_file(obj):
    """The source file of an object's module."""
    return inspect.getsourcefile(inspect.getmodule(obj))


def called_functions(function):
    """``function`` and the package functions it calls by name.

    One level deep, which covers the data preps' helpers, whether they
    sit in the prep's own module or in the shared data layer
    (``sort_training_set``, ``add_audio_pipelines``...).
    """
    module = inspect.getmodule(function)
    found = [function]
    tree = ast.parse(inspect.getsource(function))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            candidate = getattr(module, node.func.id, None)
            if (
                inspect.isfunction(candidate)
                and candidate.__module__.startswith("speechbrain_ser")
                and candidate not in found
            ):
                found.append(candidate)
    return found


def extras_keys(function):
    """Keys of the ``extras`` dict a ``dataio_prep`` returns.

    run.py adds them to the hparams (e.g. ``label_encoder``), so the Brain
    may read them without the YAML defining them.
    """
    tree = ast.parse(inspect.getsource(function))
    dicts = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    dicts.setdefault(target.id, []).append(node.value)
    keys = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Return)
            and isinstance(node.value, ast.Tuple)
            and len(node.value.elts) == 2
        ):
            continue
        extras = node.value.elts[1]
        found = [extras] if isinstance(extras, ast.Dict) else []
        if isinstance(extras, ast.Name):
            found = dicts.get(extras.id, [])
        for literal in found:
            keys.update(
                key.value
                for key in literal.keys
                if isinstance(key, ast.Constant)
            )
    return keys


def tagged_name(values, key):
    """The dotted name of a ``key: !name:a.b.c`` entry, or ""."""
    value = values.get(key) or ""
    if not isinstance(value, str):
        return ""
    return value.split(":", 1)[-1].strip() if value.startswith("!") else ""


_CHOICE = r"!apply:operator\.getitem\s*\[\s*!ref <(\w+)>,\s*!ref <(\w+)>\s*\]"


def tagged_names(values, text, key):
    """Dotted names ``key`` may take: the YAML's choice first, then the rest.

    ``key: !name:a.b.c`` gives one name; ``key: !apply:operator.getitem
    [!ref <mapping>, !ref <choice>]`` gives every ``!name:`` of the
    mapping, the one ``<choice>`` selects first.
    """
    match = re.search(rf"^{key}:\s*{_CHOICE}", text, re.MULTILINE)
    if match is None:
        name = tagged_name(values, key)
        return [name] if name else []
    mapping, choice = values.get(match[1]) or {}, values.get(match[2])
    if not isinstance(mapping, dict) or choice not in mapping:
        return []
    order = [choice] + [option for option in mapping if option != choice]
    return list(dict.fromkeys(tagged_name(mapping, opt) for opt in order))


def run_recipe_calls():
    """Package functions ``run_recipe`` calls (imported into run.py; its
    helpers included, so the whole module is read)."""
    run = importlib.import_module("speechbrain_ser.run")
    tree = ast.parse(inspect.getsource(run))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name):
            continue
        candidate = getattr(run, node.id, None)
        if (
            inspect.isfunction(candidate)
            and candidate.__module__.startswith("speechbrain_ser")
            and candidate.__module__ != run.__name__
            and candidate not in found
        ):
            found.append(candidate)
    return found


def chain(values, text):
    """The code a YAML drives.

    Returns the files that may use a key (whole modules: run.py, the
    Brain's classes, the preparers and modules the YAML names), the
    sources whose reads must be defined (the Brain's classes, run_recipe,
    the data prep and its helpers) and the keys the data prep adds.
    """
    files = {RUN_PY}
    readers = [inspect.getsource(resolve("speechbrain_ser.run.run_recipe"))]
    for function in run_recipe_calls():
        files.add(module_file(function))
        readers.append(inspect.getsource(function))
    for dotted in named_objects(text):
        files.add(module_file(resolve(dotted)))
    brains = [
        resolve(name) for name in tagged_names(values, text, "brain_class")
    ]
    for index, brain in enumerate(brains):
        for cls in inspect.getmro(brain):
            if cls.__module__.startswith("speechbrain_ser"):
                files.add(module_file(cls))
                if index == 0:
                    readers.append(inspect.getsource(cls))
    preps = [
        resolve(name) for name in tagged_names(values, text, "dataio_prep")
    ]
    for prep in preps:
        files.add(module_file(prep))
    dataio_prep = preps[0]
    for function in called_functions(dataio_prep):
        files.add(module_file(function))
        readers.append(inspect.getsource(function))
    brain = brains[0]
    if any("EmotionBrain" in cls.__name__ for cls in inspect.getmro(brain)):
        # EmotionBrain exports the model; EmotionRecognizer reads the YAML.
        inference = importlib.import_module("speechbrain_ser.inference")
        files.add(module_file(inference.EmotionRecognizer))
        readers.append(inspect.getsource(inference.EmotionRecognizer))
    return files, readers, extras_keys(dataio_prep)


_READ = [
    r"hparams\.(?!get\b|update\b|items\b|keys\b|values\b)([A-Za-z_]\w*)",
    r"hparams\[\s*\"(\w+)\"\s*\]",
    r"hparams\[\s*f\"([^\"]+)\"\s*\]",
]
_OPTIONAL = [
    r"hasattr\(\s*[\w.]*hparams[\w.]*,\s*\"(\w+)\"",
    r"getattr\(\s*[\w.]*hparams[\w.]*,\s*\"(\w+)\",",
    r"hparams\.get\(\s*\"(\w+)\"",
    r"\"(\w+)\"\s+(?:not\s+)?in\s+[\w.]*hparams",
]


def reads(source):
    """Keys read in ``source``: (required patterns, optional keys).

    An f-string key such as ``{split}_manifest`` becomes a regular
    expression matching every key of that shape.
    """
    required = set()
    for pattern in _READ:
        for key in re.findall(pattern, source):
            if "{" in key:
                key = re.sub(r"\{[^}]*\}", r"\\w+", key)
            required.add(key)
    optional = set()
    for pattern in _OPTIONAL:
        for found in re.findall(pattern, source):
            optional.update(re.findall(r"\w+", found))
    return required, optional


def key_used(key, files_text):
    """Whether any chain file reads ``key`` in one of the read forms."""
    forms = [
        rf"hparams\.{key}\b",
        rf"hparams\[\s*\"{key}\"\s*\]",
        rf"\"{key}\"",
    ]
    if any(re.search(form, files_text) for form in forms):
        return True
    templates = re.findall(r"hparams\[\s*f\"([^\"]+)\"\s*\]", files_text)
    templates += re.findall(
        r"getattr\(\s*[\w.]*hparams[\w.]*,\s*f\"([^\"]+)\"", files_text
    )
    for template in templates:
        if re.fullmatch(re.sub(r"\{[^}]*\}", r"\\w+", template), key):
            return True
    return False


def key_problems(path):
    """Unused and undefined keys of one YAML, as readable lines."""
    values, text = top_level_keys(os.path.join(ROOT, path))
    if path in NOT_RECIPES:
        return []
    for key in ("brain_class", "dataio_prep"):
        if not tagged_names(values, text, key):
            return [f"{path}: no {key}; train.py cannot run it"]
    files, readers, runtime_keys = chain(values, text)
    files_text = ""
    for file in sorted(files):
        with open(file, encoding="utf-8") as fin:
            files_text += fin.read()
    referenced = references(text)
    run_options = set(RunOptions().as_dict())
    problems = []
    for key in values:
        if key in referenced or key in UNUSED_ALLOWED or key in run_options:
            continue
        if not key_used(key, files_text):
            problems.append(
                f"{path}: key {key!r} is not used by {sorted(files)}"
            )
    # every Brain is a ResumableBrain, which fills in these defaults
    required, optional = set(), set(OPTIONAL_HPARAMS)
    for source in readers:
        r, o = reads(source)
        required |= r
        optional |= o
    defined = set(values) | runtime_keys | run_options
    for key in sorted(required - optional):
        if any(re.fullmatch(key, name) for name in defined):
            continue
        skip = READ_ONLY_WHEN.get(key)
        if skip is not None and skip[1](values):
            continue
        problems.append(f"{path}: key {key!r} is read but not defined")
    return problems


@pytest.mark.parametrize("path", all_yamls())
def test_yaml_keys(path):
    """The YAML's keys and the keys its code reads agree."""
    problems = key_problems(path)
    assert not problems, "\n".join(problems)


def test_every_yaml_is_found():
    """The glob finds the shared and the recipe YAMLs."""
    found = all_yamls()
    assert "hparams/demo.yaml" in found
    assert any(path.startswith("recipes/") for path in found)


def test_check_finds_unused_and_undefined_keys(tmp_path):
    """An unused key and a read-but-missing key are both reported."""
    with open(os.path.join(ROOT, "hparams", "demo.yaml")) as fin:
        lines = fin.read().splitlines()
    lines = [line for line in lines if not line.startswith("regression_weight")]
    lines.append("forgotten_key: 3")
    path = tmp_path / "demo.yaml"
    path.write_text("\n".join(lines) + "\n")
    problems = key_problems(str(path))
    assert len(problems) == 2, problems
    assert "'forgotten_key' is not used" in problems[0]
    assert "'regression_weight' is read but not defined" in problems[1]
