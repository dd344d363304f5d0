"""Cross-validation reports error bars, paired tests, calibration and
subgroups (issue 23), on a fake URDU tree trained in-process."""

import json
import os

from speechbrain_ser.evaluation import crossval
from speechbrain_ser.evaluation.crossval import main
from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
YAML = os.path.join(
    ROOT, "recipes", "URDU", "emotion", "hparams", "fbank_attention.yaml"
)


def test_crossval_reliability(tmp_path, tone, monkeypatch):
    monkeypatch.setattr(
        crossval,
        "run_training",
        lambda hparams, overrides: run_recipe([hparams, *overrides]),
    )
    corpus = tmp_path / "urdu"
    for speaker in range(1, 9):
        gender = "MF"[speaker % 2]
        for emotion in ("Angry", "Happy", "Neutral", "Sad"):
            name = f"S{gender}{speaker}_F01_{emotion[0]}{speaker:02d}.flac"
            tone(corpus / emotion / name, sample_rate=16000)
    out = tmp_path / "cv"
    report = main(
        [
            YAML,
            "--folds=0,1",
            f"--data_folder={corpus}",
            f"--output_folder={out}",
            "--baseline",
            "--number_of_epochs=1",
            "--emb_channels=8",
            "--batch_size=8",
            "--bootstrap_resamples=50",
        ]
    )
    fold = json.load(open(out / "fold_0" / "results.json"))
    assert fold["speaker_independent"] is True
    assert fold["intervals"]["UA"]["resampled"] == "speakers"
    assert fold["intervals"]["UA"]["n_resamples"] == 50
    assert set(fold["subgroups"]) == {"speaker", "gender"}
    assert set(fold["calibration"]) >= {"before", "after", "temperature"}
    assert (out / "fold_0" / "reliability_diagram.png").is_file()
    assert (out / "fold_0" / "inference" / "calibration.json").is_file()
    predictions = json.load(open(out / "fold_0" / "predictions.json"))
    assert {p["gender"] for p in predictions.values()} <= {"M", "F"}

    reliability = report["reliability"]
    assert reliability["resampled"] == "speakers"
    ua = reliability["intervals"]["model"]["UA"]
    assert ua["low"] <= ua["estimate"] <= ua["high"]
    paired = reliability["paired"]["fbank"]
    assert paired["n"] == report["systems"]["model"]["pooled"]["n"]
    assert paired["UA"]["difference"] == (
        report["systems"]["model"]["pooled"]["UA"]
        - report["systems"]["fbank"]["pooled"]["UA"]
    )
    assert 0 < paired["UA"]["p_value"] <= 1
    assert set(reliability["subgroups"]["fbank"]) == {"speaker", "gender"}
    assert reliability["calibration"]["after"]["ECE"] is not None
    table = (out / "crossval_results.md").read_text()
    assert "UA [95% CI]" in table and "| UA | " in table
