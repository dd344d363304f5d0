"""Every YAML key is used and every key the code reads is defined.

SpeechBrain's ``tests/consistency/test_yaml.py`` (``check_yaml_vs_script``)
looks for each top-level YAML key in the recipe's ``train.py``. Here every
``train.py`` is the generic driver: the keys are read by
``speechbrain_ser/run.py``, the Brain the YAML names (``brain_class``, with
its base classes), the data preparation (``prepare``, ``dataio_prep``) and
the modules the YAML instantiates. This check follows that chain for every
YAML under ``hparams/`` and ``recipes/`` (found by glob, so a new YAML is
checked without listing it):

* unused: a top-level key that no other key references (``<key>``) and
  that no file of the chain reads;
* undefined: a key that the chain reads without a default (not guarded
  by ``hasattr``, ``getattr(..., default)``, ``.get`` or ``in``) and that
  the YAML does not define.

SpeechBrain's own run options (``device``, ``debug``...) count as used,
as in upstream's check. Exceptions are listed below with their reason.
"""

import ast
import glob
import importlib
import inspect
import os
import re

import pytest
import yaml
from speechbrain.utils.run_opts import RunOptions

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN_PY = os.path.join(ROOT, "speechbrain_ser", "run.py")

# Keys that are legitimately not read by the chain, with the reason.
UNUSED_ALLOWED = {
    "seed": "seeds the run through __set_seed and names output_folder",
    "__set_seed": "an !apply: evaluated while the YAML loads",
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
    "train_class_counts": (
        "added by emotion_dataio_prep; read only for class_weights: balanced",
        lambda values: values.get("class_weights") != "balanced",
    ),
}


def all_yamls():
    """Every hparams file of the repository, found by glob."""
    paths = glob.glob(os.path.join(ROOT, "hparams", "*.yaml"))
    paths += glob.glob(
        os.path.join(ROOT, "recipes", "**", "hparams", "*.yaml"),
        recursive=True,
    )
    return sorted(os.path.relpath(path, ROOT) for path in paths)


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
    """``function`` and the module-level functions of its module it calls.

    One level deep, which covers the data preps' helpers
    (``sort_training_set``, ``audio_pipeline``...).
    """
    module = inspect.getmodule(function)
    found = [function]
    tree = ast.parse(inspect.getsource(function))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            candidate = getattr(module, node.func.id, None)
            if (
                inspect.isfunction(candidate)
                and inspect.getmodule(candidate) is module
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
    return value.split(":", 1)[-1].strip() if value.startswith("!") else ""


def chain(values, text):
    """The code a YAML drives.

    Returns the files that may use a key (whole modules: run.py, the
    Brain's classes, the preparers and modules the YAML names), the
    sources whose reads must be defined (the Brain's classes, run_recipe,
    the data prep and its helpers) and the keys the data prep adds.
    """
    files = {RUN_PY}
    readers = [inspect.getsource(resolve("speechbrain_ser.run.run_recipe"))]
    for dotted in named_objects(text):
        files.add(module_file(resolve(dotted)))
    brain = resolve(tagged_name(values, "brain_class"))
    for cls in inspect.getmro(brain):
        if cls.__module__.startswith("speechbrain_ser"):
            files.add(module_file(cls))
            readers.append(inspect.getsource(cls))
    dataio_prep = resolve(tagged_name(values, "dataio_prep"))
    readers += [inspect.getsource(f) for f in called_functions(dataio_prep)]
    if any("EmotionBrain" in cls.__name__ for cls in inspect.getmro(brain)):
        # EmotionBrain exports the model; EmotionRecognizer reads the YAML.
        inference = importlib.import_module("speechbrain_ser.inference")
        files.add(inspect.getsourcefile(inference))
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
        optional.update(re.findall(pattern, source))
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
    for template in re.findall(r"hparams\[\s*f\"([^\"]+)\"\s*\]", files_text):
        if re.fullmatch(re.sub(r"\{[^}]*\}", r"\\w+", template), key):
            return True
    return False


def key_problems(path):
    """Unused and undefined keys of one YAML, as readable lines."""
    values, text = top_level_keys(os.path.join(ROOT, path))
    for key in ("brain_class", "dataio_prep"):
        if not tagged_name(values, key):
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
    required, optional = set(), set()
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
