"""Every YAML that loads the result of an earlier run says which run.

``speechbrain_ser.run_checks.check_pretrained_files`` stops a run before
data preparation when a file of the YAML's ``pretrainer`` (its ``paths``)
is missing, and names the command that makes it: the YAML's
``pretrained_by`` (issue 22, item 6). Here, for every YAML under
``hparams/`` and ``recipes/`` with a ``pretrainer``:

* it has a ``pretrained_by``, and every ``hparams/*.yaml`` that command
  names exists (in the recipe folder it names, ``in recipes/...``, else
  next to the YAML's own ``hparams/``);
* neither a pretrainer path nor ``pretrained_by`` depends on ``<seed>``:
  an ensemble (model k trains with seed + k) and a fine-tuning repeated
  over seeds use the one pre-trained file (the fusion's ``asr_seed``,
  the fine-tunings' ``pretrained_seed``).
"""

import glob
import os
import re

import pytest
from ruamel.yaml import YAML

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
YAMLS = sorted(
    glob.glob(os.path.join(ROOT, "hparams", "*.yaml"))
    + glob.glob(os.path.join(ROOT, "recipes", "*", "*", "hparams", "*.yaml"))
)
REFERENCE = re.compile(r"<([\w.]+)>")


def expand(text, values, depth=0):
    """``text`` with each ``<key>`` replaced by the YAML's value of ``key``
    as written (references followed; unknown keys left as they are).

    Example
    -------
    >>> expand("a/<b>/c", {"b": "x/<d>", "d": "1"})
    'a/x/1/c'
    """
    if depth > 10:
        return text
    return REFERENCE.sub(
        lambda m: (
            expand(str(values[m.group(1)]), values, depth + 1)
            if m.group(1) in values
            else m.group(0)
        ),
        text,
    )


def pretrainer_paths(path):
    """The YAML's top-level values and its pretrainer's paths (written)."""
    with open(path, encoding="utf-8") as fin:
        values = YAML(typ="rt").load(fin)
    pretrainer = values.get("pretrainer")
    paths = pretrainer.get("paths", {}) if pretrainer is not None else {}
    return values, {name: str(value) for name, value in paths.items()}


def has_pretrainer(path):
    with open(path, encoding="utf-8") as fin:
        return re.search(r"^pretrainer:", fin.read(), re.M) is not None


WITH_PRETRAINER = [path for path in YAMLS if has_pretrainer(path)]


def test_the_check_is_there_to_be_tested():
    names = {os.path.relpath(p, ROOT) for p in WITH_PRETRAINER}
    assert "hparams/acoustic_linguistic.yaml" in names
    assert "recipes/IEMOCAP/sa2sr/hparams/finetune.yaml" in names


@pytest.mark.parametrize(
    "path",
    WITH_PRETRAINER,
    ids=[os.path.relpath(p, ROOT) for p in WITH_PRETRAINER],
)
def test_a_pretrained_file_names_the_run_that_makes_it(path):
    values, paths = pretrainer_paths(path)
    assert paths, "a pretrainer with no paths"
    made_by = expand(str(values.get("pretrained_by") or ""), values)
    assert made_by, "no pretrained_by: the command that makes the file"
    for name, file in paths.items():
        assert "<seed>" not in expand(file, values), name
    assert "<seed>" not in made_by
    named = re.findall(r"hparams/[\w.-]+\.yaml", made_by)
    assert named, made_by
    folder = re.search(r"\bin (recipes/[\w./-]+)", made_by)
    here = os.path.dirname(os.path.dirname(path))
    base = os.path.join(ROOT, folder.group(1)) if folder else here
    for yaml in named:
        where = os.path.join(base, yaml)
        if not os.path.isfile(where):  # e.g. miniCPC's pretrain.yaml here
            where = os.path.join(here, yaml)
        assert os.path.isfile(where), f"{made_by}: no {yaml}"
