"""Shared fixtures: tiny audio files written with the real formats."""

import socket

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


# An offline Hugging Face Hub cache: the fixture points the Hub's cache at
# an empty temp folder, sets HF_HUB_OFFLINE and disables every network
# connection, so that loading by Hub id can only come from what the test put
# in the cache (speechbrain_ser.tiny_models.save_to_hub_cache).


class NetworkUsed(AssertionError):
    """Raised when anything tries to open a connection."""


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty Hub cache, HF_HUB_OFFLINE and no network at all."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    def no_network(*args, **kwargs):
        raise NetworkUsed("network access while offline")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    return str(cache)
