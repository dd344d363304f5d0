"""Tokenwise contrastive pre-training, then the three downstream inputs,
on tiny demo corpora with a tiny random BERT teacher."""

import json
import os
import re

import pytest
import torch

from speechbrain_ser.demo.sentences import sentence_bank
from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.plotting import read_train_log
from speechbrain_ser.run import run_recipe
from speechbrain_ser.tiny_models import make_tiny_whisper, save_tiny_bert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SMALL = {
    "text_hidden_size": 16,
    "speech_size": 8,
    "speech_layers": 1,
    "n_mels": 20,
    "cross_modal_heads": 2,
    "cross_modal_ffn": 16,
    "batch_size": 8,
    "n_utterances": 40,
}


def args(yaml, **overrides):
    return [os.path.join(ROOT, "hparams", yaml)] + [
        f"--{key}={value}" for key, value in {**SMALL, **overrides}.items()
    ]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """Two epochs of pre-training on 40 'alt' utterances."""
    root = tmp_path_factory.mktemp("tokenwise")
    words = set()
    for part in ("main", "alt"):
        for sentences in sentence_bank(part).values():
            for sentence in sentences:
                words.update(re.findall(r"\w+|[^\w\s]", sentence.lower()))
    teacher = save_tiny_bert(root / "bert", words=sorted(words))
    out = root / "pre"
    run_recipe(
        args(
            "tokenwise.yaml",
            teacher_source=teacher,
            data_folder=root / "alt",
            output_folder=out,
            number_of_epochs=2,
        )
    )
    return root, teacher, out


def test_pretraining_logs_retrieval_and_exports(pretrained):
    _, _, out = pretrained
    results = json.load(open(out / "results.json"))
    assert 0 <= results["retrieval_acc"] <= 1 and results["tokens"] > 0
    rows = read_train_log(os.path.join(out, "train_log.txt"))
    assert [row["epoch"] for row in rows] == [1, 2]
    assert all("valid retrieval_acc" in row for row in rows)
    cross_modal = torch.load(out / "cross_modal.ckpt")
    assert cross_modal["cls_query"].abs().sum() > 0  # the teacher's [CLS]
    speech = torch.load(out / "speech_encoder.ckpt")
    assert any(key.startswith("encoder.convs.") for key in speech)


def test_pretraining_resumes(pretrained, tmp_path):
    root, teacher, _ = pretrained
    common = dict(
        teacher_source=teacher,
        data_folder=root / "alt",
        output_folder=tmp_path,
    )
    run_recipe(args("tokenwise.yaml", number_of_epochs=1, **common))
    run_recipe(args("tokenwise.yaml", number_of_epochs=2, **common))
    rows = read_train_log(os.path.join(tmp_path, "train_log.txt"))
    assert [row["epoch"] for row in rows] == [1, 2]


@pytest.mark.parametrize("downstream_input", ["cls", "transcript"])
def test_finetuning_from_the_pretrained_model(
    pretrained, tmp_path, downstream_input
):
    root, teacher, pre = pretrained
    brain = run_recipe(
        args(
            "tokenwise_finetune.yaml",
            teacher_source=teacher,
            pretrained_folder=pre,
            downstream_input=downstream_input,
            data_folder=root / "main",
            output_folder=tmp_path,
            number_of_epochs=1,
        )
    )
    # The frozen speech encoder is exactly the pre-trained one.
    state = torch.load(pre / "speech_encoder.ckpt")
    for key, value in brain.modules.encoder.state_dict().items():
        assert torch.equal(value, state[key]), key
    results = json.load(open(tmp_path / "results.json"))
    assert {"UA", "WA", "F1_macro"} <= set(results)
    if downstream_input == "cls":  # served from speech alone
        recognizer = EmotionRecognizer.from_hparams(
            source=str(tmp_path / "inference"), savedir=str(tmp_path / "sd")
        )
        wav = sorted((root / "main" / "wavs").iterdir())[0]
        result = recognizer.classify_file(str(wav))
        assert result["emotion"] in results["labels"]
        assert sum(result["probabilities"].values()) == pytest.approx(1)


def save_tiny_whisper(folder):
    return make_tiny_whisper(folder, chunk_seconds=30, encoder_layers=2)


def recipe_yaml(corpus, folder="tokenwise", name="tokenwise.yaml"):
    return os.path.join(ROOT, "recipes", corpus, folder, "hparams", name)


def test_recipe_chain_librispeech_to_iemocap_and_emodb(tmp_path, tone):
    """Whisper pre-trained (top layer only) on a fake LibriSpeech tree, then
    the IEMOCAP, EmoDB and URDU downstream recipes from its checkpoint."""
    from tests import fakes

    whisper = save_tiny_whisper(tmp_path / "whisper")
    words = ["hello", "number", "0", "1", "2", "3"]
    words += [
        w
        for *_, text in fakes.IEMOCAP_UTTERANCES
        for w in re.findall(r"\w+|[^\w\s]", text.lower())
    ]
    teacher = save_tiny_bert(tmp_path / "bert", words=words)
    libri = tmp_path / "libri"
    for subset, speaker in (
        ("train-clean-100", "19"),
        ("train-clean-100", "26"),
        ("dev-clean", "84"),
        ("test-clean", "61"),
    ):
        fakes.make_librispeech(libri, tone, subset, speaker, n=4)
    tiny = dict(
        whisper_source=whisper,
        text_hidden_size=16,
        speech_size=16,
        cross_modal_heads=2,
        cross_modal_ffn=16,
        batch_size=4,
        number_of_epochs=1,
    )
    pre = tmp_path / "pre"
    brain = run_recipe(
        [recipe_yaml("LibriSpeech")]
        + [
            f"--{k}={v}"
            for k, v in dict(
                tiny,
                data_folder=libri,
                teacher_source=teacher,
                output_folder=pre,
                train_splits="[train-clean-100]",
                speech_trainable_layers=1,
                num_workers=0,
            ).items()
        ]
    )
    encoder = brain.modules.speech_encoder
    trainable = {n for n, p in encoder.named_parameters() if p.requires_grad}
    assert trainable and all(
        ".layers.1." in n or "layer_norm" in n for n in trainable
    )
    assert json.load(open(pre / "results.json"))["tokens"] > 0
    for corpus, build, extra, where in (
        (
            "IEMOCAP",
            fakes.make_iemocap,
            {"test_session": 1, "teacher_source": teacher},
            (),
        ),
        (
            "EmoDB",
            fakes.make_emodb,
            {
                "split_protocol": "loso",
                "test_speaker": 10,
                "valid_speaker": 3,
                "teacher_source": teacher,
            },
            (),
        ),
        (
            "URDU",
            fakes.make_urdu,
            {"fold": 1},
            ("emotion", "tokenwise_cls.yaml"),
        ),
    ):
        build(tmp_path / corpus, tone)
        out = tmp_path / f"{corpus}_out"
        run_recipe(
            [recipe_yaml(corpus, *where)]
            + [
                f"--{k}={v}"
                for k, v in dict(
                    tiny,
                    data_folder=tmp_path / corpus,
                    output_folder=out,
                    pretrained_folder=pre,
                    head_size=8,
                    **extra,
                ).items()
            ]
        )
        results = json.load(open(out / "results.json"))
        assert 0 <= results["UA"] <= 1 and "F1_macro" in results
