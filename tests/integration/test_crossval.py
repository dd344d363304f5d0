"""Cross-validation over folds, with the baseline, on a fake URDU tree."""

import json
import os

from speechbrain_ser.crossval import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_crossval_pools_folds_and_runs_the_baseline(tmp_path, tone):
    corpus = tmp_path / "urdu"
    for speaker in range(1, 9):
        for emotion in ("Angry", "Happy", "Neutral", "Sad"):
            name = f"SM{speaker}_F01_{emotion[0]}{speaker:02d}.flac"
            tone(corpus / emotion / name, sample_rate=44100)
    yaml = os.path.join(
        ROOT, "recipes", "URDU", "emotion", "hparams", "fbank_attention.yaml"
    )
    out = tmp_path / "cv"
    report = main(
        [
            yaml,
            "--folds=0,1",
            f"--data_folder={corpus}",
            f"--output_folder={out}",
            "--baseline",
            "--number_of_epochs=1",
            "--emb_channels=8",
            "--batch_size=8",
        ]
    )
    tested = [
        json.load(open(out / f"fold_{k}" / "results.json"))["n_test"]
        for k in (0, 1)
    ]
    for name in ("model", "fbank_logreg_baseline"):
        assert set(report[name]["folds"]) == {"0", "1"}
        assert report[name]["pooled"]["n"] == sum(
            tested
        )  # each test utterance once
    baseline_folds = report["fbank_logreg_baseline"]["folds"]
    assert [baseline_folds[k]["n_test"] for k in ("0", "1")] == tested
    assert json.load(open(out / "crossval_results.json")) == json.loads(
        json.dumps(report)
    )
