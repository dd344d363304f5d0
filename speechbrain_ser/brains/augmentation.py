"""Training-only augmentation of one batch, and the labels it needs.

Authors
 * speechbrain-ser developers 2026
"""

import speechbrain as sb

AUGMENTERS = ("wav_augment", "fbank_augment", "frame_augment")


class BatchAugmentation:
    """The augmenters that apply to one batch, and those it went through.

    Augmentation is for training batches only: in any other stage none
    applies, and valid and test inputs are never changed. Each augmenter
    is a SpeechBrain ``Augmenter`` under its YAML key (``None``: off; see
    :data:`~speechbrain_ser.brains.defaults.OPTIONAL_HPARAMS`):
    ``wav_augment`` on waveforms, ``fbank_augment`` on features,
    ``frame_augment`` on encoder frames. An augmenter may concatenate the
    original batch to the augmented one; :meth:`targets` then replicates
    the labels the same way.

    Arguments
    ---------
    hparams : namespace, optional
        Holds the augmenters of :data:`AUGMENTERS` (None: no augmentation).
    stage : sb.Stage, optional
        The batch's stage.

    Example
    -------
    >>> import types
    >>> import torch
    >>> from speechbrain.augment.augmenter import Augmenter
    >>> from speechbrain.augment.time_domain import DropChunk
    >>> hparams = types.SimpleNamespace(
    ...     wav_augment=Augmenter(
    ...         concat_original=True, augmentations=[DropChunk()]
    ...     ),
    ...     fbank_augment=None,
    ...     frame_augment=None,
    ... )
    >>> batch = BatchAugmentation(hparams, sb.Stage.TRAIN)
    >>> batch.uses("wav_augment"), batch.uses("fbank_augment")
    (True, False)
    >>> wavs, lengths = batch.apply(
    ...     "wav_augment", torch.rand(2, 16000), torch.ones(2)
    ... )
    >>> wavs.shape, batch.targets(torch.tensor([0, 1])).tolist()
    (torch.Size([4, 16000]), [0, 1, 0, 1])
    >>> BatchAugmentation(hparams, sb.Stage.VALID).uses("wav_augment")
    False
    """

    def __init__(self, hparams=None, stage=None):
        self.augmenters = {}
        if hparams is not None and stage == sb.Stage.TRAIN:
            self.augmenters = {
                name: getattr(hparams, name) for name in AUGMENTERS
            }
        self.applied = []

    def uses(self, *names):
        """Whether any augmenter of ``names`` applies to this batch."""
        return any(self.augmenters.get(name) is not None for name in names)

    def apply(self, name, x, lengths):
        """Applies the augmenter ``name``; notes it for :meth:`targets`.

        Arguments
        ---------
        name : str
            One of :data:`AUGMENTERS`.
        x : torch.Tensor
            (B, ...) inputs.
        lengths : torch.Tensor
            (B,) relative lengths.

        Returns
        -------
        x, lengths
            As the augmenter returns them.
        """
        augmenter = self.augmenters[name]
        x, lengths = augmenter(x, lengths)
        self.applied.append(augmenter)
        return x, lengths

    def apply_to_frames(self, frames, lengths):
        """``frame_augment`` on (B, T, D) frames, or on (B, T, L, D) hidden
        states viewed as (B, T, L * D): a time mask then covers every
        layer, a channel mask a band of one layer.

        Arguments
        ---------
        frames : torch.Tensor
            (B, T, D) or (B, T, L, D).
        lengths : torch.Tensor
            (B,) relative lengths.

        Returns
        -------
        frames, lengths
            The augmented frames, shaped as given.
        """
        shape = frames.shape
        flat = frames.reshape(shape[0], shape[1], -1)
        flat, lengths = self.apply("frame_augment", flat, lengths)
        return flat.reshape(flat.shape[0], *shape[1:]), lengths

    def targets(self, targets):
        """``targets`` replicated as every applied augmenter did its batch.

        Arguments
        ---------
        targets : torch.Tensor
            (B, ...) labels or lengths.

        Returns
        -------
        torch.Tensor
        """
        for augmenter in self.applied:
            targets = augmenter.replicate_labels(targets)
        return targets
