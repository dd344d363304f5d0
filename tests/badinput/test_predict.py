"""``speechbrain-ser predict`` on inputs it cannot judge, and on bad
model folders (issue 13)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.cli import main
from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.tiny_models import tiny_model_folder
from tests.badinput.corpus import ROOT, tone


@pytest.fixture(scope="module")
def model():
    return tiny_model_folder()


def predict(capsys, *args):
    code = main(["predict", *args])
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return code, lines, captured.err


@pytest.mark.parametrize(
    "name, samples",
    [
        ("silence", np.zeros(16000)),
        ("white_noise", np.random.default_rng(0).standard_normal(16000) * 0.1),
        ("dc_offset", np.full(16000, 0.3)),
        ("noise_at_8k", np.random.default_rng(1).uniform(-1, 1, 8000)),
    ],
)
def test_no_speech_is_said_not_classified(
    model, tmp_path, capsys, name, samples
):
    path = str(tmp_path / f"{name}.wav")
    rate = 8000 if "8k" in name else 16000
    soundfile.write(path, samples, rate)
    code, [line], _ = predict(capsys, "--model", model, path)
    assert code == 0
    assert line["speech"] is False and "no speech" in line["reason"]
    assert "emotion" not in line and "valence" not in line


def test_speech_like_input_is_classified(model, tmp_path, capsys):
    path = str(tmp_path / "tone.wav")
    soundfile.write(path, tone(1.0, 220), 16000)
    code, [line], _ = predict(capsys, "--model", model, path)
    assert code == 0 and line["speech"] is True
    assert line["emotion"] in line["probabilities"]


@pytest.mark.parametrize("samples", [1, 800])  # one sample; 0.05 s
def test_too_short_is_an_error_line(model, tmp_path, capsys, samples):
    path = str(tmp_path / "short.wav")
    soundfile.write(path, tone(samples / 16000, 220), 16000)
    code, [line], _ = predict(capsys, "--model", model, path)
    assert code == 1
    assert "too short to analyse" in line["error"] and "emotion" not in line


def test_folder_and_empty_file_as_audio(model, tmp_path, capsys):
    """A folder is searched for audio (corpus prediction); one with none,
    and an empty file, are error lines."""
    empty = tmp_path / "audio" / "empty.wav"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    code, lines, _ = predict(
        capsys, "--model", model, str(nothing), str(empty.parent)
    )
    assert code == 1
    errors = {line["file"]: line["error"] for line in lines}
    assert errors[str(nothing)].endswith("a folder with no audio files")
    assert "not readable as audio" in errors[str(empty)]


def one_line_error(capsys, *args):
    code, lines, err = predict(capsys, *args)
    assert code == 2 and not lines
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_missing_model_folder(capsys, tmp_path):
    err = one_line_error(capsys, "--model", str(tmp_path / "nope"), "a.wav")
    assert "no such model folder" in err


def test_run_folder_instead_of_inference_folder(model, tmp_path, capsys):
    """A run folder holds the training YAML as hyperparams.yaml; loading it
    would run it (and create save/)."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(
        os.path.join(ROOT, "hparams", "demo.yaml"), run / "hyperparams.yaml"
    )
    err = one_line_error(capsys, "--model", str(run), "a.wav")
    assert "not an inference folder" in err
    shutil.copytree(model, run / "inference")
    err = one_line_error(capsys, "--model", str(run), "a.wav")
    assert f"use --model {run / 'inference'}" in err
    assert sorted(os.listdir(run)) == ["hyperparams.yaml", "inference"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only host")
def test_unavailable_device(model, capsys):
    err = one_line_error(capsys, "--model", model, "--device", "cuda", "a.wav")
    assert "CUDA is not available" in err


def test_no_stray_folders_and_no_warnings(
    model, tmp_path, capsys, monkeypatch, caplog
):
    monkeypatch.chdir(tmp_path)
    path = str(tmp_path / "tone.wav")
    soundfile.write(path, tone(0.5, 220), 16000)
    predict(capsys, "--model", model, path)
    assert os.listdir(tmp_path) == ["tone.wav"]
    assert "expect_len" not in caplog.text


def test_no_torchvision_warning():
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import speechbrain_ser, speechbrain.utils.train_logger",
        ],
        capture_output=True,
        text=True,
    )
    assert "torchvision" not in completed.stderr


class Payload:
    """Unpickling this would create a file: code run from a checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_weights_are_not_unpickled(model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    marker = tmp_path / "code_was_run"
    torch.save({"weight": Payload(str(marker))}, folder / "encoder.ckpt")
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        EmotionRecognizer.from_hparams(
            source=str(folder), savedir=str(tmp_path / "linked")
        )
    assert not marker.exists()
