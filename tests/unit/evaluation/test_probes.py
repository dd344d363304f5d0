import json

import numpy as np
import pytest
import torch

from speechbrain_ser.evaluation.crossval_reliability import crossval_reliability
from speechbrain_ser.evaluation.probes import (
    EncoderStatistics,
    FbankStatistics,
    linear_baseline,
)
from speechbrain_ser.metrics import ccc_report
from speechbrain_ser.tiny_models import make_tiny_whisper

SPLITS = {"train": range(6), "valid": range(6, 8), "test": range(8, 12)}


def tone_manifests(tmp_path, tone):
    """Two 'emotions' that differ only in pitch; activation grows with
    pitch, valence and dominance with the index."""
    manifests = {}
    for split, indices in SPLITS.items():
        entries = {}
        for i in indices:
            for label, freq in (("low", 200.0), ("high", 3000.0)):
                path = tone(tmp_path / f"{label}{i}.wav", freq=freq + 10 * i)
                entries[f"{label}{i}"] = {
                    "wav": "{data_root}/" + path.name,
                    "speaker": str(i),
                    "emotion": label,
                    "activation": 1.0 + 3.0 * (label == "high"),
                    "valence": 1.0 + 0.3 * i,
                    "dominance": 2.0 + 2.0 * (label == "high"),
                }
        manifests[split] = str(tmp_path / f"{split}.json")
        json.dump(entries, open(manifests[split], "w"))
    return manifests


def test_fbank_baseline_separates_low_and_high_tones(tmp_path, tone):
    """Filterbank means separate two pitches: UA 1 and activation CCC
    near 1; the pooled predictions agree with the reported CCC."""
    manifests = tone_manifests(tmp_path, tone)
    out = linear_baseline(manifests, str(tmp_path), "both", FbankStatistics())[
        "fbank"
    ]
    results, predictions = out["results"], out["predictions"]
    assert results["UA"] == 1.0 and results["n_test"] == 8
    assert predictions["high9"]["emotion"] == "high"
    assert results["C"] in (0.01, 0.1, 1.0, 10.0)
    assert results["valid_UA"] == pytest.approx(1.0)
    assert results["CCC"]["activation"] > 0.9
    values = list(predictions.values())
    recomputed = ccc_report(
        [p["avd_target"] for p in values], [p["avd"] for p in values]
    )
    assert recomputed == pytest.approx(results["CCC"])
    assert predictions["low8"]["avd_target"] == pytest.approx([1.0, 3.4, 2.0])
    # the test speaker comes along: a crossval without the recipe
    # (--baselines_only) still resamples speakers on a speaker-independent
    # protocol, as the recipe's own report does
    assert predictions["low8"]["speaker"] == "8"
    report = crossval_reliability(
        {"fbank": predictions}, protocol="speaker-independent", n_resamples=20
    )
    assert report["intervals"]["fbank"]["UA"]["resampled"] == "speakers"
    assert report["intervals"]["fbank"]["UA"]["n_units"] == 4


def test_regression_task_has_no_classes(tmp_path, tone):
    manifests = tone_manifests(tmp_path, tone)
    out = linear_baseline(
        manifests, str(tmp_path), "regression", FbankStatistics()
    )["fbank"]
    assert "UA" not in out["results"] and "alpha" in out["results"]
    assert "emotion" not in out["predictions"]["low8"]


@pytest.fixture
def tiny_whisper(tmp_path):
    return make_tiny_whisper(
        tmp_path / "whisper", chunk_seconds=30, encoder_layers=2
    )


def test_probe_pools_every_whisper_layer(tmp_path, tiny_whisper):
    """Last layer: 2 x d_model; all layers: the front end and both
    layers, the last block equal to the last layer's statistics."""
    from speechbrain_ser.nnet.encoders import WhisperEncoder

    encoder = WhisperEncoder(str(tiny_whisper), save_path=str(tmp_path))
    stats = EncoderStatistics(encoder)
    wav = torch.rand(1, 8000)
    out = stats(wav)
    assert out["last_layer"].shape == (32,)
    assert out["all_layers"].shape == (3 * 32,)
    np.testing.assert_allclose(out["all_layers"][-32:], out["last_layer"])
    with torch.no_grad():
        frames = encoder(wav, torch.ones(1))[0]  # (25, 16): 0.5 s
    assert frames.shape == (25, 16)
    np.testing.assert_allclose(
        out["last_layer"][:16], frames.double().mean(0).numpy(), rtol=1e-5
    )


def test_probe_baseline_on_tones(tmp_path, tone, tiny_whisper):
    """Even a random Whisper tells 200 Hz from 3 kHz (C fixed: on 4 valid
    utterances every C ties)."""
    from speechbrain_ser.nnet.encoders import WhisperEncoder

    manifests = tone_manifests(tmp_path, tone)
    encoder = WhisperEncoder(str(tiny_whisper), save_path=str(tmp_path))
    cache = {}
    out = linear_baseline(
        manifests,
        str(tmp_path),
        "classification",
        EncoderStatistics(encoder),
        cache,
        c_values=[1.0],
    )
    assert set(out) == {"last_layer", "all_layers"}
    assert out["last_layer"]["results"]["UA"] == 1.0
    assert out["all_layers"]["results"]["UA"] == 1.0
    assert len(cache) == 24  # every utterance computed once


@pytest.mark.parametrize("layer", ["weighted", -1])
def test_probe_of_fbank_fusion_is_the_encoder_alone(
    tmp_path, tiny_whisper, layer
):
    """The Urdu Whisper recipe's encoder appends filterbanks to every
    frame; its probe pools Whisper's hidden states only (the fbank
    baseline covers the filterbanks), whatever ``layer`` the recipe sets:
    with layer -1 the fused (B, T, D + n_mels) frames used to be split
    along the features and the probe failed."""
    from speechbrain_ser.nnet.encoders import WhisperEncoder
    from speechbrain_ser.nnet.fbank_frames import EncoderWithFbank

    whisper = WhisperEncoder(str(tiny_whisper), save_path=str(tmp_path))
    fused = EncoderWithFbank(
        WhisperEncoder(str(tiny_whisper), save_path=str(tmp_path), layer=layer),
        n_mels=40,
    )
    wav = torch.rand(1, 8000)
    alone, probed = (
        EncoderStatistics(whisper)(wav),
        EncoderStatistics(fused)(wav),
    )
    assert probed["last_layer"].shape == (32,)
    assert probed["all_layers"].shape == (3 * 32,)
    for name in ("last_layer", "all_layers"):
        np.testing.assert_allclose(probed[name], alone[name])
    assert fused.encoder.layer == layer  # the recipe's setting is kept
