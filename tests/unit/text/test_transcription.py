"""WhisperTranscriber on a tiny random Whisper: batching, manifests,
human transcripts, resume after an interruption, the CLI."""

import json

import pytest
import torch

from speechbrain_ser.cli import main
from speechbrain_ser.data.manifest import read_manifest, write_manifest
from speechbrain_ser.text.transcription import (
    PROGRESS_SUFFIX,
    WhisperTranscriber,
)
from speechbrain_ser.tiny_models import make_tiny_whisper


@pytest.fixture(scope="module")
def whisper_folder(tmp_path_factory):
    return make_tiny_whisper(tmp_path_factory.mktemp("asr") / "tiny-whisper")


@pytest.fixture
def corpus(tmp_path, tone):
    """A manifest of four tones; u0 has a human transcript."""
    entries = {}
    for i in range(4):
        tone(
            tmp_path / "wav" / f"u{i}.wav",
            seconds=0.3 + 0.2 * i,
            freq=200.0 + 150 * i,
        )
        entries[f"u{i}"] = {"wav": f"{{data_root}}/wav/u{i}.wav"}
    entries["u0"].update(transcript="Hello there.", transcript_source="human")
    path = tmp_path / "manifests" / "test.json"
    write_manifest(entries, str(path))
    return path


def test_padding_does_not_change_a_transcript(whisper_folder):
    asr = WhisperTranscriber(whisper_folder)
    torch.manual_seed(1)
    short, long = torch.randn(8000), torch.randn(16000)
    batch = torch.zeros(2, 16000)
    batch[0, :8000], batch[1] = short, long
    texts = asr.transcribe_batch(batch, torch.tensor([0.5, 1.0]))
    assert texts == [
        asr.transcribe_batch(short[None])[0],
        asr.transcribe_batch(long[None])[0],
    ]


def test_manifest_keeps_human_transcripts(whisper_folder, corpus, tmp_path):
    asr = WhisperTranscriber(whisper_folder, batch_size=2)
    out = tmp_path / "asr.json"
    entries = asr.transcribe_manifest(str(corpus), str(out))
    assert entries == read_manifest(str(out))
    assert entries["u0"]["transcript"] == "Hello there."
    assert entries["u0"]["transcript_source"] == "human"
    for uid in ("u1", "u2", "u3"):
        wav = str(tmp_path / "wav" / f"{uid}.wav")
        assert entries[uid]["transcript"] == asr.transcribe_files([wav])[0]
        assert entries[uid]["transcript_source"] == "asr:tiny-whisper"
    assert "transcript" not in read_manifest(str(corpus))["u1"]
    assert not (tmp_path / f"asr.json{PROGRESS_SUFFIX}").exists()
    overwritten = asr.transcribe_manifest(str(corpus), overwrite=True)
    assert overwritten["u0"]["transcript_source"] == "asr:tiny-whisper"
    assert read_manifest(str(corpus)) == overwritten  # in place


def test_a_killed_run_resumes_where_it_stopped(
    whisper_folder, corpus, monkeypatch
):
    asr = WhisperTranscriber(whisper_folder, batch_size=1)
    real = asr.transcribe_files
    calls = []

    def dies_on_second_batch(paths):
        calls.append(paths)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(paths)

    monkeypatch.setattr(asr, "transcribe_files", dies_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        asr.transcribe_manifest(str(corpus))
    progress = str(corpus) + PROGRESS_SUFFIX
    with open(progress, encoding="utf-8") as fin:
        lines = [json.loads(line) for line in fin]
    assert lines[0] == {"model": "asr:tiny-whisper"}
    assert [r["id"] for r in lines[1:]] == ["u1"]
    assert "transcript" not in read_manifest(str(corpus))["u1"]
    with open(progress, "a", encoding="utf-8") as fout:
        fout.write('{"id": "u2", "te')  # torn by the kill
    calls.clear()
    monkeypatch.setattr(
        asr, "transcribe_files", lambda p: calls.append(p) or real(p)
    )
    entries = asr.transcribe_manifest(str(corpus))
    assert [p[0].rsplit("/", 1)[1] for p in calls] == ["u2.wav", "u3.wav"]
    assert entries["u1"]["transcript"] == lines[1]["text"]
    assert all("transcript" in e for e in entries.values())
    assert not (corpus.parent / (corpus.name + PROGRESS_SUFFIX)).exists()


def test_progress_of_another_model_is_set_aside(whisper_folder, corpus):
    progress = str(corpus) + PROGRESS_SUFFIX
    with open(progress, "w", encoding="utf-8") as fout:
        fout.write('{"model": "asr:other"}\n{"id": "u1", "text": "no"}\n')
    entries = WhisperTranscriber(whisper_folder).transcribe_manifest(
        str(corpus)
    )
    assert entries["u1"]["transcript"] != "no"
    assert (corpus.parent / (corpus.name + PROGRESS_SUFFIX + ".stale")).exists()


def test_cli_transcribe(whisper_folder, corpus, tmp_path, capsys):
    out = tmp_path / "cli.json"
    code = main(
        [
            "transcribe",
            "--model",
            whisper_folder,
            str(corpus),
            "--output",
            str(out),
            "--batch_size",
            "3",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    entries = read_manifest(str(out))
    assert entries["u3"]["transcript_source"] == "asr:tiny-whisper"
    assert entries["u0"]["transcript"] == "Hello there."


def test_missing_model_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        WhisperTranscriber(str(tmp_path / "nowhere"))
