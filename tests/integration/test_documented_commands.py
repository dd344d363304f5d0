"""Documented commands run as written (issue 22, item 7). Before:
``speechbrain-ser tsne --run results/demo/1986`` failed with
``KeyError: no module named 'cpc'`` and, with ``--module encoder``, a
tensor-size error (the encoder takes filterbanks, not waveforms); the
fusion ensemble's model k looked for the ASR encoder of seed 1986 + k."""

import json
import os

import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_ser.cli import main as cli
from speechbrain_ser.evaluation.crossval import read_hparams_values
from speechbrain_ser.evaluation.ensemble import run_ensemble
from speechbrain_ser.run import run_recipe
from tests.badinput.corpus import ROOT, make_corpus, tiny_args

FUSION = os.path.join(ROOT, "hparams", "acoustic_linguistic.yaml")


def test_tsne_of_the_demo_encoder(tmp_path):
    make_corpus(str(tmp_path))
    run = tmp_path / "run"
    run_recipe(tiny_args(tmp_path, run, number_of_epochs=1))
    out = tmp_path / "tsne.png"
    manifest = tmp_path / "manifests" / "train.json"
    args = ["tsne", "--run", str(run), "--manifest", str(manifest)]
    assert cli([*args, "--out", str(out)]) == 0  # the default module
    result = json.load(open(tmp_path / "tsne.json"))
    assert len(result["points"]) == 8 and out.exists()


def test_fusion_ensemble_members_share_the_asr_encoder(tmp_path, monkeypatch):
    for seed in (1986, 1987, 1990):
        values = read_hparams_values(FUSION, [f"--seed={seed}"])
        assert values["pretrained_asr"] == (
            "results/sa2sr/lambda_0/1986/encoder.ckpt"
        )
    # the documented command, with a (tiny) encoder where sa2sr.yaml puts it
    monkeypatch.chdir(tmp_path)
    make_corpus(str(tmp_path))
    tiny = {"asr_hidden_size": 4, "asr_num_layers": 1}
    args = [
        FUSION,
        f"--data_folder={tmp_path}",
        f"--train_manifest={tmp_path}/manifests/train.json",
        f"--valid_manifest={tmp_path}/manifests/valid.json",
        f"--test_manifest={tmp_path}/manifests/test.json",
        f"--output_folder={tmp_path}/fusion",
        "--prepare=null",
        "--number_of_epochs=1",
        *[f"--{key}={value}" for key, value in tiny.items()],
    ]
    with open(FUSION, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, {**tiny, "pretrainer": None})
    path = tmp_path / "results" / "sa2sr" / "lambda_0" / "1986"
    path.mkdir(parents=True)
    torch.save(hparams["asr_encoder"].state_dict(), path / "encoder.ckpt")
    results = run_ensemble(args[:1] + ["--n_models", "2"] + args[1:])
    assert results["n_models"] == 2
