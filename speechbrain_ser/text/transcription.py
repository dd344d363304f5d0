"""Transcripts for any corpus with a local Whisper model.

:class:`WhisperTranscriber` runs a local Whisper folder (e.g. a local
copy of openai/whisper-tiny.en; any Hugging Face Whisper folder) with ``transformers``' ``generate``
in fp32, on padded 16 kHz batches. :meth:`~WhisperTranscriber.
transcribe_manifest` adds a ``transcript`` field to every manifest entry
that has none, with ``transcript_source: "asr:<model name>"``; entries
whose transcript came with the corpus (``transcript_source: "human"``
where the preparer knows it) keep theirs unless ``overwrite=True``.

A manifest is transcribed in batches with a progress bar; after every
batch the new transcripts are appended to a side file
``<output>.transcribe-progress.jsonl``, so a killed run continues where it
stopped. The side file is removed once the manifest is written.

Command line::

    speechbrain-ser transcribe --model <whisper folder> \\
        manifest.json --output manifest_asr.json --batch_size 8

Authors
 * speechbrain-ser developers 2026
"""

import json
import math
import os

import torch
from speechbrain.utils.data_utils import batch_pad_right
from speechbrain.utils.logger import get_logger
from tqdm import tqdm

from speechbrain_ser.data.audio import read_audio
from speechbrain_ser.data.manifest import read_manifest, write_manifest

logger = get_logger(__name__)

PROGRESS_SUFFIX = ".transcribe-progress.jsonl"


