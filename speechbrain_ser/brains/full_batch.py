"""Full-batch training of a head on a frozen encoder's fixed statistics.

When the encoder is frozen and the head pools fixed statistics (every
hidden state concatenated, ``layers: concat``, or one layer) before its
trainable part, every training utterance is one fixed vector. The head
is then trained as a linear probe is: the statistics of the whole
training set are computed once (from the frozen-encoder cache), the
input standardisation is set to their exact mean and variance, and the
objective (cross-entropy and/or CCC, plus an L2 penalty on the weights)
is minimised on the full batch with L-BFGS, to convergence, in seconds.
With no hidden block (``head_layers: 0``) the model is a multinomial
logistic regression, convex, so its optimum does not depend on the seed,
the number of epochs or a validation speaker's choice of epoch.

The L2 strength is chosen from ``full_batch_weight_decay`` (a list) on
the validation split, or (``full_batch_selection: inner_cv``) by
speaker-grouped k-fold cross-validation over the training speakers
(:func:`inner_speaker_folds`); the chosen model is then refit on all
training data (train and valid with ``inner_cv``). Run for every fold of
``python -m speechbrain_ser.evaluation.crossval``, this is nested
cross-validation: the outer test speakers never enter a selection.

The objective is ``mean_i w_i CE_i / mean_i w_i + weight_decay / 2 *
||W||^2`` (W: every weight matrix, not the biases): for balanced class
weights this is scikit-learn's ``LogisticRegression(C=1 / (weight_decay
* N), class_weight="balanced")``.

Authors
 * speechbrain-ser developers 2026
"""

import time

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.logger import get_logger

from speechbrain_ser.nnet.heads import StatsPoolingMLP
from speechbrain_ser.nnet.layer_weighting import LayerWeightedHead

logger = get_logger(__name__)

WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def lbfgs_fit(model, features, objective, weight_decay, max_iter=500):
    """Minimises ``objective(model(features)) + weight_decay / 2 * ||W||^2``.

    Full batch, L-BFGS with a strong-Wolfe line search, until the gradient
    or the change of the loss is negligible (or ``max_iter`` iterations).
    W is every parameter with more than one dimension (weights, not
    biases), as scikit-learn leaves the intercept unpenalised.

    Arguments
    ---------
    model : torch.nn.Module
        The trainable part (e.g. ``Linear``), in eval mode (no dropout).
    features : torch.Tensor
        (N, F) inputs, the whole training set.
    objective : callable
        ``outputs -> scalar loss`` (the data term, a mean over N).
    weight_decay : float
        L2 strength.
    max_iter : int
        At most this many L-BFGS iterations.

    Returns
    -------
    dict
        ``loss`` (final objective) and ``iterations``.

    Example
    -------
    >>> x = torch.tensor([[-2.0], [-1.0], [1.0], [2.0]])
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> model = torch.nn.Linear(1, 2)
    >>> def ce(logits):
    ...     return torch.nn.functional.cross_entropy(logits, y)
    >>> info = lbfgs_fit(model, x, ce, weight_decay=0.1)
    >>> model(x).argmax(-1).tolist(), info["iterations"] < 500
    ([0, 0, 1, 1], True)
    """
    params = [p for p in model.parameters() if p.requires_grad]
    decayed = [p for p in params if p.dim() > 1]
    optimizer = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-7,
        tolerance_change=1e-10,
        line_search_fn="strong_wolfe",
    )

    def closure():
        """The penalised objective, with its gradient."""
        optimizer.zero_grad()
        loss = objective(model(features))
        loss = loss + 0.5 * weight_decay * sum(p.pow(2).sum() for p in decayed)
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
        loss = float(closure().detach())
    state = optimizer.state[optimizer._params[0]]
    return {"loss": loss, "iterations": int(state.get("n_iter", 0))}


