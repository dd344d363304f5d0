import pytest
import torch

from speechbrain_ser.nnet.sa2sr import (
    FrameStacking,
    SA2SREncoder,
    SentimentSummarizer,
)


def test_frame_stacking_lengths():
    stacking = FrameStacking(stack=3, stride=3)
    x = torch.randn(2, 100, 4)
    y, lengths = stacking(x, torch.tensor([1.0, 0.5]))
    assert y.shape == (2, 34, 12)  # ceil(100 / 3)
    # 50 valid frames -> ceil(50 / 3) = 17 of 34
    assert torch.round(lengths * 34).tolist() == [34.0, 17.0]
    # frame i is x[3i], x[3i+1], x[3i+2] side by side
    torch.testing.assert_close(y[0, 5], x[0, 15:18].reshape(-1))
    # padding never leaks into the last valid stacked frame of item 2
    assert (y[1, 16, 8:] == 0).all()  # frame 16 = frames 48, 49, 50(pad)


def test_frame_stacking_with_overlap():
    y, _ = FrameStacking(stack=4, stride=2)(torch.arange(6.0).view(1, 6, 1))
    assert y[0].tolist() == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 0, 0]]


@pytest.mark.parametrize(
    "module",
    [
        SA2SREncoder(8, hidden_size=6, num_layers=2),
        SentimentSummarizer(8, hidden_size=5),
    ],
    ids=["encoder", "summarizer"],
)
def test_padding_does_not_change_outputs(module):
    torch.manual_seed(0)
    module.eval()
    short = torch.randn(1, 31, 8)
    full = torch.randn(1, 60, 8)
    batch = torch.cat(
        [full, torch.cat([short, torch.full((1, 29, 8), 50.0)], 1)]
    )
    lengths = torch.tensor([1.0, 31 / 60])
    with torch.no_grad():
        together = module(batch, lengths)
        alone = module(short, torch.ones(1))
        alone_full = module(full, torch.ones(1))
    if together.dim() == 3:  # encoder: 31 frames -> 11 stacked frames
        torch.testing.assert_close(
            together[1, :11], alone[0], atol=1e-5, rtol=1e-4
        )
        assert (together[1, 11:] == 0).all()
    else:
        torch.testing.assert_close(together[1], alone[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(together[0], alone_full[0], atol=1e-5, rtol=1e-4)


def test_ctc_plus_sentiment_loss_decreases_on_a_tiny_batch():
    import speechbrain as sb

    torch.manual_seed(0)
    feats = torch.randn(4, 60, 10)
    lengths = torch.tensor([1.0, 0.9, 0.8, 0.7])
    tokens = torch.randint(1, 29, (4, 6))
    token_lengths = torch.tensor([1.0, 1.0, 5 / 6, 4 / 6])
    labels = torch.tensor([0, 1, 2, 1])
    encoder = SA2SREncoder(10, hidden_size=16, num_layers=2)
    ctc_lin = torch.nn.Linear(32, 29)
    summarizer = SentimentSummarizer(32, hidden_size=8)
    params = [
        *encoder.parameters(),
        *ctc_lin.parameters(),
        *summarizer.parameters(),
    ]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    losses = []
    for _ in range(40):
        states = encoder(feats, lengths)
        log_probs = torch.log_softmax(ctc_lin(states), -1)
        ctc = sb.nnet.losses.ctc_loss(
            log_probs, tokens, lengths, token_lengths, blank_index=0
        )
        ce = torch.nn.functional.cross_entropy(
            summarizer(states, lengths), labels
        )
        loss = ctc + 2.0 * ce
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
