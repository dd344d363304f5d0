"""ONNX export: the graph's outputs equal PyTorch's on audio of several
lengths and batch sizes, for a filterbank model and a Whisper model."""

import os

import pytest
import torch

from speechbrain_ser.cli import main
from speechbrain_ser.inference import (
    EmotionRecognizer,
    export_yaml_model,
    tiny_model_folder,
)
from speechbrain_ser.onnx_export import OnnxEmotionRecognizer, export_onnx

# float32 graphs, same operators: differences are rounding only
TOLERANCE = 1e-4

WHISPER_YAML = """
sample_rate: 16000
task: both
avd_range: [1, 7]
encoder: !new:speechbrain_ser.nnet.encoders.WhisperEncoder
    source: {whisper}
    save_path: {whisper}
head: !new:speechbrain_ser.nnet.heads.StatsPoolingMLP
    input_size: 16
    hidden_size: 8
modules:
    encoder: !ref <encoder>
    head: !ref <head>
    emotion_out: !new:torch.nn.Linear [8, 3]
    avd_out: !new:torch.nn.Linear [8, 3]
"""


def whisper_model_folder(root):
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperModel,
    )

    whisper = os.path.join(root, "whisper")
    config = WhisperConfig(
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_mel_bins=80,
    )
    torch.manual_seed(0)
    WhisperModel(config).save_pretrained(whisper)
    WhisperFeatureExtractor().save_pretrained(whisper)
    return export_yaml_model(
        WHISPER_YAML.format(whisper=whisper),
        root,
        ["angry", "neutral", "sad"],
    )


@pytest.mark.parametrize("kind", ["fbank", "whisper"])
def test_onnx_equals_pytorch(kind, tmp_path):
    if kind == "fbank":
        folder = tiny_model_folder()
    else:
        folder = whisper_model_folder(str(tmp_path))
    model = EmotionRecognizer.from_hparams(
        source=folder, savedir=str(tmp_path / "a")
    )
    path = export_onnx(model, str(tmp_path / "model.onnx"))
    onnx_model = OnnxEmotionRecognizer.from_hparams(
        source=folder, savedir=str(tmp_path / "b")
    ).load_onnx(path)
    torch.manual_seed(1)
    # lengths and batch sizes other than the traced (3, 32000)
    for batch, samples, lens in [
        (1, 4000, [1.0]),
        (2, 16000, [1.0, 0.45]),
        (5, 61000, [1.0, 0.9, 0.5, 0.3, 0.1]),
    ]:
        wavs = torch.randn(batch, samples) * 0.1
        lens = torch.tensor(lens)
        expected = model.predict_batch(wavs, lens)
        got = onnx_model.predict_batch(wavs, lens)
        assert sorted(got) == ["avd", "probabilities"]
        for name in got:
            assert got[name].shape == expected[name].shape
            assert torch.allclose(got[name], expected[name], atol=TOLERANCE)


def test_cli_export_and_onnx_backend(tmp_path):
    import json

    import numpy as np
    import soundfile

    folder = tiny_model_folder()
    assert main(["export", "--onnx", "--model", folder]) == 0
    assert os.path.isfile(os.path.join(folder, "model.onnx"))
    clip = tmp_path / "clip.wav"
    time = np.arange(9000) / 16000  # voiced, so that the model answers
    vowel = sum(np.sin(2 * np.pi * f * time) / f for f in (150, 300, 450))
    soundfile.write(clip, vowel * 20, 16000)
    outputs = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.jsonl"
        code = main(
            ["predict", "--model", folder, "--backend", backend]
            + ["--output", str(out), "--no-progress", str(clip)]
        )
        assert code == 0
        outputs[backend] = json.loads(out.read_text())
    for label, p in outputs["torch"]["probabilities"].items():
        assert outputs["onnx"]["probabilities"][label] == pytest.approx(
            p, abs=TOLERANCE
        )
