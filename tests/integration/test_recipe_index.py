"""Every recipe of ``tests/recipes/*.csv`` runs end to end on tiny data.

Each row's ``test_debug_flags`` (one epoch, tiny model sizes) run with
``run_recipe``, as ``python <Script_file> <Hparam_file> <flags>`` would,
on a fake corpus tree of ``tests/fakes.py`` (built once per module, only
for the corpora some row names); ``test_debug_checks`` lists the files
the run must leave. Together with ``tests/consistency/
test_recipe_index.py`` (every YAML is listed), no YAML lands untested.
"""

import os
import re
import shlex

import pytest

from speechbrain_ser.run import run_recipe
from speechbrain_ser.tiny_models import make_tiny_whisper
from tests import fakes
from tests.conftest import write_tone
from tests.consistency.test_recipe_index import ROOT, index_rows, row_tested_by


def make_librispeech(root, tone):
    """Three official subsets, two training speakers, three utterances."""
    for subset, speakers in (
        ("train-clean-100", ("19", "26")),
        ("dev-clean", ("84",)),
        ("test-clean", ("61",)),
    ):
        for speaker in speakers:
            fakes.make_librispeech(root, tone, subset, speaker, n=3)
    return root


def tiny_whisper(folder, tone):
    """A random 1-layer Whisper with a 16-dimensional encoder."""
    return make_tiny_whisper(folder, chunk_seconds=30)


BUILDERS = {
    "demo": lambda root, tone: fakes.make_demo(root, tone, "main", 40),
    "demo_alt": lambda root, tone: fakes.make_demo(root, tone, "alt", 24),
    "IEMOCAP": lambda root, tone: fakes.make_iemocap(root, tone) or root,
    "EmoDB": lambda root, tone: fakes.make_emodb(root, tone) or root,
    "RAVDESS": fakes.make_ravdess,
    "MSP-Podcast": fakes.make_msp_podcast_four_classes,
    "URDU": fakes.make_urdu,
    "LibriSpeech": make_librispeech,
    "whisper": tiny_whisper,
}


@pytest.fixture(scope="module")
def resources(tmp_path_factory):
    """Placeholder -> folder, each built on first use."""
    built = {}

    def get(name):
        if name not in built:
            folder = tmp_path_factory.mktemp(name.replace("-", "_"))
            built[name] = str(BUILDERS[name](folder, write_tone))
        return built[name]

    return get


ROWS = index_rows()


@pytest.mark.slow
@pytest.mark.parametrize(
    "row", [row for _, row in ROWS], ids=[row["Hparam_file"] for _, row in ROWS]
)
def test_recipe_runs(row, resources, tmp_path):
    """One epoch on the fake corpus leaves the files the row lists."""
    if row_tested_by(row) is not None:
        pytest.skip("run end to end by {}::{}".format(*row_tested_by(row)))
    flags = re.sub(
        r"\{([^}]+)\}",
        lambda match: resources(match.group(1)),
        row["test_debug_flags"],
    )
    output = tmp_path / "out"
    run_recipe(
        [os.path.join(ROOT, row["Hparam_file"])]
        + shlex.split(flags)
        + [f"--output_folder={output}"]
    )
    expected = re.fullmatch(r"file_exists=\[(.*)\]", row["test_debug_checks"])
    missing = [
        name
        for name in expected.group(1).split(",")
        if not (output / name.strip()).exists()
    ]
    assert not missing, f"{row['Hparam_file']}: no {missing} in {output}"
