import math

import pytest
import torch

from speechbrain_ser.nnet.losses import info_nce_loss


def test_hand_computed_two_utterances_with_padding():
    # utterance 0: frames a, b (valid), utterance 1: frame c (valid) + pad
    a, b, c = [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]
    targets = torch.tensor([[a, b], [c, [50.0, 50.0]]])
    predictions = torch.tensor([[a, b], [[0.0, 2.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True], [True, False]])
    loss, accuracy = info_nce_loss(predictions, targets, mask)

    # query a: scores vs (a, b, c) = (1, 0, 1); positive a
    # query b: (0, 1, 1); positive b
    # query (0, 2) for c: (0, 2, 2); positive c
    def ce(scores, positive):
        return -scores[positive] + math.log(sum(math.exp(s) for s in scores))

    expected = (ce([1, 0, 1], 0) + ce([0, 1, 1], 1) + ce([0, 2, 2], 2)) / 3
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    # argmax picks the first maximum: a (right), b (right), b (wrong)
    assert accuracy.item() == pytest.approx(2 / 3)


def test_padding_is_never_a_candidate():
    torch.manual_seed(0)
    targets = torch.randn(2, 5, 4)
    predictions = targets.clone()
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    loss, _ = info_nce_loss(predictions, targets, mask)
    garbage = targets.clone()
    garbage[1, 2:] = 1e3  # would dominate every score if it were a negative
    loss_garbage, _ = info_nce_loss(predictions, garbage, mask)
    assert loss_garbage.item() == pytest.approx(loss.item())


def test_sampled_negatives_exclude_the_positive():
    targets = torch.eye(30).unsqueeze(0)  # orthogonal frames
    mask = torch.ones(1, 30, dtype=torch.bool)
    generator = torch.Generator().manual_seed(1)
    # scaled copies of orthogonal frames: only the positive scores above 0
    loss, accuracy = info_nce_loss(
        10 * targets, targets, mask, num_negatives=5, generator=generator
    )
    assert accuracy.item() == 1.0 and loss.item() < 1e-3
    # with every negative drawn, sampling equals the full pool
    full, _ = info_nce_loss(targets, targets, mask)
    all_drawn, _ = info_nce_loss(targets, targets, mask, num_negatives=29)
    assert all_drawn.item() == pytest.approx(full.item())
    with pytest.raises(ValueError):
        info_nce_loss(targets, targets, torch.zeros(1, 30, dtype=torch.bool))


def test_info_nce_decreases_when_learning_to_predict():
    torch.manual_seed(0)
    targets = torch.randn(4, 12, 6)
    mask = torch.ones(4, 12, dtype=torch.bool)
    mask[2, 8:] = False
    head = torch.nn.Linear(6, 6)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05)
    history = []
    for _ in range(60):
        loss, accuracy = info_nce_loss(head(targets), targets, mask)
        history.append((loss.item(), accuracy.item()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    (first_loss, first_accuracy), (last_loss, last_accuracy) = (
        history[0],
        history[-1],
    )
    assert last_loss < 0.5 * first_loss
    assert last_accuracy > first_accuracy + 0.3


def test_shared_draw_never_counts_the_positive_as_a_negative():
    targets = 5 * torch.eye(10).unsqueeze(0)
    mask = torch.ones(1, 10, dtype=torch.bool)
    # 8 of 10 frames drawn: most queries find their own positive in the
    # draw; were it kept as a negative, the loss would be about 0.8 log 2.
    loss, accuracy = info_nce_loss(
        targets,
        targets,
        mask,
        num_negatives=8,
        generator=torch.Generator().manual_seed(0),
    )
    assert loss.item() < 1e-6 and accuracy.item() == 1.0
