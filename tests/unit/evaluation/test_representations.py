"""A trained module comes back from its run's SpeechBrain checkpoints."""

import shutil

import pytest
import torch
from speechbrain.utils.checkpoints import Checkpointer

from speechbrain_ser.evaluation.representations import load_trained_module

YAML = """encoder: !new:torch.nn.Linear [2, 2]
other: !new:torch.nn.Linear [2, 2]
model: !new:torch.nn.ModuleList [[!ref <encoder>]]
brain_class: !name:speechbrain_ser.brains.CPCBrain
checkpointer: !new:speechbrain.utils.checkpoints.Checkpointer
    checkpoints_dir: {save}
    recoverables:
        model: !ref <model>
"""


def saved_run(tmp_path, losses):
    """A run folder with one checkpoint per validation loss, in order;
    returns the encoders saved in them."""
    (tmp_path / "hyperparams.yaml").write_text(
        YAML.format(save=tmp_path / "save")
    )
    encoders = []
    for loss in losses:
        encoder = torch.nn.Linear(2, 2)
        checkpointer = Checkpointer(
            tmp_path / "save", {"model": torch.nn.ModuleList([encoder])}
        )
        checkpointer.save_checkpoint(meta={"cpc_loss": loss})
        encoders.append(encoder)
    return encoders


def test_the_checkpoint_the_run_tested_is_loaded(tmp_path):
    """CPCBrain tests its lowest validation loss: the middle one here, not
    the newest; the module is inside a recoverable that holds it."""
    encoders = saved_run(tmp_path, [2.0, 1.0, 3.0])
    model, sample_rate = load_trained_module(tmp_path, "encoder")
    assert torch.equal(model.encoder.weight, encoders[1].weight)
    assert torch.equal(model.encoder.bias, encoders[1].bias)
    assert not model.training and sample_rate == 16000


def test_a_given_state_dict_and_the_errors(tmp_path):
    encoders = saved_run(tmp_path, [1.0])
    other = torch.nn.Linear(2, 2)
    torch.save(other.state_dict(), tmp_path / "other.ckpt")
    model, _ = load_trained_module(
        tmp_path, "encoder", checkpoint=str(tmp_path / "other.ckpt")
    )
    assert torch.equal(model.encoder.weight, other.weight)
    assert not torch.equal(model.encoder.weight, encoders[0].weight)
    with pytest.raises(ValueError, match="'other': not saved by the YAML"):
        load_trained_module(tmp_path, "other")
    with pytest.raises(KeyError, match="no module named 'head'"):
        load_trained_module(tmp_path, "head")
    shutil.rmtree(tmp_path / "save")
    with pytest.raises(FileNotFoundError, match="no checkpoint with cpc_loss"):
        load_trained_module(tmp_path, "encoder")
