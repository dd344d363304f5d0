"""Augmentation changes training inputs only, and labels follow."""

import speechbrain as sb
import torch
from speechbrain.augment.augmenter import Augmenter
from speechbrain.augment.freq_domain import SpectrogramDrop
from speechbrain.augment.time_domain import AddNoise
from speechbrain.dataio.batch import PaddedBatch

from speechbrain_ser.brains import EmotionBrain
from speechbrain_ser.brains.augmentation import BatchAugmentation


class Recorder(torch.nn.Module):
    """Identity that keeps what it was given."""

    def forward(self, x, lengths=None):
        self.seen = x.detach().clone()
        return x


class MeanHead(Recorder):
    def forward(self, x, lengths=None):
        super().forward(x, lengths)
        return x.mean(1)


def batch():
    generator = torch.Generator().manual_seed(0)
    items = [
        {
            "id": f"u{i}",
            "sig": torch.randn(400, generator=generator),
            "emotion_encoded": torch.tensor([i]),
        }
        for i in range(3)
    ]
    return PaddedBatch(items)


def make_brain(**augmenters):
    modules = {
        "encoder": Recorder(),
        "head": MeanHead(),
        "emotion_out": torch.nn.Linear(8, 3),
    }
    hparams = {
        "task": "classification",
        "classification_weight": 1.0,
        "freeze_encoder": False,
        "compute_features": lambda wavs: wavs.view(wavs.shape[0], 50, 8),
        **augmenters,
    }
    return EmotionBrain(
        modules=modules, hparams=hparams, run_opts={"device": "cpu"}
    )


def augmenters():
    return {
        "wav_augment": Augmenter(
            concat_original=True,
            min_augmentations=1,
            max_augmentations=1,
            augmentations=[AddNoise(snr_low=0, snr_high=0)],
        ),
        "fbank_augment": Augmenter(
            min_augmentations=1,
            max_augmentations=1,
            augmentations=[
                SpectrogramDrop(
                    drop_length_low=10,
                    drop_length_high=11,
                    drop_count_low=1,
                    drop_count_high=1,
                    dim=1,
                )
            ],
        ),
        "frame_augment": Augmenter(
            concat_original=True,
            min_augmentations=1,
            max_augmentations=1,
            augmentations=[
                SpectrogramDrop(
                    drop_length_low=2,
                    drop_length_high=3,
                    drop_count_low=1,
                    drop_count_high=1,
                    dim=2,
                )
            ],
        ),
    }


def test_valid_and_test_inputs_are_never_augmented():
    plain = make_brain()
    augmented = make_brain(**augmenters())
    b = batch()
    for stage in (sb.Stage.VALID, sb.Stage.TEST):
        plain.compute_forward(b, stage)
        augmented.compute_forward(b, stage)
        for name in ("encoder", "head"):
            assert torch.equal(
                plain.modules[name].seen, augmented.modules[name].seen
            )
        assert augmented.modules.head.seen.shape[0] == 3


def test_training_inputs_are_augmented_and_labels_replicated():
    torch.manual_seed(0)
    brain = make_brain(**augmenters())
    b = batch()
    brain.on_stage_start(sb.Stage.TRAIN)
    predictions = brain.compute_forward(b, sb.Stage.TRAIN)
    features = b.sig.data.view(3, 50, 8)
    seen = brain.modules.encoder.seen
    # wav_augment concatenates the 3 originals with 3 noisy copies, then
    # fbank_augment masks 10 frames of each
    assert seen.shape == (6, 50, 8)
    masked = (seen == 0).all(-1)  # (6, 50): masked frames
    assert masked.any(1).all() and masked.sum(1).max() <= 10
    kept = ~masked[:3]
    assert torch.equal(seen[:3][kept], features[kept])  # originals
    assert not torch.allclose(seen[3:][kept], features[kept])  # noisy
    # frame_augment concatenates again: 6 unchanged + 6 with 2 channels
    # masked in every frame
    head = brain.modules.head.seen
    assert head.shape == (12, 50, 8)
    assert torch.equal(head[:6], seen)
    masked_channels = (head[6:] == 0).all(1) & ~(seen == 0).all(1)
    assert masked_channels.any(1).all()
    assert predictions["logits"].shape == (12, 3)
    labels = brain._targets(b, sb.Stage.TRAIN, "emotion_encoded").view(-1)
    assert labels.tolist() == [0, 1, 2] * 4
    loss = brain.compute_objectives(predictions, b, sb.Stage.TRAIN)
    assert torch.isfinite(loss)


def test_frame_masks_cover_every_layer_of_hidden_states():
    """(B, T, L, D) hidden states: a time mask zeroes a frame in every
    layer; valid inputs pass unchanged."""
    time_mask = Augmenter(
        min_augmentations=1,
        max_augmentations=1,
        augmentations=[
            SpectrogramDrop(
                drop_length_low=3,
                drop_length_high=4,
                drop_count_low=1,
                drop_count_high=1,
                dim=1,
            )
        ],
    )
    brain = make_brain(frame_augment=time_mask)
    hiddens = torch.rand(3, 20, 5, 4) + 1
    lengths = torch.ones(3)
    for stage in (sb.Stage.VALID, sb.Stage.TEST):
        assert not BatchAugmentation(brain.hparams, stage).uses("frame_augment")
    augmentation = BatchAugmentation(brain.hparams, sb.Stage.TRAIN)
    masked, _ = augmentation.apply_to_frames(hiddens.clone(), lengths)
    assert masked.shape == hiddens.shape
    zero = masked == 0
    frame_zero = zero.all(-1)  # (B, T, L)
    # a masked frame is masked in all 5 layers, and nothing else is
    assert torch.equal(frame_zero.any(-1), frame_zero.all(-1))
    assert torch.equal(zero.any(-1), frame_zero)
    assert frame_zero.all(-1).any(1).all()  # every utterance lost a frame
