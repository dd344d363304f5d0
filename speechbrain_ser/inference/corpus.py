"""Corpus-scale prediction: many files in length-sorted batches, resumable.

:func:`predict_corpus` takes files, folders (searched recursively for
audio), glob patterns and JSON manifests, reads the audio in worker
processes, groups clips of similar length into batches bounded by total
duration, and writes one JSON line (or CSV row) per file. Files already in
the output are skipped, so a killed run continues where it stopped. A bad
file gives an error line, never a stop; a WAV cut short (its header
claims more samples than it holds) is predicted on what is left, with a
``"warning"`` in its line (:func:`mark_truncated`, which segment and
transcript prediction use too).

Authors
 * speechbrain-ser developers 2026
"""

import csv
import glob
import json
import os

import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import AudioError, audio_info, read_audio
from speechbrain_ser.data.audio_checks import wav_truncation
from speechbrain_ser.data.batching import pad_right_batch
from speechbrain_ser.data.manifest import read_audio_manifest
from speechbrain_ser.metrics import AVD_NAMES
from speechbrain_ser.run_lock import RunLock
from speechbrain_ser.strict_json import dumps

logger = get_logger(__name__)

AUDIO_EXTENSIONS = (
    ".wav",
    ".flac",
    ".ogg",
    ".opus",
    ".mp3",
    ".aiff",
    ".aif",
    ".au",
    ".sph",
)


def expand_inputs(inputs):
    """Audio files named by paths, folders, glob patterns and manifests.

    Folders are searched recursively for files with an audio extension;
    ``.json`` files are read as manifests; a pattern with ``*``, ``?`` or
    ``[`` is expanded (``**`` recursively). Other paths are kept as they
    are, so a missing file later becomes an error line. Order is kept and
    duplicates are dropped: two names of one file (``a/x.wav``,
    ``/abs/a/x.wav``, a link, a manifest entry) keep the first spelling.

    Arguments
    ---------
    inputs : list of str
        What the user named.

    Returns
    -------
    list of str
        Audio paths.

    Example
    -------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(f"{root}/a/b")
    >>> for name in ("a/x.wav", "a/b/y.flac", "a/notes.txt"):
    ...     open(f"{root}/{name}", "w").close()
    >>> [os.path.relpath(p, root) for p in expand_inputs([f"{root}/a"])]
    ['a/x.wav', 'a/b/y.flac']
    >>> len(expand_inputs([f"{root}/**/*.flac"]))
    1
    """
    files = []
    for item in inputs:
        if os.path.isdir(item):
            found = []
            for folder, _, names in os.walk(item):
                found += [
                    os.path.join(folder, name)
                    for name in names
                    if name.lower().endswith(AUDIO_EXTENSIONS)
                ]
            files += sorted(found, key=lambda p: (p.count(os.sep), p))
        elif item.lower().endswith(".json") and os.path.isfile(item):
            files += [e["wav"] for e in read_audio_manifest(item).values()]
        elif os.path.isfile(item):  # a name with [ or * is still a file
            files.append(item)
        elif any(char in item for char in "*?["):
            files += sorted(glob.glob(item, recursive=True))
        else:
            files.append(item)
    unique = {}
    for path in files:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def unmatched_inputs(inputs):
    """Error rows for folders and patterns that name no audio file.

    Arguments
    ---------
    inputs : list of str
        What the user named.

    Returns
    -------
    list of dict
        ``{"file": input, "error": ...}`` for each folder without audio
        files and each pattern that matches nothing.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> unmatched_inputs([folder])[0]["error"].endswith("no audio files")
    True
    """
    rows = []
    for item in inputs:
        if os.path.isdir(item) and not expand_inputs([item]):
            message = f"{item}: a folder with no audio files"
        elif (
            not os.path.exists(item)
            and any(char in item for char in "*?[")
            and not glob.glob(item, recursive=True)
        ):
            message = f"{item}: the pattern matches no file"
        else:
            continue
        rows.append({"file": item, "error": message})
    return rows


