"""Tiny random BERT-like text models saved to a folder, for tests.

Both savers write what :class:`speechbrain_ser.text.encoders.HFTextEncoder`
loads with ``AutoModel`` / ``AutoTokenizer``: a random model from a small
config and a tokenizer over :data:`WORDS` (lower-case words, so any
sentence made of them has no unknown token).
"""

import os

WORDS = [
    "a", "an", "the", "dog", "cat", "is", "was", "happy", "sad", "angry",
    "calm", "i", "you", "we", "they", "am", "are", "very", "not", "so",
    "hello", "world", "today", "now", "good", "bad", "day", "night", "it",
    "what", "why", "where", "go", "come", "home", "##s", "##ed", "##ing",
    ".", ",", "!", "?",
]  # fmt: skip

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def save_tiny_bert(folder, hidden_size=16, layers=1, heads=2, seed=0):
    """Saves a random ``BertModel`` and a WordPiece tokenizer to ``folder``.

    The vocabulary is :data:`BERT_SPECIALS` + :data:`WORDS`, written to
    ``vocab.txt``. Returns ``folder`` (a str).
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab, "w") as handle:
        handle.write("\n".join(BERT_SPECIALS + WORDS) + "\n")
    BertTokenizer(vocab).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(BERT_SPECIALS) + len(WORDS),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder


def save_tiny_roberta(folder, hidden_size=16, layers=1, heads=2, seed=0):
    """Saves a random ``RobertaModel`` and a word-level tokenizer that adds
    ``<s>`` ... ``</s>`` as RoBERTa's does. Returns ``folder`` (a str)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import (
        PreTrainedTokenizerFast,
        RobertaConfig,
        RobertaModel,
    )

    folder = str(folder)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {w: i for i, w in enumerate(specials + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=66,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
    )
    RobertaModel(config).save_pretrained(folder)
    return folder
