"""Checkpoints that become visible only when complete.

SpeechBrain's ``Checkpointer`` creates ``save/CKPT+<time>+<n>/``, writes
``CKPT.yaml`` first and the parameter files after it. A process killed
in between leaves a folder that SpeechBrain takes for a checkpoint (its
test is "the name starts with ``CKPT`` and ``CKPT.yaml`` exists"), and
every later run dies loading it (speechbrain#2397).
:class:`AtomicCheckpointer` writes every file of a checkpoint into
``save/.incomplete+CKPT+...`` (a name SpeechBrain never lists), flushes
them to disk (``fsync``), writes ``CKPT.yaml`` last and renames the folder
to its ``CKPT+...`` name, so that a ``CKPT+`` folder is always complete.

On recovery, a ``CKPT+`` folder that is nevertheless incomplete or
unreadable (written by older code, or damaged by hand), and any
``.incomplete+`` folder a kill left behind, is skipped with one warning
naming it and the reason, and moved to ``save/incomplete/``; the run
resumes from the newest complete checkpoint.

The recipe YAMLs instantiate SpeechBrain's ``Checkpointer``;
:func:`atomic_checkpointer` turns such an instance into an
:class:`AtomicCheckpointer` in place (``run.py`` and
:class:`~speechbrain_ser.brains.resumable.ResumableBrain` call it), so no
YAML has to change.

Authors
 * speechbrain-ser developers 2026
"""

import logging
import os
import pathlib
import shutil
import zipfile

import yaml
from speechbrain.utils.checkpoints import (
    CKPT_PREFIX,
    DEFAULT_SAVE_HOOKS,
    METAFNAME,
    PARAMFILE_EXT,
    Checkpoint,
    Checkpointer,
    get_default_hook,
)
from speechbrain.utils.distributed import (
    ddp_barrier,
    ddp_broadcast,
    if_main_process,
)
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)

# A checkpoint being written; SpeechBrain only lists names starting "CKPT".
TMP_PREFIX = ".incomplete+"
# Where unusable checkpoint folders are moved on recovery.
INCOMPLETE_FOLDER = "incomplete"
ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format