def done_files(output):
    """Files already predicted in an output file (JSON lines or CSV).

    A last line cut short by a kill is removed from the file, so that
    appending continues cleanly.

    Arguments
    ---------
    output : str
        The ``--output`` file; it may not exist yet.

    Returns
    -------
    set of str
        The ``file`` values found.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".jsonl")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write('{"file": "a.wav"}\\n{"file": "b.w')
    >>> sorted(done_files(path))
    ['a.wav']
    >>> open(path).read()
    '{"file": "a.wav"}\\n'
    """
    if not output or not os.path.isfile(output):
        return set()
    with open(output, encoding="utf-8") as fin:
        text = fin.read()
    if text and not text.endswith("\n"):  # killed mid-line
        text = text[: text.rfind("\n") + 1]
        with open(output, "w", encoding="utf-8") as fout:
            fout.write(text)
    if output.lower().endswith(".csv"):
        return {row["file"] for row in csv.DictReader(text.splitlines())}
    files = set()
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            files.add(json.loads(line)["file"])
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(
                f"{output}, line {number}: not a prediction line ({error}); "
                "use another --output or remove the line"
            ) from error
    return files


def mark_truncated(rows, path):
    """Adds a ``"warning"`` to the result rows of a WAV cut short.

    A WAV whose header claims more samples than the file holds is read
    (and predicted) on what is left; every row of its results that is not
    an error says so, with :func:`~speechbrain_ser.data.audio_checks.wav_truncation`'s
    message. Corpus, segment and transcript prediction all use it.

    Arguments
    ---------
    rows : list of dict
        The result rows of one file (one per file, or one per segment).
    path : str
        The file.

    Returns
    -------
    list of dict
        ``rows``, changed in place.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.zeros(16000), 16000)
    >>> mark_truncated([{"file": path, "speech": False}], path)[0].keys()
    dict_keys(['file', 'speech'])
    >>> os.truncate(path, 44 + 2 * 8000)  # half of the samples
    >>> rows = [{"file": path, "emotion": "sad"}, {"file": path, "error": "x"}]
    >>> rows = mark_truncated(rows, path)
    >>> print(rows[0]["warning"].split(": ")[1])
    the WAV header says 16000 samples (1.0 s) but the file holds only 8000 (0.5 s); the file is truncated
    >>> "warning" in rows[1]  # an error line stays as it is
    False
    """
    truncated = wav_truncation(path)
    if truncated:  # predicted on what is left, and said so
        for row in rows:
            if "error" not in row:
                row["warning"] = truncated
    return rows


def duration_batches(durations, max_seconds, max_size):
    """Groups items into length-sorted batches bounded by padded duration.

    Items are sorted longest first; a batch grows while ``size x longest``
    stays within ``max_seconds`` and its size within ``max_size``, so the
    padding (and the memory) of every batch is bounded.

    Arguments
    ---------
    durations : list of float
        Seconds per item.
    max_seconds : float
        Bound on batch size times the longest item of the batch.
    max_size : int
        Bound on the number of items.

    Returns
    -------
    list of list of int
        Item indices per batch.

    Example
    -------
    >>> duration_batches([1.0, 4.0, 2.0, 2.0, 1.0], 6.0, 8)
    [[1], [2, 3, 0], [4]]
    """
    order = sorted(range(len(durations)), key=lambda i: -durations[i])
    batches, current = [], []
    for index in order:
        longest = durations[current[0]] if current else durations[index]
        if current and (
            len(current) >= max_size
            or (len(current) + 1) * longest > max_seconds
        ):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class AudioFiles(torch.utils.data.Dataset):
    """Reads audio files for prediction and checks them for speech.

    Both run in the loader's worker processes, so that the main process
    only runs the model. A bad file becomes its error message.

    Arguments
    ---------
    files : list of str
        Audio paths.
    sample_rate : int
        Rate of the returned waveforms.
    speech_detector : SpeechDetector, optional
        Gives each waveform's speech (seconds, enough); without one every
        file counts as speech.
    file_rates : dict, optional
        path -> the file's own sample rate (for the detector).

    Example
    -------
    >>> data = AudioFiles(["missing.wav"], 16000)
    >>> data[0]
    ('missing.wav', 'missing.wav: no such audio file', (None, False))
    """

    def __init__(
        self, files, sample_rate, speech_detector=None, file_rates=None
    ):
        self.files = files
        self.sample_rate = sample_rate
        self.speech_detector = speech_detector
        self.file_rates = file_rates or {}

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        path = self.files[index]
        try:
            wav = read_audio(path, self.sample_rate)
        except AudioError as error:
            return path, str(error), (None, False)
        speech = speech_in(self.speech_detector, wav, self.file_rates.get(path))
        return path, wav, speech


