"""Per-group learning rates, one mechanism for every Brain.

A Brain names the parameters that train at their own rate in
:meth:`ParamGroupsMixin.lr_groups` (``EmotionBrain``: the layer-weight
logits at ``layer_weights_lr``; ``SpeechTextBrain``: the pre-trained
encoders at ``encoder_lr`` / ``text_encoder_lr``). The optimiser then has
the rest of the parameters as its first group(s), at the optimiser's own
rate, and one group per entry. Every group records ``lr_scale``, its rate
over the optimiser's, so that :meth:`ParamGroupsMixin.set_learning_rate`
(which ``lr_annealing`` drives) scales every group by the same factor: the
groups keep their ratios. ``lr_scale`` is a key of the group, so it is in
the optimiser's state_dict and resume restores it.

Authors
 * speechbrain-ser developers 2026
"""

import speechbrain as sb
from speechbrain.utils.logger import get_logger
from speechbrain.utils.optimizers import rm_vector_weight_decay

logger = get_logger(__name__)


class ParamGroupsMixin:
    """Mixin for ``sb.Brain``: parameter groups with their own learning
    rate, and annealing that keeps their ratios (see the module docstring).

    Example
    -------
    >>> import torch
    >>> class TwoRates(ParamGroupsMixin, sb.Brain):
    ...     def lr_groups(self):
    ...         return [{"params": self.modules.b.parameters(), "lr": 0.1}]
    >>> brain = TwoRates(
    ...     {"a": torch.nn.Linear(2, 2), "b": torch.nn.Linear(2, 2)},
    ...     lambda groups: torch.optim.SGD(groups, lr=0.01),
    ... )
    >>> brain.init_optimizers()
    >>> [group["lr"] for group in brain.optimizer.param_groups]
    [0.01, 0.1]
    >>> brain.set_learning_rate(0.005)  # as lr_annealing does
    >>> [group["lr"] for group in brain.optimizer.param_groups]
    [0.005, 0.05]
    """

    def lr_groups(self):
        """The parameter groups with a rate of their own (none here).

        Returns
        -------
        list of dict
            Each with ``params`` (an iterable of parameters), ``lr`` and
            any other optimiser option (e.g. ``weight_decay``). A
            parameter belongs to the first group that lists it; the others
            stay in the optimiser's default group(s).
        """
        return []

    def init_optimizers(self):
        """SpeechBrain's optimiser, with :meth:`lr_groups` split off.

        Without such groups this is ``sb.Brain.init_optimizers``. With
        them, the rest of the parameters (split by
        ``remove_vector_weight_decay`` as SpeechBrain does) come first,
        then each group in order, with its ``lr_scale``.
        """
        groups, claimed = [], set()
        for group in self.lr_groups():
            params = [p for p in group["params"] if id(p) not in claimed]
            claimed.update(id(p) for p in params)
            groups.append({**group, "params": params})
        if not groups or self.opt_class is None:
            return super().init_optimizers()
        if self.remove_vector_weight_decay:
            rest = rm_vector_weight_decay(self.modules)
        else:
            rest = [{"params": list(self.modules.parameters())}]
        for group in rest:
            group["params"] = [
                p for p in group["params"] if id(p) not in claimed
            ]
        self.optimizer = self.opt_class(rest + groups)
        base_lr = self.optimizer.defaults["lr"]
        for group in self.optimizer.param_groups:
            group["lr_scale"] = group["lr"] / base_lr
        self.optimizers_dict = {"opt_class": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

    def set_learning_rate(self, lr):
        """Sets every parameter group's learning rate to ``lr`` times its
        ``lr_scale`` (1 for the default groups).

        Arguments
        ---------
        lr : float
            The learning rate of the optimiser's default group(s), e.g.
            the new value of ``lr_annealing``.
        """
        for i, group in enumerate(self.optimizer.param_groups):
            sb.nnet.schedulers.update_learning_rate(
                self.optimizer, lr * group.get("lr_scale", 1.0), [i]
            )

    def anneal_learning_rate(self, metric):
        """Steps ``lr_annealing`` (if the YAML sets one) on ``metric``.

        Arguments
        ---------
        metric : float
            What the scheduler reads (the validation loss).

        Returns
        -------
        float
            The learning rate of the first group, annealed or not.
        """
        if self.hparams.lr_annealing is None:
            return self.optimizer.param_groups[0]["lr"]
        _, lr = self.hparams.lr_annealing(metric)
        self.set_learning_rate(lr)
        return lr