def inner_speaker_folds(speakers, labels=None, n_folds=4, seed=1234):
    """Speaker-grouped k folds over training utterances (index arrays).

    Scikit-learn's ``StratifiedGroupKFold`` (``GroupKFold`` without
    labels): every speaker in exactly one inner valid fold, classes as
    balanced as whole speakers allow. Called on the training speakers of
    an outer fold only, so an outer test speaker can never enter it.

    Arguments
    ---------
    speakers : list
        The speaker of every training utterance.
    labels : list, optional
        The class of every utterance (stratification).
    n_folds : int
        Number of inner folds; at most the number of speakers.
    seed : int
        Shuffling seed (stratified only).

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        (train indices, valid indices) per inner fold.

    Example
    -------
    >>> speakers = ["a", "a", "b", "b", "c", "c"]
    >>> folds = inner_speaker_folds(speakers, [0, 1, 0, 1, 0, 1], n_folds=3)
    >>> [sorted({speakers[i] for i in valid}) for _, valid in folds]
    [['a'], ['b'], ['c']]
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = np.asarray(speakers)
    n_speakers = len(set(speakers))
    if n_speakers < 2:
        raise ValueError(
            f"inner cross-validation needs at least 2 training speakers, "
            f"found {n_speakers}"
        )
    n_folds = min(n_folds, n_speakers)
    index = np.zeros(len(groups))
    if labels is None:
        splits = GroupKFold(n_splits=n_folds).split(index, groups=groups)
    else:
        splitter = StratifiedGroupKFold(
            n_splits=n_folds, shuffle=True, random_state=seed
        )
        splits = splitter.split(index, np.asarray(labels), groups)
    folds = [(train, valid) for train, valid in splits]
    order = [min(groups[valid].tolist()) for _, valid in folds]
    return [folds[i] for i in np.argsort(order, kind="stable")]


def statistics_head(head):
    """The :class:`StatsPoolingMLP` of ``head`` and what feeds it.

    Arguments
    ---------
    head : torch.nn.Module
        A ``StatsPoolingMLP``, or a ``LayerWeightedHead`` around one with
        ``layers`` ``concat`` or an index.

    Returns
    -------
    (callable, StatsPoolingMLP)
        ``(frames, lengths) -> (B, F)`` fixed pooled statistics, and the
        head whose ``input_norm`` and ``mlp`` are trained.

    Example
    -------
    >>> head = LayerWeightedHead(
    ...     StatsPoolingMLP(8, n_layers=0), n_layers=2, layers="concat"
    ... )
    >>> pool, inner = statistics_head(head)
    >>> pool(torch.rand(3, 10, 2, 4), torch.ones(3)).shape
    torch.Size([3, 16])
    """
    reduce = None
    if isinstance(head, LayerWeightedHead):
        if head.layer_sum.layer == "weighted":
            raise ValueError(
                "training: full_batch needs fixed statistics before the "
                "head's trainable part: layers 'concat' or one layer's "
                "index, not 'weighted' (its layer weights are learned)"
            )
        reduce, head = head.layer_sum, head.head
    if not isinstance(head, StatsPoolingMLP):
        raise ValueError(
            "training: full_batch trains a StatsPoolingMLP head (behind a "
            f"LayerWeightedHead or not), not {type(head).__name__}"
        )

    def pool(frames, lengths):
        """(B, T, [L,] D) frames -> (B, F) pooled statistics."""
        if reduce is not None:
            frames = reduce(frames)
        return head.pooling(frames, lengths)

    return pool, head


def _collect(brain, dataset, loader_kwargs):
    """Pooled statistics and targets of a whole dataset (frozen encoder).

    Arguments
    ---------
    brain : EmotionBrain
        The Brain (its encoder cache is used and filled).
    dataset : DynamicItemDataset
        The split.
    loader_kwargs : dict
        DataLoader options (batch size).

    Returns
    -------
    dict
        ``ids``, ``x`` (N, F) float64 statistics, ``labels`` (N,) and/or
        ``avd`` (N, 3) where the task has them, ``speakers`` (or None).
    """
    pool, _ = statistics_head(brain.modules.head)
    kwargs = {k: v for k, v in (loader_kwargs or {}).items() if k != "shuffle"}
    loader = brain.make_dataloader(dataset, sb.Stage.VALID, **kwargs)
    out = {"ids": [], "x": [], "labels": [], "avd": []}
    brain.modules.eval()
    with torch.no_grad():
        for batch in loader:
            batch = batch.to(brain.device)
            wavs, lengths = batch.sig
            frames = brain.encode(wavs, lengths, batch.id, sb.Stage.VALID)
            out["ids"] += list(batch.id)
            out["x"].append(pool(frames, lengths).double().cpu())
            if brain.task in ("classification", "both"):
                out["labels"].append(batch.emotion_encoded.data.view(-1).cpu())
            if brain.task in ("regression", "both"):
                avd = batch.avd
                out["avd"].append(getattr(avd, "data", avd).cpu())
    out["x"] = torch.cat(out["x"])
    for key in ("labels", "avd"):
        out[key] = torch.cat(out[key]) if out[key] else None
    data = getattr(dataset, "data", {})
    speakers = [data.get(uid, {}).get("speaker") for uid in out["ids"]]
    out["speakers"] = None if None in speakers else speakers
    return out


class FullBatchTrainer:
    """Fits an :class:`~speechbrain_ser.brains.emotion.EmotionBrain`'s head
    on fixed statistics with L-BFGS (see the module's description).

    Arguments
    ---------
    brain : EmotionBrain
        Its ``head`` (see :func:`statistics_head`) and ``emotion_out`` /
        ``avd_out`` are trained; its hparams give ``class_weights``,
        ``label_smoothing``, ``ccc_loss``, ``classification_weight``,
        ``regression_weight``, ``full_batch_weight_decay`` (a number or a
        list; default ``WEIGHT_DECAYS``), ``full_batch_selection``
        (``valid``, default, or ``inner_cv``), ``inner_folds`` (4) and
        ``full_batch_max_iter`` (1000).

    Example
    -------
    >>> from speechbrain_ser.brains import EmotionBrain
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> head = StatsPoolingMLP(2, n_layers=0, input_norm=True)
    >>> brain = EmotionBrain(
    ...     {"head": head, "emotion_out": torch.nn.Linear(4, 2)},
    ...     hparams={
    ...         "task": "classification",
    ...         "freeze_encoder": True,
    ...         "classification_weight": 1.0,
    ...     },
    ... )
    >>> trainer = FullBatchTrainer(brain)
    >>> x = torch.tensor(
    ...     [[0.0, 1, 0, 1], [0.2, 1, 0, 2], [2, 0, 1, 1], [2.2, 0, 1, 2]],
    ...     dtype=torch.float64,
    ... )
    >>> data = {
    ...     "ids": ["a", "b", "c", "d"],
    ...     "x": x,
    ...     "labels": torch.tensor([0, 0, 1, 1]),
    ...     "avd": None,
    ...     "speakers": None,
    ... }
    >>> info = trainer.fit(data, np.arange(4), weight_decay=0.01)
    >>> features = trainer.standardise(x, info["mean"], info["var"])
    >>> trainer.forward(features.float())["logits"].argmax(-1).tolist()
    [0, 0, 1, 1]
    """

    def __init__(self, brain):
        self.brain = brain
        self.hparams = brain.hparams
        _, self.inner = statistics_head(brain.modules.head)
        self.outputs = torch.nn.ModuleDict(
            {
                name: getattr(brain.modules, name)
                for name in ("emotion_out", "avd_out")
                if hasattr(brain.modules, name)
            }
        )
        self.initial = {
            k: v.clone() for k, v in self._trainable().state_dict().items()
        }

    def _trainable(self):
        return torch.nn.ModuleDict({"mlp": self.inner.mlp, **self.outputs})

    def weight_decays(self):
        """The candidate L2 strengths, as a list."""
        values = self.hparams.full_batch_weight_decay
        if values is None:
            return list(WEIGHT_DECAYS)
        if isinstance(values, (int, float)):
            return [float(values)]
        return [float(v) for v in values]

    def standardise(self, x, mean, var):
        """(x - mean) / sqrt(var + eps) with the head's BatchNorm eps."""
        norm = self.inner.input_norm
        if norm is None:
            return x
        return (x - mean) / torch.sqrt(var + norm.eps)

    def forward(self, x):
        """Standardised statistics -> dict of ``logits`` / ``avd``."""
        return self.brain.predict(self.inner.mlp(x))

    def objective(self, targets, index):
        """The data term on the rows ``index`` (as compute_objectives)."""
        hp = self.hparams
        loss_terms = []
        if targets["labels"] is not None:
            labels = targets["labels"][index].to(self.brain.device)
            weight = self.brain.class_weights
            smoothing = hp.label_smoothing or 0.0
            scale = getattr(hp, "classification_weight", 1.0)

            def ce(outputs):
                """Weighted, smoothed cross-entropy."""
                logits = outputs["logits"]
                return scale * torch.nn.functional.cross_entropy(
                    logits,
                    labels,
                    weight=None if weight is None else weight.to(logits),
                    label_smoothing=smoothing,
                )

            loss_terms.append(ce)
        if targets["avd"] is not None:
            avd = targets["avd"][index].float().to(self.brain.device)
            scale = getattr(hp, "regression_weight", 1.0)

            def ccc(outputs):
                """The CCC loss on A/V/D."""
                return scale * hp.ccc_loss(
                    outputs["avd"], avd.to(outputs["avd"])
                )

            loss_terms.append(ccc)
        return lambda outputs: sum(term(outputs) for term in loss_terms)

    def input_layers(self):
        """The Linear layers that read the statistics: the first of the
        head's blocks, or without blocks every output layer."""
        for module in self.inner.mlp:
            if isinstance(module, torch.nn.Linear):
                return [module]
        return list(self.outputs.values())

    def fit(self, data, index, weight_decay):
        """Fits on the rows ``index`` of ``data``; returns the fit info.

        With more statistics than utterances (F > N, e.g. 3840 > 300), the
        layers reading them are fit in the span of the training rows: with
        an L2 penalty their optimal weights lie in it (the loss sees W x_i
        only), so fitting W V^T on the N-dimensional coordinates X V of an
        orthonormal basis V of that span (SVD) reaches the same optimum,
        F / N times cheaper; the weights are then mapped back (W = W_r V^T).
        """
        trainable = self._trainable()
        trainable.load_state_dict(self.initial)
        x = data["x"][index]
        mean, var = x.mean(0), x.var(0, unbiased=False)
        features = self.standardise(x, mean, var).double()
        basis = None
        if features.shape[1] > features.shape[0]:
            _, singular, vh = torch.linalg.svd(features, full_matrices=False)
            basis = vh[singular > singular[0] * 1e-10]  # (r, F)
            features = features @ basis.T
        # float64: near the optimum of a weakly penalised (near-separable)
        # problem the loss changes below float32's resolution
        trainable.double()
        layers = self.input_layers() if basis is not None else []
        for layer in layers:  # same Parameter, reduced shape
            layer.weight.data = layer.weight.data @ basis.T.to(layer.weight)
        try:
            info = lbfgs_fit(
                _Forward(self),
                features.to(self.brain.device),
                self.objective(data, index),
                weight_decay,
                max_iter=self.hparams.full_batch_max_iter,
            )
        finally:
            for layer in layers:
                layer.weight.data = layer.weight.data @ basis.to(layer.weight)
            trainable.float()
        return {**info, "mean": mean, "var": var}

    def score(self, data, index, mean, var, ids=None):
        """The Brain's validation score on the rows ``index``."""
        brain = self.brain
        x = self.standardise(data["x"][index], mean, var).float()
        with torch.no_grad():
            outputs = self.forward(x.to(brain.device))
        brain.on_stage_start(sb.Stage.VALID)
        brain.outputs["ids"] = list(ids or [str(i) for i in index])
        if "logits" in outputs:
            brain.outputs["probs"].append(torch.softmax(outputs["logits"], -1))
            brain.outputs["labels"].append(data["labels"][index])
        if "avd" in outputs:
            brain.outputs["avd"].append(outputs["avd"].cpu())
            brain.outputs["avd_targets"].append(data["avd"][index].float())
        return brain.compute_metrics()["score"]

    def select(self, train, valid):
        """The L2 strength best on valid or by inner CV, and the rows of
        ``train`` (merged with valid for inner CV) to refit on."""
        candidates = self.weight_decays()
        selection = self.hparams.full_batch_selection
        if selection not in ("valid", "inner_cv"):
            raise ValueError(
                "full_batch_selection must be 'valid' or 'inner_cv', got "
                f"{selection!r}"
            )
        if selection == "valid":
            all_rows = np.arange(len(train["ids"]))
            scores = []
            for wd in candidates:
                info = self.fit(train, all_rows, wd)
                scores.append(
                    self.score(valid, np.arange(len(valid["ids"])), **_mv(info))
                )
            self.selection = {"method": "valid", "scores": scores}
            return candidates[int(np.argmax(scores))], train
        data = _merge(train, valid)
        if data["speakers"] is None:
            raise ValueError(
                "full_batch_selection: inner_cv needs a speaker field in "
                "the train and valid manifests"
            )
        labels = None if data["labels"] is None else data["labels"].tolist()
        folds = inner_speaker_folds(
            data["speakers"],
            labels,
            self.hparams.inner_folds,
            getattr(self.hparams, "seed", 1234),
        )
        self.inner_folds = [
            ([data["ids"][i] for i in tr], [data["ids"][i] for i in va])
            for tr, va in folds
        ]
        scores = []
        for wd in candidates:
            fold_scores = []
            for tr, va in folds:
                info = self.fit(data, tr, wd)
                fold_scores.append(self.score(data, va, **_mv(info)))
            scores.append(float(np.mean(fold_scores)))
        self.selection = {
            "method": f"inner_cv ({len(folds)} speaker-grouped folds)",
            "scores": scores,
        }
        return candidates[int(np.argmax(scores))], data


def _mv(info):
    return {"mean": info["mean"], "var": info["var"]}


class _Forward(torch.nn.Module):
    """The trainer's forward as a module (L-BFGS sees its parameters)."""

    def __init__(self, trainer):
        super().__init__()
        self.trainable = trainer._trainable()
        self.trainer = [trainer]  # not a submodule

    def forward(self, x):
        """The trainer's forward: logits and/or A/V/D."""
        return self.trainer[0].forward(x)


def _merge(first, second):
    """Two :func:`_collect` outputs as one (train + valid)."""
    out = {"ids": first["ids"] + second["ids"]}
    out["x"] = torch.cat([first["x"], second["x"]])
    for key in ("labels", "avd"):
        out[key] = (
            None if first[key] is None else torch.cat([first[key], second[key]])
        )
    out["speakers"] = (
        None
        if first["speakers"] is None or second["speakers"] is None
        else first["speakers"] + second["speakers"]
    )
    return out


def _fit_full_batch(
    brain,
    train_set,
    valid_set,
    train_loader_kwargs=None,
    valid_loader_kwargs=None,
):
    """Trains ``brain``'s head to convergence on the full batch, then runs
    the Brain's validation stage once (log, checkpoint as epoch 1), so
    that ``evaluate`` tests it as any recipe's model. The choice (L2
    strength, the score of every candidate, the inner folds' utterance
    ids) is written to ``<output_folder>/full_batch.json``.

    Arguments
    ---------
    brain : EmotionBrain
        With a frozen encoder (``freeze_encoder: True``).
    train_set, valid_set : DynamicItemDataset
        The splits.
    train_loader_kwargs, valid_loader_kwargs : dict
        DataLoader options (batch size of the statistics pass).
    """
    if not brain.hparams.freeze_encoder:
        raise ValueError(
            "training: full_batch needs a frozen encoder (freeze_encoder: "
            "True): the statistics are computed once"
        )
    start = time.time()
    brain.on_fit_start()
    trainer = FullBatchTrainer(brain)
    train = _collect(brain, train_set, train_loader_kwargs)
    valid = _collect(brain, valid_set, valid_loader_kwargs)
    weight_decay, data = trainer.select(train, valid)
    info = trainer.fit(data, np.arange(len(data["ids"])), weight_decay)
    norm = trainer.inner.input_norm
    if norm is not None:  # the exact statistics, used at test time
        norm.running_mean.copy_(info["mean"].to(norm.running_mean))
        norm.running_var.copy_(info["var"].to(norm.running_var))
    brain.full_batch = {
        "weight_decay": weight_decay,
        "candidates": trainer.weight_decays(),
        **trainer.selection,
        "iterations": info["iterations"],
        "train_objective": info["loss"],
        "n_fit": len(data["ids"]),
        "seconds": round(time.time() - start, 2),
    }
    brain.inner_folds = getattr(trainer, "inner_folds", None)
    logger.info(f"full-batch head: {brain.full_batch}")
    if getattr(brain.hparams, "output_folder", None):
        brain.write_json(
            {
                **brain.full_batch,
                "inner_folds": [
                    {"train": train_ids, "valid": valid_ids}
                    for train_ids, valid_ids in brain.inner_folds or []
                ],
            },
            "full_batch.json",
        )
    counter = brain.hparams.epoch_counter
    counter.current = 1
    brain.end_stage(
        sb.Stage.TRAIN,
        {
            "loss": info["loss"],
            "weight_decay": weight_decay,
            "lbfgs_iterations": info["iterations"],
        },
    )
    brain.modules.eval()
    brain.on_stage_start(sb.Stage.VALID, 1)
    kwargs = {
        k: v for k, v in (valid_loader_kwargs or {}).items() if k != "shuffle"
    }
    loader = brain.make_dataloader(valid_set, sb.Stage.VALID, **kwargs)
    total, steps = 0.0, 0
    with torch.no_grad():
        for batch in loader:
            total += float(brain.evaluate_batch(batch, sb.Stage.VALID))
            steps += 1
    brain.on_stage_end(sb.Stage.VALID, total / max(steps, 1), 1)


class FullBatchMixin:
    """Brain mixin: ``training: full_batch`` replaces the epoch loop.

    With the hparam ``training`` set to ``full_batch``, ``fit`` is
    :func:`_fit_full_batch` (one L-BFGS fit of the head, then one
    validation stage that logs and checkpoints it); otherwise (``epochs``,
    the default) SpeechBrain's ``fit``. The recipe end to end:
    ``tests/integration/test_nested_crossval.py``.

    Example
    -------
    >>> from speechbrain_ser.brains import EmotionBrain
    >>> issubclass(EmotionBrain, FullBatchMixin)
    True
    """

    def fit(
        self,
        epoch_counter,
        train_set,
        valid_set=None,
        progressbar=None,
        train_loader_kwargs=None,
        valid_loader_kwargs=None,
    ):
        """SpeechBrain's ``fit`` (same arguments), or the full-batch fit
        (see the class)."""
        training = self.hparams.training
        if training not in ("epochs", "full_batch"):
            raise ValueError(
                f"training must be 'epochs' or 'full_batch', got {training!r}"
            )
        if training == "full_batch":
            return _fit_full_batch(
                self,
                train_set,
                valid_set,
                train_loader_kwargs,
                valid_loader_kwargs,
            )
        return super().fit(
            epoch_counter,
            train_set,
            valid_set,
            progressbar,
            train_loader_kwargs or {},
            valid_loader_kwargs or {},
        )
