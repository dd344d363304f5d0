"""Cross-validation over folds, with baselines, on fake corpus trees."""

import json
import os

import numpy as np
import pytest

from speechbrain_ser.evaluation import crossval
from speechbrain_ser.evaluation.crossval import main
from speechbrain_ser.metrics import ccc_report
from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
RECIPES = os.path.join(ROOT, "recipes")


def make_urdu(corpus, tone, speakers=8):
    for speaker in range(1, speakers + 1):
        for emotion in ("Angry", "Happy", "Neutral", "Sad"):
            name = f"SM{speaker}_F01_{emotion[0]}{speaker:02d}.flac"
            tone(corpus / emotion / name, sample_rate=44100)
    return corpus


@pytest.fixture
def in_process(monkeypatch):
    """Each fold trains in this process (fast); records the folds run."""
    calls = []

    def run(hparams_file, overrides):
        calls.append(overrides)
        run_recipe([hparams_file, *overrides])

    monkeypatch.setattr(crossval, "run_training", run)
    return calls


def speakers(folder, split):
    manifest = json.load(open(folder / "manifests" / f"{split}.json"))
    return {entry["speaker"] for entry in manifest.values()}


def test_crossval_pools_folds_and_runs_the_baseline(tmp_path, tone):
    """Each fold in its own train.py process, as users run it."""
    corpus = make_urdu(tmp_path / "urdu", tone)
    yaml = os.path.join(RECIPES, "URDU", "emotion", "hparams")
    out = tmp_path / "cv"
    report = main(
        [
            os.path.join(yaml, "fbank_attention.yaml"),
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
    systems = report["systems"]
    assert set(systems) == {"model", "fbank"}
    for summary in systems.values():
        assert set(summary["folds"]) == {"0", "1"}
        assert summary["pooled"]["n"] == sum(tested)  # each test once
    assert [
        json.load(open(out / f"fold_{k}" / "baseline_fbank.json"))["fbank"][
            "results"
        ]["n_test"]
        for k in (0, 1)
    ] == tested
    # valid = next fold: fold 0's valid speakers are fold 1's test ones
    assert speakers(out / "fold_0", "valid") == speakers(out / "fold_1", "test")
    assert json.load(open(out / "crossval_results.json")) == json.loads(
        json.dumps(report)
    )
    assert "| recipe |" in (out / "crossval_results.md").read_text()
    # the report's protocol is the cross-validation's, each fold keeps its own
    fold_protocols = {
        k: json.load(open(out / f"fold_{k}" / "results.json"))["protocol"]
        for k in ("0", "1")
    }
    assert report["fold_protocols"] == fold_protocols
    assert "test fold 0," in fold_protocols["0"]
    protocol = report["protocol"]
    assert protocol != fold_protocols["0"]
    assert "over fold = 0, 1 " in protocol
    assert "test fold 0, 1 in turn" in protocol
    assert "speaker-independent" in protocol
    assert f"over the {sum(tested)} test utterances" in protocol
    assert protocol in (out / "crossval_results.md").read_text()


def test_regression_recipe_pools_ccc_and_resumes(tmp_path, tone, in_process):
    """IEMOCAP SA2SR fine-tuning (task: regression), leave-one-session-out:
    pooled CCC is the CCC of the concatenated predictions; a second call
    reads finished folds and retrains only the unfinished one."""
    from tests import fakes

    iemocap = tmp_path / "IEMOCAP"
    fakes.make_iemocap(iemocap, tone, sessions=(1, 2, 3))
    out = tmp_path / "cv"
    argv = [
        os.path.join(RECIPES, "IEMOCAP", "sa2sr", "hparams", "finetune.yaml"),
        "--fold_key=test_session",
        "--folds=1,2",
        f"--data_folder={iemocap}",
        f"--output_folder={out}",
        "--baseline",
        "--pretrained_encoder=unused",
        "--pretrainer=null",
        "--number_of_epochs=1",
        "--hidden_size=8",
        "--num_layers=1",
        "--regressor_channels=8",
        "--batch_size=4",
    ]
    report = main(argv)
    assert len(in_process) == 2
    assert speakers(out / "fold_1", "valid") == {"Ses02F"}
    folds = [
        json.load(open(out / f"fold_{k}" / "results.json")) for k in (1, 2)
    ]
    predictions = {}
    for k in (1, 2):
        predictions.update(
            json.load(open(out / f"fold_{k}" / "predictions.json"))
        )
    assert len(predictions) == 12  # sessions 1 and 2, six utterances each
    expected = ccc_report(
        [p["avd_target"] for p in predictions.values()],
        [p["avd"] for p in predictions.values()],
    )
    model = report["systems"]["model"]
    assert model["pooled"]["CCC_mean"] == pytest.approx(expected["mean"])
    assert model["pooled"]["CCC_valence"] == pytest.approx(expected["valence"])
    assert model["fold_mean"]["CCC_mean"] == pytest.approx(
        np.mean([r["CCC"]["mean"] for r in folds])
    )
    assert "UA" not in model["pooled"]
    ridge = report["systems"]["fbank"]
    assert set(ridge["pooled"]) == {
        "CCC_activation",
        "CCC_valence",
        "CCC_dominance",
        "CCC_mean",
        "n",
    }
    assert "CCC_mean pooled" in (out / "crossval_results.md").read_text()
    assert "over test_session = 1, 2 " in report["protocol"]
    assert "(test session 1, 2 in turn," in report["protocol"]
    assert "(test session 2," in report["fold_protocols"]["2"]

    # resume: fold 2 was killed before it wrote its results
    os.remove(out / "fold_2" / "results.json")
    baseline_file = out / "fold_1" / "baseline_fbank.json"
    baseline_file.write_text(baseline_file.read_text())  # kept as is
    stamp = os.stat(baseline_file).st_mtime_ns
    in_process.clear()
    again = main(argv)
    assert len(in_process) == 1 and "--test_session=2" in in_process[0]
    assert os.stat(baseline_file).st_mtime_ns == stamp
    assert again["systems"]["fbank"] == report["systems"]["fbank"]


def test_leave_one_speaker_out_runs_every_speaker(tmp_path, tone):
    """EmoDB: --fold_key=test_speaker sets valid_speaker to the next
    speaker, so one call covers all speakers; a protocol whose test split
    ignores the fold key is refused."""
    from tests import fakes

    emodb = tmp_path / "emodb"
    fakes.make_emodb(emodb, tone)
    yaml = os.path.join(
        RECIPES, "EmoDB", "emotion", "hparams", "whisper_stats_pooling.yaml"
    )
    argv = [
        yaml,
        "--fold_key=test_speaker",
        "--folds=03,08,09,10,11",
        f"--data_folder={emodb}",
        "--whisper_source=unused",
        "--baseline",
        "--baselines_only",
    ]
    out = tmp_path / "loso"
    report = main([*argv, f"--output_folder={out}", "--split_protocol=loso"])
    assert report["valid_key"] == "valid_speaker"
    order = ["03", "08", "09", "10", "11"]
    for i, speaker in enumerate(order):
        folder = out / f"fold_{speaker}"
        assert speakers(folder, "test") == {speaker}
        assert speakers(folder, "valid") == {order[(i + 1) % len(order)]}
    assert report["systems"]["fbank"]["pooled"]["n"] == 35
    with pytest.raises(ValueError, match="test sets of folds"):
        main([*argv, f"--output_folder={tmp_path / 'random'}"])


def test_probe_of_the_recipe_encoder(tmp_path, tone):
    """--baseline probe: the Urdu Whisper recipe's own (tiny, random)
    encoder, last layer and all layers, next to the filterbank one."""
    from speechbrain_ser.tiny_models import make_tiny_whisper

    whisper = make_tiny_whisper(
        tmp_path / "whisper", chunk_seconds=30, encoder_layers=2
    )
    corpus = make_urdu(tmp_path / "urdu", tone, speakers=3)
    out = tmp_path / "cv"
    report = main(
        [
            os.path.join(
                RECIPES,
                "URDU",
                "emotion",
                "hparams",
                "whisper_stats_pooling.yaml",
            ),
            "--n_folds=3",
            f"--data_folder={corpus}",
            f"--whisper_source={whisper}",
            f"--output_folder={out}",
            "--baseline",
            "probe",
            "fbank",
            "--baselines_only",
        ]
    )
    systems = report["systems"]
    assert list(systems) == ["last_layer", "all_layers", "fbank"]
    assert report["folds"] == ["0", "1", "2"]
    for summary in systems.values():
        assert summary["pooled"]["n"] == 12
    table = (out / "crossval_results.md").read_text()
    assert "probe: encoder all layers" in table


def test_one_fixed_split_runs_its_baselines(tmp_path, tone):
    """A recipe with one split (MSP-Podcast's test_set, RAVDESS's actor
    split) gets its baselines on that split: one fold, no valid key, the
    pooled report is that fold's test set. A value given for the fold key
    itself (--fold=3) is replaced by the fold's, not duplicated."""
    corpus = make_urdu(tmp_path / "urdu", tone, speakers=4)
    out = tmp_path / "cv"
    report = main(
        [
            os.path.join(
                RECIPES, "URDU", "emotion", "hparams", "fbank_attention.yaml"
            ),
            "--folds=1",
            "--fold=3",
            f"--data_folder={corpus}",
            f"--output_folder={out}",
            "--baseline",
            "--baselines_only",
        ]
    )
    assert report["folds"] == ["1"] and report["valid_key"] is None
    fbank = report["systems"]["fbank"]
    test = json.load(open(out / "fold_1" / "manifests" / "test.json"))
    assert fbank["pooled"]["n"] == len(test) > 0
    assert fbank["pooled"]["UA"] == fbank["folds"]["1"]["UA"]
    with pytest.raises(ValueError, match="valid key"):
        main(
            [
                os.path.join(
                    RECIPES,
                    "EmoDB",
                    "emotion",
                    "hparams",
                    "whisper_stats_pooling.yaml",
                ),
                "--fold_key=test_speaker",
                "--folds=03",
                "--data_folder=unused",
                "--whisper_source=unused",
                f"--output_folder={tmp_path / 'emodb'}",
            ]
        )


def test_a_stopped_fold_is_one_line(tmp_path, tone, monkeypatch, capsys):
    """Before: crossval ended in a CalledProcessError traceback."""
    import subprocess

    def stop(hparams_file, overrides):
        raise subprocess.CalledProcessError(2, ["python", hparams_file])

    monkeypatch.setattr(crossval, "run_training", stop)
    corpus = make_urdu(tmp_path / "urdu", tone, speakers=4)
    yaml = os.path.join(RECIPES, "URDU", "emotion", "hparams")
    out = tmp_path / "cv"
    argv = [
        os.path.join(yaml, "fbank_attention.yaml"),
        f"--data_folder={corpus}",
        f"--output_folder={out}",
    ]
    assert crossval.command_line(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("crossval: error: fold 0: the recipe stopped")
    assert f"{out}/fold_0/log.txt" in line
