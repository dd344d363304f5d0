"""Ready-to-use emotion recognition from a trained model folder.

A training run exports ``<output_folder>/inference/``: ``hyperparams.yaml``
(the model part of the training YAML, with its overrides, plus a
``pretrainer``), one ``<module>.ckpt`` per module and
``label_encoder.ckpt``. :class:`EmotionRecognizer` loads it the usual
SpeechBrain way::

    recognizer = EmotionRecognizer.from_hparams(source="results/.../inference")
    recognizer.classify_file("speech.flac")

Authors
 * speechbrain-ser developers 2026
"""

import math
import os
from functools import partial

import torch
from speechbrain.inference.interfaces import Pretrained
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import AudioError, AudioFile, read_audio
from speechbrain_ser.data.emotion import denormalize_avd
from speechbrain_ser.inference.calibration import CALIBRATION_FILE, Calibration
from speechbrain_ser.inference.code_tags import refuse_code_tags
from speechbrain_ser.inference.speech_activity import SpeechDetector
from speechbrain_ser.metrics import AVD_NAMES
from speechbrain_ser.nnet.pooling import token_attention_mask

logger = get_logger(__name__)

# Shortest input judged when the model folder names no min_duration (s).
DEFAULT_MIN_DURATION = 0.1


class EmotionRecognizer(Pretrained):
    """Predicts emotion classes and/or AVD from audio of any length.

    Long audio is cut into chunks of ``chunk_seconds`` (hparams, default
    20 s) that are encoded one batch at a time, so memory is bounded; the
    utterance embedding is the duration-weighted mean of the chunks'
    embeddings. Any sample rate and channel count is accepted (mixed to
    mono, resampled).

    The recognizer says when it cannot know: audio shorter than the
    model's ``min_duration`` is an ``AudioError``, and audio without
    speech (silence, noise, a DC offset; see
    :class:`~speechbrain_ser.inference.speech_activity.SpeechDetector`, replaced by
    a ``speech_detector`` in the hparams if given) gets ``"speech":
    false`` and no prediction.

    A model folder is code: its ``hyperparams.yaml`` runs Python through
    HyperPyYAML's ``!new:`` and ``!apply:`` tags, so load only folders you
    trust; one with PyYAML's ``!!python/`` tags (which run any code, and
    which no exported folder has) is refused before it is loaded
    (:mod:`~speechbrain_ser.inference.code_tags`). The weights themselves
    are read with ``torch.load``'s ``weights_only`` default (no
    unpickling of arbitrary objects).

    Arguments
    ---------
    *args, **kwargs
        As for SpeechBrain's ``Pretrained`` (``modules``, ``hparams``,
        ``run_opts``...); use :meth:`from_hparams` on an exported folder.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> recognizer = EmotionRecognizer.from_hparams(
    ...     source=tiny_model_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> t = np.arange(8000) / 8000
    >>> vowel = sum(np.sin(2 * np.pi * f * t) / f for f in (150, 300, 450))
    >>> soundfile.write(path, np.stack([vowel] * 2, axis=1) * 20, 8000)
    >>> result = recognizer.classify_file(path)
    >>> sorted(result)  # doctest: +NORMALIZE_WHITESPACE
    ['activation', 'calibrated', 'dominance', 'emotion', 'file',
     'probabilities', 'speech', 'valence']
    >>> recognizer.classify_file(path, min_confidence=1.0)["uncertain"]
    True
    >>> soundfile.write(path, np.random.randn(8000) * 0.1, 8000)
    >>> recognizer.classify_file(path)["speech"]
    False
    """

    MODULES_NEEDED = ["encoder", "head"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.task = self.hparams.task
        # replaced by from_hparams with the folder's calibration.json
        self.calibration = Calibration(fitted=False)
        self.chunk_seconds = getattr(self.hparams, "chunk_seconds", 20.0)
        self.min_duration = getattr(
            self.hparams, "min_duration", DEFAULT_MIN_DURATION
        )
        self.speech_detector = getattr(
            self.hparams,
            "speech_detector",
            SpeechDetector(self.hparams.sample_rate),
        )
        encoder = getattr(self.hparams, "label_encoder", None)
        if encoder is not None:
            # the output layer's size, when it says (no expect_len warning)
            out = getattr(self.mods.emotion_out, "out_features", len(encoder))
            if out != len(encoder):
                raise ValueError(
                    f"the label encoder has {len(encoder)} labels but "
                    f"emotion_out gives {out} classes; the model folder is "
                    "inconsistent (export it again)"
                )
            encoder.expect_len(out)

    @classmethod
    def from_hparams(cls, source, *args, **kwargs):
        """Loads a model folder and its ``calibration.json``.

        A folder without one (trained before calibration existed) loads
        uncalibrated: temperature 1, no A/V/D intervals; a warning says so
        and every classification result has ``"calibrated": false``.
        A YAML with ``!!python/`` tags is refused before it is loaded
        (:class:`~speechbrain_ser.inference.code_tags.CodeTagError`).
        Arguments as for SpeechBrain's ``Pretrained.from_hparams``.
        """
        refuse_code_tags(_fetched_hparams(source, *args, **kwargs))
        recognizer = super().from_hparams(source, *args, **kwargs)
        recognizer.calibration = find_calibration(source, kwargs.get("savedir"))
        if not recognizer.calibration.fitted:
            logger.warning(f"{source}: {recognizer.calibration.note}")
        return recognizer

    @property
    def labels(self):
        """Class names in output order (classification models)."""
        encoder = self.hparams.label_encoder
        return encoder.decode_ndim(list(range(len(encoder))))

    def encode_batch(self, wavs, wav_lens=None):
        """Utterance embeddings of a batch of 16 kHz mono waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, samples) waveforms at the model's sample rate.
        wav_lens : torch.Tensor, optional
            (B,) relative lengths.

        Returns
        -------
        torch.Tensor
            (B, E) embeddings.
        """
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0], device=self.device)
        wavs, wav_lens = wavs.to(self.device).float(), wav_lens.to(self.device)
        x = wavs
        if hasattr(self.hparams, "compute_features"):
            x = self.hparams.compute_features(x)
        if hasattr(self.mods, "mean_var_norm"):
            x = self.mods.mean_var_norm(x, wav_lens)
        return self.mods.head(self.mods.encoder(x, wav_lens), wav_lens)

    def predict_embeddings(self, embeddings):
        """Class probabilities and AVD from utterance embeddings.

        Returns
        -------
        dict
            ``probabilities`` (B, C) and/or ``avd`` (B, 3) on the corpus
            scale (``avd_range``).
        """
        outputs = {}
        if self.task in ("classification", "both"):
            logits = self.mods.emotion_out(embeddings)
            outputs["probabilities"] = self.calibration.probabilities(logits)
        if self.task in ("regression", "both"):
            avd = self.mods.avd_out(embeddings)
            outputs["avd"] = denormalize_avd(avd, self.hparams.avd_range)
        return outputs

    def predict_batch(self, wavs, wav_lens=None):
        """Predictions for a padded batch of waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, samples) at the model's sample rate, mono.
        wav_lens : torch.Tensor, optional
            (B,) relative lengths.

        Returns
        -------
        dict
            ``probabilities`` (B, C) and/or ``avd`` (B, 3).
        """
        with torch.no_grad():
            return self.predict_embeddings(self.encode_batch(wavs, wav_lens))

    def classify_file(self, path, min_confidence=None):
        """Predicts one audio file of any length, rate and channel count.

        Arguments
        ---------
        path : str
            Audio file.
        min_confidence : float, optional
            Abstain below it: when the highest (calibrated) probability
            is lower, ``emotion`` is None and ``uncertain`` True.

        Returns
        -------
        dict
            ``file`` and ``speech``; if ``speech`` is true, ``emotion``,
            ``probabilities`` (label -> p, calibrated when the folder has a
            calibration.json) and ``calibrated`` for classification models
            (with ``uncertain`` when ``min_confidence`` is given) and
            ``activation``, ``valence``, ``dominance`` (with
            ``<name>_interval``: [lo, hi] at the folder's conformal
            coverage, when it has one) for regression models; if false, a
            ``reason`` instead of predictions.

        Raises
        ------
        AudioError
            For a missing, unreadable or too short file, or a folder.
        """
        rate = self.hparams.sample_rate
        enough = self.speech_detector.min_speech_seconds
        # one open and header read; one chunk unless the file is long
        with AudioFile(path) as audio:
            duration, file_rate = audio.duration, audio.sample_rate
            if duration < self.min_duration:
                raise AudioError(
                    f"{path}: too short to analyse ({duration:.3f} s; this "
                    f"model needs at least {self.min_duration} s)"
                )
            last = math.ceil(duration / self.chunk_seconds) - 1
            weighted, weight, speech = 0.0, 0, 0.0
            # only Python values leave: inference mode (cheaper than
            # no_grad) is safe here
            with torch.inference_mode():
                for index, wav in enumerate(
                    audio.chunks(rate, self.chunk_seconds)
                ):
                    if wav.numel() < rate // 100:
                        continue  # a sliver shorter than one feature frame
                    if speech < enough:  # stops counting once enough
                        speech += self.speech_detector.speech_seconds(
                            wav, max_hz=file_rate / 2, stop_at=enough - speech
                        )
                    if speech < enough and index >= last:
                        break  # no speech: nothing to encode
                    embedding = self.encode_batch(wav.unsqueeze(0))[0]
                    weighted = weighted + embedding * wav.numel()
                    weight += wav.numel()
        if speech < enough:
            return self.no_speech_result(path, speech, duration)
        if weight == 0:
            raise AudioError(f"{path}: too short to analyse ({duration} s)")
        with torch.inference_mode():
            embedding = (weighted / weight).unsqueeze(0)
            outputs = self.predict_embeddings(embedding)
        result = {"file": path, "speech": True}
        result.update(self.describe(outputs, 0, min_confidence))
        return result

    def describe(self, outputs, index, min_confidence=None):
        """The JSON fields of one utterance's outputs.

        Arguments
        ---------
        outputs : dict
            As :meth:`predict_embeddings` returns.
        index : int
            The utterance's row.
        min_confidence : float, optional
            Abstention threshold on the highest probability.

        Returns
        -------
        dict
            ``emotion``, ``probabilities``, ``calibrated`` (and
            ``uncertain``) and/or the A/V/D values and intervals.
        """
        result = {}
        if "probabilities" in outputs:
            probabilities = outputs["probabilities"][index]
            top = float(probabilities.max())
            result["emotion"] = self.labels[int(probabilities.argmax())]
            result["probabilities"] = dict(
                zip(self.labels, probabilities.tolist())
            )
            result["calibrated"] = self.calibration.fitted
            if min_confidence is not None:
                result["uncertain"] = top < min_confidence
                if result["uncertain"]:
                    result["emotion"] = None
        if "avd" in outputs:
            for name, value in zip(AVD_NAMES, outputs["avd"][index].tolist()):
                result[name] = value
                interval = self.calibration.interval(
                    name, value, self.hparams.avd_range
                )
                if interval is not None:
                    result[f"{name}_interval"] = interval
        return result

    def no_speech_result(self, path, speech, duration):
        """The answer for audio without speech: no emotion, a reason.

        Arguments
        ---------
        path : str
            The file.
        speech : float
            Seconds of speech-like audio the detector found.
        duration : float
            Seconds of audio.

        Returns
        -------
        dict
            ``file``, ``speech`` (False) and ``reason``.
        """
        return {
            "file": path,
            "speech": False,
            "reason": f"no speech detected ({speech:.2f} s of "
            f"speech-like audio in {duration:.2f} s: silence, noise or "
            "a constant signal); no emotion predicted",
        }

    def forward(self, wavs, wav_lens=None):
        """Same as :meth:`predict_batch`."""
        return self.predict_batch(wavs, wav_lens)


