"""One run per output folder (or output file).

Two trainings started into one output folder would delete each other's
checkpoints and mix their logs and results. :class:`RunLock` takes an
exclusive ``flock`` on a lock file (``run.lock`` in the output folder, or
``<file>.lock`` beside a ``predict --output`` file) holding the PID, host
and start time of its holder; a second run stops at once with an error
naming the folder and the other run's PID. The operating system releases
the lock when its process dies, however it dies, so a lock left by a
killed run never blocks the next one. Under DDP only the main process
(rank 0) takes the lock: the ranks of one ``torchrun`` are one run.

``flock`` needs a POSIX system; where ``fcntl`` is missing (Windows) the
lock does nothing.

Authors
 * speechbrain-ser developers 2026
"""

import os
import socket
import time

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from speechbrain.utils.distributed import (
    if_main_process,
    is_distributed_initialized,
)

LOCK_NAME = "run.lock"


def is_main_rank():
    """Whether this is rank 0, before or after DDP is initialised
    (``torchrun`` sets ``RANK`` in every rank's environment).

    Returns
    -------
    bool

    Example
    -------
    >>> is_main_rank()
    True
    """
    if is_distributed_initialized():
        return if_main_process()
    return int(os.environ.get("RANK", "0")) == 0


class RunLockedError(RuntimeError):
    """Another process holds the lock; the message names it.

    Example
    -------
    >>> isinstance(RunLockedError("out: locked by PID 1"), RuntimeError)
    True
    """


class RunLock:
    """An exclusive lock on a folder (or file) held for one run.

    Arguments
    ---------
    target : str
        The output folder (its ``run.lock`` is locked; the folder is
        created) or, with ``is_file=True``, an output file (``<file>.lock``
        is locked).
    what : str
        How the error names the target ("output folder", "--output file").
    is_file : bool
        Whether ``target`` is a file rather than a folder.
    main_only : bool
        Take the lock on the main process only (DDP ranks share a run).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with RunLock(folder):
    ...     try:
    ...         RunLock(folder).acquire()
    ...     except RunLockedError as error:
    ...         print(f"(PID {os.getpid()} on" in str(error))
    True
    >>> with RunLock(folder):  # released: free again
    ...     pass
    """

    def __init__(
        self, target, what="output folder", is_file=False, main_only=True
    ):
        self.target = target
        self.what = what
        if is_file:
            self.path = f"{target}.lock"
        else:
            self.path = os.path.join(target, LOCK_NAME)
        self.active = fcntl is not None and (not main_only or is_main_rank())
        self.fd = None

    def acquire(self):
        """Takes the lock or raises :class:`RunLockedError` at once.

        Returns
        -------
        RunLock
            self.
        """
        if not self.active or self.fd is not None:
            return self
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode("utf-8", "replace").split()
            os.close(fd)
            pid, host = (holder + ["?", "?"])[:2]
            raise RunLockedError(
                f"{self.target}: another run is writing into this "
                f"{self.what} (PID {pid} on {host}, lock file {self.path}); "
                f"wait for it to end or choose another {self.what}"
            ) from None
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {stamp}\n".encode())
        self.fd = fd
        return self

    def release(self):
        """Releases the lock (the file stays; its content is cleared)."""
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
