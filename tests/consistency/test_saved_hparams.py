"""The ``hyperparams.yaml`` a run saves reads back as the YAML it ran.

SpeechBrain saves a run's YAML with its references resolved
(``hyperpyyaml.resolve_references``, a ruamel round trip), and
``load_hyperpyyaml`` starts with the same round trip when
``speechbrain-ser tsne`` or a model export reads that copy back. A
comment on a tagged block item of a list (``- !new:X  # time`` with
``X``'s arguments below it), or on a line of its own just above one,
does not survive the two round trips when the item is the list's first:
it reads back as a plain dict (``Augmenter``: "'dict' object has no attribute 'forward'"). Such a
comment goes on one of the item's argument lines instead
(``dim: 1  # time``), on every item of a list, which is simpler to
follow than "not on the first". :func:`test_the_rule_is_the_round_trip` shows the
failure with the real round trips; the YAMLs under ``hparams/`` and
``recipes/`` are then checked for the pattern line by line (the round
trips themselves take ~0.3 s per file).
"""

import glob
import io
import os
import re

import pytest
from hyperpyyaml import resolve_references
from ruamel.yaml import YAML, MappingNode, ScalarNode, SequenceNode

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
YAMLS = sorted(
    glob.glob(os.path.join(ROOT, "hparams", "*.yaml"))
    + glob.glob(os.path.join(ROOT, "recipes", "*", "*", "hparams", "*.yaml"))
)
TAGGED_ITEM = re.compile(r"^\s*- ![\w:.]+\s*(#.*)?$")  # arguments below it
COMMENT_LINE = re.compile(r"^\s*#")


def commented_tagged_items(text):
    """Line numbers of tagged block list items with a comment on their
    line or on the line just above them.

    Example
    -------
    >>> commented_tagged_items("a:\\n  - !new:X  # c\\n    b: 1\\n")
    [2]
    >>> commented_tagged_items("a:\\n  # c\\n  - !new:X\\n    b: 1\\n")
    [3]
    >>> commented_tagged_items("a:\\n  - !new:X\\n    b: 1  # c\\n")
    []
    """
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines, start=1):
        match = TAGGED_ITEM.match(line)
        if not match:
            continue
        above = lines[number - 2] if number > 1 else ""
        if match.group(1) or COMMENT_LINE.match(above):
            found.append(number)
    return found


def shape_problems(written, read, where="top"):
    """Where the node tree ``read`` differs from ``written`` in node kind,
    tag or keys; a ``!ref`` or ``!PLACEHOLDER`` node matches anything.

    Example
    -------
    >>> parse = YAML(typ="rt").compose
    >>> shape_problems(parse("a: !new:X {b: 1}"), parse("a: !new:X {b: 2}"))
    []
    >>> shape_problems(parse("a: [!new:X {b: 1}]"), parse("a: [{b: 1}]"))
    ['top.a[0]: tag !new:X read back as tag tag:yaml.org,2002:map']
    """
    if written.tag.startswith(("!ref", "!PLACEHOLDER")):
        return []
    if type(written) is not type(read):
        return [f"{where}: {written.tag} read back as {type(read).__name__}"]
    if written.tag != read.tag:
        return [f"{where}: tag {written.tag} read back as tag {read.tag}"]
    if isinstance(written, ScalarNode):
        return []
    if isinstance(written, SequenceNode):
        if len(written.value) != len(read.value):
            return [f"{where}: {len(written.value)} items, read back with "]
        return [
            problem
            for i, (a, b) in enumerate(zip(written.value, read.value))
            for problem in shape_problems(a, b, f"{where}[{i}]")
        ]
    assert isinstance(written, MappingNode)
    keys = {k.value: v for k, v in written.value}
    read_keys = {k.value: v for k, v in read.value}
    if set(keys) != set(read_keys):
        return [
            f"{where}: keys {sorted(keys)} read back as {sorted(read_keys)}"
        ]
    return [
        problem
        for key, value in keys.items()
        for problem in shape_problems(value, read_keys[key], f"{where}.{key}")
    ]


ITEM = "    - !new:torch.nn.Identity\n      a: 1\n"
CASES = {
    "comment on the item": (ITEM.replace("Identity\n", "Identity  # c\n"), 1),
    "comment above the item": ("    # c\n" + ITEM, 1),
    "comment on an argument": (ITEM.replace("a: 1", "a: 1  # c"), 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_rule_is_the_round_trip(case):
    item, flagged = CASES[case]
    text = "l: !new:torch.nn.Sequential\n" + item + "    - !ref <x>\nx: 3\n"
    saved = resolve_references(io.StringIO(text))  # run.py's copy
    read = resolve_references(saved).getvalue()  # load_hyperpyyaml's
    parse = YAML(typ="rt").compose
    problems = shape_problems(parse(text), parse(read))
    assert len(problems) == len(commented_tagged_items(text)) == flagged


@pytest.mark.parametrize(
    "path", YAMLS, ids=[os.path.relpath(p, ROOT) for p in YAMLS]
)
def test_no_comment_on_a_tagged_list_item(path):
    with open(path, encoding="utf-8") as fin:
        assert commented_tagged_items(fin.read()) == []