def collate_speech(items):
    """Pads the clips with speech into one batch; keeps the others apart.

    Runs in the loader's workers, so a batch crosses to the main process
    as one tensor instead of one per clip.

    Arguments
    ---------
    items : list of tuple
        ``AudioFiles`` items: (path, waveform or error, (seconds, speech)).

    Returns
    -------
    dict
        ``paths`` of the batch (in order), ``batch`` (B, samples) and
        ``lengths`` (B,) or None when no clip has speech, and ``others``:
        (path, error or None, seconds of speech) for the rest.

    Example
    -------
    >>> batch = collate_speech(
    ...     [
    ...         ("a.wav", torch.ones(2), (2.0, True)),
    ...         ("b.wav", torch.zeros(4), (0.0, False)),
    ...         ("c.wav", "c.wav: no such audio file", (None, False)),
    ...         ("d.wav", torch.ones(4), (4.0, True)),
    ...     ]
    ... )
    >>> batch["paths"], batch["lengths"].tolist()
    (['a.wav', 'd.wav'], [0.5, 1.0])
    >>> batch["others"]
    [('b.wav', None, 0.0), ('c.wav', 'c.wav: no such audio file', None)]
    """
    paths, wavs, others = [], [], []
    for path, wav, (seconds, is_speech) in items:
        if isinstance(wav, str):
            others.append((path, wav, seconds))
        elif is_speech:
            paths.append(path)
            wavs.append(wav)
        else:
            others.append((path, None, seconds))
    batch = lengths = None
    if wavs:
        batch, lengths = pad_right_batch(wavs)
    return {
        "paths": paths,
        "batch": batch,
        "lengths": lengths,
        "others": others,
    }


def speech_in(speech_detector, wav, file_rate):
    """(seconds, enough) of speech in ``wav``, for whole files and
    segments alike; always enough without a detector.

    Arguments
    ---------
    speech_detector : SpeechDetector or None
        A recognizer's ``speech_detector``.
    wav : torch.Tensor
        (samples,) at the detector's sample rate.
    file_rate : int or None
        The file's own sample rate.

    Returns
    -------
    tuple
        (seconds or None, bool).

    Example
    -------
    >>> speech_in(None, torch.zeros(16000), 16000)
    (None, True)
    """
    if speech_detector is None:
        return None, True
    return speech_detector.has_speech(wav, file_rate)


def result_rows(recognizer, paths, outputs, min_confidence=None):
    """One result dict per path from :meth:`predict_batch` outputs.

    Arguments
    ---------
    recognizer : EmotionRecognizer
        Gives the class names.
    paths : list of str
        Files (or segment names) in batch order.
    outputs : dict
        ``probabilities`` (B, C) and/or ``avd`` (B, 3).
    min_confidence : float, optional
        Abstention threshold (see
        :meth:`EmotionRecognizer.classify_file`).

    Returns
    -------
    list of dict
        ``file``, ``speech`` (True), ``emotion`` + ``probabilities`` and/or
        A/V/D (as the recognizer's ``describe`` gives them, when it has
        one: calibration flag, abstention, A/V/D intervals).

    Example
    -------
    >>> class Labels:
    ...     labels = ["angry", "sad"]
    >>> rows = result_rows(
    ...     Labels(), ["a.wav"], {"probabilities": torch.tensor([[0.25, 0.75]])}
    ... )
    >>> rows[0]["emotion"], rows[0]["probabilities"]["angry"]
    ('sad', 0.25)
    """
    rows = [{"file": path, "speech": True} for path in paths]
    if hasattr(recognizer, "describe"):
        outputs = {k: v.cpu() for k, v in outputs.items()}
        for i, row in enumerate(rows):
            row.update(recognizer.describe(outputs, i, min_confidence))
        return rows
    if "probabilities" in outputs:
        labels = recognizer.labels
        for row, probabilities in zip(rows, outputs["probabilities"].cpu()):
            row["emotion"] = labels[int(probabilities.argmax())]
            row["probabilities"] = dict(zip(labels, probabilities.tolist()))
    if "avd" in outputs:
        for row, avd in zip(rows, outputs["avd"].cpu()):
            row.update(zip(AVD_NAMES, avd.tolist()))
    return rows


