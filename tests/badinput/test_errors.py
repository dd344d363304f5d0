"""Every user-facing error is one line naming the bad value, exit status
2, no traceback (issue 22, item 6). Before: --lr=abc failed after the
model was built with a TypeError; --segment 0 / -1 gave tracebacks and
--hop 0 silently used hop = segment; a garbage head.ckpt gave torch's
traceback; fusion on a fresh machine died after data preparation with an
HFValidationError; a !!python/object/apply tag in a model folder ran."""

import json
import os
import shutil

import pytest
import torch

from speechbrain_ser.cli import main as cli
from speechbrain_ser.run import main
from speechbrain_ser.tiny_models import tiny_model_folder
from tests.badinput.corpus import ROOT, tone, write_wav

DEMO = os.path.join(ROOT, "hparams", "demo.yaml")
FUSION = os.path.join(ROOT, "hparams", "acoustic_linguistic.yaml")


def error_line(capsys):
    """The one error line on stderr (no traceback of ours; SpeechBrain's
    logging into pytest's closed capture streams aside)."""
    err = capsys.readouterr().err
    if "--- Logging error ---" not in err:
        assert "Traceback" not in err, err
    lines = [x for x in err.splitlines() if "error:" in x]
    assert len(lines) == 1, err
    return lines[0].strip()


