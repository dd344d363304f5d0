"""Speech encoders from local folders (tiny random models in temp folders).

Whisper's trimmed path ("no 30 s tax") against the padded path of
SpeechBrain's wrapper, padding invariance, layer selection and top-N
fine-tuning; wav2vec 2.0 / HuBERT / WavLM through SpeechBrain's wrappers.
"""

import pytest
import torch
import transformers

from speechbrain_ser.nnet.encoders import WhisperEncoder
from speechbrain_ser.nnet.ssl_encoder import SSLEncoder
from speechbrain_ser.tiny_models import make_tiny_whisper

SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def whisper_folder(tmp_path_factory):
    return make_tiny_whisper(
        tmp_path_factory.mktemp("whisper"), chunk_seconds=30, encoder_layers=2
    )


def whisper(folder, **options):
    return WhisperEncoder(folder, save_path=folder, **options).eval()


@pytest.fixture(scope="module")
def frozen(whisper_folder):
    """One frozen encoder; tests switch its options with ``encode``."""
    return whisper(whisper_folder)


def encode(enc, wavs, lengths=None, **options):
    """Runs ``enc`` with some options (pad_to_30s, layer, ...) changed."""
    saved = {key: getattr(enc, key) for key in options}
    for key, value in options.items():
        setattr(enc, key, value)
    try:
        return enc(wavs, lengths)
    finally:
        for key, value in saved.items():
            setattr(enc, key, value)


