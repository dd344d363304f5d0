import os

import pytest
import torch

from speechbrain_ser.text.encoders import (
    HFTextEncoder,
    default_text_encoder_source,
)
from speechbrain_ser.tiny_models import save_tiny_bert, save_tiny_roberta


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    return save_tiny_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def roberta_folder(tmp_path_factory):
    return save_tiny_roberta(tmp_path_factory.mktemp("roberta"))


def test_tokenize_pads_and_marks_special_tokens(bert_folder):
    teacher = HFTextEncoder(bert_folder)
    ids, mask = teacher.tokenize(["the dog is happy", "hello"])
    assert ids.dtype == torch.long and mask.dtype == torch.long
    assert ids.shape == mask.shape == (2, 6)
    assert mask.tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0]]
    tok = teacher.tokenizer
    assert ids[0, 0] == tok.cls_token_id and ids[0, 5] == tok.sep_token_id
    assert ids[1, 3:].tolist() == [tok.pad_token_id] * 3
    content = teacher.content_mask(ids, mask)
    assert content.tolist() == [
        [False, True, True, True, True, False],
        [False, True, False, False, False, False],
    ]


def test_contextual_embeddings_ignore_padding(bert_folder):
    teacher = HFTextEncoder(bert_folder)
    ids, mask = teacher.tokenize(["the dog is happy", "hello"])
    batch = teacher(ids, mask)
    alone = teacher(*teacher.tokenize(["hello"]))
    assert batch.shape == (2, 6, teacher.hidden_size)
    torch.testing.assert_close(batch[1, :3], alone[0], atol=1e-5, rtol=1e-5)


def test_input_embeddings_are_the_embedding_layer(bert_folder):
    teacher = HFTextEncoder(bert_folder)
    ids, _ = teacher.tokenize(["the dog", "dog the"])
    emb = teacher.input_embeddings(ids)
    # Same word at the same position -> same vector; position changes it.
    torch.testing.assert_close(emb[0, 0], emb[1, 0])
    assert not torch.allclose(emb[0, 1], emb[1, 2])
    torch.testing.assert_close(
        emb, teacher.model.embeddings(input_ids=ids), atol=0, rtol=0
    )


def test_frozen_teacher_has_no_grads_and_stays_in_eval(bert_folder):
    teacher = HFTextEncoder(bert_folder, freeze=True)
    teacher.train()
    assert not teacher.model.training
    assert not any(p.requires_grad for p in teacher.parameters())
    ids, mask = teacher.tokenize(["the dog is happy"])
    assert not teacher(ids, mask).requires_grad
    # Deterministic although dropout exists: eval mode is kept.
    torch.testing.assert_close(teacher(ids, mask), teacher(ids, mask))


def test_trainable_encoder_gets_grads(bert_folder):
    student = HFTextEncoder(bert_folder, freeze=False)
    student.train()
    assert student.model.training
    ids, mask = student.tokenize(["the dog is happy"])
    student(ids, mask).sum().backward()
    assert student.model.embeddings.word_embeddings.weight.grad is not None


def test_roberta_works_the_same_way(roberta_folder):
    teacher = HFTextEncoder(roberta_folder)
    ids, mask = teacher.tokenize(["the dog is happy", "hello"])
    tok = teacher.tokenizer
    assert ids[0, 0] == tok.bos_token_id and ids[0, -1] == tok.eos_token_id
    assert teacher(ids, mask).shape == (2, 6, 16)
    assert teacher.input_embeddings(ids).shape == (2, 6, 16)
    assert teacher.content_mask(ids, mask).sum().item() == 5


def test_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        HFTextEncoder(str(tmp_path / "nowhere"))


def test_default_source_is_the_pip_minilm():
    source = default_text_encoder_source()
    assert os.path.isfile(os.path.join(source, "config.json"))
    assert os.path.isfile(os.path.join(source, "vocab.txt"))
