"""A stand-in for the Whisper transcriber, for recognizer tests."""


class FakeTranscriber:
    """Transcribes every waveform as the same sentence and counts calls.

    Has the interface of
    ``speechbrain_ser.text.transcription.WhisperTranscriber``:
    ``transcribe_batch(wavs, lengths) -> list of str``.
    """

    text = "a happy dog"
    calls = 0

    def __init__(self, device="cpu"):
        self.device = device

    def transcribe_batch(self, wavs, lengths):
        FakeTranscriber.calls += 1
        return [self.text] * len(wavs)