def test_override_of_the_wrong_type_before_the_model(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([DEMO, "--lr=abc", f"--output_folder={out}"]) == 2
    assert error_line(capsys) == "error: lr: expected a number, got 'abc'"
    assert not out.exists()  # stopped before the YAML was loaded


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs no CUDA")
def test_cuda_without_cuda(tmp_path, capsys):
    args = [DEMO, "--device=cuda:0", f"--output_folder={tmp_path}/o"]
    assert main(args) == 2
    assert error_line(capsys).startswith(
        "error: --device=cuda:0: CUDA is not available on this machine"
    )


def test_missing_earlier_run_named_before_data_preparation(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # a fresh machine: no results/, no data
    assert main([FUSION, f"--output_folder={tmp_path}/o"]) == 2
    assert error_line(capsys) == (
        "error: results/sa2sr/lambda_0/1986/encoder.ckpt (the pretrainer's "
        "asr_encoder) does not exist yet; an earlier run makes it: python "
        "train.py hparams/sa2sr.yaml --lambda_sentiment=0 --seed=1986"
    )
    assert not (tmp_path / "demo_data").exists()  # no data prepared


@pytest.mark.parametrize(
    "option, message",
    [
        (["--segment", "0"], "must be above 0 s, got 0"),
        (["--segment", "-1"], "must be above 0 s, got -1"),
        (["--segment", "1", "--hop", "0"], "must be above 0 s, got 0"),
        (["--segment", "x"], "expected seconds, got 'x'"),
    ],
)
def test_segment_and_hop(tmp_path, capsys, option, message):
    with pytest.raises(SystemExit) as exit:
        cli(["predict", "--model", str(tmp_path), *option, "a.wav"])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().endswith(message)


@pytest.fixture
def model_copy(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_folder(), folder)
    return folder


def test_garbage_checkpoint_file_named(model_copy, tmp_path, capsys):
    (model_copy / "head.ckpt").write_bytes(os.urandom(200))
    wav = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    assert cli(["predict", "--model", str(model_copy), wav]) == 2
    assert error_line(capsys).endswith(
        f"head.ckpt in {model_copy} is not a checkpoint file"
    )


def test_python_tag_in_model_folder_refused(model_copy, tmp_path, capsys):
    marker = tmp_path / "ran"
    with open(model_copy / "hyperparams.yaml", "a") as fout:
        fout.write(f"x: !!python/object/apply:os.system ['touch {marker}']\n")
    wav = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    assert cli(["predict", "--model", str(model_copy), wav]) == 2
    assert "uses a !!python/ tag, which runs arbitrary code" in (
        error_line(capsys)
    )
    assert not marker.exists()


# the tag in three spellings: the issue's, a verbatim tag and a %TAG
# shorthand (the last two passed the command line's text search before)
PYTHON_TAGS = [
    "x: !!python/object/apply:os.system ['touch {marker}']\n",
    "x: !<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']\n",
    "%TAG !p! tag:yaml.org,2002:python/\n---\n"
    "x: !p!object/apply:os.system ['touch {marker}']\n",
]


def add_python_tag(folder, marker, spelling=0):
    """Adds a !!python/ tag that would create ``marker`` to the YAML."""
    path = folder / "hyperparams.yaml"
    text = path.read_text()
    tag = PYTHON_TAGS[spelling].format(marker=marker)
    if tag.startswith("%TAG"):  # directives come first
        path.write_text(tag.replace("---\n", "---\n" + text))
    else:
        path.write_text(text + tag)


@pytest.mark.parametrize("spelling", [1, 2])
def test_python_tag_in_any_spelling_refused(
    model_copy, tmp_path, capsys, spelling
):
    marker = tmp_path / "ran"
    add_python_tag(model_copy, marker, spelling)
    wav = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    assert cli(["predict", "--model", str(model_copy), wav]) == 2
    assert "uses a !!python/ tag, which runs arbitrary code" in (
        error_line(capsys)
    )
    assert not marker.exists()


def test_python_tag_refused_by_the_python_api(model_copy, tmp_path):
    """Before: only the command line refused it; from_hparams,
    load_recognizer and foreign_class ran it."""
    from speechbrain.inference.interfaces import foreign_class

    from speechbrain_ser.inference import EmotionRecognizer, load_recognizer
    from speechbrain_ser.inference.code_tags import CodeTagError
    from speechbrain_ser.inference.hub import export_hub_folder

    marker = tmp_path / "ran"
    hub = export_hub_folder(str(model_copy), str(tmp_path / "hub"))
    for folder in (model_copy, tmp_path / "hub"):
        add_python_tag(folder, marker)
    expected = r"line \d+: uses a !!python/ tag, which runs arbitrary code"
    with pytest.raises(CodeTagError, match=expected):
        EmotionRecognizer.from_hparams(
            source=str(model_copy), savedir=str(tmp_path / "s1")
        )
    with pytest.raises(CodeTagError, match=expected):
        load_recognizer(str(model_copy), savedir=str(tmp_path / "s2"))
    with pytest.raises(CodeTagError, match=expected):
        foreign_class(
            source=hub,
            pymodule_file="custom_interface.py",
            classname="EmotionRecognition",
            savedir=str(tmp_path / "s3"),
        )
    assert not marker.exists()


def test_python_tag_refused_by_foreign_class_by_hub_id(
    model_copy, tmp_path, offline_hub
):
    """foreign_class by Hub id: the interface follows its link to the Hub
    cache's snapshot."""
    from speechbrain.inference.interfaces import foreign_class

    from speechbrain_ser.inference.code_tags import CodeTagError
    from speechbrain_ser.inference.hub import export_hub_folder
    from speechbrain_ser.tiny_models import save_to_hub_cache

    marker = tmp_path / "ran"
    hub = export_hub_folder(str(model_copy), str(tmp_path / "hub"))
    add_python_tag(tmp_path / "hub", marker)
    save_to_hub_cache(hub, "lab/ser-tagged", offline_hub)
    with pytest.raises(CodeTagError, match="runs arbitrary code"):
        foreign_class(
            source="lab/ser-tagged",
            pymodule_file="custom_interface.py",
            classname="EmotionRecognition",
            savedir=str(tmp_path / "saved"),
        )
    assert not marker.exists()


def test_output_into_a_missing_folder(tmp_path, capsys):
    wav = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    out = tmp_path / "new" / "folder" / "p.jsonl"
    model = tiny_model_folder()
    assert cli(["predict", "--model", model, "--output", str(out), wav]) == 0
    assert out.read_text().count("\n") == 1


def test_segment_mode_says_why(tmp_path, capsys):
    model = tiny_model_folder()
    short = write_wav(str(tmp_path / "short.wav"), tone(0.05, 220))
    quiet = write_wav(str(tmp_path / "quiet.wav"), tone(2.0, 220) * 0)
    assert cli(["predict", "--model", model, "--segment", "1", short]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "too short to analyse" in lines[0]
    assert cli(["predict", "--model", model, "--segment", "1", quiet]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [row["speech"] for row in rows] == [False, False]
    assert all(row["reason"].startswith("no speech detected") for row in rows)


def test_speech_text_model_without_transcript_or_asr(
    tmp_path, capsys, speech_text_model
):
    model = speech_text_model  # asr_source null
    wav = write_wav(str(tmp_path / "a.wav"), tone(1.0, 220))
    capsys.readouterr()  # the folder's making
    assert cli(["predict", "--model", model, wav]) == 2
    line = error_line(capsys)
    assert "this model has no ASR (asr_source is null" in line


def test_source_that_is_neither_folder_nor_hub_id(tmp_path, capsys):
    out = tmp_path / "out"
    args = [DEMO, "--asr_source=models/gone/whisper", f"--output_folder={out}"]
    assert main(args) == 2
    assert error_line(capsys) == (
        "error: --asr_source=models/gone/whisper: no such local folder, and "
        "not a Hugging Face id (namespace/name)"
    )


def test_data_problems_in_one_line(tmp_path, capsys):
    """Before: ManifestError's message (a header, then one problem a line)
    was printed as it was; now the first problem is in full, the rest
    after it, on one line."""
    from tests.badinput.corpus import make_corpus, manifest_path, tiny_args

    make_corpus(str(tmp_path / "corpus"))
    os.remove(tmp_path / "corpus" / "wavs" / "s1_sad.wav")
    (tmp_path / "corpus" / "wavs" / "s2_sad.wav").write_bytes(b"RIFF junk")
    args = tiny_args(tmp_path / "corpus", tmp_path / "out")
    assert main(args) == 2
    train = manifest_path(str(tmp_path / "corpus"), "train")
    wavs = tmp_path / "corpus" / "wavs"
    line = error_line(capsys)
    assert line.startswith(
        f"error: {train}: utterance 's1_sad': {wavs}/s1_sad.wav: no such "
        "audio file (and 1 more problem found before training: "
        f"{train}: utterance 's2_sad': {wavs}/s2_sad.wav: not readable"
    )
    assert line.endswith(")")


@pytest.mark.parametrize(
    "option, message",
    [
        ([], "error: {}/bad.json, line 1, column 2: not valid JSON ("),
        (["--manifest"], "error: {}/bad.json, line 1, column 2: not valid"),
        (["--manifest"], "error: --manifest {}/gone.json: no such manifest"),
    ],
)
def test_unreadable_manifest_given_to_predict(
    tmp_path, capsys, option, message
):
    """Before: tracebacks (PreparationError, FileNotFoundError)."""
    (tmp_path / "bad.json").write_text("{,}")
    name = "gone.json" if "gone" in message else "bad.json"
    args = ["predict", "--model", tiny_model_folder()]
    assert cli([*args, *option, str(tmp_path / name)]) == 2
    assert message.format(tmp_path) in error_line(capsys)


@pytest.mark.parametrize("option", [[], ["--manifest"]])
def test_manifest_entry_without_wav_given_to_predict(tmp_path, capsys, option):
    """Before: ``KeyError: 'wav'`` as a traceback."""
    manifest = tmp_path / "test.json"
    manifest.write_text('{"u1": {"emotion": "sad"}}')
    args = ["predict", "--model", tiny_model_folder(), *option]
    assert cli([*args, str(manifest)]) == 2
    assert f"{manifest}: utterance 'u1': no \"wav\" field" in error_line(capsys)
