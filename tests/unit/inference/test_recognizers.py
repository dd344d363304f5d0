import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.data.audio import AudioError, read_audio
from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.tiny_models import tiny_model_folder


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    torch.manual_seed(0)  # the same tiny random model every run
    return EmotionRecognizer.from_hparams(
        source=tiny_model_folder(), savedir=str(tmp_path_factory.mktemp("link"))
    )


@pytest.fixture
def speech_like(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    wave = 0.3 * np.sin(2 * np.pi * 180 * t * (1 + 0.1 * np.sin(3 * t)))
    wave += 0.05 * rng.standard_normal(len(t))
    path = tmp_path / "mono.wav"
    soundfile.write(path, wave, 16000)
    return path, wave


@pytest.fixture
def encoded_lengths(recognizer, monkeypatch):
    """The samples of every ``encode_batch`` call, in order."""
    lengths = []
    encode = recognizer.encode_batch

    def spy(wavs, wav_lens=None):
        lengths.append(wavs.shape[1])
        return encode(wavs, wav_lens)

    monkeypatch.setattr(recognizer, "encode_batch", spy)
    return lengths


def test_one_chunk_equals_whole_batch(recognizer, speech_like):
    path, _ = speech_like
    recognizer.chunk_seconds = 100
    result = recognizer.classify_file(str(path))
    whole = recognizer.predict_batch(read_audio(str(path)).unsqueeze(0))
    assert result["probabilities"] == pytest.approx(
        dict(zip(recognizer.labels, whole["probabilities"][0].tolist())),
        abs=1e-5,
    )
    assert result["valence"] == pytest.approx(
        whole["avd"][0, 1].item(), abs=1e-5
    )
    assert (
        result["emotion"]
        == recognizer.labels[int(whole["probabilities"].argmax())]
    )


def test_long_audio_is_chunked(recognizer, speech_like, encoded_lengths):
    path, _ = speech_like
    recognizer.chunk_seconds = 1.0
    seen = encoded_lengths
    result = recognizer.classify_file(str(path))
    assert seen == [16000, 16000, 16000]  # never more than a chunk at once
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert all(
        np.isfinite(result[k]) for k in ("activation", "valence", "dominance")
    )


def test_channels_and_rate_are_handled(recognizer, speech_like, tmp_path):
    path, wave = speech_like
    recognizer.chunk_seconds = 100
    stereo = tmp_path / "stereo.flac"
    soundfile.write(stereo, np.stack([wave, wave], axis=1), 16000)
    mono_result = recognizer.classify_file(str(path))
    stereo_result = recognizer.classify_file(str(stereo))
    assert stereo_result["probabilities"] == pytest.approx(
        mono_result["probabilities"], abs=1e-4
    )
    resampled = tmp_path / "44k.wav"
    import torchaudio

    up = torchaudio.functional.resample(
        torch.tensor(wave, dtype=torch.float32), 16000, 44100
    )
    soundfile.write(resampled, up.numpy(), 44100)
    # 16 kHz -> 44.1 kHz -> (read_audio) 16 kHz gives back the waveform up
    # to the resampling filters' edge effects: the same predictions.
    resampled_result = recognizer.classify_file(str(resampled))

    def close(result, reference):
        probabilities = result["probabilities"] == pytest.approx(
            reference["probabilities"], abs=5e-3
        )
        avd = [
            result[key] == pytest.approx(reference[key], abs=0.02)
            for key in ("activation", "valence", "dominance")
        ]
        return probabilities and all(avd)

    assert resampled_result["emotion"] == mono_result["emotion"]
    assert close(resampled_result, mono_result)
    # The tolerance is tight enough to catch a rate that is not handled:
    # the same samples declared as 16 kHz give other predictions.
    wrong_rate = tmp_path / "44k_as_16k.wav"
    soundfile.write(wrong_rate, up.numpy(), 16000)
    assert not close(recognizer.classify_file(str(wrong_rate)), mono_result)


def test_bad_audio_names_the_file(recognizer, tmp_path):
    empty = tmp_path / "silence.wav"
    soundfile.write(empty, np.zeros(0), 16000)
    with pytest.raises(AudioError, match="silence.wav: 0 samples"):
        recognizer.classify_file(str(empty))


def test_no_speech_is_never_encoded(recognizer, tmp_path, encoded_lengths):
    # a silent file of one chunk is not encoded, and the reason counts all
    # of its audio; a long file whose speech comes late is encoded whole
    calls = encoded_lengths
    recognizer.chunk_seconds = 5.0
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(40000), 16000)
    result = recognizer.classify_file(str(silent))
    assert not result["speech"] and calls == []
    assert "0.00 s of speech-like audio in 2.50 s" in result["reason"]
    t = np.arange(40000) / 16000
    late = np.where(t > 2.2, np.sin(2 * np.pi * 150 * t), 0.0)
    voiced_end = tmp_path / "voiced_end.wav"
    soundfile.write(voiced_end, late, 16000)
    recognizer.chunk_seconds = 1.0
    assert recognizer.classify_file(str(voiced_end))["speech"]
    assert calls == [16000, 16000, 8000]  # the last chunk made it speech
