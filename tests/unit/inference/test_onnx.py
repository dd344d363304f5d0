"""ONNX export: the graph's outputs equal PyTorch's on audio of several
lengths and batch sizes (padded batches included), for a filterbank
model, a Whisper model and the recurrent ones (SA2SR: filterbank +
BiLSTM; CPC: filterbank + GRU)."""

import os

import pytest
import torch

from speechbrain_ser.cli import main
from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.inference.onnx import OnnxEmotionRecognizer
from speechbrain_ser.tiny_models import (
    export_yaml_model,
    make_tiny_whisper,
    tiny_model_folder,
)

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


# Ghriss et al. 2022's fine-tuning model (recipes/MSP-Podcast/sa2sr), tiny
SA2SR_YAML = """
sample_rate: 16000
task: regression
avd_range: [1, 7]
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: 20
modules:
    mean_var_norm: !new:speechbrain.processing.features.InputNormalization
        norm_type: sentence
    encoder: !new:speechbrain_ser.nnet.sa2sr.SA2SREncoder
        input_size: 20
        hidden_size: 8
        num_layers: 2
    head: !new:speechbrain_ser.nnet.heads.ConvAttentionRegressor
        input_size: 16
        channels: 8
        n_heads: 2
    avd_out: !new:torch.nn.Linear [16, 3]
"""

# Li et al. 2021's model (hparams/cpc_finetune.yaml, fbank input), tiny
CPC_YAML = """
sample_rate: 16000
task: both
avd_range: [1, 5]
modules:
    encoder: !new:speechbrain_ser.nnet.cpc.CPCModel
        encoder: !new:speechbrain_ser.nnet.cpc.FilterbankEncoder
            compute_features: !new:speechbrain.lobes.features.Fbank
                n_mels: 20
            normalize: !new:speechbrain.processing.features.InputNormalization
                norm_type: sentence
                std_norm: False
            input_size: 20
            channels: 12
        encoder_dim: 12
        context_dim: 8
        n_predictions: 2
    head: !new:speechbrain_ser.nnet.heads.AttentionRecognizer
        input_size: 8
        d_model: 8
        n_heads: 2
    emotion_out: !new:torch.nn.Linear [16, 3]
    avd_out: !new:torch.nn.Linear [16, 3]
"""


def model_folder(kind, root):
    """An untrained inference folder of ``kind``."""
    torch.manual_seed(0)
    if kind == "fbank":
        return tiny_model_folder()
    if kind == "whisper":
        return whisper_model_folder(root)
    if kind == "sa2sr":
        return export_yaml_model(SA2SR_YAML, root)
    return export_yaml_model(CPC_YAML, root, ["angry", "neutral", "sad"])


def whisper_model_folder(root):
    whisper = make_tiny_whisper(os.path.join(root, "whisper"), chunk_seconds=30)
    return export_yaml_model(
        WHISPER_YAML.format(whisper=whisper),
        root,
        ["angry", "neutral", "sad"],
    )


def voiced_clip(path):
    """A 0.56 s vowel-like clip (the speech detector lets it through)."""
    import numpy as np
    import soundfile

    time = np.arange(9000) / 16000
    vowel = sum(np.sin(2 * np.pi * f * time) / f for f in (150, 300, 450))
    soundfile.write(path, vowel * 20, 16000)
    return str(path)


@pytest.mark.parametrize("kind", ["fbank", "whisper", "sa2sr", "cpc"])
def test_onnx_equals_pytorch(kind, tmp_path):
    import json

    folder = model_folder(kind, str(tmp_path))
    assert main(["export", "--onnx", "--model", folder]) == 0
    model = EmotionRecognizer.from_hparams(
        source=folder, savedir=str(tmp_path / "a")
    )
    onnx_model = OnnxEmotionRecognizer.from_hparams(
        source=folder, savedir=str(tmp_path / "b")
    ).load_onnx(os.path.join(folder, "model.onnx"))
    torch.manual_seed(1)
    # lengths and batch sizes other than the traced (3, 32000), padded
    # batches included (the recurrent models read each item to its end)
    for batch, samples, lens in [
        (1, 4000, [1.0]),
        (2, 16000, [1.0, 0.45]),
        (5, 61000, [1.0, 0.9, 0.5, 0.3, 0.1]),
    ]:
        wavs = torch.randn(batch, samples) * 0.1
        lens = torch.tensor(lens)
        expected = model.predict_batch(wavs, lens)
        got = onnx_model.predict_batch(wavs, lens)
        assert sorted(got) == sorted(expected)
        for name in got:
            assert got[name].shape == expected[name].shape
            assert torch.allclose(got[name], expected[name], atol=TOLERANCE)
    # the command line: predict --backend onnx answers as --backend torch
    clip = voiced_clip(tmp_path / "clip.wav")
    outputs = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.jsonl"
        code = main(
            ["predict", "--model", folder, "--backend", backend]
            + ["--output", str(out), "--no-progress", clip]
        )
        assert code == 0
        outputs[backend] = json.loads(out.read_text())
    assert outputs["torch"]["speech"] and outputs["onnx"]["speech"]
    expected = dict(outputs["torch"].get("probabilities", {}))
    got = dict(outputs["onnx"].get("probabilities", {}))
    for name in ("activation", "valence", "dominance"):
        expected[name], got[name] = (
            outputs["torch"][name],
            outputs["onnx"][name],
        )
    assert got == pytest.approx(expected, abs=TOLERANCE)
