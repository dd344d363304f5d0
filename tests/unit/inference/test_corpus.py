"""Corpus-scale prediction: inputs, batching, resume, segments, CLI."""

import json
import os

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.cli import main
from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.inference.corpus import expand_inputs, predict_corpus
from speechbrain_ser.inference.segments import predict_segments, segment_bounds
from speechbrain_ser.tiny_models import tiny_model_folder


@pytest.fixture(scope="module")
def model_folder():
    torch.manual_seed(0)
    return tiny_model_folder()


@pytest.fixture(scope="module")
def recognizer(model_folder, tmp_path_factory):
    torch.manual_seed(0)
    return EmotionRecognizer.from_hparams(
        source=model_folder, savedir=str(tmp_path_factory.mktemp("link"))
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Seven clips of 0.3-2.1 s (two sample rates, one stereo) in nested
    folders, and a manifest naming three of them."""
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(7):
        folder = root / "corpus" / f"spk{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        rate = 16000 if i % 3 else 22050
        time = np.arange(int(rate * (0.3 + 0.3 * i))) / rate
        # a different tone per clip, so that a mix-up changes predictions
        wav = 0.3 * np.sin(2 * np.pi * 150 * (i + 1) * time)
        wav = wav + 0.02 * rng.standard_normal(len(time))
        if i == 4:
            wav = np.stack([wav, wav], axis=1)
        path = folder / f"utt{i}.{'flac' if i % 2 else 'wav'}"
        soundfile.write(path, wav, rate)
        paths.append(str(path))
    (root / "corpus" / "notes.txt").write_text("not audio")
    manifests = root / "corpus" / "manifests"
    manifests.mkdir()
    entries = {
        f"u{i}": {
            "wav": "{data_root}/" + os.path.relpath(paths[i], root / "corpus")
        }
        for i in (0, 3, 5)
    }
    (manifests / "test.json").write_text(json.dumps(entries))
    return root, paths


def read_lines(path):
    with open(path) as fin:
        return [json.loads(line) for line in fin]


def test_inputs_from_folders_globs_and_manifests(clips):
    root, paths = clips
    assert sorted(expand_inputs([str(root / "corpus")])) == sorted(paths)
    assert sorted(expand_inputs([str(root / "**" / "*.flac")])) == sorted(
        p for p in paths if p.endswith(".flac")
    )
    from_manifest = expand_inputs([str(root / "corpus/manifests/test.json")])
    assert [os.path.realpath(p) for p in from_manifest] == [
        os.path.realpath(paths[i]) for i in (0, 3, 5)
    ]
    # the same file named twice is predicted once
    assert expand_inputs([paths[0], paths[0]]) == [paths[0]]


def test_batched_equals_one_by_one_without_padding(recognizer, tmp_path):
    rate, rng = 16000, np.random.default_rng(3)
    paths = []
    for i in range(5):  # same length: no padding in the batch
        time = np.arange(rate) / rate
        wav = 0.3 * np.sin(2 * np.pi * 200 * (i + 1) * time)
        paths.append(str(tmp_path / f"{i}.wav"))
        soundfile.write(paths[-1], wav + 0.01 * rng.standard_normal(rate), rate)
    out = tmp_path / "batched.jsonl"
    predict_corpus(recognizer, paths, str(out), progress=False)
    batched = {row["file"]: row for row in read_lines(out)}
    for path in paths:
        alone = recognizer.classify_file(path)
        for label, p in alone["probabilities"].items():
            assert batched[path]["probabilities"][label] == pytest.approx(
                p, abs=1e-5
            )
        assert batched[path]["valence"] == pytest.approx(
            alone["valence"], abs=1e-5
        )


def test_batched_with_padding_close_to_one_by_one(recognizer, clips, tmp_path):
    """In a padded batch a clip may keep one filterbank frame more than
    alone (SpeechBrain's relative lengths are rounded per module), which
    moves its statistics a little (the test above checks exact equality
    where no padding is involved)."""
    _, paths = clips
    out = tmp_path / "batched.jsonl"
    counts = predict_corpus(
        recognizer, paths, str(out), max_batch_seconds=6.0, progress=False
    )
    assert counts == {"predicted": 7, "errors": 0, "skipped": 0}
    batched = {row["file"]: row for row in read_lines(out)}
    alone = {path: recognizer.classify_file(path) for path in paths}
    for path in paths:
        assert batched[path]["emotion"] == alone[path]["emotion"]
        for name in ("activation", "valence", "dominance"):
            assert abs(batched[path][name] - alone[path][name]) < 0.1


def test_killed_run_resumes_without_repeats(recognizer, clips, tmp_path):
    _, paths = clips
    full = tmp_path / "full.jsonl"
    predict_corpus(recognizer, paths, str(full), max_batch_size=2)
    killed = tmp_path / "killed.jsonl"
    original = recognizer.predict_batch
    calls = []

    def dies_on_third_batch(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(*args)

    recognizer.predict_batch = dies_on_third_batch
    try:
        with pytest.raises(KeyboardInterrupt):
            predict_corpus(recognizer, paths, str(killed), max_batch_size=2)
    finally:
        del recognizer.predict_batch
    with open(killed, "a") as fout:
        fout.write('{"file": "half a li')  # the kill cut a line short
    first = {row["file"] for row in read_lines_tolerant(killed)}
    assert 0 < len(first) < len(paths)
    counts = predict_corpus(
        recognizer, paths, str(killed), max_batch_size=2, progress=False
    )
    assert counts["skipped"] == len(first)
    rows = read_lines(killed)
    assert sorted(row["file"] for row in rows) == sorted(paths)
    expected = {row["file"]: row for row in read_lines(full)}
    for row in rows:
        assert row["emotion"] == expected[row["file"]]["emotion"]


def read_lines_tolerant(path):
    with open(path) as fin:
        lines = fin.read().split("\n")
    return [json.loads(line) for line in lines[:-1]]


def test_bad_files_are_error_lines(recognizer, clips, tmp_path):
    _, paths = clips
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0), 16000)
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC not really")
    out = tmp_path / "out.csv"
    counts = predict_corpus(
        recognizer,
        [paths[1], str(empty), str(broken), "missing.wav"],
        str(out),
        progress=False,
    )
    assert counts == {"predicted": 1, "errors": 3, "skipped": 0}
    import csv

    with open(out) as fin:
        rows = list(csv.DictReader(fin))
    errors = {row["file"]: row["error"] for row in rows if row["error"]}
    assert "0 samples" in errors[str(empty)]
    assert "not readable" in errors[str(broken)]
    assert "no such audio file" in errors["missing.wav"]


def test_segment_boundaries():
    assert segment_bounds(6.0, 2.0, 2.0) == [(0, 2), (2, 4), (4, 6)]
    # the last segment is the first to reach the end, cut there
    assert segment_bounds(6.5, 2.0, 2.0)[-1] == (6.0, 6.5)
    assert segment_bounds(5.0, 3.0, 1.0) == [(0, 3), (1, 4), (2, 5)]
    # shorter than one segment: one segment, the whole recording
    assert segment_bounds(0.7, 2.0, 1.0) == [(0.0, 0.7)]
    with pytest.raises(ValueError):
        segment_bounds(1.0, 1.0, 0.0)


def test_segments_match_their_audio(recognizer, tmp_path):
    rate = 16000
    time = np.arange(rate * 2) / rate
    low = 0.3 * np.sin(2 * np.pi * 180 * time)
    high = 0.1 * np.sin(2 * np.pi * 900 * time)
    silence = np.zeros(rate)
    path = tmp_path / "long.wav"
    soundfile.write(
        path, np.concatenate([low, high, silence, low[:8000]]), rate
    )
    rows = predict_segments(recognizer, str(path), 2.0, 2.0)
    assert [(r["start"], r["end"]) for r in rows] == [
        (0.0, 2.0),
        (2.0, 4.0),
        (4.0, 5.5),
    ]
    second = tmp_path / "second.wav"
    soundfile.write(second, high, rate)
    alone = recognizer.classify_file(str(second))
    assert rows[1]["speech"] and alone["speech"]
    assert rows[1]["probabilities"]["sad"] == pytest.approx(
        alone["probabilities"]["sad"], abs=1e-4
    )


def test_no_speech_is_said_not_guessed(recognizer, tmp_path):
    rate = 16000
    rng = np.random.default_rng(2)
    noise = tmp_path / "noise.wav"
    soundfile.write(noise, rng.standard_normal(rate) * 0.3, rate)
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(rate), rate)
    out = tmp_path / "out.jsonl"
    predict_corpus(recognizer, [str(noise), str(silent)], str(out))
    rows = read_lines(out)
    assert [row["speech"] for row in rows] == [False, False]
    assert not any("emotion" in row for row in rows)
    timeline = predict_segments(recognizer, str(silent), 0.5, 0.5)
    assert [row["speech"] for row in timeline] == [False, False]


def test_decoding_workers_give_the_same_lines(recognizer, clips, tmp_path):
    """Reading, the speech check and padding run in the workers: same
    predictions, no-speech answers and error lines as in one process."""
    _, paths = clips
    rate = 16000
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(rate), rate)
    nan = tmp_path / "nan.wav"  # a good header: fails only when read
    soundfile.write(nan, np.full(rate, np.nan), rate, subtype="FLOAT")
    inputs = paths + [str(silent), str(nan)]
    lines = {}
    for workers in (0, 2):
        out = tmp_path / f"workers{workers}.jsonl"
        counts = predict_corpus(
            recognizer,
            inputs,
            str(out),
            max_batch_size=3,
            num_workers=workers,
            progress=False,
        )
        assert counts == {"predicted": 8, "errors": 1, "skipped": 0}
        lines[workers] = {row["file"]: row for row in read_lines(out)}
    assert lines[2] == lines[0]
    assert lines[0][str(silent)]["speech"] is False
    assert "NaN" in lines[0][str(nan)]["error"]


def test_cli_writes_lines_segments_and_plot(model_folder, clips, tmp_path):
    _, paths = clips
    out = tmp_path / "cli.jsonl"
    code = main(
        ["predict", "--model", model_folder, "--output", str(out)]
        + ["--no-progress", paths[2], "missing.wav"]
    )
    assert code == 1  # one file failed, the other was predicted
    rows = read_lines(out)
    assert [sorted(row) for row in rows if "error" in row] == [
        ["error", "file"]
    ]
    assert len(rows) == 2
    plot = tmp_path / "timeline.png"
    seg_out = tmp_path / "segments.jsonl"
    code = main(
        ["predict", "--model", model_folder, "--segment", "0.5"]
        + ["--hop", "0.25", "--plot", str(plot), "--output", str(seg_out)]
        + [paths[6]]
    )
    assert code == 0
    segments = read_lines(seg_out)
    assert segments[0]["start"] == 0.0
    assert segments[-1]["end"] == pytest.approx(2.1, abs=1e-3)
    assert plot.stat().st_size > 0
