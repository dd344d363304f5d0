"""Is there speech at all? A detector for inputs a model cannot judge.

SpeechBrain's VAD needs trained weights; this one needs none. A 25 ms
frame counts as speech-like when it is loud enough (after removing any DC
offset) and its spectrum is far from flat: voiced speech has harmonics
and formants, while silence has no energy and white noise a flat
spectrum (spectral flatness near 0.56, Gray & Markel 1974). An input with
less than ``min_speech_seconds`` of speech-like frames has no speech.

Authors
 * speechbrain-ser developers 2026
"""

import numpy as np
import torch


class SpeechDetector:
    """Counts speech-like frames by energy and spectral flatness.

    Arguments
    ---------
    sample_rate : int
        Sample rate of the waveforms.
    frame_seconds : float
        Frame length.
    energy_floor_db : float
        Frames quieter than this (dB re full scale, RMS) are not speech.
    max_flatness : float
        Frames with a flatter spectrum (geometric / arithmetic mean of the
        power spectrum, 0 to 1) are noise-like, not speech.
    min_speech_seconds : float
        Speech-like audio needed to call an input speech.
    block_seconds : float
        Audio analysed at a time when counting may stop early.

    Example
    -------
    >>> detector = SpeechDetector(16000)
    >>> t = torch.arange(16000) / 16000
    >>> vowel = (
    ...     sum(
    ...         torch.sin(2 * 3.1416 * f * t) / k
    ...         for k, f in enumerate([150, 300, 450, 600], 1)
    ...     )
    ...     * 0.2
    ... )
    >>> detector.is_speech(vowel)
    True
    >>> (
    ...     detector.is_speech(torch.zeros(16000)),
    ...     detector.is_speech(torch.full((16000,), 0.3)),
    ... )
    (False, False)
    >>> detector.is_speech(
    ...     torch.randn(16000, generator=torch.Generator().manual_seed(0)) * 0.1
    ... )
    False
    """

    def __init__(
        self,
        sample_rate,
        frame_seconds=0.025,
        energy_floor_db=-50.0,
        max_flatness=0.3,
        min_speech_seconds=0.1,
        block_seconds=1.0,
    ):
        self.sample_rate = sample_rate
        self.frame = max(2, int(frame_seconds * sample_rate))
        self.window = torch.hann_window(self.frame, dtype=torch.float64).numpy()
        self.block_frames = max(1, int(block_seconds / frame_seconds))
        self.energy_floor_db = energy_floor_db
        self.max_flatness = max_flatness
        self.min_speech_seconds = min_speech_seconds

    def speech_seconds(self, wav, max_hz=None, stop_at=None):
        """Seconds of speech-like frames in a (samples,) waveform.

        Arguments
        ---------
        wav : torch.Tensor
            (samples,) at ``sample_rate``.
        max_hz : float, optional
            The highest frequency the recording has (half its original
            sample rate, if it was upsampled): flatness is measured below
            it, so band-limited noise still counts as flat.
        stop_at : float, optional
            Stop counting once this many seconds are found (the input is
            then read in blocks of ``block_seconds``): enough to say "this
            is speech" costs a fraction of a long input.

        Returns
        -------
        float
            Seconds found (at least ``stop_at`` if counting stopped early).

        Example
        -------
        >>> detector = SpeechDetector(16000)
        >>> t = torch.arange(48000) / 16000
        >>> vowel = sum(torch.sin(2 * 3.1416 * f * t) / f for f in [150, 300])
        >>> (
        ...     detector.speech_seconds(vowel),
        ...     detector.speech_seconds(vowel, stop_at=0.1),
        ... )
        (3.0, 1.0)
        """
        # numpy: on frames this small, torch's intra-op threads cost more
        # than they save (5x slower with 2 threads than with 1)
        samples = torch.as_tensor(wav).detach().cpu().numpy()
        n = len(samples) // self.frame
        frames = samples[: n * self.frame].reshape(n, self.frame)
        block = n if stop_at is None else self.block_frames
        voiced = 0
        for first in range(0, n, max(1, block)):
            voiced += self.voiced_frames(frames[first : first + block], max_hz)
            seconds = voiced * self.frame / self.sample_rate
            if stop_at is not None and seconds >= stop_at:
                break
        return voiced * self.frame / self.sample_rate

    def voiced_frames(self, frames, max_hz=None):
        """How many rows of (n, frame) samples are speech-like.

        Arguments
        ---------
        frames : numpy.ndarray or torch.Tensor
            (n, frame) samples.
        max_hz : float, optional
            See :meth:`speech_seconds`.

        Returns
        -------
        int
        """
        frames = np.asarray(frames, dtype=np.float64)
        frames = frames - frames.mean(axis=1, keepdims=True)  # DC offset
        rms = np.sqrt((frames**2).mean(axis=1))
        loud = 20 * np.log10(rms + 1e-12) > self.energy_floor_db
        power = np.abs(np.fft.rfft(frames * self.window)) ** 2 + 1e-20
        top = power.shape[1]
        if max_hz is not None:
            nyquist = self.sample_rate / 2
            top = max(2, int(top * min(1.0, 0.95 * max_hz / nyquist)))
        power = power[:, 1:top]
        flatness = np.exp(np.log(power).mean(axis=1)) / power.mean(axis=1)
        return int((loud & (flatness < self.max_flatness)).sum())

    def is_speech(self, wav):
        """True if ``wav`` holds at least ``min_speech_seconds`` of speech."""
        return self.has_speech(wav)[1]

    def has_speech(self, wav, file_rate=None):
        """Seconds of speech-like audio in ``wav`` and whether it is enough.

        Arguments
        ---------
        wav : torch.Tensor
            (samples,) at ``sample_rate``.
        file_rate : int, optional
            The file's own sample rate, if it was resampled (bounds the
            analysed band, see :meth:`speech_seconds`).

        Returns
        -------
        tuple
            (seconds, bool); counting stops once there is enough, so the
            seconds are all of them only when there is not.

        Example
        -------
        >>> detector = SpeechDetector(16000)
        >>> detector.has_speech(torch.zeros(16000))
        (0.0, False)
        """
        max_hz = None if file_rate is None else file_rate / 2
        seconds = self.speech_seconds(
            wav, max_hz=max_hz, stop_at=self.min_speech_seconds
        )
        return seconds, seconds >= self.min_speech_seconds
