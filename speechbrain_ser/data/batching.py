"""Batching for training: dynamic batches by total duration, and padding.

With ``dynamic_batching: True`` in a YAML, the training loader draws
batches from SpeechBrain's ``DynamicBatchSampler``: utterances of similar
duration are bucketed together and each batch holds at most
``max_batch_seconds`` of padded audio, so batches of short clips are large,
batches of long clips small, and little compute goes to padding.

Authors
 * speechbrain-ser developers 2026
"""

import math

import torch
from speechbrain.dataio.sampler import DynamicBatchSampler


def dynamic_batch_loader_options(train_set, hparams):
    """Training loader options that batch by total duration.

    Reads ``max_batch_seconds`` (padded seconds per batch), ``num_buckets``
    (default 20), ``seed``, ``crop_seconds`` (when training crops random
    windows, an utterance counts for at most that long) and, from
    ``train_dataloader_options``, ``num_workers``; the utterances'
    ``duration`` comes from the manifest.

    Arguments
    ---------
    train_set : DynamicItemDataset
        The training set (manifest entries with ``duration``).
    hparams : dict
        Loaded YAML.

    Returns
    -------
    dict
        Loader options with a ``batch_sampler`` (no batch size, no
        shuffle: the sampler shuffles its buckets every epoch).

    Example
    -------
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = DynamicItemDataset(
    ...     {f"u{i}": {"duration": 1.0 + i % 5} for i in range(40)}
    ... )
    >>> options = dynamic_batch_loader_options(
    ...     data,
    ...     {
    ...         "max_batch_seconds": 12,
    ...         "num_buckets": 5,
    ...         "seed": 0,
    ...         "train_dataloader_options": {"num_workers": 0},
    ...     },
    ... )
    >>> batches = list(options["batch_sampler"])
    >>> sorted(i for batch in batches for i in batch) == list(range(40))
    True
    >>> max(len(b) * max(1.0 + i % 5 for i in b) for b in batches) <= 12
    True
    """
    options = hparams.get("train_dataloader_options", {})
    crop = hparams.get("crop_seconds") or float("inf")
    sampler = DynamicBatchSampler(
        train_set,
        max_batch_length=hparams["max_batch_seconds"],
        num_buckets=hparams.get("num_buckets", 20),
        # what the model sees: a random crop when the YAML crops (CPC)
        length_func=lambda entry: min(entry["duration"], crop),
        shuffle=True,
        batch_ordering="random",
        seed=hparams.get("seed", 42),
    )
    return {
        "batch_sampler": sampler,
        "num_workers": options.get("num_workers", 0),
    }


def pad_right_batch(tensors, mode="constant", value=0):
    """SpeechBrain's ``batch_pad_right`` with one copy instead of two.

    SpeechBrain pads each tensor on its own (a copy) and then stacks them
    (a second copy); this allocates the batch once, filled with
    ``value``, and copies each tensor into it, which halves the memory
    traffic of collating a batch of long waveforms. Same arguments and
    results, for the constant padding that waveform batches use (other
    modes go to SpeechBrain's function).

    Arguments
    ---------
    tensors : list of torch.Tensor
        Tensors that differ in their first dimension only.
    mode : str
        Padding mode (``constant`` handled here).
    value : float
        Padding value.

    Returns
    -------
    torch.Tensor
        (B, max_len, ...) batch.
    torch.Tensor
        (B,) relative lengths along the first dimension.

    Example
    -------
    >>> batch, lengths = pad_right_batch([torch.ones(3), torch.ones(1)])
    >>> batch.tolist(), lengths.tolist()
    ([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], [1.0, 0.3333333432674408])
    """
    from speechbrain.utils.data_utils import batch_pad_right

    if mode != "constant" or len(tensors) < 2:
        return batch_pad_right(tensors, mode=mode, value=value)
    first = tensors[0]
    if any(t.shape[1:] != first.shape[1:] for t in tensors):
        raise ValueError(
            "tensors to batch may differ in their first dimension only, got "
            f"shapes {[tuple(t.shape) for t in tensors]}"
        )
    longest = max(len(t) for t in tensors)
    shape = (len(tensors), longest) + first.shape[1:]
    if torch.utils.data.get_worker_info() is None:
        batch = first.new_full(shape, value)
    else:  # in a loader worker: straight into shared memory, as
        # torch's default_collate does, instead of a copy when sent
        storage = first._typed_storage()._new_shared(
            math.prod(shape), device=first.device
        )
        batch = first.new(storage).resize_(shape).fill_(value)
    for row, tensor in zip(batch, tensors):
        row[: len(tensor)] = tensor
    lengths = torch.tensor([len(t) / longest for t in tensors])
    return batch, lengths


def share_tensors_by_file_system(worker_id):
    """A loader ``worker_init_fn``: the worker sends its batches through
    shared-memory files instead of file descriptors.

    With torch's default (``file_descriptor``), receiving a batch of 16
    waveforms from a worker cost the training process 1.7-1.8 ms of CPU
    on our 2-core machine; with ``file_system`` 1.1-1.3 ms, and the
    loader gave 35-40 % more batches per second with two workers
    (``bench/brain_overhead.py --file_system_sharing=True``). The
    main process keeps its own strategy: the receiver follows the sender.
    Torch's documentation notes that shared-memory files can outlive a
    killed process (its ``torch_shm_manager`` removes them otherwise), so
    this is opt-in, in the YAML's loader options::

        train_dataloader_options:
            num_workers: 8
            worker_init_fn: !name:speechbrain_ser.data.batching.share_tensors_by_file_system

    Arguments
    ---------
    worker_id : int
        The worker's index (unused).

    Example
    -------
    >>> def strategy(_):
    ...     return torch.multiprocessing.get_sharing_strategy()
    >>> loader = torch.utils.data.DataLoader(
    ...     [0],
    ...     num_workers=1,
    ...     collate_fn=strategy,
    ...     worker_init_fn=share_tensors_by_file_system,
    ... )
    >>> next(iter(loader)), torch.multiprocessing.get_sharing_strategy()
    ('file_system', 'file_descriptor')
    """
    torch.multiprocessing.set_sharing_strategy("file_system")
