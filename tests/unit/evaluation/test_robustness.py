"""Perturbations hit their stated SNR and the robustness command runs
(speechbrain_ser.evaluation.robustness)."""

import json
import math

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.cli import main
from speechbrain_ser.evaluation.robustness import (
    DEFAULT_CONDITIONS,
    Perturber,
    signal_power,
)
from speechbrain_ser.tiny_models import DEMO_LABELS, tiny_model_folder

RATE = 16000


def voice(seed, seconds=1.0):
    t = torch.arange(int(seconds * RATE)) / RATE
    f0 = 120 + 40 * seed
    return sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in (1, 2, 3)) * 0.2


def snr(clean, noisy):
    return 10 * math.log10(signal_power(clean) / signal_power(noisy - clean))


@pytest.fixture(scope="module")
def noise_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("noise") / "fan.wav"
    rng = np.random.default_rng(0)
    soundfile.write(path, rng.normal(size=RATE // 2) * 0.05, RATE)
    return str(path)


@pytest.mark.parametrize(
    "family", ["white_noise", "pink_noise", "babble", "noise_folder"]
)
@pytest.mark.parametrize("target", [20, 10, 5, 0])
def test_noise_hits_its_snr(family, target, noise_file):
    perturber = Perturber(
        RATE,
        babble_pool=[voice(s, 0.7) for s in (1, 2, 3, 4)],
        noise_files=[noise_file],
        seed=3,
    )
    clean = voice(0)
    noisy = perturber(family, {"snr": target, "talkers": 3}, clean, "u0")
    assert noisy.shape == clean.shape
    assert snr(clean, noisy) == pytest.approx(target, abs=0.01)


def test_perturbations_are_seeded():
    clean = voice(0)
    a = Perturber(RATE, seed=1)("pink_noise", {"snr": 5}, clean, "u0")
    b = Perturber(RATE, seed=1)("pink_noise", {"snr": 5}, clean, "u0")
    c = Perturber(RATE, seed=2)("pink_noise", {"snr": 5}, clean, "u0")
    d = Perturber(RATE, seed=1)("pink_noise", {"snr": 5}, clean, "u1")
    assert torch.equal(a, b)
    assert not torch.equal(a, c) and not torch.equal(a, d)


def test_pink_noise_has_more_low_than_high_frequency_power():
    noise = Perturber(RATE)(
        "pink_noise", {"snr": 0}, torch.zeros(RATE) + 1e-3, "u"
    )
    spectrum = torch.fft.rfft(noise.double()).abs() ** 2
    low, high = spectrum[10:200].mean(), spectrum[4000:8000].mean()
    assert low > 10 * high


def test_telephone_removes_the_upper_band():
    rng = np.random.default_rng(0)
    clean = torch.tensor(rng.normal(size=RATE) * 0.1, dtype=torch.float32)
    phone = Perturber(RATE)("telephone", {}, clean, "u")
    spectrum = torch.fft.rfft(phone.double()).abs() ** 2
    # bins are 1 Hz apart: 300-3400 Hz kept, above 4 kHz gone
    assert spectrum[5000:8000].sum() < 1e-3 * spectrum[500:3000].sum()


def test_speed_level_clipping_dropped_frames_reverb():
    clean = voice(0)
    p = Perturber(RATE, seed=0)
    assert len(p("speed", {"factor": 0.9}, clean, "u")) == pytest.approx(
        len(clean) / 0.9, rel=0.01
    )
    louder = p("level", {"gain_db": 20}, clean, "u")
    assert 10 * math.log10(signal_power(louder) / signal_power(clean)) == (
        pytest.approx(20, abs=1e-3)
    )
    clipped = p("clipping", {"fraction": 0.25}, clean, "u")
    assert clipped.abs().max() == pytest.approx(0.25 * clean.abs().max())
    dropped = p("dropped_frames", {"count": 5}, clean, "u")
    assert int((dropped == 0).sum()) >= 20 * RATE // 1000  # at least 20 ms
    reverberant = p("reverb", {"rt60": 0.6}, clean, "u")
    assert reverberant.shape == clean.shape
    assert not torch.allclose(reverberant, clean)


def test_robustness_command_on_a_tiny_model(tmp_path):
    torch.manual_seed(0)
    model = tiny_model_folder()
    entries = {}
    for i in range(6):
        path = tmp_path / f"u{i}.wav"
        soundfile.write(path, voice(i % 3).numpy(), RATE)
        entries[f"u{i}"] = {
            "wav": str(path),
            "duration": 1.0,
            "speaker": f"s{i % 3}",
            "emotion": DEMO_LABELS[i % len(DEMO_LABELS)],
        }
    manifest = tmp_path / "test.json"
    manifest.write_text(json.dumps(entries))
    out = tmp_path / "report"
    status = main(
        [
            "robustness",
            "--model",
            model,
            str(manifest),
            "--out",
            str(out),
            "--conditions",
            "white_noise",
            "babble",
            "level",
            "--bootstrap-resamples",
            "50",
            "--speakers",
        ]
    )
    assert status == 0
    report = json.loads((out / "robustness.json").read_text())
    rows = report["conditions"]
    expected = sum(
        len(DEFAULT_CONDITIONS[f]) for f in ("white_noise", "babble", "level")
    )
    assert len(rows) == expected and report["n"] == 6
    assert report["resampled"] == "speakers"
    for row in rows:
        assert row["drop"] == pytest.approx(
            row["estimate"] - report["clean"]["estimate"]
        )
        assert row["seconds_per_clip"] > 0
    assert (out / "robustness.png").is_file()
    assert "| white_noise | 0 dB |" in (out / "robustness.md").read_text()
    # seeded: a second run gives the same numbers
    main(
        [
            "robustness",
            "--model",
            model,
            str(manifest),
            "--out",
            str(tmp_path / "again"),
            "--conditions",
            "white_noise",
            "babble",
            "level",
            "--bootstrap-resamples",
            "50",
            "--speakers",
        ]
    )
    again = json.loads((tmp_path / "again" / "robustness.json").read_text())
    assert [r["estimate"] for r in again["conditions"]] == [
        r["estimate"] for r in rows
    ]
