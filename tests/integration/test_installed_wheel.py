"""The package works installed from its wheel, not only from a checkout.

Builds the wheel, installs it (no ``-e``) into a fresh virtual environment
that sees this interpreter's torch and SpeechBrain (``--system-site-packages``,
nothing is downloaded), and, from a folder outside the source tree, runs a
2-fold cross-validation and a 1-trial search of a tiny recipe whose YAML the
test writes there. Every training is a ``python -m speechbrain_ser.run``
process of the virtual environment.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import venv

import pytest
import yaml

from tests.integration.test_crossval import RECIPES, ROOT, make_urdu

TINY = ["--number_of_epochs=1", "--emb_channels=4", "--batch_size=8"]


def build_wheel(folder):
    """Builds the wheel from a copy of the sources (no build/ in the tree)."""
    source = folder / "source"
    shutil.copytree(
        os.path.join(ROOT, "speechbrain_ser"),
        source / "speechbrain_ser",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    wheels = folder / "wheels"
    subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--quiet", "--wheel-dir", str(wheels), str(source)),
        ],
        check=True,
    )
    (wheel,) = wheels.glob("speechbrain_ser-*.whl")
    return wheel


def make_venv(folder, wheel):
    """A virtual environment with the wheel installed; returns its bin/."""
    venv.create(folder, system_site_packages=True, with_pip=False)
    bin_folder = folder / "bin"
    # pip of this interpreter, told to install into the environment; the
    # package installed here (editable or not) must not satisfy it
    subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "--python", str(bin_folder / "python")),
            *("install", "--quiet", "--no-deps", "--no-index"),
            *("--force-reinstall", "--ignore-installed", str(wheel)),
        ],
        check=True,
    )
    return bin_folder


@pytest.mark.slow
def test_wheel_runs_crossval_and_search_outside_the_tree(tmp_path, tone):
    pytest.importorskip("setuptools", reason="builds the wheel")
    wheel = build_wheel(tmp_path / "build")
    bin_folder = make_venv(tmp_path / "venv", wheel)
    work = tmp_path / "work"  # outside the source tree: no train.py there
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*command):
        done = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    python = str(bin_folder / "python")
    location = run(
        python, "-c", "import speechbrain_ser as s; print(s.__file__)"
    )
    assert location.startswith(str(tmp_path / "venv")), location

    recipe = work / "fbank_attention.yaml"
    shutil.copy(
        os.path.join(
            RECIPES, "URDU", "emotion", "hparams", "fbank_attention.yaml"
        ),
        recipe,
    )
    corpus = make_urdu(work / "urdu", tone, speakers=8)

    run(
        *(python, "-m", "speechbrain_ser.evaluation.crossval", str(recipe)),
        *("--folds=0,1", f"--data_folder={corpus}", "--output_folder=cv"),
        *TINY,
    )
    report = json.load(open(work / "cv" / "crossval_results.json"))
    tested = [
        json.load(open(work / "cv" / f"fold_{k}" / "results.json"))["n_test"]
        for k in (0, 1)
    ]
    assert report["systems"]["model"]["pooled"]["n"] == sum(tested) > 0

    space = work / "space.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "metric": "score",
                "parameters": {
                    "lr": {"type": "float", "low": 1e-3, "high": 1e-2}
                },
            }
        )
    )
    run(
        *(str(bin_folder / "speechbrain-ser"), "search", str(recipe)),
        *(f"--space={space}", "--n_trials=1", "--study_folder=study"),
        *("--poll_seconds=0.5", "--", f"--data_folder={corpus}"),
        *TINY,
    )
    with open(work / "study" / "trials.csv") as fin:
        (trial,) = list(csv.DictReader(fin))
    assert trial["state"] == "COMPLETE", trial
