"""Transcript tokens and class downsampling of the speech + text recipe."""

import collections

import pytest

from speechbrain_ser.data.emotion import downsample_classes


def test_downsampling_keeps_the_smallest_class_whole():
    entries = {f"n{i}": {"emotion": "neutral"} for i in range(10)}
    entries.update({f"h{i}": {"emotion": "happy"} for i in range(6)})
    entries.update({f"s{i}": {"emotion": "sad"} for i in range(3)})
    kept = downsample_classes(entries, seed=1)
    counts = collections.Counter(entries[uid]["emotion"] for uid in kept)
    assert counts == {"neutral": 3, "happy": 3, "sad": 3}
    assert {"s0", "s1", "s2"} <= kept
    assert kept == downsample_classes(entries, seed=1)  # reproducible
    capped = downsample_classes(entries, max_per_class=5)
    counts = collections.Counter(entries[uid]["emotion"] for uid in capped)
    assert counts == {"neutral": 5, "happy": 5, "sad": 3}


def test_downsampling_draws_differ_by_seed():
    """The ensemble's models (seed + k) see different majority utterances."""
    entries = {f"n{i}": {"emotion": "neu"} for i in range(20)}
    entries.update({f"s{i}": {"emotion": "sad"} for i in range(5)})
    draws = [downsample_classes(entries, seed=3 + k) for k in range(4)]
    neutral = {frozenset(u for u in kept if u[0] == "n") for kept in draws}
    assert len(neutral) == 4
    with pytest.raises(ValueError, match="'x' has no 'emotion'"):
        downsample_classes({"x": {}})


def test_missing_transcript_is_named(tmp_path):
    import json

    from speechbrain_ser.brains.speech_text import speech_text_dataio_prep

    manifest = tmp_path / "m.json"
    manifest.write_text(
        json.dumps({"u1": {"wav": "x.wav", "emotion": "sad", "duration": 1.0}})
    )
    hparams = {
        f"{split}_manifest": str(manifest)
        for split in ("train", "valid", "test")
    }
    hparams.update(
        data_folder=str(tmp_path),
        sample_rate=16000,
        task="classification",
        label_encoder_file=str(tmp_path / "enc.txt"),
        modalities="both",
        train_dataloader_options={},
    )
    with pytest.raises(ValueError, match="u1.*no 'transcript'"):
        speech_text_dataio_prep(hparams)
