"""What every Brain of this package adds to SpeechBrain's: exact resume,
training that survives an unreadable file, the defaults of the optional
YAML keys (:mod:`~speechbrain_ser.brains.defaults`) and per-group learning
rates (:mod:`~speechbrain_ser.brains.param_groups`).

* The random states (Python, NumPy, torch CPU and CUDA) are part of every
  checkpoint (the recoverable ``random_state``), end-of-epoch and
  intra-epoch (``--ckpt_interval_minutes`` / ``--ckpt_interval_steps``)
  alike; SpeechBrain's checkpoint already holds the modules, optimiser,
  schedulers, epoch counter and the training loader's position. The
  training loader gets its own random generator, reseeded every epoch, so
  that making its iterator does not draw from the global one. A run
  killed at any point and restarted with the same command thus ends with
  the results of the uninterrupted run (with ``num_workers: 0``; worker
  processes draw their own random numbers, e.g. for random crops, and a
  resumed epoch gives them fresh seeds).
* A Brain's running statistics of the training stage (e.g. the tokenwise
  retrieval accuracy; SpeechBrain checkpoints only its mean loss) are in
  intra-epoch checkpoints too (the recoverable ``running_stats``, see
  :class:`RunningStats`), so that the resumed epoch logs the statistics of
  the uninterrupted one.
* Training utterances whose audio fails mid-epoch arrive in a batch's
  ``skipped_ids`` (see
  :func:`speechbrain_ser.data.pipelines.collate_skipping_failed`); they
  are logged and counted in :attr:`ResumableBrain.skipped_files`, which is
  checkpointed too.
* The checkpointer is made atomic
  (:func:`speechbrain_ser.brains.checkpoints.atomic_checkpointer`): a
  checkpoint becomes visible only when complete, and recovery moves
  incomplete checkpoint folders to ``save/incomplete/``.

Authors
 * speechbrain-ser developers 2026
"""

import random

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)
from speechbrain.utils.logger import get_logger

from speechbrain_ser.brains.checkpoints import atomic_checkpointer
from speechbrain_ser.brains.defaults import with_defaults
from speechbrain_ser.brains.param_groups import ParamGroupsMixin

logger = get_logger(__name__)

# Seeds the training loader's generator (plus the epoch number).
LOADER_SEED = 1234


@register_checkpoint_hooks
class RandomState:
    """Checkpoints the global random states and the skipped files.

    Arguments
    ---------
    skipped_files : set
        Updated in place on loading (union with the saved ids).

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp()
    >>> state = RandomState(set())
    >>> _ = torch.manual_seed(0)
    >>> state.save(path)
    >>> a = torch.rand(2)
    >>> state.load(path)
    >>> torch.equal(a, torch.rand(2))
    True
    """

    def __init__(self, skipped_files):
        self.skipped_files = skipped_files

    @mark_as_saver
    def save(self, path):
        """Saves every random state (tensors, lists and ints only)."""
        version, internal, gauss = random.getstate()
        name, keys, pos, has_gauss, cached = np.random.get_state()
        state = {
            "python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), pos, has_gauss, cached],
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all()
            if torch.cuda.is_available()
            else [],
            "skipped_files": sorted(self.skipped_files),
        }
        torch.save(state, path)

    @mark_as_loader
    def load(self, path, end_of_epoch=True):
        """Restores the random states saved by :meth:`save`."""
        del end_of_epoch
        state = torch.load(path, weights_only=True)
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state(
            (name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached)
        )
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available():
            if len(state["cuda"]) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(state["cuda"])
        self.skipped_files.update(state["skipped_files"])


