"""An audio file read once in chunks gives the samples that separate reads
with start and stop give, at any rate and channel count."""

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.data.audio import AudioError, AudioFile, read_audio


@pytest.mark.parametrize("rate, channels", [(16000, 1), (44100, 2)])
def test_chunks_equal_separate_reads(tmp_path, rate, channels):
    path = str(tmp_path / "clip.flac")
    rng = np.random.default_rng(0)
    soundfile.write(
        path, rng.uniform(-0.5, 0.5, (rate * 5 // 2, channels)), rate
    )
    with AudioFile(path) as audio:
        assert (audio.duration, audio.sample_rate) == (2.5, rate)
        chunks = list(audio.chunks(16000, seconds=1.0))
    assert [len(c) for c in chunks] == [16000, 16000, 8000]
    for index, chunk in enumerate(chunks):
        alone = read_audio(path, 16000, index * rate, (index + 1) * rate)
        assert torch.equal(chunk, alone)


def test_non_finite_samples_are_refused(tmp_path):
    path = str(tmp_path / "nan.wav")
    data = np.zeros(1600, dtype=np.float32)
    data[100] = np.nan
    soundfile.write(path, data, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: holds NaN"):
        read_audio(path)
    with pytest.raises(AudioError, match="is a folder"):
        AudioFile(str(tmp_path))
