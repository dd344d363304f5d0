"""CPC pre-training and the four training modes of Li et al. 2021, tiny corpora."""

import json
import os

import pytest
import torch

from speechbrain_ser.cli import main as cli
from speechbrain_ser.evaluation.representations import load_trained_module
from speechbrain_ser.plotting import read_train_log
from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SMALL = {
    "encoder_dim": 16,
    "context_dim": 16,
    "n_predictions": 3,
    "num_negatives": 8,
    "batch_size": 8,
}
K = SMALL["n_predictions"]


def args(yaml, **overrides):
    small = {"batch_size": 8} if yaml == "cpc_sup.yaml" else SMALL  # no CPC
    return [os.path.join(ROOT, "hparams", yaml)] + [
        f"--{key}={value}" for key, value in {**small, **overrides}.items()
    ]


def finetune_args(yaml, data, out, **overrides):
    common = dict(data_folder=data, n_utterances=40, output_folder=out)
    common.update(number_of_epochs=1, d_model=16)
    return args(yaml, **{**common, **overrides})


def log_rows(folder):
    return read_train_log(os.path.join(folder, "train_log.txt"))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """Two epochs of CPC pre-training on 40 'alt' utterances."""
    root = tmp_path_factory.mktemp("cpc")
    out = root / "pre"
    run_recipe(
        args(
            "cpc.yaml",
            data_folder=root / "alt",
            n_utterances=40,
            output_folder=out,
            number_of_epochs=2,
        )
    )
    return root, out


def test_pretraining_reports_accuracy_per_step(pretrained):
    _, out = pretrained
    results = json.load(open(out / "results.json"))
    steps = [f"acc_k{k}" for k in range(1, K + 1)]
    assert set(steps + ["cpc_loss", "acc_mean", "protocol"]) <= set(results)
    assert all(0 <= results[key] <= 1 for key in steps)
    rows = log_rows(out)
    assert [row["epoch"] for row in rows] == [1, 2]
    assert all(f"valid {key}" in row for row in rows for key in steps)
    state = torch.load(out / "cpc.ckpt")
    assert any(key.startswith("heads.") for key in state)
    assert any(key.startswith("context.") for key in state)


def test_pretraining_resumes(pretrained, tmp_path):
    root, _ = pretrained
    common = dict(
        data_folder=root / "alt", n_utterances=40, output_folder=tmp_path
    )
    run_recipe(args("cpc.yaml", number_of_epochs=1, **common))
    run_recipe(args("cpc.yaml", number_of_epochs=2, **common))
    assert [row["epoch"] for row in log_rows(tmp_path)] == [1, 2]


def test_waveform_encoder_pretrains(tmp_path):
    run_recipe(
        args(
            "cpc.yaml",
            data_folder=tmp_path / "alt",
            n_utterances=40,
            output_folder=tmp_path / "wave",
            number_of_epochs=1,
            input_type="waveform",
            crop_seconds=0.5,
        )
    )
    state = torch.load(tmp_path / "wave" / "cpc.ckpt")
    assert any(key.startswith("encoder.convs.") for key in state)


def test_sup_trains_on_filterbanks(tmp_path):
    brain = run_recipe(
        finetune_args("cpc_sup.yaml", tmp_path / "main", tmp_path / "sup")
    )
    assert not any(True for _ in brain.modules.encoder.parameters())
    results = json.load(open(tmp_path / "sup" / "results.json"))
    assert set(results["CCC"]) == {"activation", "valence", "dominance", "mean"}
    # Targets lie in [-1, 1]. On filterbanks without variance normalisation
    # the recognizer's outputs ran off (|AVD| > 5 after this one epoch).
    predictions = json.load(open(tmp_path / "sup" / "predictions.json"))
    outputs = [abs(v) for item in predictions.values() for v in item["avd"]]
    assert max(outputs) < 2


@pytest.mark.parametrize("frozen", [True, False])
def test_precpc_loads_the_pretrained_model(pretrained, tmp_path, frozen):
    _, pre = pretrained
    state = torch.load(pre / "cpc.ckpt")
    brain = run_recipe(
        finetune_args(
            "cpc_finetune.yaml",
            tmp_path / "main",
            tmp_path / "out",
            pretrained_cpc=pre / "cpc.ckpt",
            freeze_encoder=frozen,
        )
    )
    unchanged = [
        torch.equal(value, state[key])
        for key, value in brain.modules.encoder.state_dict().items()
    ]
    # frozen: exactly the pre-trained model; fine-tuned: f and g move
    # (the unused prediction heads keep their pre-trained values)
    assert all(unchanged) if frozen else not all(unchanged)
    assert "CCC" in json.load(open(tmp_path / "out" / "results.json"))


def test_minicpc_pretrains_on_the_emotion_training_voices(tmp_path):
    main = tmp_path / "main"
    run_recipe(
        args(
            "cpc.yaml",
            part="main",
            data_folder=main,
            n_utterances=40,
            output_folder=tmp_path / "pre",
            number_of_epochs=1,
        )
    )
    pretraining = json.load(open(tmp_path / "pre" / "results.json"))
    assert '"main" half' in pretraining["protocol"]
    brain = run_recipe(
        finetune_args(
            "cpc_finetune.yaml",
            main,
            tmp_path / "out",
            pretrained_on="main",
            pretrained_cpc=tmp_path / "pre" / "cpc.ckpt",
        )
    )
    assert "CCC" in json.load(open(tmp_path / "out" / "results.json"))
    # the frozen encoder is exactly the miniCPC model pre-trained above
    state = torch.load(tmp_path / "pre" / "cpc.ckpt")
    loaded = brain.modules.encoder.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[key], state[key]) for key in state)


