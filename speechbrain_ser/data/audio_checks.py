"""Audio checks before training: header reads, full decoding, a cache.

:func:`decode_audio` decodes a file block by block (truncation, NaN or
infinite samples); :class:`AudioCheckCache` keeps each file's result in a
JSON file keyed on its path, size and modification time, so a second run
does not decode the corpus again. Used by
:mod:`speechbrain_ser.data.validation`.

Authors
 * speechbrain-ser developers 2026
"""

import json
import math
import os
import struct

import soundfile
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import AudioError, audio_info

logger = get_logger(__name__)

DECODE_BLOCK = 1 << 18  # samples decoded at a time (bounded memory)
FIELDS = ("duration", "error", "decoded", "truncated")
# WAV data sizes that streaming writers leave in the header (unknown size)
UNKNOWN_WAV_SIZES = (0, 0xFFFFFFFF)
# (seconds, fraction): a file's real length may differ from the manifest's
# duration by the larger of the two (rounding, resampled copies).
DURATION_TOLERANCE = (0.05, 0.02)


class AudioCheckCache:
    """Audio check results kept in a JSON file between runs.

    An entry is reused while the file's size and modification time are
    unchanged.

    Arguments
    ---------
    path : str, optional
        The cache file; None keeps results in memory only.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> wav = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(wav, np.zeros(1600), 16000)
    >>> cache = AudioCheckCache(tempfile.mktemp(suffix=".json"))
    >>> cache.check(wav, decode=True)
    (0.1, None)
    >>> cache.save()
    >>> AudioCheckCache(cache.path).lookup(wav, decode=True)
    {'duration': 0.1, 'error': None, 'decoded': True, 'truncated': None}
    """

    def __init__(self, path=None):
        self.path = path
        self.results = {}
        self.hits = 0
        if path and os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as fin:
                    self.results = json.load(fin)
            except (OSError, ValueError):
                logger.warning(f"{path}: unreadable audio check cache; redone")

    @staticmethod
    def _stamp(path):
        stat = os.stat(path)
        return [stat.st_size, stat.st_mtime_ns]

    def lookup(self, path, decode):
        """The cached result of a check at least as deep, or None."""
        key = os.path.abspath(path)
        cached = self.results.get(key)
        if cached is None or not os.path.isfile(path):
            return None
        if cached["stamp"] != self._stamp(path):
            return None
        if decode and not cached["decoded"] and cached["error"] is None:
            return None
        if "truncated" not in cached:  # written before the WAV header check
            return None
        return {k: cached[k] for k in FIELDS}

    def check(self, path, decode):
        """(duration in s or None, error message or None) of one file.

        Arguments
        ---------
        path : str
            Audio file.
        decode : bool
            Decode every sample (truncation, NaN); else read the header.

        Returns
        -------
        tuple
        """
        result = self.check_file(path, decode)
        return result["duration"], result["error"]

    def check_file(self, path, decode):
        """The full result of one file's check.

        Arguments
        ---------
        path : str
            Audio file.
        decode : bool
            Decode every sample (truncation, NaN); else read the header.

        Returns
        -------
        dict
            ``duration`` (s, from the header; None if unreadable),
            ``error`` (None if usable), ``decoded``, and ``truncated``:
            :func:`wav_truncation`'s message for a WAV whose header claims
            more audio than the file holds (the file stays usable: its
            remaining samples read fine).
        """
        cached = self.lookup(path, decode)
        if cached is not None:
            self.hits += 1
            return cached
        duration, error, truncated = None, None, None
        try:
            duration = round(audio_info(path)[0], 4)
            truncated = wav_truncation(path)
            if decode:
                decode_audio(path)
        except AudioError as problem:
            error = str(problem)
        result = {
            "duration": duration,
            "error": error,
            "decoded": decode,
            "truncated": truncated,
        }
        if os.path.isfile(path):
            self.results[os.path.abspath(path)] = {
                "stamp": self._stamp(path),
                **result,
            }
        return result

    def save(self):
        """Writes the cache file (atomically); silently skipped if the
        folder is not writable."""
        if not self.path:
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fout:
                json.dump(self.results, fout, allow_nan=False)
            os.replace(tmp, self.path)
        except OSError as error:
            logger.info(f"audio check cache not written ({error})")


