"""Corpus prediction over several processes, GPUs or nodes (torchrun).

Under ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``)::

    torchrun --nproc_per_node=8 -m speechbrain_ser.cli predict \\
        --model DIR --device cuda --output out.jsonl corpus/
    # several nodes: the same command on each, with
    #   --nnodes=2 --node_rank=<0|1> --rdzv_backend=c10d \\
    #   --rdzv_endpoint=<first node>:29500

:func:`predict_corpus_sharded` gives each rank a share of the files still
to do, balanced by total duration (longest first onto the least loaded
rank; deterministic: every rank computes the same shares from the same
headers). The shares are made of the batches one process would make, whole
(:func:`work_units`), so every file gets the numbers of a single-process
run. Each rank predicts its share with
:func:`~speechbrain_ser.inference.corpus.predict_corpus` into its own part
file, ``out.rank<r>.jsonl`` (flushed after every batch). When all are done,
rank 0 merges the parts and any earlier output into ``out.jsonl``, each
input exactly once, in input order, and removes the parts.

A killed run resumes per rank: the plan is made again over all the inputs
(the same plan for the same inputs and number of processes), each rank
skips the files already in the output or in any part and appends the rest
of its share to its part; the files left of its batches batch as before,
so their numbers are those of an uninterrupted run (except for a batch cut
in the middle of its writing by the kill: its remaining files batch
together, and may differ in the last digits). A rerun with another number
of processes also completes the output, each file once. The ranks
exchange only file names, durations and counts (a ``gloo`` group, also when
the model runs on GPUs); results travel through the part files, so the
output folder must be shared by all nodes.

Authors
 * speechbrain-ser developers 2026
"""

import csv
import glob
import json
import os
import re

from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import AudioError, audio_info
from speechbrain_ser.inference.corpus import (
    ResultWriter,
    done_files,
    duration_batches,
    expand_inputs,
    predict_corpus,
    unmatched_inputs,
)
from speechbrain_ser.run_lock import RunLock, RunLockedError

logger = get_logger(__name__)


def world():
    """(rank, world size, local rank) from torchrun's environment.

    Returns
    -------
    tuple
        (0, 1, 0) outside torchrun.

    Example
    -------
    >>> import os
    >>> os.environ.get("WORLD_SIZE") or world()
    (0, 1, 0)
    """
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def balanced_shards(durations, n_shards):
    """Splits items into shards of about equal total duration.

    Longest item first onto the shard with the least total so far (ties:
    the lower shard); the same durations always give the same shards.

    Arguments
    ---------
    durations : list of float
        Seconds per item.
    n_shards : int
        Number of shards (ranks).

    Returns
    -------
    list of list of int
        Item indices per shard, each in increasing order.

    Example
    -------
    >>> balanced_shards([5.0, 1.0, 4.0, 2.0, 2.0], 2)  # 7 s each
    [[0, 4], [1, 2, 3]]
    """
    loads = [0.0] * n_shards
    shards = [[] for _ in range(n_shards)]
    order = sorted(range(len(durations)), key=lambda i: (-durations[i], i))
    for index in order:
        shard = min(range(n_shards), key=lambda s: (loads[s], s))
        shards[shard].append(index)
        loads[shard] += durations[index]
    return [sorted(shard) for shard in shards]


def work_units(
    durations, min_duration, chunk_seconds, max_batch_seconds, max_batch_size
):
    """The units shared out: whole batches of :func:`predict_corpus`.

    A clip's numbers depend (slightly) on the clips padded into its batch,
    so the ranks get the batches one process would make, whole: a rank
    batches its share exactly so (batches are cut by count and by their
    first, longest clip only), and every clip comes out as in one process.
    Files too long for a batch (over ``chunk_seconds``), too short or
    unreadable (duration None) are units of their own.

    Arguments
    ---------
    durations : list of float or None
        Seconds per file (None: unreadable).
    min_duration, chunk_seconds : float
        The recognizer's bounds.
    max_batch_seconds, max_batch_size
        As for :func:`predict_corpus`.

    Returns
    -------
    units : list of list of int
        File indices per unit.
    costs : list of float
        Seconds of audio per unit.

    Example
    -------
    >>> work_units([1.0, None, 30.0, 2.0, 0.05], 0.1, 20.0, 4.0, 8)
    ([[1], [2], [4], [3, 0]], [0.0, 30.0, 0.0, 3.0])
    """
    units, costs, short = [], [], []
    for index, seconds in enumerate(durations):
        if seconds is None or seconds < min_duration:
            units.append([index])
            costs.append(0.0)
        elif seconds > chunk_seconds:
            units.append([index])
            costs.append(seconds)
        else:
            short.append(index)
    for batch in duration_batches(
        [durations[i] for i in short], max_batch_seconds, max_batch_size
    ):
        units.append([short[j] for j in batch])
        costs.append(sum(durations[short[j]] for j in batch))
    return units, costs


