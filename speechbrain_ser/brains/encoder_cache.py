"""A frozen encoder's frames, computed once per utterance.

:class:`~speechbrain_ser.brains.emotion.EmotionBrain` (with
``freeze_encoder`` and ``cache_frozen_encoder``) keeps each utterance's
valid frames in an :class:`EncoderCache`: in memory, or in an
``encoder_cache_folder`` shared by runs, folds and seeds. The folder's
``encoder.txt`` records the key of the encoder that wrote it: the encoder's printout (its options), the feature extractor's
printout and a fingerprint of the encoder's weights, so that two encoders
of one architecture with other weights (the original Whisper and a
pre-trained one, two fine-tuned folds) never share frames.

Authors
 * speechbrain-ser developers 2026
"""

import hashlib
import os
import urllib.parse

import torch

from speechbrain_ser.nnet.pooling import valid_frames

WEIGHTS_LINE = "weights: "


def weights_fingerprint(module):
    """A SHA-256 over a module's state_dict (names, dtypes, shapes, bytes).

    The tensors are read in name order, so the fingerprint depends on the
    weights and persistent buffers only, not on the device or on the order
    the module was built in. On whisper-tiny.en's encoder (8.2 M
    parameters, 33 MB) it takes about 17 ms on one CPU thread.

    Arguments
    ---------
    module : torch.nn.Module
        The module (e.g. a frozen encoder).

    Returns
    -------
    str
        ``"sha256:<64 hex digits>"``.

    Example
    -------
    >>> first = torch.nn.Linear(2, 2)
    >>> same = torch.nn.Linear(2, 2)
    >>> _ = same.load_state_dict(first.state_dict())
    >>> weights_fingerprint(first) == weights_fingerprint(same)
    True
    >>> with torch.no_grad():
    ...     same.bias[0] += 1e-6
    >>> weights_fingerprint(first) == weights_fingerprint(same)
    False
    >>> weights_fingerprint(first)[:7]
    'sha256:'
    """
    digest = hashlib.sha256()
    state = module.state_dict()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return f"sha256:{digest.hexdigest()}"


def encoder_cache_key(encoder, features=None):
    """The text ``encoder.txt`` holds for an encoder and its features.

    Arguments
    ---------
    encoder : torch.nn.Module
        The frozen encoder (unwrapped from DDP).
    features : callable, optional
        The feature extractor that feeds it (``compute_features``).

    Returns
    -------
    str
        The encoder's printout, ``features: <printout>`` and
        ``weights: <fingerprint>``, one per line.

    Example
    -------
    >>> key = encoder_cache_key(torch.nn.Linear(2, 2))
    >>> print(key.splitlines()[:2])
    ['Linear(in_features=2, out_features=2, bias=True)', 'features: None']
    >>> key.splitlines()[2].startswith("weights: sha256:")
    True
    """
    return (
        f"{encoder!r}\nfeatures: {features!r}\n"
        f"{WEIGHTS_LINE}{weights_fingerprint(encoder)}\n"
    )


def check_encoder_cache_folder(folder, key):
    """Creates ``folder`` with ``encoder.txt`` = ``key``, or checks it.

    A folder written before the key held the weights (its ``encoder.txt``
    has no ``weights:`` line) is refused too: its frames may come from
    other weights. If you know they come from the same weights, append
    the line the error gives to ``encoder.txt``; otherwise empty the
    folder.

    Arguments
    ---------
    folder : str
        The ``encoder_cache_folder``.
    key : str
        The current encoder's :func:`encoder_cache_key`.

    Raises
    ------
    ValueError
        If the folder holds frames of another encoder, other weights,
        other features, or of unrecorded weights.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_encoder_cache_folder(folder, "Linear()\\nweights: sha256:0\\n")
    >>> check_encoder_cache_folder(folder, "Linear()\\nweights: sha256:1\\n")
    Traceback (most recent call last):
    ...
    ValueError: ...: encoder_cache_folder holds frames of the same encoder with other weights; give another folder or empty it
    """
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "encoder.txt")
    if not os.path.exists(path):  # atomic: DDP ranks may race here
        with open(f"{path}.{os.getpid()}.tmp", "w", encoding="utf-8") as fout:
            fout.write(key)
        os.replace(f"{path}.{os.getpid()}.tmp", path)
    with open(path, encoding="utf-8") as fin:
        saved = fin.read()
    if saved == key:
        return
    options, _, weights = key.partition(f"\n{WEIGHTS_LINE}")
    saved_options, found, _ = saved.partition(f"\n{WEIGHTS_LINE}")
    if not found and saved_options.rstrip("\n") == options:
        raise ValueError(
            f"{path}: encoder_cache_folder was written before the cache "
            "recorded the encoder's weights, so its frames may come from "
            "other weights; empty it, or, if they come from these weights, "
            f"append the line '{WEIGHTS_LINE}{weights.strip()}' to {path}"
        )
    problem = (
        "the same encoder with other weights"
        if saved_options == options
        else "another encoder or feature set"
    )
    raise ValueError(
        f"{path}: encoder_cache_folder holds frames of {problem}; give "
        "another folder or empty it"
    )


