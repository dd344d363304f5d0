"""A tiny random Whisper (model, feature extractor, tokenizer) on disk.

Tests build it in a temp folder: no hub access, a few hundred kB, and a
2 s input window instead of 30 s so that it runs in milliseconds.
"""

import json

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


def make_tiny_whisper(folder, chunk_seconds=2):
    """Saves a random WhisperForConditionalGeneration + processor.

    Arguments
    ---------
    folder : pathlib.Path
        Where to save (created).
    chunk_seconds : int
        Input window of the feature extractor and encoder.

    Returns
    -------
    str
        The folder, for ``from_pretrained``.
    """
    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

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
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
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
