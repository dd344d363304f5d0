"""Offline speech synthesis with the espeak-ng library that
``espeakng-loader`` ships, driven through ctypes.

The library keeps global state, so one :class:`EspeakSynthesizer` per
process is the rule; it is not thread safe. For reproducible corpora use
:func:`synthesize_in_fresh_process`.

Authors
 * speechbrain-ser developers 2026
"""

import ctypes
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4
_CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_short),
    ctypes.c_int,
    ctypes.c_void_p,
)


class EspeakSynthesizer:
    """Synthesises text to a waveform with chosen voice and prosody.

    Arguments
    ---------
    library_path : str, optional
        Path to ``libespeak-ng.so``; defaults to the copy in
        ``espeakng-loader``.
    data_path : str, optional
        Path to ``espeak-ng-data``; defaults to the copy in
        ``espeakng-loader``.
    seed : int, optional
        Seed of espeak-ng's noise generator (breathy voices use it); by
        default espeak-ng seeds it from the clock.

    Example
    -------
    >>> synth = EspeakSynthesizer()
    >>> wav = synth.synthesize("Good morning.", voice="en+f3", rate=160)
    >>> synth.sample_rate
    22050
    >>> wav.dtype, wav.ndim, len(wav) > 0.3 * synth.sample_rate
    (dtype('float32'), 1, True)
    """

    def __init__(self, library_path=None, data_path=None, seed=None):
        import espeakng_loader

        library_path = library_path or espeakng_loader.get_library_path()
        data_path = data_path or espeakng_loader.get_data_path()
        # espeak-ng exits the whole process when its data is missing.
        if not os.path.isfile(os.path.join(data_path, "phontab")):
            raise FileNotFoundError(
                f"{data_path} is not an espeak-ng-data folder (no phontab)"
            )
        self._lib = ctypes.CDLL(library_path)
        self._chunks = []
        self.sample_rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0
        )
        if self.sample_rate <= 0:
            raise RuntimeError(
                f"espeak-ng failed to initialise with data at {data_path}"
            )
        if seed is not None:
            self._lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
        # Keep a reference: ctypes callbacks die with their Python object.
        self._callback = _CALLBACK_TYPE(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]

    def _collect(self, samples, n_samples, events):
        if n_samples > 0:
            self._chunks.append(
                np.ctypeslib.as_array(samples, (n_samples,)).copy()
            )
        return 0

    def synthesize(
        self, text, voice="en", rate=175, pitch=50, pitch_range=50, volume=100
    ):
        """Returns the waveform of ``text`` as float32 in [-1, 1].

        Arguments
        ---------
        text : str
            What to say.
        voice : str
            espeak-ng voice name, with an optional variant (``"en+m3"``).
        rate : int
            Speaking rate in words per minute (80-450).
        pitch : int
            Base pitch, 0-100.
        pitch_range : int
            Pitch range (intonation), 0-100.
        volume : int
            Amplitude, 0-200.

        Returns
        -------
        numpy.ndarray
            1-D float32 waveform at ``self.sample_rate``.
        """
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice named {voice!r}")
        for param, value in (
            (_PARAM_RATE, rate),
            (_PARAM_VOLUME, volume),
            (_PARAM_PITCH, pitch),
            (_PARAM_RANGE, pitch_range),
        ):
            self._lib.espeak_SetParameter(param, int(value), 0)
        self._chunks = []
        encoded = text.encode()
        self._lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, 0, 0, 0, None, None
        )
        self._lib.espeak_Synchronize()
        if not self._chunks:
            raise RuntimeError(f"espeak-ng produced no audio for {text!r}")
        return np.concatenate(self._chunks).astype(np.float32) / 32768.0


_WORKER_SYNTHESIZER = None
_WORKER_START_ERROR = None


def _start_worker(synthesizer_kwargs):
    # Keep the error for the requests: raised here, it would only say that
    # the worker's initializer failed.
    global _WORKER_SYNTHESIZER, _WORKER_START_ERROR
    try:
        _WORKER_SYNTHESIZER = EspeakSynthesizer(**synthesizer_kwargs)
    except Exception as error:
        _WORKER_START_ERROR = error


def _synthesize_request(request):
    if _WORKER_START_ERROR is not None:
        raise _WORKER_START_ERROR
    wav = _WORKER_SYNTHESIZER.synthesize(**request)
    return wav, _WORKER_SYNTHESIZER.sample_rate


def synthesize_in_fresh_process(
    requests, seed=0, chunksize=8, **synthesizer_kwargs
):
    """Synthesises requests in order, in one newly spawned process.

    espeak-ng carries state from one utterance to the next (neither
    re-initialising nor seeding it resets that), so the same text can come
    out a few samples different depending on what was said before, and its
    noise generator is seeded from the clock. A fresh process per corpus,
    with a seeded noise generator, makes the audio depend only on the
    request list and ``seed``.

    Arguments
    ---------
    requests : list of dict
        Keyword arguments of :meth:`EspeakSynthesizer.synthesize`.
    seed : int
        Seed of espeak-ng's noise generator.
    chunksize : int
        Requests sent to the worker at a time.
    **synthesizer_kwargs
        Other arguments of :class:`EspeakSynthesizer` (``library_path``,
        ``data_path``). If it cannot start, its error is raised here;
        if the worker process dies, ``RuntimeError``.

    Yields
    ------
    (numpy.ndarray, int)
        Each waveform and its sample rate, in request order.

    Example
    -------
    >>> requests = [{"text": "Hi.", "voice": "en+f3"}] * 2
    >>> runs = [list(synthesize_in_fresh_process(requests)) for _ in range(2)]
    >>> [bool((a == b).all()) for (a, _), (b, _) in zip(*runs)]
    [True, True]
    """
    synthesizer_kwargs["seed"] = seed
    # Not multiprocessing.Pool: it replaces a dead worker forever (a hang).
    with ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(synthesizer_kwargs,),
    ) as pool:
        try:
            yield from pool.map(
                _synthesize_request, requests, chunksize=chunksize
            )
        except BrokenProcessPool as error:
            raise RuntimeError(
                f"the espeak-ng worker process died ({error}); espeak-ng "
                "exits on broken data, and a spawned worker also dies when "
                "the calling script lacks an `if __name__ == '__main__':` "
                "guard"
            ) from error
