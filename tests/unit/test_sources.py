"""Every source-style argument takes a Hugging Face Hub id and loads it
offline from a Hub cache (the Hub's own layout, built in a temp folder with
tiny random models), with the network disabled."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from speechbrain_ser.nnet.ssl_encoder import TINY_CONFIG
from speechbrain_ser.sources import is_hub_id, resolve_source
from speechbrain_ser.tiny_models import (
    make_tiny_whisper,
    save_tiny_bert,
    save_to_hub_cache,
    tiny_model_folder,
)


def test_hub_ids_and_paths_are_told_apart():
    assert is_hub_id("openai/whisper-tiny.en")
    assert is_hub_id("bert-base-uncased")
    assert is_hub_id("org/name@0123abc")
    for path in ("/abs/x", "./x", "../x", "~/x", "a/b/c", "a//b", ""):
        assert not is_hub_id(path), path


def test_missing_hub_model_offline_is_a_clear_error(offline_hub):
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE"):
        resolve_source("nobody/nothing")


def test_resolve_gives_the_snapshot_and_keeps_revisions(offline_hub, tmp_path):
    folder = save_tiny_bert(tmp_path / "bert")
    snapshot = save_to_hub_cache(folder, "tiny/bert", offline_hub)
    assert resolve_source("tiny/bert") == snapshot
    tagged = save_to_hub_cache(
        save_tiny_bert(tmp_path / "other", seed=1),
        "tiny/bert",
        offline_hub,
        revision="v2",
    )
    assert tagged != snapshot
    assert resolve_source("tiny/bert@v2") == tagged
    assert resolve_source("tiny/bert") == snapshot


def test_ssl_encoders_load_by_id(offline_hub, tmp_path):
    from speechbrain_ser.nnet.ssl_encoder import (
        SSLEncoder,
        build_random_speech_model,
    )

    wavs, lengths = torch.rand(2, 8000), torch.tensor([1.0, 0.5])
    for model in ("wav2vec2", "hubert", "wavlm"):
        config = dict(TINY_CONFIG, model_type=model)
        local = build_random_speech_model(str(tmp_path / model), config)
        save_to_hub_cache(local, f"tiny/{model}", offline_hub)
        torch.manual_seed(0)
        by_id = SSLEncoder(
            f"tiny/{model}", str(tmp_path / "sb"), model=model, freeze=True
        )
        torch.manual_seed(0)
        by_path = SSLEncoder(local, str(tmp_path / "sb"), model=model)
        by_id.eval(), by_path.eval()
        with torch.no_grad():
            torch.testing.assert_close(
                by_id(wavs, lengths), by_path(wavs, lengths)
            )


def test_whisper_encoder_and_transcriber_load_by_id(offline_hub, tmp_path):
    from speechbrain_ser.nnet.encoders import WhisperEncoder
    from speechbrain_ser.text.transcription import WhisperTranscriber

    local = make_tiny_whisper(tmp_path / "whisper")
    save_to_hub_cache(local, "tiny/whisper", offline_hub)
    encoder = WhisperEncoder("tiny/whisper", save_path=str(tmp_path / "sb"))
    reference = WhisperEncoder(local, save_path=str(tmp_path / "sb"))
    wavs, lengths = torch.rand(1, 16000), torch.tensor([1.0])
    assert torch.equal(encoder(wavs, lengths), reference(wavs, lengths))
    transcriber = WhisperTranscriber("tiny/whisper")
    assert transcriber.transcript_source == "asr:whisper"
    assert len(transcriber.transcribe_batch(wavs, lengths)) == 1


def test_text_encoder_and_sentiment_load_by_id(offline_hub, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    from speechbrain_ser.text.encoders import HFTextEncoder
    from speechbrain_ser.text.sentiment import HFSentimentLabeller

    local = save_tiny_bert(tmp_path / "bert")
    save_to_hub_cache(local, "tiny/bert", offline_hub)
    by_id, by_path = HFTextEncoder("tiny/bert"), HFTextEncoder(local)
    ids, mask = by_id.tokenize(["the dog is happy"])
    assert torch.equal(by_id(ids, mask), by_path(ids, mask))
    config = BertConfig.from_pretrained(local)
    config.id2label = {0: "negative", 1: "neutral", 2: "positive"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    BertForSequenceClassification(config).save_pretrained(local)
    save_to_hub_cache(local, "tiny/sentiment", offline_hub)
    labeller = HFSentimentLabeller("tiny/sentiment")
    assert labeller.probabilities(["a good day"]).shape == (1, 3)
    assert labeller.describe()["source"] == "tiny/sentiment"


def test_recognizer_loads_by_id(offline_hub, tmp_path):
    from speechbrain_ser.inference import load_recognizer

    save_to_hub_cache(tiny_model_folder(), "lab/ser-tiny", offline_hub)
    recognizer = load_recognizer("lab/ser-tiny", savedir=str(tmp_path / "s"))
    assert recognizer.labels == ["angry", "happy", "neutral", "sad"]


def test_predict_command_by_id_offline(tmp_path):
    """The command line, in a fresh process: HF_HUB_CACHE + HF_HUB_OFFLINE
    from the environment, as a user sets them."""
    cache = str(tmp_path / "hub")
    save_to_hub_cache(tiny_model_folder(), "lab/ser-tiny", cache)
    wav = str(tmp_path / "a.wav")
    t = np.arange(16000) / 16000
    soundfile.write(wav, np.sin(2 * np.pi * 150 * t) * 0.3, 16000)
    env = dict(
        os.environ,
        HF_HUB_CACHE=cache,
        HF_HUB_OFFLINE="1",
        HF_HOME=str(tmp_path / "home"),
        OMP_NUM_THREADS="1",
    )
    args = ["--model", "lab/ser-tiny", "--no-progress", wav]
    run = subprocess.run(
        [sys.executable, "-m", "speechbrain_ser.cli", "predict", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    row = json.loads(run.stdout.splitlines()[-1])
    assert row["file"] == wav and "emotion" in row
    missing = subprocess.run(
        [sys.executable, "-m", "speechbrain_ser.cli", "predict"]
        + ["--model", "lab/not-cached", wav],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "lab/not-cached" in missing.stderr
