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
