import math

import pytest
import torch

from speechbrain_ser.nnet.tokenwise import (
    CrossModalEncoder,
    TokenwiseContrastiveLoss,
    tokenwise_contrastive_loss,
)


def block(n_layers=1):
    torch.manual_seed(0)
    return CrossModalEncoder(
        query_size=16, frame_size=8, n_layers=n_layers, n_heads=2, d_ffn=32
    ).eval()


@pytest.mark.parametrize("n_layers", [1, 3])
def test_shapes_and_padded_queries_zeroed(n_layers):
    model = block(n_layers)
    queries, frames = torch.randn(3, 6, 16), torch.randn(3, 20, 8)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])
    out = model(queries, mask, frames, torch.tensor([1.0, 0.5, 0.25]))
    assert out.shape == (3, 6, 16)
    assert out[1, 4:].abs().sum() == 0 and out[2, 2:].abs().sum() == 0
    assert out[2, :2].abs().sum() > 0
    assert len(model.layers) == n_layers


def test_padding_invariance_on_both_sides():
    model = block(2)
    queries, frames = torch.randn(1, 3, 16), torch.randn(1, 10, 8)
    alone = model(queries, torch.ones(1, 3), frames, torch.ones(1))
    # Same item padded with 4 junk queries and 30 junk frames.
    padded_q = torch.cat([queries, 100 * torch.randn(1, 4, 16)], dim=1)
    padded_f = torch.cat([frames, 100 * torch.randn(1, 30, 8)], dim=1)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0, 0]])
    out = model(padded_q, mask, padded_f, torch.tensor([10 / 40]))
    torch.testing.assert_close(out[:, :3], alone, atol=1e-5, rtol=1e-5)


def test_frames_matter_and_cls_query_is_saved():
    model = block()
    frames = torch.randn(2, 10, 8)
    model.set_cls_query(torch.randn(1, 16))
    cls = model.encode_cls(frames)
    assert cls.shape == (2, 16)
    assert not torch.allclose(cls[0], cls[1])
    copy = block()
    copy.load_state_dict(model.state_dict())
    torch.testing.assert_close(copy.encode_cls(frames), cls)


def test_tokenwise_loss_hand_computed_with_padding_and_specials():
    # Two utterances; token 0 of each is [CLS] (excluded), one pad.
    t = torch.tensor(
        [
            [[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]],
            [[9.0, -9.0], [1.0, 1.0], [5.0, 5.0]],
        ]
    )
    o = torch.tensor(
        [
            [[7.0, 1.0], [2.0, 0.0], [0.0, 3.0]],
            [[1.0, 1.0], [0.0, 1.0], [7.0, 7.0]],
        ]
    )
    mask = torch.tensor([[False, True, True], [False, True, False]])
    tau = 0.5
    loss, accuracy = tokenwise_contrastive_loss(o, t, mask, tau)
    # unit vectors: outputs (1,0), (0,1), (0,1); targets (1,0), (0,1), s(1,1)
    s = 1 / math.sqrt(2)
    scores = [[1, 0, s], [0, 1, s], [0, 1, s]]

    def ce(row, positive):
        row = [v / tau for v in row]
        return -row[positive] + math.log(sum(math.exp(v) for v in row))

    expected = (ce(scores[0], 0) + ce(scores[1], 1) + ce(scores[2], 2)) / 3
    assert loss.item() == pytest.approx(expected, abs=1e-5)
    assert accuracy.item() == pytest.approx(2 / 3)


def test_learned_temperature_gets_a_gradient_fixed_does_not():
    outputs, targets = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    mask = torch.ones(2, 4, dtype=torch.bool)
    learned = TokenwiseContrastiveLoss(0.1, learn_temperature=True)
    learned(outputs, targets, mask)[0].backward()
    assert learned.log_temperature.grad is not None
    fixed = TokenwiseContrastiveLoss(0.1)
    assert list(fixed.parameters()) == []
    assert fixed.temperature.item() == pytest.approx(0.1)
    assert "log_temperature" in fixed.state_dict()
