"""The one-copy padding gives exactly SpeechBrain's padded batches."""

import pytest
import torch
from speechbrain.utils.data_utils import batch_pad_right

from speechbrain_ser.data.batching import pad_right_batch


@pytest.mark.parametrize("shape", [(), (3,)])
def test_same_as_speechbrain(shape):
    generator = torch.Generator().manual_seed(0)
    tensors = [
        torch.randn((length,) + shape, generator=generator)
        for length in (5, 9, 1, 9)
    ]
    for value in (0, -1.5):
        ours, our_lengths = pad_right_batch(tensors, value=value)
        theirs, their_lengths = batch_pad_right(tensors, value=value)
        assert torch.equal(ours, theirs)
        assert torch.equal(our_lengths, their_lengths)
    labels = [torch.tensor([2]), torch.tensor([0])]  # equal lengths, int
    assert torch.equal(pad_right_batch(labels)[0], torch.tensor([[2], [0]]))
    with pytest.raises(ValueError, match="first dimension only"):
        pad_right_batch([torch.ones(2, 3), torch.ones(2, 4)])


def test_dynamic_batches_count_the_crop():
    # CPC trains on random crops: a long utterance costs one crop
    from speechbrain.dataio.dataset import DynamicItemDataset

    from speechbrain_ser.data.batching import dynamic_batch_loader_options

    data = DynamicItemDataset(
        {f"u{i}": {"duration": 10.0 + i} for i in range(12)}
    )
    hparams = {"max_batch_seconds": 4.0, "num_buckets": 2, "seed": 0}
    whole = list(dynamic_batch_loader_options(data, hparams)["batch_sampler"])
    assert all(len(batch) == 1 for batch in whole)  # 10+ s > 4 s each
    cropped = dynamic_batch_loader_options(
        data, {**hparams, "crop_seconds": 1.0}
    )["batch_sampler"]
    sizes = [len(batch) for batch in cropped]
    # several 1 s crops per batch, never more than 4 s of them
    assert sum(sizes) == 12 and min(sizes) > 1 and max(sizes) <= 4


class Ramps(torch.utils.data.Dataset):
    """Items 1..n+1 of growing length."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return torch.arange(index + 2, dtype=torch.float32) + 1


def pad_and_say_where(items):
    """pad_right_batch's batch, and whether it was built shared."""
    batch, lengths = pad_right_batch(items)
    return batch, lengths, batch.is_shared()


def test_worker_batches_are_padded_in_shared_memory():
    """In a loader worker the batch is built in shared memory (nothing to
    copy when it is sent to the main process), with the same values; in
    the main process, in ordinary memory."""
    ramps = Ramps()
    loader = torch.utils.data.DataLoader(
        ramps, batch_size=4, num_workers=1, collate_fn=pad_and_say_where
    )
    batch, lengths, built_shared = next(iter(loader))
    expected, expected_lengths, main_shared = pad_and_say_where(
        [ramps[i] for i in range(len(ramps))]
    )
    assert built_shared and not main_shared
    assert torch.equal(batch, expected)
    assert torch.equal(lengths, expected_lengths)
