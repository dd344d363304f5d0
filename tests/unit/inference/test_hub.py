"""`speechbrain-ser export --hub` writes a model repository that
SpeechBrain's own loaders read by Hub id (offline, from a Hub cache in the
Hub's layout), and a model card whose usage snippet runs."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from speechbrain_ser.cli import main
from speechbrain_ser.tiny_models import (
    DEMO_LABELS,
    save_to_hub_cache,
    tiny_model_folder,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))

TRAINING_YAML = """# Generated 2026-12-06 from:
# /somewhere/hparams/demo.yaml
# yamllint disable
# ############################################
# Main job: emotion classification on a test corpus (Someone et al. 2020).
#
#   python train.py hparams/demo.yaml
# ############################################

seed: 1234
test_manifest: {manifest}
brain_class: !name:speechbrain_ser.brains.EmotionBrain
"""


@pytest.fixture
def run(tmp_path):
    """A run folder: inference/, the training YAML, results.json with
    bootstrap intervals, a test manifest with one file."""
    folder = tmp_path / "run"
    shutil.copytree(tiny_model_folder(), folder / "inference")
    wav = tmp_path / "data" / "wavs" / "u1.wav"
    wav.parent.mkdir(parents=True)
    t = np.arange(24000) / 8000  # 3 s at 8 kHz, stereo: resampled, mixed
    soundfile.write(wav, np.stack([np.sin(2 * np.pi * 150 * t)] * 2, 1), 8000)
    manifest = tmp_path / "data" / "manifests" / "test.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"u1": {"wav": "{data_root}/wavs/u1.wav"}}))
    (folder / "hyperparams.yaml").write_text(
        TRAINING_YAML.format(manifest=manifest)
    )
    rng = np.random.default_rng(0)
    ua, low = rng.uniform(0.3, 0.6), rng.uniform(0.1, 0.3)
    results = {
        "task": "both",
        "protocol": "test corpus, speaker-independent split",
        "n_test": 8,
        "UA": ua,
        "WA": ua,
        "CCC": {"valence": 0.125, "mean": 0.125},
        "selected_epoch": 3,
        "labels": list(DEMO_LABELS),
        "intervals": {
            "UA": {"estimate": ua, "low": low, "high": 0.9, "confidence": 0.95},
            "resampled": "speakers",
        },
    }
    (folder / "results.json").write_text(json.dumps(results))
    return folder, results


def test_export_hub_folder_and_card(run, tmp_path, capsys):
    folder, results = run
    out = tmp_path / "ser-demo"
    status = main(
        ["export", "--hub", str(out), "--model", str(folder)]
        + ["--repo-id", "lab/ser-demo"]
    )
    assert status == 0
    names = set(os.listdir(out))
    for name in (
        "hyperparams.yaml",
        "label_encoder.ckpt",
        "encoder.ckpt",
        "custom_interface.py",
        "example.wav",
        "README.md",
    ):
        assert name in names, name
    example, rate = soundfile.read(out / "example.wav")
    assert rate == 16000 and example.ndim == 1 and len(example) == 48000
    card = (out / "README.md").read_text()
    front = card.split("---")[1]
    assert "library_name: speechbrain" in front
    assert "\nlicense:" not in front  # left for the user, commented
    assert results["protocol"] in card
    assert "Someone et al. 2020" in card  # method and paper
    ua_row = [line for line in card.splitlines() if line.startswith("| UA")]
    interval = results["intervals"]["UA"]
    assert f"{results['UA']:.3f}" in ua_row[0]
    assert f"[{interval['low']:.3f}, {interval['high']:.3f}]" in ua_row[0]
    assert "speakers resampled" in card
    assert "Not calibrated" in card
    assert "seed 1234" in card and "epoch 3" in card
    assert 'source="lab/ser-demo"' in card


def test_export_of_a_missing_run_is_one_line(tmp_path, capsys):
    status = main(["export", "--hub", str(tmp_path / "o"), "--model", "nope"])
    assert status == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_card_snippet_runs_offline_by_id(run, tmp_path):
    """The card's Python snippet, as a user copies it, in a fresh process
    that loads by Hub id from the Hub cache with HF_HUB_OFFLINE=1."""
    folder, _ = run
    out = tmp_path / "ser-demo"
    assert main(["export", "--hub", str(out), "--model", str(folder)]) == 0
    card = (out / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert 'source="your-name/ser-demo"' in snippet
    cache = tmp_path / "hub"
    save_to_hub_cache(str(out), "your-name/ser-demo", str(cache))
    work = tmp_path / "user"
    work.mkdir()
    env = dict(
        os.environ,
        HF_HUB_CACHE=str(cache),
        HF_HUB_OFFLINE="1",
        HF_HOME=str(tmp_path / "home"),
        OMP_NUM_THREADS="1",
    )
    env["PYTHONPATH"] = REPO  # this checkout's package
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] in DEMO_LABELS
    assert (work / "pretrained_models" / "ser-demo").is_dir()


def test_from_hparams_by_id(run, tmp_path, offline_hub):
    """SpeechBrain's from_hparams with the package's class, by Hub id."""
    from speechbrain_ser.inference import EmotionRecognizer

    folder, _ = run
    out = tmp_path / "ser-demo"
    assert main(["export", "--hub", str(out), "--model", str(folder)]) == 0
    save_to_hub_cache(str(out), "lab/ser-demo", offline_hub)
    recognizer = EmotionRecognizer.from_hparams(
        source="lab/ser-demo", savedir=str(tmp_path / "saved")
    )
    result = recognizer.classify_file(str(out / "example.wav"))
    assert result["speech"] and result["emotion"] in DEMO_LABELS