def decode_audio(path):
    """Decodes every sample of an audio file, block by block.

    Arguments
    ---------
    path : str
        Audio file.

    Returns
    -------
    int
        The number of samples per channel.

    Raises
    ------
    AudioError
        If decoding fails (e.g. a truncated FLAC), gives fewer samples
        than the header says, or finds NaN or infinite samples.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.array([0.0, np.nan]), 16000, subtype="FLOAT")
    >>> decode_audio(path)
    Traceback (most recent call last):
    ...
    speechbrain_ser.data.audio.AudioError: ...wav: sample 1 is NaN or infinite
    """
    expected = soundfile.info(path).frames
    decoded = 0
    try:
        for block in soundfile.blocks(
            path, blocksize=DECODE_BLOCK, dtype="float32", always_2d=True
        ):
            bad = ~(block == block) | (abs(block) == float("inf"))
            if bad.any():
                first = decoded + int(bad.any(axis=1).argmax())
                raise AudioError(f"{path}: sample {first} is NaN or infinite")
            decoded += len(block)
    except (RuntimeError, soundfile.SoundFileError) as error:
        raise AudioError(
            f"{path}: cannot be decoded after sample {decoded} of "
            f"{expected} ({error}); the file is probably truncated"
        ) from None
    if decoded < expected:
        raise AudioError(
            f"{path}: the header says {expected} samples but only {decoded} "
            "could be decoded; the file is probably truncated"
        )
    return decoded


def wav_truncation(path):
    """A message when a WAV header claims more audio than the file holds.

    libsndfile reads such a file without complaint and reports the frames
    actually present, so a WAV cut short (e.g. by an interrupted copy)
    would silently be used at its shorter length; this reads the RIFF
    chunks itself. Other formats, RF64 and streaming WAVs (data size 0 or
    0xFFFFFFFF in the header) give None.

    Arguments
    ---------
    path : str
        Audio file.

    Returns
    -------
    str or None

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.zeros(16000), 16000)
    >>> wav_truncation(path) is None
    True
    >>> os.truncate(path, 44 + 2 * 4000)  # 16-bit samples after 44 bytes
    >>> print(wav_truncation(path).split(": ", 1)[1])
    the WAV header says 16000 samples (1.0 s) but the file holds only 4000 (0.25 s); the file is truncated
    """
    try:
        with open(path, "rb") as fin:
            size = os.fstat(fin.fileno()).st_size
            head = fin.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
                return None
            rate = block_align = None
            while True:
                chunk = fin.read(8)
                if len(chunk) < 8:
                    return None
                name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if name == b"fmt ":
                    fmt = fin.read(length)
                    if len(fmt) >= 14:
                        rate = struct.unpack("<I", fmt[4:8])[0]
                        block_align = struct.unpack("<H", fmt[12:14])[0]
                    fin.seek(length % 2, os.SEEK_CUR)
                elif name == b"data":
                    held = size - fin.tell()
                    if length in UNKNOWN_WAV_SIZES or held >= length:
                        return None
                    break
                else:
                    fin.seek(length + length % 2, os.SEEK_CUR)
    except OSError:
        return None
    if not rate or not block_align:
        return (
            f"{path}: the WAV header says {length} bytes of audio but the "
            f"file holds only {held}; the file is truncated"
        )
    claimed, frames = length // block_align, held // block_align
    return (
        f"{path}: the WAV header says {claimed} samples "
        f"({round(claimed / rate, 4)} s) but the file holds only {frames} "
        f"({round(frames / rate, 4)} s); the file is truncated"
    )


def duration_mismatch(wav, real, stated):
    """A message when a file's real length differs from the manifest's
    ``duration`` by more than :data:`DURATION_TOLERANCE` (None if not).

    Arguments
    ---------
    wav : str
        The audio path (for the message).
    real : float
        Seconds, from the file's header.
    stated : float or None
        The manifest's ``duration`` (None or not a number: no check).

    Returns
    -------
    str or None

    Example
    -------
    >>> print(duration_mismatch("a.wav", 0.6, 2.42))
    a.wav: lasts 0.6 s but the manifest says duration=2.42 s (more than 50 ms and 2% apart); the file is probably truncated, or the manifest is out of date
    >>> duration_mismatch("a.wav", 2.41, 2.42) is None
    True
    """
    if real is None or not isinstance(stated, (int, float)):
        return None
    if isinstance(stated, bool) or not math.isfinite(stated):
        return None
    absolute, relative = DURATION_TOLERANCE
    if abs(real - stated) <= max(absolute, relative * stated):
        return None
    return (
        f"{wav}: lasts {real} s but the manifest says duration={stated} s "
        f"(more than {absolute * 1000:.0f} ms and {relative:.0%} apart); the "
        "file is probably truncated, or the manifest is out of date"
    )
