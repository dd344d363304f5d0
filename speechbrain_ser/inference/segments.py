"""Predictions over time: fixed-length segments of long recordings."""

from speechbrain_ser.data.audio import AudioError, AudioFile
from speechbrain_ser.data.batching import pad_right_batch
from speechbrain_ser.inference.corpus import (
    mark_truncated,
    result_rows,
    speech_in,
)
from speechbrain_ser.metrics import AVD_NAMES


def segment_bounds(duration, segment, hop):
    """Start and end times of the segments that cover a recording.

    Segments of ``segment`` seconds start every ``hop`` seconds; the last
    one is the first that reaches the end (and is cut there); a recording
    shorter than one segment is one segment.

    Arguments
    ---------
    duration : float
        Recording length in seconds.
    segment : float
        Segment length in seconds.
    hop : float
        Seconds between segment starts.

    Returns
    -------
    list of tuple
        (start, end) in seconds.

    Example
    -------
    >>> segment_bounds(5.0, 2.0, 1.5)
    [(0.0, 2.0), (1.5, 3.5), (3.0, 5.0)]
    >>> segment_bounds(1.2, 2.0, 1.0)
    [(0.0, 1.2)]
    """
    if segment <= 0 or hop <= 0:
        raise ValueError(f"segment ({segment}) and hop ({hop}) must be > 0")
    bounds, start = [], 0.0
    while True:
        end = min(start + segment, duration)
        bounds.append((round(start, 6), round(end, 6)))
        if end >= duration:
            return bounds
        start += hop


def predict_segments(recognizer, path, segment, hop, batch_size=16):
    """Predictions over time: one row per segment of a recording.

    Only ``batch_size`` segments are in memory at a time, so memory is
    bounded by the segment length, not by the recording.

    Arguments
    ---------
    recognizer : EmotionRecognizer
        The model.
    path : str
        Audio file of any length.
    segment : float
        Segment length in seconds.
    hop : float
        Seconds between segment starts.
    batch_size : int
        Segments per forward pass.

    Returns
    -------
    list of dict
        ``file``, ``start``, ``end`` and the prediction of each segment
        (or ``speech`` False and the ``reason``); each with a ``warning``
        when the file is a WAV cut short (see
        :func:`~speechbrain_ser.inference.corpus.mark_truncated`).

    Raises
    ------
    AudioError
        For an unreadable file, or one shorter than the recognizer's
        ``min_duration``.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> from speechbrain_ser.inference import EmotionRecognizer
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> recognizer = EmotionRecognizer.from_hparams(
    ...     source=tiny_model_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.random.randn(40000) * 0.1, 16000)
    >>> rows = predict_segments(recognizer, path, segment=1.0, hop=1.0)
    >>> [(row["start"], row["end"]) for row in rows]
    [(0.0, 1.0), (1.0, 2.0), (2.0, 2.5)]
    """
    with AudioFile(path) as audio:  # opened once for all segments
        min_duration = getattr(recognizer, "min_duration", 0.0)
        if audio.duration < min_duration:  # as predict_corpus says it
            raise AudioError(
                f"{path}: too short to analyse ({audio.duration:.3f} s; "
                f"this model needs at least {min_duration} s)"
            )
        file_rate = audio.sample_rate
        bounds = segment_bounds(audio.duration, segment, hop)
        rows = []
        for first in range(0, len(bounds), batch_size):
            chunk = bounds[first : first + batch_size]
            wavs = [
                _read_segment(audio, recognizer.hparams.sample_rate, *bound)
                for bound in chunk
            ]
            rows += _segment_rows(recognizer, path, chunk, wavs, file_rate)
    return mark_truncated(rows, path)


def _read_segment(audio, sample_rate, start, end):
    """Samples from ``start`` to ``end`` seconds of an open AudioFile."""
    rate = audio.sample_rate
    return audio.read_span(
        sample_rate, int(round(start * rate)), int(round(end * rate))
    )


def _segment_rows(recognizer, path, chunk, wavs, file_rate):
    """Rows of one batch of segments; unvoiced ones are not predicted."""
    detector = getattr(recognizer, "speech_detector", None)
    speech = [speech_in(detector, wav, file_rate) for wav in wavs]
    voiced = [enough for _, enough in speech]
    predicted = iter([])
    if any(voiced):
        batch, lengths = pad_right_batch(
            [wav for wav, keep in zip(wavs, voiced) if keep]
        )
        outputs = recognizer.predict_batch(batch, lengths)
        predicted = iter(result_rows(recognizer, [path] * sum(voiced), outputs))
    rows = []
    for (start, end), keep, (seconds, _) in zip(chunk, voiced, speech):
        if keep:
            row = next(predicted)
        else:  # says why, as for a whole file
            row = recognizer.no_speech_result(path, seconds or 0.0, end - start)
        rows.append({**row, "file": path, "start": start, "end": end})
    return rows


def plot_timeline(rows, path, title=None):
    """Draws per-segment predictions: classes as a band, A/V/D as curves.

    Arguments
    ---------
    rows : list of dict
        Output of :func:`predict_segments`.
    path : str
        PNG file to write.
    title : str, optional
        Figure title.

    Returns
    -------
    str
        ``path``.

    Example
    -------
    >>> import os, tempfile
    >>> rows = [
    ...     {"start": 0.0, "end": 1.0, "emotion": "sad", "valence": 2.0},
    ...     {"start": 1.0, "end": 2.0, "emotion": "happy", "valence": 4.0},
    ... ]
    >>> out = plot_timeline(rows, tempfile.mktemp(suffix=".png"))
    >>> os.path.getsize(out) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_classes = any("emotion" in row for row in rows)
    dims = [name for name in AVD_NAMES if any(name in row for row in rows)]
    panels = int(has_classes) + int(bool(dims))
    fig, axes = plt.subplots(
        panels, 1, figsize=(10, 1.8 + 2 * panels), sharex=True, squeeze=False
    )
    axes = list(axes[:, 0])
    centres = [(row["start"] + row["end"]) / 2 for row in rows]
    if has_classes:
        ax = axes.pop(0)
        labels = sorted({row["emotion"] for row in rows if "emotion" in row})
        colours = plt.get_cmap("tab10")
        for row in rows:
            if "emotion" not in row:  # no speech: left blank
                continue
            ax.axvspan(
                row["start"],
                row["end"],
                color=colours(labels.index(row["emotion"]) % 10),
                alpha=0.6,
                lw=0,
            )
        handles = [
            plt.Rectangle((0, 0), 1, 1, color=colours(i % 10), alpha=0.6)
            for i in range(len(labels))
        ]
        ax.legend(handles, labels, loc="upper right", ncol=len(labels))
        ax.set_yticks([])
        ax.set_ylabel("class")
    if dims:
        ax = axes.pop(0)
        for name in dims:
            ax.plot(centres, [row.get(name) for row in rows], label=name)
        ax.legend(loc="upper right")
        ax.set_ylabel("A/V/D")
    fig.axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