class ResultWriter:
    """Appends results as JSON lines, or as CSV rows for a ``.csv`` path.

    Without a path, JSON lines go to standard output. A file is locked
    while it is written (``<output>.lock``, see
    :class:`speechbrain_ser.run_lock.RunLock`): a second writer stops at
    once with :class:`~speechbrain_ser.run_lock.RunLockedError`.

    Arguments
    ---------
    output : str or None
        Output file.
    columns : list of str
        CSV columns (the first rows' keys when not given).

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".csv")
    >>> with ResultWriter(path) as writer:
    ...     writer.write({"file": "a.wav", "emotion": "sad"})
    >>> open(path).read().splitlines()
    ['file,emotion,error', 'a.wav,sad,']
    """

    def __init__(self, output=None, columns=None):
        self.output = output
        self.columns = columns
        self.csv = bool(output) and output.lower().endswith(".csv")
        self.stream = None
        self.writer = None
        self.lock = None

    def __enter__(self):
        if self.output:
            self.lock = RunLock(
                self.output, "--output file", is_file=True, main_only=False
            ).acquire()
            new = not os.path.isfile(self.output)
            self.stream = open(self.output, "a", encoding="utf-8", newline="")
            self.new = new or os.path.getsize(self.output) == 0
        return self

    def write(self, row):
        """Writes one result (flattening probabilities for CSV); a file
        is flushed by :meth:`flush` and on exit."""
        if not self.output:
            print(dumps(row), flush=True)
            return
        if not self.csv:
            self.stream.write(dumps(row) + "\n")
            return
        flat = {k: v for k, v in row.items() if k != "probabilities"}
        for label, p in row.get("probabilities", {}).items():
            flat[f"p_{label}"] = p
        if self.writer is None:
            columns = self.columns or list(flat) + ["error"]
            columns = list(dict.fromkeys(columns))
            self.writer = csv.DictWriter(
                self.stream, columns, extrasaction="ignore"
            )
            if self.new:
                self.writer.writeheader()
        self.writer.writerow(flat)

    def flush(self):
        """Writes what is buffered to the file (after each batch: a
        killed run loses at most the batch it was in)."""
        if self.stream is not None:
            self.stream.flush()

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.close()
        if self.lock is not None:
            self.lock.release()