class EncoderCache:
    """Each utterance's valid encoder frames, float16, by utterance id.

    The frames may be (T, D) or (T, L, D) (every hidden state of an
    encoder with ``layer: all``). Without ``folder`` they stay in memory;
    with it, each utterance is one file ``<folder>/<quoted id>.pt``,
    written atomically, and the folder is checked to hold frames of this
    encoder (:func:`check_encoder_cache_folder`).

    Arguments
    ---------
    folder : str, optional
        The ``encoder_cache_folder``; None: in memory.
    encoder : torch.nn.Module, optional
        The frozen encoder (unwrapped from DDP); needed with ``folder``.
    features : callable, optional
        Its feature extractor (``compute_features``), part of the key.

    Example
    -------
    >>> cache = EncoderCache()
    >>> frames = torch.rand(2, 5, 3)  # (B, T, D), the 2nd utterance is short
    >>> cache.lookup(["a", "b"]) is None
    True
    >>> stored = cache.store(["a", "b"], frames, torch.tensor([1.0, 0.6]))
    >>> torch.equal(stored, cache.lookup(["a", "b"]))  # fresh = read back
    True
    >>> len(cache), cache.get("b").shape, cache.get("b").dtype
    (2, torch.Size([3, 3]), torch.float16)
    >>> cache.lookup(["a", "b"]).shape  # padded again, float32
    torch.Size([2, 5, 3])
    """

    def __init__(self, folder=None, encoder=None, features=None):
        self.folder = folder
        self.frames = {}
        if folder:
            check_encoder_cache_folder(
                folder, encoder_cache_key(encoder, features)
            )

    def __len__(self):
        """The number of utterances cached in memory."""
        return len(self.frames)

    def path(self, uid):
        """``<folder>/<quoted id>.pt``, or None in memory."""
        if not self.folder:
            return None
        quoted = urllib.parse.quote(uid, safe="")
        return os.path.join(self.folder, quoted + ".pt")

    def get(self, uid):
        """An utterance's cached float16 frames, or None."""
        if uid in self.frames:
            return self.frames[uid]
        path = self.path(uid)
        if path and os.path.exists(path):
            return torch.load(path)
        return None

    def put(self, uid, frames):
        """Caches an utterance's frames in memory or in the folder."""
        path = self.path(uid)
        if path is None:
            self.frames[uid] = frames
            return
        torch.save(frames, f"{path}.{os.getpid()}.tmp")
        os.replace(f"{path}.{os.getpid()}.tmp", path)

    def lookup(self, ids):
        """The padded float32 frames of every id, or None if one is missing.

        Arguments
        ---------
        ids : list of str
            The batch's utterance ids.

        Returns
        -------
        torch.Tensor or None
            (B, T, ...) on the CPU, zero-padded to the longest.
        """
        frames = [self.get(uid) for uid in ids]
        if any(item is None for item in frames):
            return None
        return torch.nn.utils.rnn.pad_sequence(
            [item.float() for item in frames], batch_first=True
        )

    def store(self, ids, frames, lengths):
        """Caches each utterance's valid frames of a padded batch.

        Arguments
        ---------
        ids : list of str
            The batch's utterance ids.
        frames : torch.Tensor
            (B, T, ...) encoder output.
        lengths : torch.Tensor
            (B,) relative lengths.

        Returns
        -------
        torch.Tensor
            What :meth:`lookup` gives for these ids from now on (float16
            valid frames, zero-padded, float32, on the CPU): a batch then
            gives the same numbers whether its frames were just computed
            or read back (by a later epoch, or after another DDP rank
            cached them first).
        """
        valid = valid_frames(lengths, frames.shape[1])
        stored = [
            item[:n].to(torch.float16).cpu() for item, n in zip(frames, valid)
        ]
        for uid, item in zip(ids, stored):
            self.put(uid, item)
        return torch.nn.utils.rnn.pad_sequence(
            [item.float() for item in stored], batch_first=True
        )
