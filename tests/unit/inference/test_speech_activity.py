"""The speech detector may stop counting once there is enough speech:
the decision is the same, and silence is counted in full."""

import torch

from speechbrain_ser.inference.speech_activity import SpeechDetector


def test_stopping_early_keeps_the_decision():
    detector = SpeechDetector(16000, min_speech_seconds=0.1)
    t = torch.arange(5 * 16000) / 16000
    vowel = sum(torch.sin(2 * torch.pi * f * t) / f for f in (150, 300, 450))
    # 2 s of silence, then 3 s of a vowel
    wav = torch.cat([torch.zeros(2 * 16000), vowel[: 3 * 16000]])
    full = detector.speech_seconds(wav)
    assert full == 3.0  # 120 frames of 25 ms
    early = detector.speech_seconds(wav, stop_at=0.1)
    # counted block by block (1 s): the third block is the first voiced
    assert early == 1.0
    assert detector.is_speech(wav)
    noise = torch.randn(5 * 16000, generator=torch.Generator().manual_seed(0))
    assert detector.speech_seconds(noise * 0.1, stop_at=0.1) == (
        detector.speech_seconds(noise * 0.1)
    )
    assert not detector.is_speech(noise * 0.1)
