"""Recurrent layers over padded batches: every item is read as if alone,
by the module path and by the operator that ONNX export uses."""

import pytest
import torch

from speechbrain_ser.nnet.recurrent import padded_rnn, padded_rnn_op

RNNS = {
    "bilstm": lambda: torch.nn.LSTM(
        5, 4, num_layers=2, bidirectional=True, batch_first=True
    ),
    "gru": lambda: torch.nn.GRU(5, 4, batch_first=True),
    "bigru": lambda: torch.nn.GRU(5, 4, bidirectional=True, batch_first=True),
}


@pytest.mark.parametrize("kind", sorted(RNNS))
def test_each_item_as_if_alone(kind):
    torch.manual_seed(0)
    rnn = RNNS[kind]().eval()
    x = torch.randn(3, 9, 5)
    lengths = torch.tensor([1.0, 5 / 9, 2 / 9])
    with torch.no_grad():
        batched = padded_rnn(rnn, x, lengths)
        weights = [w for ws in rnn.all_weights for w in ws]
        mode = type(rnn).__name__
        op = padded_rnn_op(
            x, torch.tensor([9, 5, 2]), weights, mode,
            rnn.num_layers, rnn.bidirectional, rnn.hidden_size,
        )  # fmt: skip
        for item, frames in enumerate([9, 5, 2]):
            alone = rnn(x[item : item + 1, :frames])[0][0]
            assert torch.allclose(batched[item, :frames], alone, atol=1e-6)
            assert torch.allclose(op[item, :frames], alone, atol=1e-6)
            # outputs past the end are zero, as pad_packed_sequence gives
            assert batched[item, frames:].abs().sum() == 0
            assert op[item, frames:].abs().sum() == 0


def test_backward_direction_starts_at_the_real_end():
    # the padded path would differ here: padding reaches the backward
    # direction's first state
    torch.manual_seed(0)
    rnn = RNNS["bilstm"]().eval()
    x = torch.randn(1, 6, 5)
    padded = torch.cat([x, torch.randn(1, 4, 5)], dim=1)
    with torch.no_grad():
        naive = rnn(padded)[0][0, :6]
        ours = padded_rnn(rnn, padded, torch.tensor([0.6]))[0, :6]
        alone = rnn(x)[0][0]
    assert torch.allclose(ours, alone, atol=1e-6)
    assert not torch.allclose(naive, alone, atol=1e-3)