def part_path(output, rank):
    """The part file of ``rank``: ``out.jsonl`` -> ``out.rank<r>.jsonl``.

    Arguments
    ---------
    output : str
        The ``--output`` file.
    rank : int
        The process's rank.

    Returns
    -------
    str
        The part's path (same extension: JSON lines or CSV).

    Example
    -------
    >>> part_path("runs/out.csv", 3)
    'runs/out.rank3.csv'
    """
    root, ext = os.path.splitext(output)
    return f"{root}.rank{rank}{ext}"


def existing_parts(output):
    """Part files of ``output`` on disk (any number of ranks), sorted.

    Arguments
    ---------
    output : str
        The ``--output`` file.

    Returns
    -------
    list of str
        ``out.rank<r>.jsonl`` files that exist, in rank order.

    Example
    -------
    >>> existing_parts("/no/such/out.jsonl")
    []
    """
    root, ext = os.path.splitext(output)
    name = re.compile(re.escape(root) + r"\.rank(\d+)" + re.escape(ext))
    pattern = glob.escape(root) + ".rank*" + glob.escape(ext)
    found = [(name.fullmatch(p), p) for p in glob.glob(pattern)]
    return [p for m, p in sorted((int(m[1]), p) for m, p in found if m)]


def _read_rows(path):
    """(file, row) pairs of a result file: JSON lines kept as their text,
    CSV rows as dicts."""
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", newline="") as fin:
        if path.lower().endswith(".csv"):
            return [(row["file"], row) for row in csv.DictReader(fin)]
        return [
            (json.loads(line)["file"], line.rstrip("\n"))
            for line in fin
            if line.strip()
        ]


def merge_parts(output, files):
    """Merges the part files and ``output`` into ``output``.

    Each file appears once (the first row found: the earlier output, then
    the parts in rank order); rows of ``files`` come in their order, after
    rows of anything else (errors about inputs: empty folders, patterns
    that match nothing). The merged file is written beside and moved over
    ``output`` before the parts are removed, so a kill at any point loses
    nothing.

    Arguments
    ---------
    output : str
        The ``--output`` file (JSON lines, or CSV for ``.csv``).
    files : list of str
        The input files in order.

    Returns
    -------
    int
        Rows in the merged output.

    Example
    -------
    >>> import tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "out.jsonl")
    >>> with open(part_path(out, 0), "w") as f:
    ...     _ = f.write('{"file": "b.wav"}\\n')
    >>> with open(part_path(out, 1), "w") as f:
    ...     _ = f.write('{"file": "a.wav"}\\n{"file": "b.wav"}\\n')
    >>> merge_parts(out, ["a.wav", "b.wav"])
    2
    >>> open(out).read(), existing_parts(out)
    ('{"file": "a.wav"}\\n{"file": "b.wav"}\\n', [])
    """
    parts = existing_parts(output)
    rows = {}  # by real path: two spellings of one file are one file
    for path in [output] + parts:
        for name, row in _read_rows(path):
            rows.setdefault(os.path.realpath(name), row)
    position = {}
    for index, name in enumerate(files):
        position.setdefault(os.path.realpath(name), index)
    names = sorted(rows, key=lambda n: (n in position, position.get(n, 0)))
    tmp = f"{output}.merging"
    with open(tmp, "w", encoding="utf-8", newline="") as fout:
        if output.lower().endswith(".csv"):
            columns = list(
                dict.fromkeys(c for n in names for c in rows[n].keys())
            )
            writer = csv.DictWriter(fout, columns)
            writer.writeheader()
            writer.writerows(rows[n] for n in names)
        else:
            fout.writelines(rows[n] + "\n" for n in names)
    os.replace(tmp, output)
    for path in parts:
        os.remove(path)
    return len(names)


