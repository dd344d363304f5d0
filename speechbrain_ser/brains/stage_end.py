"""The end of a stage, shared by every Brain: log, checkpoint, results.

Authors
 * speechbrain-ser developers 2026
"""

import os

import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.strict_json import write_json

logger = get_logger(__name__)


class StageEndMixin:
    """Mixin for ``sb.Brain``: the stage-end block every Brain shares.

    :meth:`end_stage` keeps the training statistics, logs train and
    validation statistics with the epoch and learning rate, checkpoints on
    the key of the class's ``test_checkpoint`` (``{"max_key": ...}`` or
    ``{"min_key": ...}``, the same that picks the tested checkpoint), and
    logs the test statistics; :meth:`write_json` writes strict JSON into
    ``output_folder`` on the main process; :meth:`save_artifact` saves a
    module's weights where the YAML says.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> from speechbrain.utils.train_logger import FileTrainLogger
    >>> class TinyBrain(StageEndMixin, sb.Brain):
    ...     test_checkpoint = {"min_key": "loss"}
    >>> folder = tempfile.mkdtemp()
    >>> model = torch.nn.Linear(2, 2)
    >>> brain = TinyBrain(
    ...     {"model": model},
    ...     opt_class=lambda params: torch.optim.SGD(params, lr=0.1),
    ...     hparams={
    ...         "output_folder": folder,
    ...         "train_logger": FileTrainLogger(f"{folder}/train_log.txt"),
    ...     },
    ...     run_opts={"device": "cpu"},
    ...     checkpointer=Checkpointer(folder, {"model": model}),
    ... )
    >>> brain.init_optimizers()
    >>> brain.end_stage(sb.Stage.TRAIN, {"loss": 2.0})
    >>> brain.end_stage(sb.Stage.VALID, {"loss": 1.5}, epoch=1)
    >>> brain.checkpointer.find_checkpoint(min_key="loss").meta["loss"]
    1.5
    >>> print(open(f"{folder}/train_log.txt").read().strip())
    epoch: 1, lr: 1.00e-01 - train loss: 2.00 - valid loss: 1.50
    >>> import json
    >>> path = brain.write_json({"AUC": float("nan")}, "results.json")
    >>> json.load(open(path))["AUC"] is None
    True
    """

    def end_stage(
        self, stage, stats, epoch=None, lr=None, meta=None, loaded=None
    ):
        """Keeps (train), logs and checkpoints (valid) or logs (test).

        Arguments
        ---------
        stage : sb.Stage
            The stage that ended.
        stats : dict
            Its statistics (logged; the checkpoint's meta on validation).
        epoch : int, optional
            The epoch (validation).
        lr : float, optional
            The learning rate to log; default: the optimizer's.
        meta : dict, optional
            More checkpoint meta (validation), e.g. the epoch.
        loaded : int, optional
            The epoch of the tested checkpoint (test); default: the epoch
            counter's.
        """
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        if stage == sb.Stage.VALID:
            if lr is None:
                lr = self.optimizer.param_groups[0]["lr"]
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, "lr": lr},
                train_stats=self.train_stats,
                valid_stats=stats,
            )
            keys = {
                f"{kind}s": [key] for kind, key in self.test_checkpoint.items()
            }
            self.checkpointer.save_and_keep_only(
                meta={**stats, **(meta or {})}, num_to_keep=1, **keys
            )
        elif stage == sb.Stage.TEST:
            if loaded is None:
                counter = self.hparams.epoch_counter
                loaded = getattr(counter, "current", None)
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch loaded": loaded},
                test_stats=stats,
            )

    def write_json(self, content, name, indent=2):
        """Writes ``<output_folder>/<name>`` (strict JSON) on the main process.

        Arguments
        ---------
        content : dict
            What to write (NaN and infinities become null).
        name : str
            File name.
        indent : int
            JSON indentation.

        Returns
        -------
        str
            The path.
        """
        path = os.path.join(self.hparams.output_folder, name)
        if sb.utils.distributed.if_main_process():
            write_json(content, path, indent=indent)
        return path

    def save_artifact(self, module, path):
        """Saves a module's weights (unwrapped from DDP) on the main process.

        Arguments
        ---------
        module : torch.nn.Module
            The module, possibly wrapped by DDP.
        path : str
            Where the YAML says the artifact goes.
        """
        module = getattr(module, "module", module)
        sb.utils.distributed.run_on_main(
            torch.save, args=[module.state_dict(), path]
        )
        logger.info(f"{type(module).__name__} weights saved to {path}")
