"""Truncated audio is never used silently (issue 22, item 3). Before: a
WAV cut to a fraction of its manifest ``duration`` passed validation
(libsndfile reads what is left), was trained on, tested and predicted.
Now the manifest's duration is compared with the real length
(tolerance: 50 ms and 2 %), a WAV whose header claims more samples than
the file holds is named as truncated, valid/test files stop the run,
training files are left out and counted, and predict says so."""

import json
import os

import pytest

from speechbrain_ser.cli import main
from speechbrain_ser.data.validation import ManifestError, validate_manifests
from speechbrain_ser.run import run_recipe
from speechbrain_ser.tiny_models import tiny_model_folder
from tests.badinput.corpus import (
    make_corpus,
    manifest_path,
    tiny_args,
    tone,
    write_manifests,
    write_wav,
)


def cut(path, seconds, sample_rate=16000):
    """Cuts a 16-bit mono WAV after ``seconds`` (header left as it was)."""
    os.truncate(path, 44 + 2 * int(seconds * sample_rate))


def validate(folder):
    paths = {
        s: manifest_path(str(folder), s) for s in ("train", "valid", "test")
    }
    return validate_manifests(paths, str(folder), task="classification")


@pytest.fixture
def corpus(tmp_path):
    return tmp_path, make_corpus(str(tmp_path), seconds=0.8)


def test_cut_wav_in_test_is_named_with_both_lengths(corpus):
    folder, _ = corpus
    cut(folder / "wavs" / "s4_sad.wav", 0.2)
    with pytest.raises(ManifestError) as error:
        validate(folder)
    message = str(error.value)
    assert "utterance 's4_sad'" in message
    assert (
        "s4_sad.wav: the WAV header says 12800 samples (0.8 s) but the file "
        "holds only 3200 (0.2 s); the file is truncated" in message
    )


def test_short_file_against_manifest_duration(corpus):
    folder, manifests = corpus
    # a complete, shorter WAV (e.g. re-encoded): only the manifest knows
    write_wav(str(folder / "wavs" / "s3_sad.wav"), tone(0.6, 300))
    manifests["valid"]["s3_sad"]["duration"] = 2.42
    write_manifests(str(folder), manifests)
    with pytest.raises(ManifestError) as error:
        validate(folder)
    assert "s3_sad.wav: lasts 0.6 s but the manifest says duration=2.42 s" in (
        str(error.value)
    )


def test_within_tolerance_is_fine(corpus):
    folder, manifests = corpus
    manifests["valid"]["s3_sad"]["duration"] = 0.8 + 0.04  # < 50 ms
    write_manifests(str(folder), manifests)
    assert validate(folder)["train_left_out"] == []


def test_cut_training_file_left_out_and_counted(corpus):
    folder, _ = corpus
    cut(folder / "wavs" / "s1_sad.wav", 0.3)
    assert validate(folder)["train_left_out"] == ["s1_sad"]
    run_recipe(tiny_args(folder, folder / "out", number_of_epochs=1))
    results = json.load(open(folder / "out" / "results.json"))
    assert results["n_train_files_skipped"] == 1


def test_predict_warns_about_a_cut_wav(tmp_path, capsys):
    path = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    cut(path, 0.5)
    assert main(["predict", "--model", tiny_model_folder(), path]) == 0
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert "emotion" in line
    assert line["warning"].endswith("(0.5 s); the file is truncated")


def test_segment_mode_warns_about_a_cut_wav(tmp_path, capsys):
    path = write_wav(str(tmp_path / "a.wav"), tone(2.0, 220))
    cut(path, 1.2)
    args = ["predict", "--model", tiny_model_folder(), "--segment", "1"]
    assert main([*args, path]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    # the 1.2 s the file holds, each segment saying the rest is missing
    assert [(row["start"], row["end"]) for row in rows] == [(0, 1), (1, 1.2)]
    for row in rows:
        assert "emotion" in row
        assert row["warning"] == (
            f"{path}: the WAV header says 32000 samples (2.0 s) but the file "
            "holds only 19200 (1.2 s); the file is truncated"
        )


def test_transcript_mode_warns_about_a_cut_wav(
    tmp_path, capsys, speech_text_model
):
    model = speech_text_model
    whole = write_wav(str(tmp_path / "whole.wav"), tone(1.0, 220))
    path = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    cut(path, 0.5)
    capsys.readouterr()  # the folder's making
    args = ["predict", "--model", model, whole, path]
    assert main([*args, "--transcript", "yes", "--transcript", "no"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [row["transcript"] for row in rows] == ["yes", "no"]
    assert "warning" not in rows[0] and "emotion" in rows[1]
    assert rows[1]["warning"].endswith("(0.5 s); the file is truncated")
