"""Fixtures shared by the bad-input tests."""

import pytest


@pytest.fixture(scope="session")
def speech_text_model():
    """A tiny speech + text inference folder without ASR (``asr_source``
    null), made once (a few seconds) and only read by the tests."""
    from speechbrain_ser.tiny_models import tiny_speech_text_folder

    return tiny_speech_text_folder()
