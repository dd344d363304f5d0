"""The training driver behind every ``train.py``.

The YAML names everything that differs between recipes:

* ``prepare``: a ``!name:`` preparer called (on the main process only) as
  ``prepare()``, with its arguments in the YAML (``--prepare=null`` skips
  it, to train on hand-made manifests);
* ``dataio_prep``: a ``!name:`` function ``hparams -> (datasets, extras)``;
  ``extras`` (e.g. the label encoder) are added to the hparams;
* ``brain_class``: a ``!name:`` Brain subclass; its ``test_checkpoint``
  (``{"max_key": ...}`` or ``{"min_key": ...}``) picks the checkpoint
  that is tested;
* ``dynamic_batching`` (optional): batches of at most
  ``max_batch_seconds`` of padded audio from SpeechBrain's
  ``DynamicBatchSampler`` (see ``data/batching.py``) instead of a fixed
  ``batch_size``;
* ``pretrainer`` (optional): a SpeechBrain ``Pretrainer`` that loads
  pre-trained parameters (e.g. an SA2SR or CPC encoder) before training;
  ``--pretrainer=null`` trains from scratch.

Before the datasets are built, the manifests and their audio are checked
once (:func:`speechbrain_ser.data.validation.validate_recipe_data`), so
that bad data stops the run before the first training step. Every
Brain's checkpointer is made atomic
(:mod:`speechbrain_ser.brains.checkpoints`), and the output folder is
locked for the run (:mod:`speechbrain_ser.run_lock`): a second run into
the same folder stops at once.

Authors
 * speechbrain-ser developers 2026
"""

import sys

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.utils.distributed import run_on_main

from speechbrain_ser.brains.checkpoints import atomic_checkpointer
from speechbrain_ser.data.batching import dynamic_batch_loader_options
from speechbrain_ser.data.validation import (
    ManifestError,
    validate_recipe_data,
    without_ids,
)
from speechbrain_ser.run_checks import (
    RunError,
    check_command,
    check_pretrained_files,
)
from speechbrain_ser.run_lock import RunLock, RunLockedError


def run_recipe(argv):
    """Prepares data, trains with checkpoint/resume, and tests.

    Arguments
    ---------
    argv : list of str
        ``[hparams_file, --key=value overrides..., --device=...]`` as for
        any SpeechBrain recipe.

    Returns
    -------
    sb.Brain
        The trained Brain.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np, soundfile
    >>> import speechbrain_ser
    >>> from speechbrain_ser.data.manifest import write_splits
    >>> root, splits = tempfile.mkdtemp(), {}
    >>> for split in ("train", "valid", "test"):  # 2 utterances each
    ...     splits[split] = {}
    ...     for i in range(2):
    ...         path = f"{root}/{split}{i}.wav"
    ...         soundfile.write(path, np.random.randn(4000) / 9, 16000)
    ...         splits[split][f"{split}{i}"] = {
    ...             "wav": path,
    ...             "duration": 0.25,
    ...             "speaker": split,
    ...             "emotion": ["happy", "sad"][i],
    ...             "activation": 2.0 + i,
    ...             "valence": 3.0,
    ...             "dominance": 4.0 - i,
    ...         }
    >>> write_splits(splits, f"{root}/manifests", {})
    >>> package = os.path.dirname(speechbrain_ser.__file__)
    >>> yaml = os.path.join(package, "..", "hparams", "demo.yaml")
    >>> args = [
    ...     yaml,
    ...     f"--data_folder={root}",
    ...     f"--output_folder={root}/out",
    ...     "--prepare=null",  # the manifests above instead
    ...     "--number_of_epochs=1",
    ...     "--n_classes=2",
    ...     "--emb_channels=8",
    ... ]
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # SpeechBrain's log
    ...     brain = run_recipe(args)
    >>> type(brain).__name__, brain.hparams.epoch_counter.current
    ('EmotionBrain', 1)
    >>> os.path.isfile(f"{root}/out/results.json")
    True
    """
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    check_command(hparams_file, run_opts, overrides)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    with RunLock(hparams["output_folder"]):
        brain = _train_and_test(hparams_file, hparams, run_opts, overrides)
    if torch.distributed.is_initialized():
        # under torchrun: leave the process group before the process exits,
        # so no communication thread is still running at exit (which aborts
        # a rank with "terminate called without an active exception")
        torch.distributed.destroy_process_group()
    return brain


def _train_and_test(hparams_file, hparams, run_opts, overrides):
    """The body of :func:`run_recipe`, run under the output folder's lock."""
    sb.utils.distributed.ddp_init_group(run_opts)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    check_pretrained_files(hparams)  # before a long data preparation
    if hparams.get("prepare") is not None:
        run_on_main(hparams["prepare"])
    if hparams.get("pretrainer") is not None:  # e.g. an encoder to fine-tune
        run_on_main(hparams["pretrainer"].collect_files)
        hparams["pretrainer"].load_collected()
    checked = run_on_main(validate_recipe_data, args=[hparams]) or {}
    left_out = checked.get("train_left_out", [])  # truncated audio
    datasets, extras = hparams["dataio_prep"](hparams)
    datasets["train"] = without_ids(datasets["train"], left_out)
    hparams.update(extras)
    if hparams.get("dynamic_batching"):
        hparams["train_dataloader_options"] = dynamic_batch_loader_options(
            datasets["train"], hparams
        )
    brain = hparams["brain_class"](
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=atomic_checkpointer(hparams["checkpointer"]),
    )
    if left_out and hasattr(brain, "skipped_files"):  # counted as skipped
        brain.skipped_files.update(left_out)
    brain.fit(
        brain.hparams.epoch_counter,
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_dataloader_options"],
        valid_loader_kwargs=hparams["test_dataloader_options"],
    )
    if hasattr(brain, "fit_calibration") and "valid" in datasets:
        brain.fit_calibration(  # temperature, A/V/D intervals
            datasets["valid"],
            hparams["test_dataloader_options"],
            **getattr(brain, "test_checkpoint", {}),
        )
    if "test" in datasets:
        brain.evaluate(
            datasets["test"],
            test_loader_kwargs=hparams["test_dataloader_options"],
            **getattr(brain, "test_checkpoint", {}),
        )
    if hasattr(brain, "on_recipe_end"):
        brain.on_recipe_end(hparams_file, overrides)
    return brain


# Problems of the user's data, command or YAML: one line, exit status 2.
USER_ERRORS = (ManifestError, RunError, RunLockedError)


def error_line(error):
    """A user error's message in one line (a :class:`ManifestError`'s
    problems summarised, the first in full).

    Arguments
    ---------
    error : Exception
        One of :data:`USER_ERRORS` (or any exception).

    Returns
    -------
    str

    Example
    -------
    >>> error_line(RunError("lr: expected a number,\\n  got 'abc'"))
    "lr: expected a number, got 'abc'"
    """
    if isinstance(error, ManifestError):
        return error.summary()
    return " ".join(str(error).split())


def main(argv=None):
    """:func:`run_recipe` for the command line: a problem of the data,
    the command or the YAML is printed as one line (``error: ...``) with
    exit status 2; ``--debug`` shows the traceback instead.

    Arguments
    ---------
    argv : list of str, optional
        As :func:`run_recipe` (default: ``sys.argv[1:]``), plus
        ``--debug``.

    Returns
    -------
    int
        The exit status.

    Example
    -------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     status = main(["no/such.yaml"])
    >>> status, err.getvalue()
    (2, 'error: no/such.yaml: no such hparams file\\n')
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        run_recipe(argv)
    except USER_ERRORS as error:
        if debug:
            raise
        print(f"error: {error_line(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