class SpeechTextRecognizer(EmotionRecognizer):
    """Emotion from speech and its transcript (Xagorari et al. 2022).

    Loads a folder exported by a ``SpeechTextBrain`` run
    (``hparams/speech_text.yaml``). The transcript is given, or made by
    the folder's ASR: ``transcriber`` (a ``!name:`` factory taking
    ``device``) when the hyperparams have one, otherwise a local Whisper
    folder ``asr_source`` read by
    :class:`speechbrain_ser.text.transcription.WhisperTranscriber`.
    Speech-only models need no transcript.

    Arguments
    ---------
    *args : tuple
        Passed to :class:`EmotionRecognizer` (use ``from_hparams``).
    **kwargs : dict
        Passed to :class:`EmotionRecognizer`.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> from speechbrain_ser.tiny_models import tiny_speech_text_folder
    >>> recognizer = SpeechTextRecognizer.from_hparams(
    ...     source=tiny_speech_text_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.random.randn(8000) * 0.1, 16000)
    >>> result = recognizer.classify_file(path, transcript="a happy dog")
    >>> result["transcript"], result["transcript_source"]
    ('a happy dog', 'given')
    """

    MODULES_NEEDED = ["text_encoder", "text_head"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.modalities = getattr(self.hparams, "modalities", "both")
        self.fusion = getattr(self.hparams, "fusion", "late")
        self._transcriber = None
        self._text = None

    @property
    def transcriber(self):
        """The ASR, loaded on first use."""
        if self._transcriber is None:
            factory = getattr(self.hparams, "transcriber", None)
            if factory is None:
                source = getattr(self.hparams, "asr_source", None)
                if source is None:
                    raise ValueError(
                        "this model has no ASR (asr_source is null in its "
                        "hyperparams.yaml): give a transcript, or train or "
                        "export with --asr_source=<local Whisper folder>"
                    )
                from speechbrain_ser.text.transcription import (
                    WhisperTranscriber as factory,
                )

                factory = partial(factory, source)
            self._transcriber = factory(device=self.device)
        return self._transcriber

    def transcribe_file(self, path):
        """The ASR's transcript of one audio file."""
        wav = read_audio(path, self.hparams.sample_rate)
        return self.transcriber.transcribe_batch(
            wav.unsqueeze(0), torch.ones(1)
        )[0]

    def encode_text(self, transcripts):
        """(B, E_t) text embeddings of a list of transcripts."""

        tokens = self.mods.text_encoder.tokenizer(
            list(transcripts),
            padding=True,
            truncation=True,
            max_length=getattr(self.hparams, "text_max_length", None),
            return_tensors="pt",
        )
        ids = tokens["input_ids"].to(self.device)
        lengths = tokens["attention_mask"].sum(1).to(self.device) / ids.shape[1]
        mask = token_attention_mask(ids, lengths)
        return self.mods.text_head(self.mods.text_encoder(ids, mask), lengths)

    def predict_embeddings(self, embeddings):
        """Probabilities / AVD from speech embeddings and, when set by
        :meth:`predict_batch` or :meth:`classify_file`, the transcripts'
        text embeddings, fused as in training."""
        from speechbrain_ser.nnet.speech_text import fuse_modalities

        inputs = {}
        if self.modalities in ("audio", "both"):
            inputs["audio"] = embeddings
        if self.modalities in ("text", "both"):
            if self._text is None:
                raise ValueError("this model needs transcripts")
            inputs["text"] = self._text
        fused = fuse_modalities(self.mods, inputs, self.task, self.fusion)
        outputs = {}
        if "logits" in fused:
            outputs["probabilities"] = self.calibration.probabilities(
                fused["logits"]
            )
        if "avd" in fused:
            outputs["avd"] = denormalize_avd(
                fused["avd"], self.hparams.avd_range
            )
        return outputs

    def predict_batch(self, wavs, wav_lens=None, transcripts=None):
        """Predictions for a padded batch of waveforms and transcripts
        (transcribed by the ASR when None)."""
        if transcripts is None and self.modalities != "audio":
            if wav_lens is None:
                wav_lens = torch.ones(wavs.shape[0])
            transcripts = self.transcriber.transcribe_batch(wavs, wav_lens)
        with torch.no_grad():
            self._text = (
                None
                if self.modalities == "audio"
                else self.encode_text(transcripts)
            )
            try:
                return super().predict_batch(wavs, wav_lens)
            finally:
                self._text = None

    def classify_file(self, path, transcript=None, min_confidence=None):
        """Predicts one audio file; transcribes it first unless
        ``transcript`` is given (``min_confidence`` as for
        :meth:`EmotionRecognizer.classify_file`).

        Returns
        -------
        dict
            As :meth:`EmotionRecognizer.classify_file`, with
            ``transcript`` and ``transcript_source`` (``given`` or
            ``asr``) for models that read text.
        """
        if self.modalities == "audio":
            return super().classify_file(path, min_confidence)
        source = "given"
        if transcript is None:
            transcript, source = self.transcribe_file(path), "asr"
        with torch.no_grad():
            self._text = self.encode_text([transcript])
        try:
            result = super().classify_file(path, min_confidence)
        finally:
            self._text = None
        result.update(transcript=transcript, transcript_source=source)
        return result


def _fetched_hparams(source, hparams_file="hyperparams.yaml", **kwargs):
    """The local path of the YAML that ``Pretrained.from_hparams`` will
    load: fetched as it fetches it (same ``savedir``, strategy, config)."""
    from speechbrain.utils.fetching import fetch

    options = {
        key: kwargs[key]
        for key in ("savedir", "local_strategy", "fetch_config")
        if key in kwargs
    }
    return str(fetch(hparams_file, source, save_filename=None, **options))


def find_calibration(source, savedir=None):
    """The calibration of a model folder, local or fetched.

    Arguments
    ---------
    source : str
        The folder (or a model hub id, fetched into ``savedir``).
    savedir : str, optional
        Where ``from_hparams`` fetched the folder.

    Returns
    -------
    Calibration
        Uncalibrated (``fitted`` False) when there is no calibration.json.

    Example
    -------
    >>> import tempfile
    >>> find_calibration(tempfile.mkdtemp()).fitted
    False
    """
    if os.path.isdir(str(source)):
        return Calibration.load(source)
    try:
        from speechbrain.utils.fetching import fetch

        path = fetch(CALIBRATION_FILE, source=source, savedir=savedir)
        return Calibration.load(os.path.dirname(str(path)))
    except Exception:  # no calibration.json where the model lives
        return Calibration(fitted=False)


def load_recognizer(source, **kwargs):
    """The recognizer class an exported folder needs, loaded.

    Folders of speech + text models (their hyperparams name
    ``modalities``) give a :class:`SpeechTextRecognizer`, the others an
    :class:`EmotionRecognizer`.

    Arguments
    ---------
    source : str
        Inference folder, or the Hugging Face Hub id of one (e.g. a
        folder written by ``speechbrain-ser export --hub`` and uploaded;
        offline from the Hub cache, see :mod:`speechbrain_ser.sources`).
    **kwargs
        Passed to ``from_hparams`` (``savedir``, ``run_opts``...).

    Returns
    -------
    EmotionRecognizer
        A :class:`SpeechTextRecognizer` for speech + text folders.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> recognizer = load_recognizer(
    ...     tiny_model_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> type(recognizer).__name__
    'EmotionRecognizer'
    """
    from speechbrain_ser.sources import resolve_source

    source = resolve_source(source)
    path = os.path.join(source, "hyperparams.yaml")
    text = open(path, encoding="utf-8").read() if os.path.isfile(path) else ""
    names = {line.split(":")[0] for line in text.splitlines()}
    cls = SpeechTextRecognizer if "modalities" in names else EmotionRecognizer
    return cls.from_hparams(source=source, **kwargs)
