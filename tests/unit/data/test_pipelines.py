import json

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.data.audio import AudioError, read_audio
from speechbrain_ser.data.emotion import (
    check_manifest,
    denormalize_avd,
    normalize_avd,
)


def write_manifest(path, entries):
    path.write_text(json.dumps(entries))
    return str(path)


def good_entry(**changes):
    entry = {
        "wav": "x.wav",
        "duration": 1.0,
        "speaker": "s",
        "emotion": "happy",
        "activation": 3.0,
        "valence": 4.0,
        "dominance": 2.0,
    }
    entry.update(changes)
    return entry


def test_check_manifest_accepts_good_entries(tmp_path):
    path = write_manifest(tmp_path / "m.json", {"u1": good_entry()})
    check_manifest(path, "both", (1, 5), {"happy"})


@pytest.mark.parametrize(
    "entry, task, message",
    [
        (
            good_entry(valence=float("nan")),
            "regression",
            "'u1'.*valence target is nan",
        ),
        (
            good_entry(valence=7.0),
            "regression",
            "valence=7.0 is outside avd_range",
        ),
        (
            {"wav": "x.wav", "speaker": "s"},
            "regression",
            "no 'activation' target",
        ),
        (
            {"wav": "x.wav", "speaker": "s"},
            "classification",
            "no 'emotion' label",
        ),
        (
            good_entry(emotion="bored"),
            "classification",
            "unknown emotion label 'bored'",
        ),
    ],
)
def test_check_manifest_errors_name_the_utterance(
    tmp_path, entry, task, message
):
    path = write_manifest(tmp_path / "m.json", {"u1": entry})
    with pytest.raises(ValueError, match=message) as error:
        check_manifest(path, task, (1, 5), {"happy", "sad"})
    assert "m.json" in str(error.value)


def test_check_manifest_empty_and_bad_task(tmp_path):
    path = write_manifest(tmp_path / "m.json", {})
    with pytest.raises(ValueError, match="no utterances"):
        check_manifest(path, "classification")
    with pytest.raises(ValueError, match="task must be"):
        check_manifest(path, "ranking")


def test_avd_normalisation_round_trip():
    values = torch.tensor([1.0, 2.5, 7.0])
    normalized = normalize_avd(values, (1, 7))
    assert normalized.tolist() == pytest.approx([-1.0, -0.5, 1.0])
    torch.testing.assert_close(denormalize_avd(normalized, (1, 7)), values)


def test_read_audio_resamples_and_mixes(tmp_path):
    path = str(tmp_path / "stereo.flac")
    left = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100) * 0.5
    soundfile.write(path, np.stack([left, -left * 0 + left], axis=1), 44100)
    wav = read_audio(path, 16000)
    assert wav.shape == (16000,)
    # a 440 Hz tone survives resampling: peak of the spectrum at 440 Hz
    spectrum = torch.fft.rfft(wav).abs()
    assert int(spectrum.argmax()) == 440


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not readable as audio"),
        (b"RIFF0000WAVEjunk", "not readable as audio"),
    ],
)
def test_read_audio_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=f"bad.wav: {message}"):
        read_audio(str(path))


def test_read_audio_empty_and_missing(tmp_path):
    path = str(tmp_path / "empty.wav")
    soundfile.write(path, np.zeros(0), 16000)
    with pytest.raises(AudioError, match="empty.wav: 0 samples"):
        read_audio(path)
    with pytest.raises(AudioError, match="nothing.wav: no such audio file"):
        read_audio(str(tmp_path / "nothing.wav"))


def test_transcript_pipeline_in_a_dataset(tmp_path):
    import speechbrain as sb

    from speechbrain_ser.brains.sa2sr import transcript_pipeline
    from speechbrain_ser.text.characters import CHARACTERS, character_encoder

    encoder = character_encoder()
    path = write_manifest(
        tmp_path / "m.json",
        {
            "a": good_entry(transcript="It's FINE, really."),
            "b": good_entry(transcript="No."),
        },
    )
    dataset = sb.dataio.dataset.DynamicItemDataset.from_json(path)
    dataset.add_dynamic_item(transcript_pipeline(encoder))
    dataset.set_output_keys(["id", "characters", "tokens"])
    batch = sb.dataio.batch.PaddedBatch([dataset[0], dataset[1]])
    assert batch.characters == ["it's fine really", "no"]
    tokens, lengths = batch.tokens
    assert tokens.shape == (2, 16)
    decoded = "".join(encoder.decode_ndim(tokens[0].tolist()))
    assert decoded == "it's fine really"
    assert lengths[1].item() == pytest.approx(2 / 16)
    assert len(CHARACTERS) + 1 == len(encoder) == 29


def test_balanced_sampling_draws_classes_evenly(tmp_path, tone):
    from speechbrain.dataio.sampler import BalancingDataSampler

    from speechbrain_ser.data.emotion import emotion_dataio_prep

    entries = {}
    for i in range(12):  # 10 happy, 2 sad
        path = tone(tmp_path / f"u{i}.wav", seconds=0.2)
        entries[f"u{i}"] = good_entry(
            wav=str(path), emotion="happy" if i < 10 else "sad"
        )
    for split in ("train", "valid", "test"):
        write_manifest(tmp_path / f"{split}.json", entries)
    hparams = {
        "task": "classification",
        "data_folder": str(tmp_path),
        "sample_rate": 16000,
        "label_encoder_file": str(tmp_path / "labels.txt"),
        "balanced_sampling": True,
        "seed": 3,
        "train_dataloader_options": {"batch_size": 4, "shuffle": True},
        **{
            f"{s}_manifest": str(tmp_path / f"{s}.json")
            for s in ("train", "valid", "test")
        },
    }
    datasets, extras = emotion_dataio_prep(hparams)
    sampler = hparams["train_dataloader_options"]["sampler"]
    assert isinstance(sampler, BalancingDataSampler)
    assert hparams["train_dataloader_options"]["shuffle"] is False
    drawn = []
    for epoch in range(20):
        sampler.set_epoch(epoch)
        drawn += [datasets["train"][i]["emotion"] for i in iter(sampler)]
    share_sad = drawn.count("sad") / len(drawn)
    assert 0.35 < share_sad < 0.65  # 2 of 12 without balancing


def test_unlabelled_datasets_crop_training_audio_only(tmp_path, tone):
    from speechbrain_ser.brains.cpc import unlabelled_dataio_prep

    entries = {
        f"u{i}": {"wav": str(tone(tmp_path / f"u{i}.wav", seconds=seconds))}
        for i, seconds in enumerate((0.2, 0.5, 1.0))
    }  # no labels: pre-training audio
    hparams = {
        "data_folder": str(tmp_path),
        "sample_rate": 16000,
        "crop_seconds": 0.3,
        "train_dataloader_options": {"batch_size": 2},
    }
    for split in ("train", "valid", "test"):
        hparams[f"{split}_manifest"] = write_manifest(
            tmp_path / f"{split}.json", entries
        )
    datasets, extras = unlabelled_dataio_prep(hparams)
    assert extras == {}
    train = {item["id"]: len(item["sig"]) for item in datasets["train"]}
    assert train == {"u0": 3200, "u1": 4800, "u2": 4800}
    valid = {item["id"]: len(item["sig"]) for item in datasets["valid"]}
    assert valid == {"u0": 3200, "u1": 8000, "u2": 16000}
    entries["u1"] = {"speaker": "s"}
    write_manifest(tmp_path / "train.json", entries)
    with pytest.raises(ValueError, match="'u1'.*no 'wav'"):
        unlabelled_dataio_prep(hparams)
