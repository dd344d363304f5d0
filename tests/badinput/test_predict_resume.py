"""Predict resume keyed on the real file (issue 22, item 5). Before: killed
with ``pred_in/`` and rerun with the absolute path of the same folder,
the output held 140 lines for 100 files; lines came in length order."""

import json

import pytest

from speechbrain_ser.cli import main
from speechbrain_ser.tiny_models import tiny_model_folder
from tests.badinput.corpus import tone, write_wav

NAMES = ["a.wav", "b.wav", "c.wav", "d.wav"]


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, name in enumerate(NAMES):  # a shortest: batches go d, c, b, a
        write_wav(str(tmp_path / "pred_in" / name), tone(0.5 + 0.5 * i, 220))
    return tmp_path


def lines(path):
    return [json.loads(line)["file"] for line in open(path)]


def test_resume_with_another_spelling_of_the_folder(inputs, capsys):
    model = tiny_model_folder()
    out = "out.jsonl"
    # the first run stopped after two files (as given, relative)
    first = ["pred_in/a.wav", "pred_in/c.wav"]
    assert main(["predict", "--model", model, "--output", out, *first]) == 0
    capsys.readouterr()
    absolute = str(inputs / "pred_in")
    assert main(["predict", "--model", model, "--output", out, absolute]) == 0
    assert "resumed: 2 file(s) were already in out.jsonl; 2 predicted" in (
        capsys.readouterr().err
    )
    # one line per file, in the order of the last run's inputs
    assert lines(out) == ["pred_in/a.wav"] + [
        f"{absolute}/{name}" for name in ("b.wav",)
    ] + ["pred_in/c.wav", f"{absolute}/d.wav"]


def test_a_clip_named_twice_is_predicted_once(inputs):
    model = tiny_model_folder()
    names = ["pred_in/b.wav", str(inputs / "pred_in" / "b.wav"), "pred_in"]
    assert (
        main(["predict", "--model", model, "--output", "o.jsonl", *names]) == 0
    )
    assert lines("o.jsonl") == [f"pred_in/{name}" for name in NAMES[1:2]] + [
        f"pred_in/{name}" for name in ("a.wav", "c.wav", "d.wav")
    ]
