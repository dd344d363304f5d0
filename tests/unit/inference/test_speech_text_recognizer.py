"""The text-aware recognizer: transcribes unless given a transcript."""

import json

import numpy as np
import pytest
import soundfile

from speechbrain_ser.cli import main
from speechbrain_ser.inference import SpeechTextRecognizer, load_recognizer
from speechbrain_ser.tiny_models import tiny_speech_text_folder
from tests.fakes_asr import FakeTranscriber


@pytest.fixture(scope="module")
def folder():
    return tiny_speech_text_folder(
        transcriber="tests.fakes_asr.FakeTranscriber"
    )


@pytest.fixture(scope="module")
def recognizer(folder, tmp_path_factory):
    return load_recognizer(folder, savedir=str(tmp_path_factory.mktemp("s")))


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "a.wav"
    time = np.arange(12000) / 16000  # a voiced sound: the detector's speech
    vowel = sum(np.sin(2 * np.pi * f * time) / f for f in (150, 300, 450))
    soundfile.write(path, vowel * 20, 16000)
    return str(path)


def test_folder_loads_as_speech_text_recognizer(recognizer):
    assert isinstance(recognizer, SpeechTextRecognizer)
    assert recognizer.modalities == "both"


def test_given_transcript_skips_the_asr(recognizer, wav):
    calls = FakeTranscriber.calls
    result = recognizer.classify_file(wav, transcript="you are sad")
    assert FakeTranscriber.calls == calls
    assert result["transcript"] == "you are sad"
    assert result["transcript_source"] == "given"
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-5)


def test_no_transcript_runs_the_asr_and_returns_its_text(recognizer, wav):
    calls = FakeTranscriber.calls
    result = recognizer.classify_file(wav)
    assert FakeTranscriber.calls == calls + 1
    assert result["transcript"] == FakeTranscriber.text
    assert result["transcript_source"] == "asr"
    given = recognizer.classify_file(wav, transcript=FakeTranscriber.text)
    assert given["probabilities"] == pytest.approx(result["probabilities"])


def test_the_transcript_changes_the_fused_prediction(recognizer, wav):
    a = recognizer.classify_file(wav, transcript="a happy dog")
    b = recognizer.classify_file(wav, transcript="why not go home now")
    assert a["valence"] != pytest.approx(b["valence"], abs=1e-6)


def test_model_without_asr_asks_for_a_transcript(tmp_path, wav):
    recognizer = load_recognizer(
        tiny_speech_text_folder(), savedir=str(tmp_path / "s")
    )
    with pytest.raises(ValueError, match="give a transcript"):
        recognizer.classify_file(wav)


def test_speech_only_model_needs_no_transcript(tmp_path, wav):
    recognizer = load_recognizer(
        tiny_speech_text_folder(modalities="audio"),
        savedir=str(tmp_path / "s"),
    )
    result = recognizer.classify_file(wav)
    assert "transcript" not in result and 1 <= result["activation"] <= 5


def test_cli_predict_with_transcripts(folder, wav, tmp_path, capsys):
    code = main(
        [
            "predict",
            "--model",
            folder,
            "--savedir",
            str(tmp_path / "s"),
            wav,
            "--transcript",
            "the dog is angry",
        ]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert result["transcript"] == "the dog is angry"
    with pytest.raises(SystemExit):
        main(
            [
                "predict",
                "--model",
                folder,
                wav,
                "--transcript",
                "a",
                "--transcript",
                "b",
            ]
        )


def test_folder_with_a_real_whisper_transcribes(tmp_path, wav):
    """asr_source: a (tiny, random) local Whisper through WhisperTranscriber."""
    from speechbrain_ser.tiny_models import make_tiny_whisper

    whisper = make_tiny_whisper(tmp_path / "whisper")
    recognizer = load_recognizer(
        tiny_speech_text_folder(asr_source=str(whisper)),
        savedir=str(tmp_path / "s"),
    )
    result = recognizer.classify_file(wav)
    assert result["transcript_source"] == "asr"
    assert isinstance(result["transcript"], str)
    again = recognizer.classify_file(wav, transcript=result["transcript"])
    assert again["probabilities"] == pytest.approx(result["probabilities"])


def test_cli_predict_reads_a_manifests_transcripts(
    folder, wav, tmp_path, capsys
):
    manifest = tmp_path / "manifests" / "test.json"
    manifest.parent.mkdir()
    name = wav.rsplit("/", 1)[-1]
    manifest.write_text(
        json.dumps(
            {"u1": {"wav": "{data_root}/" + name, "transcript": "i am calm"}}
        )
    )
    main(["predict", "--model", folder, "--manifest", str(manifest)])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["file"] == wav and result["transcript"] == "i am calm"
