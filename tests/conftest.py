"""Shared fixtures: tiny audio files written with the real formats."""

import numpy as np
import pytest
import soundfile


def write_tone(path, seconds=0.5, sample_rate=16000, channels=1, freq=220.0):
    """Writes a short sine tone (plus a little noise) as a real audio file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    wave += 0.01 * np.random.default_rng(0).standard_normal(len(t))
    if channels > 1:
        wave = np.stack([wave] * channels, axis=1)
    soundfile.write(str(path), wave, sample_rate)
    return path


@pytest.fixture
def tone():
    """The :func:`write_tone` helper."""
    return write_tone