@register_checkpoint_hooks
class RunningStats:
    """Checkpoints the running statistics of the current stage, and gives
    them back to the training stage of a run resumed mid-epoch.

    A Brain starts each stage's accumulator (any object whose state is its
    attributes: numbers and lists) with :meth:`start`.

    Example
    -------
    >>> import tempfile, types
    >>> path = tempfile.mktemp()
    >>> running = RunningStats()
    >>> stats = running.start(types.SimpleNamespace(loss=0.0), sb.Stage.TRAIN)
    >>> stats.loss += 2.5
    >>> running.save(path)
    >>> resumed = RunningStats()
    >>> resumed.load(path, end_of_epoch=False)  # an intra-epoch checkpoint
    >>> resumed.start(types.SimpleNamespace(loss=0.0), sb.Stage.TRAIN).loss
    2.5
    >>> resumed.start(types.SimpleNamespace(loss=0.0), sb.Stage.VALID).loss
    0.0
    """

    def __init__(self):
        self.current = None
        self.resumed = None

    def start(self, stats, stage):
        """Makes ``stats`` the stage's accumulator and returns it; in the
        training stage of a run resumed mid-epoch, with the checkpoint's
        state."""
        if stage == sb.Stage.TRAIN and self.resumed is not None:
            vars(stats).update(self.resumed)
        self.resumed = None
        self.current = stats
        return stats

    @mark_as_saver
    def save(self, path):
        """Saves the current accumulator's attributes."""
        torch.save({} if self.current is None else vars(self.current), path)

    @mark_as_loader
    def load(self, path, end_of_epoch=True):
        """Keeps an intra-epoch checkpoint's statistics for :meth:`start`
        (an end-of-epoch checkpoint's stage is over)."""
        self.resumed = None
        if not end_of_epoch:
            self.resumed = torch.load(path, weights_only=True)


class ResumableBrain(ParamGroupsMixin, sb.Brain):
    """``sb.Brain`` with exact resume and skipped-file counting (see the
    module docstring); the base of every Brain in this package.

    Arguments
    ---------
    modules : dict, optional
        As ``sb.Brain``.
    opt_class : callable, optional
        As ``sb.Brain``.
    hparams : dict, optional
        As ``sb.Brain``; every optional key it leaves out gets its default
        (:data:`~speechbrain_ser.brains.defaults.OPTIONAL_HPARAMS`).
    run_opts : dict, optional
        As ``sb.Brain``.
    checkpointer : Checkpointer, optional
        As ``sb.Brain``.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> from speechbrain_ser.data.pipelines import SkippedBatch
    >>> model = torch.nn.Linear(2, 1)
    >>> brain = ResumableBrain(
    ...     {"model": model},
    ...     checkpointer=Checkpointer(tempfile.mkdtemp(), {"model": model}),
    ... )
    >>> "random_state" in brain.checkpointer.recoverables
    True
    >>> type(brain.checkpointer).__name__
    'AtomicCheckpointer'
    >>> brain.fit_batch(SkippedBatch(["u1"]))  # nothing readable: no step
    tensor(0.)
    >>> brain.skipped_files
    {'u1'}
    >>> brain.hparams.protocol, brain.hparams.lr_annealing  # defaults
    ('unspecified', None)
    """

    def __init__(
        self,
        modules=None,
        opt_class=None,
        hparams=None,
        run_opts=None,
        checkpointer=None,
    ):
        super().__init__(
            modules, opt_class, with_defaults(hparams), run_opts, checkpointer
        )
        self.skipped_files = set()
        self.running_stats = RunningStats()
        self.checkpointer = atomic_checkpointer(self.checkpointer)
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable(
                "random_state", RandomState(self.skipped_files)
            )
            self.checkpointer.add_recoverable(  # absent from older runs
                "running_stats", self.running_stats, optional_load=True
            )

    def make_dataloader(self, dataset, stage, *args, **loader_kwargs):
        """Gives the training loader its own generator (see
        :meth:`_fit_train`)."""
        if stage == sb.Stage.TRAIN and "generator" not in loader_kwargs:
            loader_kwargs["generator"] = torch.Generator()
        return super().make_dataloader(dataset, stage, *args, **loader_kwargs)

    def _fit_train(self, train_set, epoch, enable):
        """Reseeds the loader's generator per epoch, then trains."""
        generator = getattr(train_set, "generator", None)
        if generator is not None:
            generator.manual_seed(LOADER_SEED + epoch)
        super()._fit_train(train_set, epoch, enable)

    def fit_batch(self, batch):
        """Counts the batch's skipped utterances; trains on the rest."""
        skipped = getattr(batch, "skipped_ids", [])
        if skipped:
            self.skipped_files.update(skipped)
            logger.warning(
                f"{len(skipped)} training utterance(s) left out: {skipped}; "
                f"{len(self.skipped_files)} so far (on_error: raise stops)"
            )
        if isinstance(batch, list) and not batch:  # SkippedBatch
            return torch.tensor(0.0)
        return super().fit_batch(batch)
