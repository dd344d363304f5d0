"""Audio reading with clear errors: any sample rate and channel count in,
mono float32 at the requested rate out.

Authors
 * speechbrain-ser developers 2026
"""

import os

import soundfile
import torch
import torchaudio


class AudioError(ValueError):
    """An audio file that cannot be used; the message names the file.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> with open(path, "wb") as fout:
    ...     _ = fout.write(b"not audio")
    >>> try:
    ...     audio_info(path)
    ... except AudioError as error:
    ...     print(str(error).startswith(path))
    True
    """


def audio_info(path):
    """Duration (s), sample rate and channel count of an audio file.

    Arguments
    ---------
    path : str
        Audio file.

    Returns
    -------
    tuple
        (duration in seconds, sample rate, channels).

    Raises
    ------
    AudioError
        If the file is missing, unreadable or holds no samples.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.zeros((8000, 2)), 8000)
    >>> audio_info(path)
    (1.0, 8000, 2)
    """
    if os.path.isdir(path):
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not os.path.isfile(path):
        raise AudioError(f"{path}: no such audio file")
    try:
        info = soundfile.info(path)
    except (RuntimeError, soundfile.SoundFileError) as error:
        raise AudioError(f"{path}: not readable as audio ({error})") from error
    if info.frames <= 0:
        raise AudioError(f"{path}: 0 samples; the file is empty")
    return info.frames / info.samplerate, info.samplerate, info.channels


def read_audio(path, sample_rate=16000, start=None, stop=None):
    """Reads an audio file as a mono waveform at ``sample_rate``.

    Channels are averaged and the signal is resampled when its rate
    differs.

    Arguments
    ---------
    path : str
        Audio file (any format libsndfile reads: WAV, FLAC, OGG...).
    sample_rate : int
        Target sample rate.
    start : int, optional
        First sample to read, at the file's own rate.
    stop : int, optional
        Sample to stop before, at the file's own rate.

    Returns
    -------
    torch.Tensor
        (samples,) float32 waveform.

    Raises
    ------
    AudioError
        For a missing, unreadable, empty or non-finite file.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> path = tempfile.mktemp(suffix=".flac")
    >>> soundfile.write(path, np.random.uniform(-0.5, 0.5, (44100, 2)), 44100)
    >>> read_audio(path, sample_rate=16000).shape
    torch.Size([16000])
    """
    if not os.path.isfile(path):
        raise AudioError(f"{path}: no such audio file")
    try:
        data, file_rate = soundfile.read(
            path, start=start or 0, stop=stop, dtype="float32", always_2d=True
        )
    except (RuntimeError, soundfile.SoundFileError) as error:
        raise AudioError(f"{path}: not readable as audio ({error})") from error
    if data.shape[0] == 0:
        raise AudioError(f"{path}: 0 samples; the file is empty")
    wav = torch.from_numpy(data).mean(dim=1)
    if not torch.isfinite(wav).all():
        raise AudioError(f"{path}: holds NaN or infinite samples")
    if file_rate != sample_rate:
        wav = torchaudio.functional.resample(wav, file_rate, sample_rate)
    return wav
