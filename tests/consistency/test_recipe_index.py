"""The recipe index lists every hparams file, and what it lists exists.

SpeechBrain's ``tests/consistency/test_recipe.py`` applied to this layout:
``tests/recipes/<DATASET>.csv`` lists the YAMLs of ``recipes/<DATASET>/``
and ``demo.csv`` the shared ``hparams/`` (run on the demo corpus). Every
row runs end to end in ``tests/integration/test_recipe_index.py``, or,
where its ``test_debug_checks`` is ``tested_by=[<file>::<test>]``, in
the integration test it names. YAMLs that are not recipes are listed in
``NOT_RECIPES`` of ``test_yaml_keys.py``.
"""

import csv
import glob
import os
import re

from tests.consistency.test_yaml_keys import NOT_RECIPES, repository_files

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INDEX = os.path.join(ROOT, "tests", "recipes")
FIELDS = [
    "Task",
    "Dataset",
    "Script_file",
    "Hparam_file",
    "Data_prep_file",
    "Readme_file",
    "Result_url",
    "HF_repo",
    "test_debug_flags",
    "test_debug_checks",
    "performance",
]
MANDATORY = ["Script_file", "Hparam_file", "Readme_file"]
PLACEHOLDERS = {
    "demo",
    "demo_alt",
    "IEMOCAP",
    "EmoDB",
    "RAVDESS",
    "MSP-Podcast",
    "URDU",
    "LibriSpeech",
    "whisper",
}


def index_rows():
    """(csv name, row) of every recipe listed in ``tests/recipes``."""
    rows = []
    for path in sorted(glob.glob(os.path.join(INDEX, "*.csv"))):
        with open(path, newline="", encoding="utf-8") as fin:
            reader = csv.DictReader(fin, skipinitialspace=True)
            assert reader.fieldnames == FIELDS, f"{path}: columns {FIELDS}"
            rows += [(os.path.basename(path), row) for row in reader]
    return rows


def expected_yamls(csv_name):
    """The YAMLs a CSV must list: ``recipes/<DATASET>/**`` or hparams/."""
    if csv_name == "demo.csv":
        pattern = os.path.join(ROOT, "hparams", "*.yaml")
    else:
        dataset = os.path.splitext(csv_name)[0]
        pattern = os.path.join(ROOT, "recipes", dataset, "**", "*.yaml")
    return set(repository_files(glob.glob(pattern, recursive=True)))


def test_every_yaml_is_listed():
    """Each YAML under hparams/ and recipes/ has a row (so a test runs it)."""
    rows = index_rows()
    listed = {row["Hparam_file"] for _, row in rows}
    csv_names = {name for name, _ in rows}
    missing = set()
    for name in csv_names:
        missing |= expected_yamls(name) - listed
    every_yaml = set(
        repository_files(
            glob.glob(os.path.join(ROOT, "hparams", "*.yaml"))
            + glob.glob(
                os.path.join(ROOT, "recipes", "**", "*.yaml"), recursive=True
            )
        )
    )
    missing |= every_yaml - listed
    missing -= set(NOT_RECIPES)
    assert not missing, (
        f"not in tests/recipes/*.csv: {sorted(missing)}; add a row "
        "(see tests/recipes/README.md)"
    )
    assert len(listed) == len(rows), "a YAML is listed twice"


def test_listed_files_exist():
    """Script, YAML, data preparation and README of each row exist."""
    problems = []
    for name, row in index_rows():
        for field in MANDATORY:
            if not row[field].strip():
                problems.append(f"{name}: {row['Hparam_file']} has no {field}")
        for field in MANDATORY + ["Data_prep_file"]:
            for path in row[field].split():
                if not os.path.exists(os.path.join(ROOT, path)):
                    problems.append(f"{name}: {field} {path} does not exist")
    assert not problems, "\n".join(problems)


def test_every_row_has_debug_flags_and_checks():
    """Each row says how to run it tiny and what it must write."""
    problems = []
    for name, row in index_rows():
        where = f"{name}: {row['Hparam_file']}"
        if "--number_of_epochs=" not in row["test_debug_flags"]:
            problems.append(f"{where}: no --number_of_epochs in flags")
        unknown = set(re.findall(r"\{([^}]+)\}", row["test_debug_flags"]))
        if unknown - PLACEHOLDERS:
            problems.append(
                f"{where}: unknown {sorted(unknown - PLACEHOLDERS)}"
            )
        checks = row["test_debug_checks"]
        if checks.startswith("tested_by=["):
            problems += row_tested_by_problems(where, row)
        elif not checks.startswith("file_exists=["):
            problems.append(f"{where}: test_debug_checks is not file_exists")
    assert not problems, "\n".join(problems)


def row_tested_by(row):
    """``(file, test)`` of a ``tested_by=[file::test]`` row, or None."""
    match = re.fullmatch(
        r"tested_by=\[([^:\]]+)::(\w+)\]", row["test_debug_checks"]
    )
    return (match.group(1), match.group(2)) if match else None


def row_tested_by_problems(where, row):
    """The named test exists and its file names the row's YAML."""
    named = row_tested_by(row)
    if named is None:
        return [f"{where}: tested_by is not [<file>::<test>]"]
    path = os.path.join(ROOT, named[0])
    if not os.path.exists(path):
        return [f"{where}: {named[0]} does not exist"]
    with open(path, encoding="utf-8") as fin:
        source = fin.read()
    problems = []
    if not re.search(rf"^def {named[1]}\(", source, re.MULTILINE):
        problems.append(f"{where}: no test {named[1]} in {named[0]}")
    parts = row["Hparam_file"].split("/")
    if not all(f'"{part}"' in source for part in parts[-3:-2] + parts[-1:]):
        problems.append(f"{where}: {named[0]} never names the YAML")
    return problems