def speechlike(seconds, seed):
    """Noise bursts with silences (log-mel dynamics like speech)."""
    gen = torch.Generator().manual_seed(seed)
    wav = 0.1 * torch.randn(1, int(seconds * SAMPLE_RATE), generator=gen)
    envelope = (torch.arange(wav.shape[1]) // 2000 % 3 != 0).float()
    return wav * envelope


def test_padded_path_is_speechbrains_wrapper(frozen):
    wavs = torch.cat([speechlike(2.0, 0), speechlike(2.0, 1)])
    wavs[1, 20000:] = 0.0
    lengths = torch.tensor([1.0, 20000 / 32000])
    frames = encode(frozen, wavs, lengths, pad_to_30s=True, layer="all")
    reference = frozen.whisper(wavs)  # (L, B, 1500, D), every clip at 30 s
    assert frames.shape == (2, 100, 3, 16)
    torch.testing.assert_close(
        frames, reference.permute(1, 2, 0, 3)[:, :100], rtol=0, atol=1e-6
    )


def test_trimmed_equals_padded_on_a_30s_clip(frozen):
    wav = speechlike(30.0, 2)
    padded = encode(frozen, wav, pad_to_30s=True, layer="all")
    trimmed = encode(frozen, wav, layer="all")
    assert trimmed.shape == padded.shape == (1, 1500, 3, 16)
    torch.testing.assert_close(trimmed, padded, rtol=0, atol=1e-5)


def test_trimmed_differs_from_padded_on_a_short_clip(frozen):
    # Whisper attends over its 30 s input: the padding changes every frame
    # of a short clip, so the two paths are not interchangeable (on
    # whisper-tiny.en and speech, last-layer mean cosine 0.95-0.98 on 2-10 s
    # clips: bench/whisper_trim.py).
    wav = speechlike(3.0, 3)
    padded = encode(frozen, wav, pad_to_30s=True)
    trimmed = encode(frozen, wav)
    assert trimmed.shape == padded.shape == (1, 150, 16)
    assert (trimmed[:, :10] - padded[:, :10]).abs().max() > 1e-3


def test_trimmed_path_is_padding_invariant(frozen):
    short, long = speechlike(1.2, 4), speechlike(2.0, 5)
    batch = torch.zeros(2, long.shape[1])
    batch[0], batch[1, : short.shape[1]] = long[0], short[0]
    lengths = torch.tensor([1.0, short.shape[1] / long.shape[1]])
    alone = encode(frozen, short, layer="all")
    batched = encode(frozen, batch, lengths, layer="all")
    assert alone.shape[1] == 60 and batched.shape[1] == 100
    # Equal up to float error, but for the last frame, whose STFT window
    # reaches past the clip (reflection alone, zeros in the batch).
    torch.testing.assert_close(
        batched[1:, :59], alone[:, :59], rtol=0, atol=1e-4
    )
    torch.testing.assert_close(
        batched[:1], encode(frozen, long, layer="all"), rtol=0, atol=1e-4
    )
    # Without masking the short clip attends to its padding.
    unmasked = encode(frozen, batch, lengths, layer="all", mask_padding=False)
    drift = unmasked[1:, :59] - alone[:, :59]
    assert drift.abs().max() > 1e-3


def test_layer_selection(frozen, whisper_folder):
    wav = speechlike(1.0, 6)
    every = encode(frozen, wav, layer="all")
    assert every.shape == (1, 50, 3, 16)
    assert frozen.n_hidden_states == 3 and frozen.output_size == 16
    for layer in (0, 1, -1):
        torch.testing.assert_close(
            encode(frozen, wav, layer=layer), every[:, :, layer]
        )
    with pytest.raises(
        ValueError, match="layer must be 'all', 'weighted', 'concat' or an int"
    ):
        whisper(whisper_folder, layer=3)


def grads_after_backward(enc, wav):
    enc.zero_grad()
    out = enc(wav, torch.ones(1))
    if out.requires_grad:
        out.sum().backward()
    return {
        name: p.grad is not None and p.grad.abs().sum() > 0
        for name, p in enc.named_parameters()
    }


def test_whisper_top_layers_are_the_only_trained_ones(whisper_folder):
    wav = speechlike(1.0, 7)
    assert not whisper(whisper_folder, freeze=True)(wav).requires_grad
    top = whisper(whisper_folder, freeze=False, trainable_layers=1)
    grads = grads_after_backward(top, wav)
    trained = {name for name, has_grad in grads.items() if has_grad}
    assert trained and all(
        ".layers.1." in name or ".encoder.layer_norm." in name
        for name in trained
    )
    assert not any(
        p.requires_grad
        for name, p in top.named_parameters()
        if ".layers.0." in name or "conv" in name
    )
    full = whisper(whisper_folder, freeze=False)
    trained = {n for n, g in grads_after_backward(full, wav).items() if g}
    assert any(".layers.0." in name for name in trained)
    assert any(".conv1." in name for name in trained)
    with pytest.raises(ValueError, match="trainable_layers must be in"):
        whisper(whisper_folder, freeze=False, trainable_layers=3)


SSL_CONFIGS = {
    "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
    "hubert": (transformers.HubertConfig, transformers.HubertModel),
    "wavlm": (transformers.WavLMConfig, transformers.WavLMModel),
}


@pytest.fixture(scope="module", params=sorted(SSL_CONFIGS))
def ssl_folder(request, tmp_path_factory):
    name = request.param
    folder = str(tmp_path_factory.mktemp(name))
    config_class, model_class = SSL_CONFIGS[name]
    torch.manual_seed(0)
    config = config_class(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(5, 64),  # 320 samples per frame, as the real models
        conv_kernel=(10, 64),
        num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2,
    )
    model_class(config).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor().save_pretrained(folder)
    return name, folder


def test_ssl_encoder_layers_and_lengths(ssl_folder):
    name, folder = ssl_folder
    enc = SSLEncoder(folder, save_path=folder, model=name, layer="all").eval()
    wavs = torch.randn(2, SAMPLE_RATE)
    every = enc(wavs, torch.tensor([1.0, 0.5]))
    assert every.shape == (2, 49, 3, 16)  # 50 frames/s, conv edge: 49
    last = SSLEncoder(folder, save_path=folder, model=name).eval()
    torch.testing.assert_close(
        last(wavs, torch.tensor([1.0, 0.5])), every[:, :, -1]
    )
    assert enc.n_hidden_states == 3 and enc.output_size == 16


def test_ssl_encoder_top_layers_are_the_only_trained_ones(ssl_folder):
    name, folder = ssl_folder
    enc = SSLEncoder(
        folder, save_path=folder, model=name, freeze=False, trainable_layers=1
    )
    grads = grads_after_backward(enc, torch.randn(1, SAMPLE_RATE))
    trained = {n for n, g in grads.items() if g}
    assert trained and all(".encoder.layers.1." in n for n in trained)
    with pytest.raises(ValueError, match="model must be one of"):
        SSLEncoder(folder, save_path=folder, model="bert")