def test_jointcpc_logs_both_losses_and_trains_the_encoder(tmp_path):
    run_recipe(
        finetune_args(
            "cpc_jointcpc.yaml",
            tmp_path / "main",
            tmp_path / "joint",
            number_of_epochs=3,
        )
    )
    rows = log_rows(tmp_path / "joint")
    assert {"train cpc_loss", "valid cpc_loss", "valid CCC_mean"} <= set(
        rows[0]
    )
    assert rows[0]["train loss"] > rows[0]["train cpc_loss"]  # + CCC loss
    assert rows[-1]["train cpc_loss"] < rows[0]["train cpc_loss"]
    results = json.load(open(tmp_path / "joint" / "results.json"))
    assert f"acc_k{K}" in results and "CCC" in results


def test_jointcpc_refuses_a_frozen_encoder(tmp_path):
    with pytest.raises(ValueError, match="freeze_encoder"):
        run_recipe(
            finetune_args(
                "cpc_jointcpc.yaml",
                tmp_path / "main",
                tmp_path / "joint",
                freeze_encoder=True,
            )
        )


def test_tsne_command(pretrained, tmp_path, capsys):
    root, pre = pretrained
    # the run's tested checkpoint holds the weights it saved to saved_model
    model, _ = load_trained_module(pre)
    saved = torch.load(pre / "cpc.ckpt")
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
    manifest = tmp_path / "main" / "manifests" / "test.json"
    run_recipe(  # makes a labelled corpus (and a short Sup run)
        finetune_args("cpc_sup.yaml", tmp_path / "main", tmp_path / "sup")
    )
    out = tmp_path / "tsne.png"
    assert (
        cli(
            [
                "tsne",
                "--run",
                str(pre),
                "--manifest",
                str(manifest),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.load(open(tmp_path / "tsne.json"))
    entries = json.load(open(manifest))
    assert len(result["points"]) == len(entries)
    assert sorted(result["labels"]) == sorted(
        e["emotion"] for e in entries.values()
    )
    assert out.stat().st_size > 0
    capsys.readouterr()
    assert (
        cli(
            [
                "tsne",
                "--run",
                str(pre),
                "--manifest",
                str(manifest),
                "--label-key",
                "speaker_age",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "no 'speaker_age' to colour it by" in capsys.readouterr().err


def test_corpus_recipes_pretrain_then_every_mode(tmp_path, tone):
    """LibriSpeech CPC pre-training, then preCPC on MSP-Podcast and
    IEMOCAP, and Sup, miniCPC and jointCPC on IEMOCAP, on fake trees."""
    from tests import fakes

    libri = tmp_path / "LibriSpeech"
    for subset, speakers in (
        ("train-clean-100", ("19", "26")),
        ("dev-clean", ("84",)),
        ("test-clean", ("61",)),
    ):
        for speaker in speakers:
            fakes.make_librispeech(libri, tone, subset, speaker, n=3)
    recipes = os.path.join(ROOT, "recipes")

    def run(corpus, yaml, out, *extra, small=SMALL):
        path = os.path.join(recipes, corpus, "cpc", "hparams", yaml)
        flags = [f"--{k}={v}" for k, v in small.items()]
        run_recipe(
            [path, f"--output_folder={out}", "--number_of_epochs=1"]
            + flags
            + list(extra)
        )
        return json.load(open(out / "results.json"))

    pre = tmp_path / "libri_cpc"
    results = run(
        "LibriSpeech",
        "cpc.yaml",
        pre,
        f"--data_folder={libri}",
        "--train_splits=[train-clean-100]",
    )
    assert f"acc_k{K}" in results
    msp = fakes.make_msp_podcast(tmp_path / "MSP", tone)
    iemocap = tmp_path / "IEMOCAP"
    fakes.make_iemocap(iemocap, tone, sessions=(1, 2, 3))
    tuned = {**SMALL, "d_model": 16}
    for corpus, folder, extra in (
        ("MSP-Podcast", msp, []),
        ("IEMOCAP", iemocap, ["--test_session=1"]),
    ):
        results = run(
            corpus,
            "finetune.yaml",
            tmp_path / corpus,
            f"--data_folder={folder}",
            f"--pretrained_cpc={pre / 'cpc.ckpt'}",
            *extra,
            small=tuned,
        )
        assert set(results["CCC"]) == {
            "activation",
            "valence",
            "dominance",
            "mean",
        }
    common = [f"--data_folder={iemocap}", "--test_session=1"]
    mini = tmp_path / "iemocap_pretrain"
    assert "acc_mean" in run("IEMOCAP", "pretrain.yaml", mini, *common)
    for yaml, small in (
        ("sup.yaml", {"d_model": 16}),
        ("jointcpc.yaml", tuned),
    ):
        results = run("IEMOCAP", yaml, tmp_path / yaml, *common, small=small)
        assert "CCC" in results