def _gather(value):
    """Every rank's ``value``, in rank order (just [value] alone)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return [value]
    values = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


def _barrier():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def init_process_group(timeout_hours=24.0):
    """Joins torchrun's process group (gloo), once.

    Ranks wait for each other only at the start and the end, so the
    timeout is long: a rank may finish its share hours before the last.

    Arguments
    ---------
    timeout_hours : float
        How long a rank waits for the others.

    Returns
    -------
    bool
        True when running under torchrun with more than one process.

    Example
    -------
    >>> os.environ.get("WORLD_SIZE", "1") != "1" or init_process_group()
    False
    """
    import datetime

    import torch.distributed as dist

    rank, size, _ = world()
    if size == 1:
        return False
    if not dist.is_initialized():
        dist.init_process_group(
            "gloo",
            rank=rank,
            world_size=size,
            timeout=datetime.timedelta(hours=timeout_hours),
        )
    return True


def predict_corpus_sharded(
    recognizer,
    inputs,
    output,
    max_batch_seconds=160.0,
    max_batch_size=32,
    num_workers=0,
    progress=True,
    min_confidence=None,
):
    """:func:`predict_corpus` over torchrun's ranks, merged into ``output``.

    Without torchrun (one process) the same code runs with one shard: it
    also finishes and merges the parts a killed distributed run left.

    Arguments
    ---------
    recognizer : EmotionRecognizer
        This rank's model.
    inputs : list of str
        Files, folders, globs, manifests.
    output : str
        The merged output (JSON lines, or CSV for ``.csv``); needed.
    max_batch_seconds, max_batch_size, num_workers
        As for :func:`predict_corpus`.
    progress : bool
        A progress bar on rank 0.
    min_confidence : float, optional
        As for :func:`predict_corpus` (abstain below it).

    Returns
    -------
    dict
        ``predicted``, ``errors``, ``skipped`` summed over the ranks.

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
    ...         f"{folder}/{i}.wav", np.random.randn(8000) / 9, 16000
    ...     )
    >>> out = f"{folder}/out.jsonl"
    >>> predict_corpus_sharded(recognizer, [folder], out, progress=False)
    {'predicted': 3, 'errors': 0, 'skipped': 0}
    >>> len(open(out).readlines()), existing_parts(out)
    (3, [])
    """
    if not output:
        raise ValueError(
            "distributed prediction writes one part file per rank: give "
            "--output"
        )
    rank, size, _ = world()
    # rank 0 holds <output>.lock for the whole run (a second run, with or
    # without torchrun, stops at once), and tells the others
    lock = RunLock(output, "--output file", is_file=True, main_only=False)
    problem = None
    if rank == 0:
        try:
            lock.acquire()
        except RunLockedError as error:
            problem = str(error)
        else:  # drop lines cut short by a kill, before anyone reads
            for path in [output] + existing_parts(output):
                done_files(path)
    problem = _gather(problem)[0]
    if problem:
        raise RunLockedError(problem)
    try:
        return _predict_share(
            recognizer,
            inputs,
            output,
            max_batch_seconds,
            max_batch_size,
            num_workers,
            progress,
            min_confidence,
        )
    finally:
        lock.release()


def _predict_share(
    recognizer,
    inputs,
    output,
    max_batch_seconds,
    max_batch_size,
    num_workers,
    progress,
    min_confidence,
):
    """This rank's part of :func:`predict_corpus_sharded`, merged by rank 0
    at the end."""
    rank, size, _ = world()
    files = expand_inputs(inputs)
    done = set()
    for path in [output] + existing_parts(output):
        done |= {os.path.realpath(name) for name in done_files(path)}
    # The plan covers every input, done or not, so that a rerun gives each
    # rank the batches it had: what is left of them batches as before.
    durations = {}
    for index in range(rank, len(files), size):  # headers read by all ranks
        try:
            durations[index] = audio_info(files[index])[0]
        except AudioError:
            durations[index] = None  # an error line, written by its rank
    for part in _gather(durations):
        durations.update(part)
    units, costs = work_units(
        [durations[i] for i in range(len(files))],
        getattr(recognizer, "min_duration", 0.0),
        recognizer.chunk_seconds,
        max_batch_seconds,
        max_batch_size,
    )
    mine = balanced_shards(costs, size)[rank]
    share = [files[i] for i in sorted(i for u in mine for i in units[u])]
    share = [path for path in share if os.path.realpath(path) not in done]
    part = part_path(output, rank)
    unmatched = 0
    if rank == 0:
        with ResultWriter(part) as writer:
            for row in unmatched_inputs(inputs):
                if os.path.realpath(row["file"]) not in done:
                    writer.write(row)
                    unmatched += 1
    counts = predict_corpus(
        recognizer,
        share,
        output=part,
        max_batch_seconds=max_batch_seconds,
        max_batch_size=max_batch_size,
        num_workers=num_workers,
        progress=progress and rank == 0,
        min_confidence=min_confidence,
    )
    counts["errors"] += unmatched
    skipped = sum(os.path.realpath(path) in done for path in files)
    counts["skipped"] = skipped if rank == 0 else 0
    totals = _gather(counts)
    _barrier()
    if rank == 0:
        merged = merge_parts(output, files)
        logger.info(f"{output}: {merged} rows merged from {size} rank(s)")
    _barrier()
    return {key: sum(c[key] for c in totals) for key in counts}
