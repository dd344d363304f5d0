"""Every optional YAML key a Brain reads, with its default, in one place.

A Brain never asks whether a key exists: it reads ``self.hparams.<key>``,
and :class:`~speechbrain_ser.brains.resumable.ResumableBrain` (the base of
every Brain) fills in the default of each key below that the YAML leaves
out. A feature is on when its key holds a value (an augmenter, a folder,
a number) and off at the default (``None`` / ``False``); a YAML may write
the default explicitly (``wav_augment: null``). Keys a Brain cannot run
without (``task``, ``freeze_encoder``, ``epoch_counter`` ...) have no
default and are documented with the Brain.

Authors
 * speechbrain-ser developers 2026
"""

# key -> (default, who reads it: what it switches)
OPTIONAL_HPARAMS = {
    # Every Brain
    "protocol": (
        "unspecified",
        "a sentence stating corpus, split and speaker independence; "
        "copied into results.json",
    ),
    "lr_annealing": (
        None,
        "a SpeechBrain scheduler stepped on the validation loss after each "
        "epoch; every parameter group keeps its ratio (brains/param_groups)",
    ),
    # EmotionBrain (and the Brains derived from it)
    "compute_features": (
        None,
        "features computed from the waveforms before the encoder "
        "(e.g. Fbank); None: the encoder takes waveforms",
    ),
    "cache_frozen_encoder": (
        False,
        "with freeze_encoder: the encoder runs once per utterance and its "
        "frames are reused (brains/encoder_cache)",
    ),
    "encoder_cache_folder": (
        None,
        "keep that cache on disk, shared by runs with the same encoder; "
        "None: in memory",
    ),
    "wav_augment": (
        None,
        "Augmenter on training waveforms (also CPCBrain, JointCPCBrain; "
        "TranscriptEmotionBrain refuses one)",
    ),
    "fbank_augment": (None, "Augmenter on training features"),
    "frame_augment": (None, "Augmenter on the encoder's training frames"),
    "label_smoothing": (0.0, "cross-entropy label smoothing"),
    "class_weights": (
        None,
        "cross-entropy class weights: None, 'balanced' or a list in "
        "label-encoder order",
    ),
    "selection_metric": (
        None,
        "validation statistic that selects the checkpoint (e.g. WA, "
        "CCC_valence); None: UA, mean CCC or their mean",
    ),
    "subset_field": (
        None,
        "manifest field (e.g. improvised) whose values get their own test "
        "report in results.json",
    ),
    "layer_weights_lr": (
        None,
        "own learning rate (and no weight decay) for learned layer-weight "
        "logits",
    ),
    "label_encoder": (
        None,
        "the CategoricalEncoder (classification; set by the data function)",
    ),
    "training": (
        "epochs",
        "epochs (SpeechBrain's loop) or full_batch (one L-BFGS fit of the "
        "head on a frozen encoder's fixed statistics, brains/full_batch)",
    ),
    "full_batch_weight_decay": (
        None,
        "full_batch: L2 strength, or a list chosen among; None: "
        "full_batch.WEIGHT_DECAYS (1e-4 ... 1)",
    ),
    "full_batch_selection": (
        "valid",
        "full_batch: choose the L2 strength on valid or by inner_cv "
        "(speaker-grouped folds over train + valid, then refit on both)",
    ),
    "inner_folds": (4, "full_batch with inner_cv: number of inner folds"),
    "full_batch_max_iter": (1000, "full_batch: L-BFGS iterations at most"),
    # EmotionBrain: how far to trust the results (brains/reliability)
    "calibrate": (
        True,
        "fit temperature scaling (and conformal A/V/D intervals) on the "
        "validation set after training; saved with the exported model",
    ),
    "calibration_bias": (False, "also fit one bias per class"),
    "conformal_coverage": (0.9, "nominal coverage of the A/V/D intervals"),
    "bootstrap_resamples": (
        1000,
        "resamples of the 95% bootstrap intervals in results.json",
    ),
    "group_by": (
        None,
        "manifest field(s) whose values get their own metrics in "
        "results.json (besides speaker), e.g. gender",
    ),
    # SpeechTextBrain
    "fusion": ("late", "late (averaged posteriors) or learned (fusion head)"),
    "encoder_lr": (None, "own learning rate of the speech encoder"),
    "text_encoder_lr": (None, "own learning rate of the text encoder"),
    # TokenwiseContrastiveBrain
    "speech_trainable_layers": (
        None,
        "train only the speech encoder's top N layers; None: all",
    ),
    # SA2SRBrain
    "speed_perturb": (None, "Augmenter (speed) on training waveforms"),
    "spec_augment": (None, "Augmenter on training features"),
}

# Optional entries of the YAML's ``modules`` (absent: not used)
OPTIONAL_MODULES = {
    "mean_var_norm": "EmotionBrain: normalises the features (after "
    "compute_features) before the encoder",
}


def with_defaults(hparams):
    """``hparams`` with the default of every absent optional key.

    Arguments
    ---------
    hparams : dict or None
        The YAML's hparams (None: none).

    Returns
    -------
    dict
        A new dict: the defaults of :data:`OPTIONAL_HPARAMS`, updated with
        ``hparams``.

    Example
    -------
    >>> hparams = with_defaults({"protocol": "demo", "wav_augment": None})
    >>> hparams["protocol"], hparams["wav_augment"], hparams["fusion"]
    ('demo', None, 'late')
    """
    defaults = {key: value for key, (value, _) in OPTIONAL_HPARAMS.items()}
    return {**defaults, **(hparams or {})}


def optional_module(modules, name):
    """The module ``name`` of :data:`OPTIONAL_MODULES`, or None.

    Arguments
    ---------
    modules : torch.nn.ModuleDict
        A Brain's modules.
    name : str
        A key of :data:`OPTIONAL_MODULES`.

    Returns
    -------
    torch.nn.Module or None

    Example
    -------
    >>> import torch
    >>> modules = torch.nn.ModuleDict({"encoder": torch.nn.Identity()})
    >>> optional_module(modules, "mean_var_norm") is None
    True
    """
    if name not in OPTIONAL_MODULES:
        raise KeyError(f"{name} is not an optional module: {OPTIONAL_MODULES}")
    return modules[name] if name in modules else None
