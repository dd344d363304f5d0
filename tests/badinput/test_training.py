"""Training on bad inputs: nothing fails late (issue 13)."""

import json
import os

import numpy as np
import pytest
import soundfile

from speechbrain_ser.data.audio import AudioError
from speechbrain_ser.data.validation import ManifestError
from speechbrain_ser.run import run_recipe
from tests.badinput.corpus import make_corpus, tiny_args, write_manifests


def reject_nan(constant):
    raise ValueError(f"not strict JSON: {constant}")


def break_training_audio(folder, manifests):
    """A NaN-sample WAV and a truncated FLAC, both with good headers."""
    samples = np.full(6400, 0.1)
    samples[3000] = np.nan
    soundfile.write(
        str(folder / "wavs" / "s1_sad.wav"), samples, 16000, subtype="FLOAT"
    )
    flac = folder / "wavs" / "s2_sad.flac"
    soundfile.write(
        str(flac), np.random.default_rng(0).uniform(-0.5, 0.5, 6400), 16000
    )
    flac.write_bytes(flac.read_bytes()[: len(flac.read_bytes()) // 2])
    manifests["train"]["s2_sad"]["wav"] = "{data_root}/wavs/s2_sad.flac"
    write_manifests(str(folder), manifests)


def test_bad_training_audio_is_skipped_and_counted(tmp_path):
    corpus = tmp_path / "corpus"
    break_training_audio(corpus, make_corpus(str(corpus)))
    run_recipe(tiny_args(corpus, tmp_path / "out", number_of_epochs=1))
    results = json.load(open(tmp_path / "out" / "results.json"))
    assert results["n_train_files_skipped"] == 2
    log = open(tmp_path / "out" / "train_log.txt").read()
    assert "skipped_files: 2" in log


def test_bad_training_audio_stops_the_run_with_on_error_raise(tmp_path):
    corpus = tmp_path / "corpus"
    break_training_audio(corpus, make_corpus(str(corpus)))
    with pytest.raises(AudioError, match=r"s[12]_sad\.(wav|flac)"):
        run_recipe(tiny_args(corpus, tmp_path / "out", on_error="raise"))


def test_bad_test_audio_stops_before_training(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(str(corpus))
    samples = np.full(6400, 0.1)
    samples[-1] = np.nan
    soundfile.write(
        str(corpus / "wavs" / "s4_sad.wav"), samples, 16000, subtype="FLOAT"
    )
    with pytest.raises(ManifestError, match="s4_sad.wav: sample 6399 is NaN"):
        run_recipe(tiny_args(corpus, tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / "train_log.txt")


def test_invalid_json_stops_before_training(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(str(corpus))
    path = corpus / "manifests" / "test.json"
    path.write_text(path.read_text()[:-5])
    with pytest.raises(ManifestError, match="test.json, line .*not valid JSON"):
        run_recipe(tiny_args(corpus, tmp_path / "out"))


def test_one_class_corpus_refused_before_training(tmp_path):
    """Issue 22, item 4: a one-class corpus with --n_classes=1 (the fix the
    class-count check suggests) trained and reported UA = WA = F1 = 1.0;
    it now stops before training."""
    corpus = tmp_path / "corpus"
    manifests = make_corpus(str(corpus))
    for entries in manifests.values():
        for entry in entries.values():
            entry["emotion"] = "neutral"
    write_manifests(str(corpus), manifests)
    with pytest.raises(ManifestError, match="a classifier needs at least 2"):
        run_recipe(
            tiny_args(corpus, tmp_path / "out", number_of_epochs=1, n_classes=1)
        )
    assert not (tmp_path / "out" / "results.json").exists()
