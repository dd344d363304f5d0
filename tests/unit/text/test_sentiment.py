import json

import numpy as np
import pytest

from speechbrain_ser.text.sentiment import (
    SENTIMENTS,
    HFSentimentLabeller,
    VaderLabeller,
    label_manifest,
)


def save_tiny_roberta(folder, id2label):
    """A random RobertaForSequenceClassification and a word tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    words = ["<pad>", "<unk>", "<s>", "</s>", "good", "bad", "day", "the", "is"]
    vocab = {w: i for i, w in enumerate(words)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.save_pretrained(folder)
    config = RobertaConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
        pad_token_id=0,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    RobertaForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


def test_vader_rule_and_description():
    labeller = VaderLabeller()
    texts = [
        "I love this, wonderful!",
        "The form is on the desk.",
        "I hate it.",
    ]
    assert labeller.labels(texts) == ["positive", "neutral", "negative"]
    probs = labeller.probabilities(texts)
    assert probs.shape == (3, 3) and np.allclose(probs.sum(1), 1)
    description = labeller.describe()
    assert description["name"] == "vader" and description["version"]
    assert VaderLabeller(threshold=0.5).tag != labeller.tag


@pytest.mark.parametrize(
    "id2label",
    [
        {0: "positive", 1: "negative", 2: "neutral"},  # names, shuffled
        {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},  # old Twitter RoBERTa
    ],
)
def test_hf_labeller_maps_classes(tmp_path, id2label):
    import torch

    folder = save_tiny_roberta(tmp_path, id2label)
    labeller = HFSentimentLabeller(folder, batch_size=2)
    texts = [
        "good day",
        "bad day",
        "the day is good",
        "unknown words here",
        "bad",
    ]
    probs = labeller.probabilities(texts)
    assert probs.shape == (5, 3) and np.allclose(probs.sum(1), 1, atol=1e-6)
    # the columns follow SENTIMENTS whatever the model's class order
    batch = labeller.tokenizer(texts[:1], return_tensors="pt")
    with torch.no_grad():
        logits = labeller.model(**batch).logits[0]
    by_name = {id2label[i]: logits[i] for i in range(3)}
    if "LABEL_0" in by_name:
        expected = [by_name["LABEL_0"], by_name["LABEL_1"], by_name["LABEL_2"]]
    else:
        expected = [by_name[s] for s in SENTIMENTS]
    assert probs[0] == pytest.approx(
        torch.softmax(torch.stack(expected), 0).numpy(), abs=1e-5
    )
    assert labeller.labels(texts[:1]) == [SENTIMENTS[int(np.argmax(probs[0]))]]
    assert labeller.describe()["model_type"] == "roberta"


def test_hf_labeller_needs_a_mapping(tmp_path):
    folder = save_tiny_roberta(tmp_path, {0: "joy", 1: "anger", 2: "other"})
    with pytest.raises(ValueError, match="pass label_map"):
        HFSentimentLabeller(folder)
    labeller = HFSentimentLabeller(
        folder,
        label_map={"joy": "positive", "anger": "negative", "other": "neutral"},
    )
    assert labeller.probabilities(["good"]).shape == (1, 3)
    with pytest.raises(FileNotFoundError):
        HFSentimentLabeller(str(tmp_path / "missing"))


class CountingLabeller(VaderLabeller):
    calls = 0

    def probabilities(self, texts):
        CountingLabeller.calls += len(texts)
        return super().probabilities(texts)


def test_label_manifest_caches(tmp_path):
    manifest = tmp_path / "train.json"
    entries = {
        "a": {
            "wav": "a.wav",
            "speaker": "s",
            "transcript": "What a lovely day.",
        },
        "b": {"wav": "b.wav", "speaker": "s", "transcript": "It was awful."},
        "c": {
            "wav": "c.wav",
            "speaker": "t",
            "transcript": "What a lovely day.",
        },
    }
    manifest.write_text(json.dumps(entries))
    labeller = CountingLabeller()
    labelled = label_manifest(str(manifest), labeller)
    assert [labelled[k]["sentiment"] for k in "abc"] == [
        "positive",
        "negative",
        "positive",
    ]
    assert CountingLabeller.calls == 2  # two distinct transcripts
    written = json.loads((tmp_path / "train_sentiment.json").read_text())
    assert (
        written["b"]["sentiment"] == "negative"
        and len(written["b"]["sentiment_probs"]) == 3
    )
    cache = json.loads(
        next(tmp_path.glob("train.sentiment-*.json")).read_text()
    )
    assert cache["labeller"]["name"] == "vader"
    label_manifest(str(manifest), labeller)
    assert CountingLabeller.calls == 2  # cached: nothing labelled again


def test_label_manifest_missing_transcript(tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"x": {"wav": "x.wav", "speaker": "s"}}))
    with pytest.raises(
        ValueError, match="m.json: utterance 'x' .*no transcript"
    ):
        label_manifest(str(manifest), VaderLabeller())
