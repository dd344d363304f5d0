"""Every recipe README says which corpus and protocol chose each YAML's
defaults, and where they were confirmed (issue 24, item 4).

The statement is a paragraph of the README that starts with
``Defaults chosen on:``, lists the YAMLs it covers (```hparams/x.yaml```),
then names what chose them: a corpus with its protocol (``URDU,
speaker-independent 4 folds``) or a paper (``Li et al. 2021``, ``the
paper's values``), and has a ``Confirmed on:`` part (another corpus or
protocol, or that there is none yet). The Whisper recipes point to the
document that holds their check on other protocols. The recipes are
those of the recipe index (``tests/recipes/*.csv``), except the demo's
shared ``hparams/``. The commands of a recipe README name YAMLs that exist.
"""

import os
import re

from tests.consistency.test_recipe_index import ROOT, index_rows

PREFIX = "Defaults chosen on:"
CONFIRMED = "Confirmed on:"
HEAD = re.compile(
    r"^Defaults chosen on: ((?:`hparams/[\w.-]+\.yaml`(?:, )?)+):\s*(.+)$"
)
CORPORA = sorted(
    name
    for name in os.listdir(os.path.join(ROOT, "recipes"))
    if os.path.isdir(os.path.join(ROOT, "recipes", name))
) + ["demo corpus", "pyAudioAnalysis"]
PROTOCOL = re.compile(
    r"\bfolds?\b|leave-one-|speaker-independent|\bsplits?\b|partitions?"
    r"|held-out"
)
PAPER = re.compile(r"\b[A-Z][A-Za-z-]+ (?:et al\.|& [A-Z][A-Za-z-]+)")
# the Whisper recipes' defaults: chosen on URDU 4 folds, checked elsewhere
WHISPER_CHECKS = {
    "whisper_stats_pooling.yaml": "docs/results/whisper_probe_vs_recipe.md"
}


def statements(text):
    """``PREFIX`` paragraphs of a Markdown text, each on one line."""
    paragraphs = re.split(r"\n\s*\n", text)
    return [
        " ".join(line.strip() for line in p.strip().splitlines())
        for p in paragraphs
        if p.strip().startswith(PREFIX)
    ]


def statement_problems(text, yamls, existing=None):
    """What a README's defaults statements lack, for the given YAMLs.

    Arguments
    ---------
    text : str
        The README.
    yamls : list of str
        The YAML file names (``x.yaml``) the README must cover.
    existing : set of str, optional
        The YAML names of the recipe's ``hparams/``: a statement must not
        name another one.

    Returns
    -------
    list of str
        One line per problem (empty: the README is complete).
    """
    problems, covered = [], {}
    for statement in statements(text):
        head = HEAD.match(statement)
        if head is None:
            problems.append(
                f"{statement[:60]!r}...: start with '{PREFIX} "
                "`hparams/<name>.yaml`[, ...]: '"
            )
            continue
        names = re.findall(r"`hparams/([\w.-]+\.yaml)`", head.group(1))
        chosen, _, confirmed = head.group(2).partition(CONFIRMED)
        for name in names:
            covered[name] = statement
            if existing is not None and name not in existing:
                problems.append(f"{name}: no such YAML in hparams/")
        corpus = any(c in chosen for c in CORPORA)
        if not (PAPER.search(chosen) or (corpus and PROTOCOL.search(chosen))):
            problems.append(
                f"{', '.join(names)}: say what chose the defaults: a corpus "
                f"({', '.join(CORPORA)}) with its protocol (folds, split, "
                "partitions, speaker-independent...) or a paper (Author et al.)"
            )
        if not confirmed.strip():
            problems.append(
                f"{', '.join(names)}: no '{CONFIRMED}' part (another corpus "
                "or protocol, or that none is)"
            )
    for name in yamls:
        if name not in covered:
            problems.append(f"{name}: no '{PREFIX} `hparams/{name}`' paragraph")
        elif (
            name in WHISPER_CHECKS
            and WHISPER_CHECKS[name] not in (covered[name])
        ):
            problems.append(f"{name}: point to {WHISPER_CHECKS[name]}")
    return problems


def recipe_readmes():
    """README path -> the YAML names the recipe index gives it."""
    readmes = {}
    for _, row in index_rows():
        readme = row["Readme_file"].strip()
        if not readme.startswith("recipes/"):
            continue  # the demo's shared hparams/
        readmes.setdefault(readme, []).append(
            os.path.basename(row["Hparam_file"].strip())
        )
    return readmes


def test_every_recipe_readme_says_what_chose_its_defaults():
    readmes = recipe_readmes()
    assert len(readmes) >= 16  # every recipe folder of the index
    problems = []
    for readme, yamls in sorted(readmes.items()):
        folder = os.path.join(ROOT, os.path.dirname(readme), "hparams")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as fin:
            text = fin.read()
        problems += [
            f"{readme}: {p}"
            for p in statement_problems(text, yamls, set(os.listdir(folder)))
        ]
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_a_statement_lacks():
    good = (
        "Intro.\n\nDefaults chosen on: `hparams/a.yaml`, `hparams/b.yaml`:\n"
        "URDU, speaker-independent 4 folds. Confirmed on: pyAudioAnalysis\n"
        "A/V, clip-level folds.\n\nDefaults chosen on: `hparams/c.yaml`: the\n"
        "paper's values (Li et al. 2021). Confirmed on: not run.\n"
    )
    assert statement_problems(good, ["a.yaml", "b.yaml", "c.yaml"]) == []
    cases = {
        "d.yaml: no 'Defaults chosen on": (good, ["d.yaml"], None),
        "c.yaml: no such YAML": (good, ["a.yaml"], {"a.yaml", "b.yaml"}),
        "say what chose": (
            "Defaults chosen on: `hparams/a.yaml`: URDU. Confirmed on: x.",
            ["a.yaml"],
            None,
        ),
        "no 'Confirmed on:'": (
            "Defaults chosen on: `hparams/a.yaml`: Li et al. 2021.",
            ["a.yaml"],
            None,
        ),
        "start with": (
            "Defaults chosen on: URDU 4 folds. Confirmed on: x.",
            [],
            None,
        ),
        "point to docs/results/whisper_probe_vs_recipe.md": (
            "Defaults chosen on: `hparams/whisper_stats_pooling.yaml`: URDU,"
            " 4 folds. Confirmed on: pyAudioAnalysis.",
            ["whisper_stats_pooling.yaml"],
            None,
        ),
    }
    for expected, (text, yamls, existing) in cases.items():
        found = statement_problems(text, yamls, existing)
        assert any(expected in p for p in found), (expected, found)


def missing_commanded_yamls(text, folder):
    """``hparams/<name>.yaml`` in the README's code blocks that ``folder``
    (the recipe's hparams/) lacks."""
    missing = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for name in re.findall(r"(?<![\w./-])hparams/([\w.-]+\.yaml)", block):
            if not os.path.isfile(os.path.join(folder, name)):
                missing.append(name)
    return missing


def test_recipe_commands_name_yamls_that_exist():
    """A renamed YAML leaves no command behind (speech_text.yaml was
    wav2vec2_text.yaml in the README's commands)."""
    problems = []
    for readme in recipe_readmes():
        folder = os.path.join(ROOT, os.path.dirname(readme), "hparams")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as fin:
            missing = missing_commanded_yamls(fin.read(), folder)
        problems += [
            f"{readme}: hparams/{name} does not exist" for name in missing
        ]
    assert not problems, "\n".join(problems)
    assert missing_commanded_yamls(
        "```bash\npython train.py hparams/gone.yaml\n```", folder
    ) == ["gone.yaml"]
