import pytest
import torch

from speechbrain_ser.nnet.cpc import CPCModel, WaveformConvEncoder
from speechbrain_ser.nnet.encoders import ConvEncoder


def feature_model(k=3):
    """CPC over filterbank-like features (the hparams choice to f)."""
    return CPCModel(
        ConvEncoder(8, channels=12, n_layers=1, kernel_size=1, dropout=0.0),
        12,
        16,
        n_predictions=k,
    )


def test_context_is_causal():
    torch.manual_seed(0)
    model = feature_model().eval()
    x = torch.randn(1, 30, 8)
    changed = x.clone()
    changed[:, 20:] = torch.randn(1, 10, 8)
    with torch.no_grad():
        c1, c2 = model(x), model(changed)
    torch.testing.assert_close(c1[:, :20], c2[:, :20])
    assert not torch.allclose(c1[:, 20:], c2[:, 20:])


def test_padding_takes_no_part_in_the_loss():
    torch.manual_seed(0)
    model = feature_model().eval()
    x = torch.randn(2, 40, 8)
    lengths = torch.tensor([1.0, 0.5])
    with torch.no_grad():
        loss, accuracies = model.info_nce(*model.encode(x, lengths), lengths)
        x[1, 20:] = 1e3  # garbage in the padding
        loss_garbage, _ = model.info_nce(*model.encode(x, lengths), lengths)
    assert loss_garbage.item() == pytest.approx(loss.item(), rel=1e-5)
    assert len(accuracies) == 3


def test_waveform_encoder_frame_rate():
    f = WaveformConvEncoder(channels=8)
    assert f(torch.randn(1, 16000)).shape == (1, 98, 8)  # ~100 frames/s


def test_cpc_learns_a_predictable_signal():
    """Sinusoidal features are predictable from the past: InfoNCE falls
    and the prediction accuracy rises."""
    torch.manual_seed(0)
    t = torch.arange(60).float()
    phases = torch.rand(4, 1, 8) * 6.28
    x = torch.sin(0.3 * t[None, :, None] * torch.linspace(0.5, 1.5, 8) + phases)
    lengths = torch.tensor([1.0, 0.9, 0.8, 1.0])
    model = feature_model(k=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for _ in range(80):
        loss, accuracies = model.info_nce(*model.encode(x, lengths), lengths)
        history.append((loss.item(), accuracies[0]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert history[-1][0] < 0.5 * history[0][0]
    assert history[-1][1] > history[0][1] + 0.3


def test_too_short_for_cpc():
    model = feature_model()
    with pytest.raises(ValueError, match="too short"):
        model.info_nce(*model.encode(torch.randn(1, 1, 8)), None)
