"""hparams/speech_text.yaml end to end on tiny models and a tiny corpus."""

import json
import os

import pytest

from speechbrain_ser.inference import SpeechTextRecognizer, load_recognizer
from speechbrain_ser.nnet.ssl_encoder import TINY_CONFIG
from speechbrain_ser.run import run_recipe
from speechbrain_ser.tiny_models import save_tiny_bert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """40 utterances with transcripts: 4 per voice, one per emotion."""
    from speechbrain_ser.demo.prepare import prepare_demo

    folder = tmp_path_factory.mktemp("demo")
    prepare_demo(str(folder), str(folder / "manifests"), n_utterances=40)
    return folder


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    return save_tiny_bert(tmp_path_factory.mktemp("bert"))


@pytest.mark.parametrize("fusion", ["late", "learned"])
def test_fused_recipe_trains_tests_and_exports(
    corpus, text_model, tmp_path, fusion
):
    run_recipe(
        [os.path.join(ROOT, "hparams", "speech_text.yaml")]
        + [
            f"--{key}={value}"
            for key, value in {
                "data_folder": corpus,
                "output_folder": tmp_path,
                "n_utterances": 40,
                "number_of_epochs": 1,
                "fusion": fusion,
                "speech_config": json.dumps(TINY_CONFIG),
                "speech_hidden_size": TINY_CONFIG["hidden_size"],
                "text_encoder_source": text_model,
                "text_hidden_size": 16,
                "emb_size": 8,
                "downsample_classes": 3,
            }.items()
        ]
    )
    results = json.load(open(tmp_path / "results.json"))
    assert results["n_test"] == 8
    assert {"UA", "WA", "CCC"} <= set(results)
    assert "speaker-independent" in results["protocol"]
    recognizer = load_recognizer(
        str(tmp_path / "inference"), savedir=str(tmp_path / "linked")
    )
    assert isinstance(recognizer, SpeechTextRecognizer)
    assert recognizer.fusion == fusion
    manifest = json.load(open(corpus / "manifests" / "test.json"))
    entry = next(iter(manifest.values()))
    wav = entry["wav"].replace("{data_root}", str(corpus))
    result = recognizer.classify_file(wav, transcript=entry["transcript"])
    assert result["emotion"] in {"neutral", "happy", "angry", "sad"}
    assert result["transcript"] == entry["transcript"]


def test_msp_podcast_recipe_on_a_fake_tree(tmp_path, tone, text_model):
    """The recipe takes checkpoints by path: a tiny wav2vec2 folder here."""
    from speechbrain_ser.nnet.ssl_encoder import build_random_speech_model
    from tests.fakes import make_msp_podcast_four_classes as make_msp

    corpus = make_msp(tmp_path / "corpus", tone)
    for wav in (corpus / "Audios").iterdir():
        (corpus / "Transcripts" / f"{wav.stem}.txt").write_text("i am sad\n")
    speech = build_random_speech_model(str(tmp_path / "w2v"), TINY_CONFIG)
    yaml = os.path.join(
        ROOT,
        "recipes",
        "MSP-Podcast",
        "speech_text",
        "hparams",
        "speech_text.yaml",
    )
    overrides = {
        "data_folder": corpus,
        "output_folder": tmp_path / "out",
        "speech_encoder_source": speech,
        "speech_hidden_size": TINY_CONFIG["hidden_size"],
        "text_encoder_source": text_model,
        "text_hidden_size": 16,
        "emb_size": 8,
        "classes": "[N, H, S, A]",
        "n_classes": 4,
        "number_of_epochs": 1,
        "batch_size": 2,
        "grad_accumulation_factor": 2,
    }
    run_recipe([yaml] + [f"--{k}={v}" for k, v in overrides.items()])
    results = json.load(open(tmp_path / "out" / "results.json"))
    assert results["n_test"] == 4
    assert set(results["CCC"]) == {"activation", "valence", "dominance", "mean"}