def predict_corpus(
    recognizer,
    inputs,
    output=None,
    max_batch_seconds=160.0,
    max_batch_size=32,
    num_workers=0,
    progress=True,
    min_confidence=None,
):
    """Predicts every audio file named by ``inputs``.

    Durations are read from the file headers; clips longer than the
    recognizer's ``chunk_seconds`` go through
    :meth:`EmotionRecognizer.classify_file` one at a time (bounded
    memory), the others through length-sorted batches whose audio is read
    by ``num_workers`` worker processes.

    Arguments
    ---------
    recognizer : EmotionRecognizer
        The model.
    inputs : list of str
        Files, folders, globs, manifests (see :func:`expand_inputs`).
    output : str, optional
        JSON-lines file, or CSV when it ends in ``.csv``; files already in
        it (matched on their real path) are skipped (resume), and at the
        end its lines are put in input order (:func:`in_input_order`).
        Standard output when None (lines in batch order, as they come).
    max_batch_seconds : float
        Bound on batch size x longest clip.
    max_batch_size : int
        Bound on clips per batch.
    num_workers : int
        Audio decoding processes (0: in this process).
    progress : bool
        Show a tqdm progress bar (on standard error).
    min_confidence : float, optional
        Abstain (``"emotion": null, "uncertain": true``) below this
        highest probability.

    Returns
    -------
    dict
        ``predicted``, ``errors``, ``skipped`` counts.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> from speechbrain_ser.inference import EmotionRecognizer
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> recognizer = EmotionRecognizer.from_hparams(
    ...     source=tiny_model_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     soundfile.write(
    ...         f"{folder}/{i}.wav",
    ...         np.random.randn(8000 * (i + 1)) * 0.1,
    ...         16000,
    ...     )
    >>> out = f"{folder}/predictions.jsonl"
    >>> predict_corpus(recognizer, [folder, "gone.wav"], out, progress=False)
    {'predicted': 3, 'errors': 1, 'skipped': 0}
    >>> predict_corpus(recognizer, [folder], out, progress=False)
    {'predicted': 0, 'errors': 0, 'skipped': 3}
    """
    from tqdm import tqdm

    files = expand_inputs(inputs)
    with ResultWriter(output) as writer:  # locks the output first
        done = {os.path.realpath(path) for path in done_files(output)}
        todo = [path for path in files if os.path.realpath(path) not in done]
        counts = {
            "predicted": 0,
            "errors": 0,
            "skipped": len(files) - len(todo),
        }
        durations, short, long_files = {}, [], []
        bar = tqdm(total=len(todo), disable=not progress, unit="file")

        def emit(row):
            """Counts ``row`` (error or prediction), marks a truncated
            file's, writes it and ticks the bar."""
            if "error" not in row:
                mark_truncated([row], row["file"])
            counts["errors" if "error" in row else "predicted"] += 1
            writer.write(row)
            bar.update(1)

        first = unmatched_inputs(inputs)
        for row in first:
            emit(row)
        rates = {}
        min_duration = getattr(recognizer, "min_duration", 0.0)
        for path in todo:
            try:
                durations[path], rates[path], _ = audio_info(path)
            except AudioError as error:
                emit({"file": path, "error": str(error)})
                continue
            if durations[path] < min_duration:
                emit(
                    {
                        "file": path,
                        "error": f"{path}: too short to analyse "
                        f"({durations[path]:.3f} s; this model needs at "
                        f"least {min_duration} s)",
                    }
                )
                continue
            if durations[path] > recognizer.chunk_seconds:
                long_files.append(path)
            else:
                short.append(path)
        for path in long_files:
            try:
                emit(recognizer.classify_file(path, min_confidence))
            except AudioError as error:
                emit({"file": path, "error": str(error)})
            writer.flush()
        batches = duration_batches(
            [durations[path] for path in short],
            max_batch_seconds,
            max_batch_size,
        )
        on_gpu = str(getattr(recognizer, "device", "")).startswith("cuda")
        loader = torch.utils.data.DataLoader(
            AudioFiles(
                short,
                recognizer.hparams.sample_rate,
                getattr(recognizer, "speech_detector", None),
                rates,
            ),
            batch_sampler=batches,
            num_workers=num_workers,
            collate_fn=collate_speech,
            pin_memory=on_gpu,  # page-locked batches copy to a GPU faster
        )
        for batch in loader:
            for path, error, speech in batch["others"]:
                if error is not None:
                    emit({"file": path, "error": error})
                else:
                    emit(
                        recognizer.no_speech_result(
                            path, speech, durations[path]
                        )
                    )
            if batch["paths"]:
                outputs = recognizer.predict_batch(
                    batch["batch"], batch["lengths"]
                )
                for row in result_rows(
                    recognizer, batch["paths"], outputs, min_confidence
                ):
                    emit(row)
            writer.flush()
        writer.flush()
        if output:
            in_input_order(output, [row["file"] for row in first] + files)
    bar.close()
    return counts


def in_input_order(output, files):
    """Rewrites an output file with its lines in the order of ``files``.

    Batches are length-sorted, so lines are written out of order; once
    every file is done, the file is put back in the order the inputs were
    given (lines of files not in ``files``, e.g. from an earlier run with
    other inputs, keep their order after them). The rewrite goes through
    a temporary file and a rename, so a kill leaves the old or the new
    file, never a mix.

    Arguments
    ---------
    output : str
        A JSON-lines or CSV file written by :class:`ResultWriter`.
    files : list of str
        Paths in input order (matched on their real path).

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".jsonl")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write('{"file": "b.wav"}\\n{"file": "old.wav"}\\n')
    ...     _ = fout.write('{"file": "a.wav"}\\n')
    >>> in_input_order(path, ["a.wav", "b.wav"])
    >>> [json.loads(line)["file"] for line in open(path)]
    ['a.wav', 'b.wav', 'old.wav']
    """
    rank = {}
    for index, path in enumerate(files):
        rank.setdefault(os.path.realpath(path), index)
    with open(output, encoding="utf-8", newline="") as fin:
        if output.lower().endswith(".csv"):
            reader = csv.DictReader(fin)
            header, rows = reader.fieldnames, list(reader)
            keys = [row["file"] for row in rows]
        else:
            header, rows = None, fin.read().splitlines()
            keys = [json.loads(line)["file"] for line in rows]
    order = sorted(
        range(len(rows)),
        key=lambda i: (rank.get(os.path.realpath(keys[i]), len(files)), i),
    )
    if order == list(range(len(rows))):
        return
    tmp = f"{output}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as fout:
        if header is None:
            fout.writelines(rows[i] + "\n" for i in order)
        else:
            writer = csv.DictWriter(fout, header)
            writer.writeheader()
            writer.writerows(rows[i] for i in order)
        fout.flush()
        os.fsync(fout.fileno())
    os.replace(tmp, output)