def _fsync(path, directory=False):
    """Flushes a file (or a folder's entries) to disk."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. folders cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicCheckpointer(Checkpointer):
    """A ``Checkpointer`` whose checkpoints appear only when complete, and
    whose recovery moves unusable checkpoint folders aside.

    Arguments
    ---------
    *args : tuple
        As SpeechBrain's ``Checkpointer`` (``checkpoints_dir``,
        ``recoverables``, ...).
    **kwargs : dict
        As SpeechBrain's ``Checkpointer``.

    Example
    -------
    >>> import os, tempfile, torch
    >>> folder = tempfile.mkdtemp()
    >>> model = torch.nn.Linear(2, 1)
    >>> checkpointer = AtomicCheckpointer(folder, {"model": model})
    >>> saved = checkpointer.save_checkpoint(meta={"loss": 1.0})
    >>> sorted(os.listdir(saved.path))
    ['CKPT.yaml', 'model.ckpt']
    >>> broken = os.path.join(folder, "CKPT+2099-01-01+00-00-00+00")
    >>> os.mkdir(broken)
    >>> open(os.path.join(broken, "CKPT.yaml"), "w").close()  # 0 bytes
    >>> checkpointer.recover_if_possible().path == saved.path
    True
    >>> os.listdir(os.path.join(folder, "incomplete"))
    ['CKPT+2099-01-01+00-00-00+00']
    """

    def save_checkpoint(
        self, meta={}, end_of_epoch=True, name=None, verbosity=logging.INFO
    ):
        """Saves a checkpoint under a temporary name, then renames it.

        Arguments
        ---------
        meta : mapping, optional
            Added to ``CKPT.yaml`` (as in SpeechBrain).
        end_of_epoch : bool, optional
            Whether the checkpoint is at the end of an epoch.
        name : str, optional
            A custom name (prefixed with ``CKPT+``).
        verbosity : int
            Logging level of the "saved" message.

        Returns
        -------
        Checkpoint
            The saved checkpoint (None on processes other than the main).
        """
        final = tmp = None
        if if_main_process():
            if name is None:
                final = self._new_checkpoint_dirpath()
            else:
                final = self._custom_checkpoint_dirpath(name)
            tmp = final.with_name(TMP_PREFIX + final.name)
            if tmp.exists():
                shutil.rmtree(tmp)
            os.makedirs(tmp)
        tmp, final = ddp_broadcast((tmp, final), src=0)
        paramfiles = self._save_files(tmp)
        ddp_barrier()  # savers that run on every rank have finished
        if if_main_process():
            saved_meta = self._save_checkpoint_metafile(
                tmp / METAFNAME, meta, end_of_epoch
            )
            for path in tmp.iterdir():
                _fsync(path)
            _fsync(tmp, directory=True)
            self._publish(tmp, final)
        ddp_barrier()  # every rank sees the checkpoint from here on
        if not if_main_process():
            return None
        ckpt_type = "end-of-epoch" if end_of_epoch else "intra-epoch"
        logger.log(verbosity, f"Saved an {ckpt_type} checkpoint in {final}")
        return Checkpoint(
            final,
            saved_meta,
            {key: final / path.name for key, path in paramfiles.items()},
        )

    def _save_files(self, folder):
        """Writes every recoverable's file into ``folder`` with its hook."""
        paramfiles = {}
        for name, obj in self.recoverables.items():
            path = folder / f"{name}{PARAMFILE_EXT}"
            paramfiles[name] = path
            hook = self.custom_save_hooks.get(name)
            if hook is None:
                hook = get_default_hook(obj, DEFAULT_SAVE_HOOKS)
            if hook is None:
                raise RuntimeError(
                    f"Don't know how to save {type(obj)}. Register a default "
                    "hook or add a custom hook for this object."
                )
            hook(obj, path)
        return paramfiles

    def _publish(self, tmp, final):
        """Renames the complete folder ``tmp`` to ``final`` (replacing a
        custom-named checkpoint of the same name) and flushes the rename."""
        replaced = None
        if final.exists():
            replaced = final.with_name(f"{TMP_PREFIX}old+{final.name}")
            if replaced.exists():
                shutil.rmtree(replaced)
            os.rename(final, replaced)
        os.rename(tmp, final)
        _fsync(self.checkpoints_dir, directory=True)
        if replaced is not None:
            shutil.rmtree(replaced)

    def checkpoint_problem(self, path):
        """Why the folder ``path`` is not a usable checkpoint (None if it is).

        Checks that ``CKPT.yaml`` holds SpeechBrain's meta data and that
        every registered recoverable has a non-empty file (a complete zip
        archive when it is in ``torch.save``'s format). Recoverables that
        SpeechBrain itself may skip (optional ones, data loaders, or all
        with ``allow_partial_load``) are not required.

        Arguments
        ---------
        path : path-like
            A ``CKPT+...`` folder.

        Returns
        -------
        str or None
        """
        path = pathlib.Path(path)
        try:
            with open(path / METAFNAME, encoding="utf-8") as fin:
                meta = yaml.safe_load(fin)
        except (OSError, yaml.YAMLError) as error:
            return f"{METAFNAME} is unreadable ({error})"
        if not isinstance(meta, dict) or "end-of-epoch" not in meta:
            return f"{METAFNAME} is empty or not SpeechBrain's meta data"
        for name in self.recoverables:
            file = path / f"{name}{PARAMFILE_EXT}"
            required = not (
                self.allow_partial_load
                or self.optional_recoverables.get(name)
                or "dataloader" in name
            )
            if not file.exists():
                if required:
                    return f"{file.name} is missing"
                continue
            if file.stat().st_size == 0:
                return f"{file.name} is empty"
            with open(file, "rb") as fin:
                is_zip = fin.read(4) == ZIP_MAGIC
            if is_zip and not zipfile.is_zipfile(file):
                return f"{file.name} is truncated"
        return None

    def _list_checkpoint_dirs(self):
        """SpeechBrain's list, less the folders that are not usable."""
        return [
            path
            for path in super()._list_checkpoint_dirs()
            if self.checkpoint_problem(path) is None
        ]

    def move_aside_unusable(self):
        """Moves unusable ``CKPT+`` folders and leftover temporary folders
        to ``incomplete/``, one warning each (main process only).

        Returns
        -------
        list of pathlib.Path
            The new places of the moved folders.
        """
        moved = []
        if if_main_process() and self.checkpoints_dir.is_dir():
            for path in sorted(self.checkpoints_dir.iterdir()):
                if not path.is_dir():
                    continue
                if path.name.startswith(TMP_PREFIX):
                    problem = "a checkpoint whose writing was interrupted"
                elif path.name.startswith(CKPT_PREFIX):
                    problem = self.checkpoint_problem(path)
                else:
                    continue
                if problem is None:
                    continue
                moved.append(self._move_aside(path))
                logger.warning(
                    f"{path} is not a usable checkpoint ({problem}); moved "
                    f"to {moved[-1]}, resuming from the newest complete one"
                )
        ddp_barrier()
        return moved

    def _move_aside(self, path):
        aside = self.checkpoints_dir / INCOMPLETE_FOLDER
        os.makedirs(aside, exist_ok=True)
        target, n = aside / path.name, 1
        while target.exists():
            target, n = aside / f"{path.name}.{n}", n + 1
        os.rename(path, target)
        return target

    def recover_if_possible(self, *args, **kwargs):
        """Moves unusable folders aside, then SpeechBrain's recovery.

        Arguments
        ---------
        *args : tuple
            As SpeechBrain's (``importance_key``, ``max_key``, ...).
        **kwargs : dict
            As SpeechBrain's.

        Returns
        -------
        Checkpoint or None
        """
        self.move_aside_unusable()
        return super().recover_if_possible(*args, **kwargs)


def atomic_checkpointer(checkpointer):
    """Makes a SpeechBrain ``Checkpointer`` atomic in place.

    Arguments
    ---------
    checkpointer : Checkpointer or None
        E.g. the YAML's ``checkpointer``; a subclass of SpeechBrain's gets
        a class that derives from both.

    Returns
    -------
    AtomicCheckpointer or None
        The same object.

    Example
    -------
    >>> import tempfile, torch
    >>> checkpointer = Checkpointer(tempfile.mkdtemp(), {})
    >>> atomic_checkpointer(checkpointer) is checkpointer
    True
    >>> type(checkpointer).__name__
    'AtomicCheckpointer'
    """
    if checkpointer is None or isinstance(checkpointer, AtomicCheckpointer):
        return checkpointer
    cls = type(checkpointer)
    if cls is Checkpointer:
        checkpointer.__class__ = AtomicCheckpointer
    else:
        checkpointer.__class__ = type(
            f"Atomic{cls.__name__}", (AtomicCheckpointer, cls), {}
        )
    return checkpointer
