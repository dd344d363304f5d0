"""Temperature scaling, conformal intervals, and the recognizer using them
(speechbrain_ser.inference.calibration, --min-confidence)."""

import json
import logging

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.cli import main
from speechbrain_ser.evaluation.calibration import calibration_metrics
from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.inference.calibration import (
    Calibration,
    conformal_half_width,
    fit_temperature,
)
from speechbrain_ser.tiny_models import tiny_model_folder


def test_temperature_scaling_lowers_nll_of_overconfident_model():
    # a model right 70% of the time that says 99%: NLL is high; the
    # fitted temperature spreads the probabilities and lowers it
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    predicted = np.where(rng.random(400) < 0.7, labels, (labels + 1) % 4)
    logits = np.full((400, 4), 0.0)
    logits[np.arange(400), predicted] = 6.0  # p(top) ~ 0.99
    before = calibration_metrics(
        torch.softmax(torch.tensor(logits), -1), labels
    )
    temperature, bias = fit_temperature(logits, labels)
    after = calibration_metrics(
        torch.softmax(torch.tensor(logits) / temperature, -1), labels
    )
    assert temperature > 1.5 and bias is None
    assert after["NLL"] < before["NLL"] - 0.5
    assert after["ECE"] < before["ECE"] / 3
    # the best temperature makes the top probability about 0.7
    top = torch.softmax(torch.tensor(logits[:1]) / temperature, -1).max()
    assert abs(float(top) - 0.7) < 0.03


def test_bias_corrects_a_prior_shift():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 500)
    logits = np.stack([np.zeros(500), 2.0 * (2 * labels - 1)], 1)
    logits[:, 0] += 1.5  # every logit of class 0 too high
    _, bias = fit_temperature(logits, labels, bias=True)
    assert bias[1] - bias[0] > 1.0


@pytest.mark.parametrize("coverage", [0.8, 0.9])
def test_conformal_coverage_near_nominal(coverage):
    # exchangeable calibration and test residuals: the empirical coverage
    # over many draws is within 2 points of nominal (and at least nominal
    # on average, the split-conformal guarantee)
    rng = np.random.default_rng(2)
    covered = []
    for _ in range(200):
        calibration = np.abs(rng.standard_t(3, 100))
        test = np.abs(rng.standard_t(3, 200))
        q = conformal_half_width(calibration, coverage)
        covered.append(np.mean(test <= q))
    assert coverage - 0.005 <= np.mean(covered) <= coverage + 0.02


def test_conformal_half_width_per_column():
    residuals = np.array([[0.1, 1.0], [0.2, 2.0], [0.3, 3.0], [0.4, 4.0]])
    assert conformal_half_width(residuals, 0.5) == [0.3, 3.0]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    torch.manual_seed(0)
    old = tiny_model_folder()  # no calibration.json: an older model
    torch.manual_seed(0)
    new = tiny_model_folder()
    Calibration(
        temperature=100.0, coverage=0.9, half_widths={"valence": 0.25}
    ).save(new)
    return old, new


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    t = np.arange(16000) / 16000
    wave = sum(np.sin(2 * np.pi * f * t) / f for f in (150, 300, 450)) * 20
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    soundfile.write(path, wave, 16000)
    return str(path)


def test_old_folder_loads_uncalibrated_and_says_so(folders, wav, caplog):
    caplog.set_level(logging.WARNING)
    recognizer = EmotionRecognizer.from_hparams(source=folders[0])
    result = recognizer.classify_file(wav)
    assert recognizer.calibration.temperature == 1.0
    assert result["calibrated"] is False
    assert "valence_interval" not in result
    assert "no calibration.json" in caplog.text


def test_calibrated_folder_scales_and_gives_intervals(folders, wav):
    old = EmotionRecognizer.from_hparams(source=folders[0]).classify_file(wav)
    new = EmotionRecognizer.from_hparams(source=folders[1]).classify_file(wav)
    assert new["calibrated"] is True
    assert max(new["probabilities"].values()) < max(
        old["probabilities"].values()
    )  # T = 100: closer to uniform
    assert new["emotion"] == old["emotion"]  # a temperature keeps the arg max
    # 0.25 on [-1, 1] is 0.5 on the 1-5 scale, clipped to it
    low, high = new["valence_interval"]
    assert low == pytest.approx(max(1, new["valence"] - 0.5), abs=1e-5)
    assert high == pytest.approx(min(5, new["valence"] + 0.5), abs=1e-5)


def test_predict_min_confidence_abstains(folders, wav, tmp_path):
    rows = {}
    for threshold in ("0.0", "0.99"):
        out = tmp_path / f"{threshold}.jsonl"
        status = main(
            [
                "predict",
                "--model",
                folders[1],
                "--no-progress",
                "--min-confidence",
                threshold,
                "--output",
                str(out),
                wav,
            ]
        )
        assert status == 0
        rows[threshold] = json.loads(out.read_text())
    assert rows["0.0"]["uncertain"] is False
    assert rows["0.0"]["emotion"] is not None
    # T = 100 makes every probability near 1/4: below 0.99, abstain
    assert rows["0.99"]["uncertain"] is True
    assert rows["0.99"]["emotion"] is None
    assert max(rows["0.99"]["probabilities"].values()) < 0.99


def test_sharded_predict_abstains_too(folders, wav, tmp_path):
    """The torchrun path (here one process) honours --min-confidence too."""
    from speechbrain_ser.inference.distributed import predict_corpus_sharded

    recognizer = EmotionRecognizer.from_hparams(
        source=folders[1], savedir=str(tmp_path / "model")
    )
    out = tmp_path / "sharded.jsonl"
    predict_corpus_sharded(
        recognizer, [wav], str(out), progress=False, min_confidence=0.99
    )
    row = json.loads(out.read_text())
    assert row["uncertain"] is True
    assert row["emotion"] is None
