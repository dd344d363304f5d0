"""Tiny random models saved to folders: BERT, RoBERTa and Whisper.

Doctests, tests and benches build them in temporary folders, so that
nothing reaches a model hub: each loads with ``from_pretrained`` exactly as
a real checkpoint would (``HFTextEncoder``, ``WhisperEncoder``, the
transcriber), in a few hundred kB and milliseconds.

Authors
 * speechbrain-ser developers 2026
"""

import json
import os

WORDS = [
    "a", "an", "the", "dog", "cat", "is", "was", "happy", "sad", "angry",
    "calm", "i", "you", "we", "they", "am", "are", "very", "not", "so",
    "hello", "world", "today", "now", "good", "bad", "day", "night", "it",
    "what", "why", "where", "go", "come", "home", "##s", "##ed", "##ing",
    ".", ",", "!", "?",
]  # fmt: skip

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def save_tiny_bert(
    folder, hidden_size=16, layers=1, heads=2, seed=0, words=WORDS
):
    """Saves a random ``BertModel`` and a WordPiece tokenizer to ``folder``.

    The vocabulary is :data:`BERT_SPECIALS` + ``words`` (default
    :data:`WORDS`), written to ``vocab.txt``.

    Arguments
    ---------
    folder : str or pathlib.Path
        Where to save (created).
    hidden_size, layers, heads : int
        Size of the random ``BertConfig``.
    seed : int
        Seed of the random weights.
    words : list of str
        The vocabulary after the special tokens.

    Returns
    -------
    str
        The folder, for ``from_pretrained``.

    Example
    -------
    >>> import tempfile
    >>> from transformers import AutoTokenizer
    >>> folder = save_tiny_bert(tempfile.mkdtemp())
    >>> AutoTokenizer.from_pretrained(folder).tokenize("the dog is happy")
    ['the', 'dog', 'is', 'happy']
    """
    words = list(dict.fromkeys(words))
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab, "w") as handle:
        handle.write("\n".join(BERT_SPECIALS + words) + "\n")
    BertTokenizer(vocab).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(BERT_SPECIALS) + len(words),
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
    ``<s>`` ... ``</s>`` as RoBERTa's does.

    Arguments
    ---------
    folder : str or pathlib.Path
        Where to save (created).
    hidden_size, layers, heads : int
        Size of the random ``RobertaConfig``.
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        The folder, for ``from_pretrained``.

    Example
    -------
    >>> import tempfile
    >>> from transformers import AutoTokenizer
    >>> folder = save_tiny_roberta(tempfile.mkdtemp())
    >>> tokens = AutoTokenizer.from_pretrained(folder)("a sad day").input_ids
    >>> len(tokens)  # <s> a sad day </s>
    5
    """
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


SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|transcribe|>",
    "<|translate|>",
    "<|notimestamps|>",
]


def _byte_characters():
    """GPT-2's byte -> printable character table (byte-level BPE)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def make_tiny_whisper(folder, chunk_seconds=2, encoder_layers=1, d_model=16):
    """Saves a random WhisperForConditionalGeneration + processor.

    Arguments
    ---------
    folder : str or pathlib.Path
        Where to save (created).
    chunk_seconds : int
        Input window of the feature extractor and encoder.
    encoder_layers : int
        Number of encoder layers (2 heads).
    d_model : int
        Width of the encoder and decoder (feed-forward: twice that).

    Returns
    -------
    str
        The folder, for ``from_pretrained``.

    Example
    -------
    >>> import tempfile
    >>> from transformers import WhisperConfig
    >>> folder = make_tiny_whisper(tempfile.mkdtemp())
    >>> WhisperConfig.from_pretrained(folder).max_source_positions
    100
    """
    import pathlib

    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {c: i for i, c in enumerate(_byte_characters())}
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = WhisperTokenizer(
        str(folder / "vocab.json"),
        str(folder / "merges.txt"),
        unk_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": SPECIAL_TOKENS[1:]}
    )
    extractor = WhisperFeatureExtractor(
        feature_size=80, chunk_length=chunk_seconds
    )
    frames = extractor.nb_max_frames // 2
    start = vocab["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(vocab),
        num_mel_bins=80,
        d_model=d_model,
        encoder_layers=encoder_layers,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model,
        max_source_positions=frames,
        max_target_positions=8,
        decoder_start_token_id=start,
        bos_token_id=vocab["<|endoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
        begin_suppress_tokens=None,
        suppress_tokens=None,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config.decoder_start_token_id = start
    model.save_pretrained(folder)
    WhisperProcessor(extractor, tokenizer).save_pretrained(folder)
    return str(folder)