class WhisperTranscriber:
    """Batched speech-to-text with a local Hugging Face Whisper folder.

    Arguments
    ---------
    source : str
        Local folder with a ``WhisperForConditionalGeneration`` and its
        ``WhisperProcessor`` (feature extractor + tokenizer).
    device : str
        Torch device.
    batch_size : int
        Utterances per ``generate`` call in :meth:`transcribe_manifest`.
    language : str, optional
        Language of the speech for multilingual models (e.g. ``"en"``);
        None for English-only models or to let Whisper detect it.
    max_new_tokens : int, optional
        Most tokens generated per utterance (default: as many as the
        decoder's positions allow, less the prompt).
    max_tokens_per_second : float
        Also caps the tokens of a batch at this rate times its longest
        utterance (plus 8), so that a hallucination loop on a short clip
        stops early (fluent English runs at about 3-5 tokens per second).

    Example
    -------
    >>> import pathlib, tempfile
    >>> from speechbrain_ser.tiny_models import (
    ...     make_tiny_whisper,
    ... )  # random weights
    >>> folder = make_tiny_whisper(pathlib.Path(tempfile.mkdtemp()) / "tiny")
    >>> asr = WhisperTranscriber(folder, batch_size=4)
    >>> texts = asr.transcribe_batch(
    ...     torch.rand(2, 16000) - 0.5, torch.tensor([1.0, 0.5])
    ... )
    >>> len(texts), asr.transcript_source
    (2, 'asr:tiny')
    """

    def __init__(
        self,
        source,
        device="cpu",
        batch_size=8,
        language=None,
        max_new_tokens=None,
        max_tokens_per_second=8.0,
    ):
        from transformers import (
            WhisperForConditionalGeneration,
            WhisperProcessor,
        )

        from speechbrain_ser.sources import resolve_source

        folder = resolve_source(source)
        self.source = source
        self.name = os.path.basename(os.path.normpath(source.split("@")[0]))
        self.device = device
        self.batch_size = batch_size
        self.language = language
        self.processor = WhisperProcessor.from_pretrained(folder)
        self.model = WhisperForConditionalGeneration.from_pretrained(
            folder, dtype=torch.float32
        )
        self.model.to(device).eval()
        self.sample_rate = self.processor.feature_extractor.sampling_rate
        self.chunk_seconds = self.processor.feature_extractor.chunk_length
        # The decoder prompt (start, language, task, no-timestamps tokens)
        # takes at most 4 of the decoder's positions.
        self.max_new_tokens = max_new_tokens or (
            self.model.config.max_target_positions - 4
        )
        self.max_tokens_per_second = max_tokens_per_second

    @property
    def transcript_source(self):
        """The ``transcript_source`` this model writes: ``asr:<name>``."""
        return f"asr:{self.name}"

    @torch.no_grad()
    def transcribe_batch(self, wavs, lengths=None):
        """Transcripts of a padded batch of waveforms.

        Audio past the model's window (30 s for Whisper) is not heard.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, samples) waveforms at the model's rate (16 kHz).
        lengths : torch.Tensor, optional
            (B,) relative lengths in [0, 1] (SpeechBrain's convention);
            None means no padding.

        Returns
        -------
        list of str
            One stripped transcript per waveform.
        """
        if wavs.dim() != 2:
            raise ValueError(
                f"wavs must be (batch, samples), got {tuple(wavs.shape)}"
            )
        if lengths is None:
            lengths = torch.ones(wavs.shape[0])
        samples = (lengths.cpu() * wavs.shape[1]).round().long().clamp(min=1)
        arrays = [
            wav[:n].detach().cpu().float().numpy()
            for wav, n in zip(wavs, samples)
        ]
        features = self.processor.feature_extractor(
            arrays,
            sampling_rate=self.sample_rate,
            return_tensors="pt",
            return_attention_mask=True,
        )
        longest = float(samples.max()) / self.sample_rate
        budget = int(math.ceil(longest * self.max_tokens_per_second)) + 8
        kwargs = {"max_new_tokens": min(self.max_new_tokens, budget)}
        if self.language is not None:
            kwargs.update(language=self.language, task="transcribe")
        tokens = self.model.generate(
            features["input_features"].to(self.device),
            attention_mask=features["attention_mask"].to(self.device),
            **kwargs,
        )
        texts = self.processor.batch_decode(tokens, skip_special_tokens=True)
        return [text.strip() for text in texts]

    def transcribe_files(self, paths):
        """Transcripts of a list of audio files (one ``generate`` call).

        Arguments
        ---------
        paths : list of str
            Audio files, any rate and channel count.

        Returns
        -------
        list of str
        """
        wavs = [read_audio(path, self.sample_rate) for path in paths]
        for path, wav in zip(paths, wavs):
            seconds = len(wav) / self.sample_rate
            if seconds > self.chunk_seconds:
                logger.warning(
                    f"{path}: {seconds:.1f} s; only the first "
                    f"{self.chunk_seconds} s are transcribed"
                )
        batch, lengths = batch_pad_right(wavs)
        return self.transcribe_batch(batch, lengths)

    def transcribe_manifest(
        self,
        manifest_path,
        output_path=None,
        overwrite=False,
        data_folder=None,
        show_progress=True,
    ):
        """Adds ``transcript`` and ``transcript_source`` to a manifest.

        Entries that already have a ``transcript`` field keep it (and its
        ``transcript_source``) unless ``overwrite`` is True; an empty
        transcript (silence, or nothing recognised) counts as one. Progress is
        appended to ``<output>.transcribe-progress.jsonl`` after every
        batch; a re-run after an interruption reads it and transcribes
        only what is missing. The manifest is written (atomically) at the
        end and the progress file removed.

        Arguments
        ---------
        manifest_path : str
            Manifest JSON (id -> entry with ``wav``).
        output_path : str, optional
            Where the transcribed manifest goes (default: in place).
        overwrite : bool
            Also re-transcribe entries that have a transcript.
        data_folder : str, optional
            Replaces ``{data_root}`` in ``wav`` paths (default: the
            parent of the manifest's folder, the layout preparers write).
        show_progress : bool
            Show a tqdm progress bar.

        Returns
        -------
        dict
            The transcribed manifest (id -> entry).
        """
        entries = read_manifest(manifest_path)
        output_path = output_path or manifest_path
        if data_folder is None:
            data_folder = os.path.dirname(
                os.path.dirname(os.path.abspath(manifest_path))
            )
        progress_path = output_path + PROGRESS_SUFFIX
        done = self._read_progress(progress_path)
        todo = [
            uid
            for uid, entry in entries.items()
            if uid not in done and (overwrite or "transcript" not in entry)
        ]
        if done:
            logger.info(
                f"{progress_path}: resuming, {len(done)} utterances already "
                f"transcribed, {len(todo)} to go"
            )
        if todo:
            self._write_progress_header(progress_path)
        with open(progress_path, "a", encoding="utf-8") as progress:
            bar = tqdm(
                total=len(todo),
                desc=f"transcribing {os.path.basename(manifest_path)}",
                disable=not show_progress,
            )
            for start in range(0, len(todo), self.batch_size):
                uids = todo[start : start + self.batch_size]
                paths = [
                    _wav_path(manifest_path, uid, entries[uid], data_folder)
                    for uid in uids
                ]
                for uid, text in zip(uids, self.transcribe_files(paths)):
                    done[uid] = text
                    progress.write(json.dumps({"id": uid, "text": text}) + "\n")
                progress.flush()
                os.fsync(progress.fileno())
                bar.update(len(uids))
            bar.close()
        for uid, text in done.items():
            if uid in entries:
                entries[uid]["transcript"] = text
                entries[uid]["transcript_source"] = self.transcript_source
        temporary = output_path + ".tmp"
        write_manifest(entries, temporary)
        os.replace(temporary, output_path)
        if os.path.exists(progress_path):
            os.remove(progress_path)
        return entries

    def _write_progress_header(self, progress_path):
        """Starts a progress file naming the model, unless one exists."""
        if os.path.isfile(progress_path) and os.path.getsize(progress_path):
            return
        os.makedirs(
            os.path.dirname(os.path.abspath(progress_path)), exist_ok=True
        )
        with open(progress_path, "w", encoding="utf-8") as fout:
            fout.write(json.dumps({"model": self.transcript_source}) + "\n")

    def _read_progress(self, progress_path):
        """id -> transcript from an earlier run of the same model.

        A progress file of another model is set aside (renamed) with a
        warning; a torn last line (a run killed mid-write) is ignored.
        """
        if not os.path.isfile(progress_path):
            return {}
        with open(progress_path, encoding="utf-8") as fin:
            lines = fin.read().splitlines()
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                logger.warning(f"{progress_path}: ignoring a torn line")
        if not records or records[0].get("model") != self.transcript_source:
            stale = progress_path + ".stale"
            os.replace(progress_path, stale)
            logger.warning(
                f"{progress_path}: made by another model "
                f"({records[0].get('model') if records else 'unknown'}); "
                f"moved to {stale}, starting over"
            )
            return {}
        return {r["id"]: r["text"] for r in records[1:] if "id" in r}


def _wav_path(manifest_path, uid, entry, data_folder):
    """The audio path of an entry, with ``{data_root}`` filled in."""
    if "wav" not in entry:
        raise ValueError(f"{manifest_path}: utterance {uid!r} has no 'wav'")
    return entry["wav"].replace("{data_root}", data_folder)
