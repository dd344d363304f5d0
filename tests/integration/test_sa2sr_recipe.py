"""SA2SR pre-training and fine-tuning on tiny generated corpora."""

import json
import os

import pytest
import torch

from speechbrain_ser.plotting import read_train_log
from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SMALL = {"hidden_size": 16, "num_layers": 1, "batch_size": 8}


def args(yaml, **overrides):
    return [os.path.join(ROOT, "hparams", yaml)] + [
        f"--{key}={value}" for key, value in {**SMALL, **overrides}.items()
    ]


def epochs_logged(folder):
    rows = read_train_log(os.path.join(folder, "train_log.txt"))
    return [int(row["epoch"]) for row in rows]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """One short SA2SR pre-training run on 40 'alt' utterances."""
    root = tmp_path_factory.mktemp("sa2sr")
    out = root / "lambda_200"
    run_recipe(
        args(
            "sa2sr.yaml",
            data_folder=root / "alt",
            n_utterances=40,
            output_folder=out,
            number_of_epochs=2,
        )
    )
    return root, out


def test_pretraining_outputs(pretrained):
    root, out = pretrained
    results = json.load(open(out / "results.json"))
    assert {"CER", "AUC", "M", "sentiment_UA", "n_test", "protocol"} <= set(
        results
    )
    assert results["n_test"] == 4  # one held-out voice, 4 utterances
    assert 0 <= results["CER"] and 0 <= results["AUC"] <= 1
    assert results["M"] == pytest.approx(results["CER"] - results["AUC"])
    assert epochs_logged(out) == [1, 2]
    labelled = json.load(
        open(root / "alt" / "manifests" / "train_sentiment.json")
    )
    assert {e["sentiment"] for e in labelled.values()} <= {
        "negative",
        "neutral",
        "positive",
    }
    state = torch.load(out / "encoder.ckpt")
    assert any(key.startswith("lstm.") for key in state)


def test_asr_only_baseline_selects_on_cer(pretrained, tmp_path):
    root, _ = pretrained
    out = tmp_path / "lambda_0"
    run_recipe(
        args(
            "sa2sr.yaml",
            data_folder=root / "alt",
            n_utterances=40,
            output_folder=out,
            number_of_epochs=1,
            lambda_sentiment=0,
        )
    )
    results = json.load(open(out / "results.json"))
    assert results["lambda_sentiment"] == 0 and results["M"] == results["CER"]


def test_pretraining_resumes(pretrained, tmp_path):
    root, _ = pretrained
    out = tmp_path / "resume"
    common = dict(data_folder=root / "alt", n_utterances=40, output_folder=out)
    run_recipe(args("sa2sr.yaml", number_of_epochs=1, **common))
    run_recipe(args("sa2sr.yaml", number_of_epochs=2, **common))
    assert epochs_logged(out) == [1, 2]


def test_finetuning_loads_the_pretrained_encoder(pretrained, tmp_path):
    root, out = pretrained
    state = torch.load(out / "encoder.ckpt")
    common = dict(
        data_folder=tmp_path / "main",
        n_utterances=40,
        pretrained_encoder=out / "encoder.ckpt",
    )
    frozen = run_recipe(
        args(
            "sa2sr_finetune.yaml",
            output_folder=tmp_path / "frozen",
            freeze_encoder=True,
            number_of_epochs=1,
            **common,
        )
    )
    for key, value in frozen.modules.encoder.state_dict().items():
        torch.testing.assert_close(value, state[key])  # loaded, never trained
    results = json.load(open(tmp_path / "frozen" / "results.json"))
    assert set(results["CCC"]) == {"activation", "valence", "dominance", "mean"}
    tuned = run_recipe(
        args(
            "sa2sr_finetune.yaml",
            output_folder=tmp_path / "tuned",
            number_of_epochs=1,
            **common,
        )
    )
    changed = [
        not torch.equal(v, state[k])
        for k, v in tuned.modules.encoder.state_dict().items()
    ]
    assert any(changed)


def test_finetuning_from_scratch(tmp_path):
    run_recipe(
        args(
            "sa2sr_finetune.yaml",
            data_folder=tmp_path / "main",
            n_utterances=40,
            output_folder=tmp_path / "scratch",
            number_of_epochs=1,
            pretrainer="null",
        )
    )
    assert (tmp_path / "scratch" / "results.json").exists()


def test_corpus_recipes_pretrain_then_finetune(tmp_path, tone):
    """LibriSpeech pre-training, then MSP-Podcast and IEMOCAP fine-tuning
    of its encoder, each on a fake corpus tree."""
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
    pretrain = os.path.join(
        recipes, "LibriSpeech", "sa2sr", "hparams", "sa2sr.yaml"
    )
    out = tmp_path / "pretrain"
    run_recipe(
        [
            pretrain,
            f"--data_folder={libri}",
            f"--output_folder={out}",
            "--number_of_epochs=1",
            "--train_splits=[train-clean-100]",
        ]
        + [f"--{k}={v}" for k, v in SMALL.items()]
    )
    assert json.load(open(out / "results.json"))["n_test"] == 3
    msp = fakes.make_msp_podcast(tmp_path / "MSP", tone)
    iemocap = tmp_path / "IEMOCAP"
    fakes.make_iemocap(iemocap, tone, sessions=(1, 2, 3))
    for corpus, folder, extra in (
        ("MSP-Podcast", msp, []),
        ("IEMOCAP", iemocap, ["--test_session=1"]),
    ):
        yaml = os.path.join(
            recipes, corpus, "sa2sr", "hparams", "finetune.yaml"
        )
        result_folder = tmp_path / corpus
        run_recipe(
            [
                yaml,
                f"--data_folder={folder}",
                f"--output_folder={result_folder}",
                "--number_of_epochs=1",
                f"--pretrained_encoder={out / 'encoder.ckpt'}",
            ]
            + extra
            + [f"--{k}={v}" for k, v in SMALL.items()]
        )
        results = json.load(open(result_folder / "results.json"))
        assert set(results["CCC"]) == {
            "activation",
            "valence",
            "dominance",
            "mean",
        }
