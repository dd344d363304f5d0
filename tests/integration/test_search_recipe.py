"""A real 2-trial search: the URDU filterbank recipe, tiny model, fake
corpus tree, each trial a train.py process."""

import os

import optuna
import yaml

from speechbrain_ser.evaluation.search import main
from speechbrain_ser.plotting import read_train_log
from tests.integration.test_crossval import RECIPES, make_urdu


def test_two_trial_search_on_a_tiny_recipe(tmp_path, tone):
    corpus = make_urdu(tmp_path / "urdu", tone, speakers=4)
    space = tmp_path / "space.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "metric": "score",
                "parameters": {
                    "batch_size": {
                        "type": "int",
                        "low": 2,
                        "high": 3,
                        "power_of": 2,
                    },
                    "lr": {"type": "float", "low": 1e-3, "high": 1e-2},
                    "model": {
                        "type": "categorical",
                        "choices": {
                            "small": {"emb_channels": 4},
                            "large": {"emb_channels": 8},
                        },
                    },
                },
            }
        )
    )
    study_folder = tmp_path / "study"
    study = main(
        [
            os.path.join(
                RECIPES, "URDU", "emotion", "hparams", "fbank_attention.yaml"
            ),
            f"--space={space}",
            "--n_trials=2",
            f"--study_folder={study_folder}",
            "--poll_seconds=0.5",
            "--",
            f"--data_folder={corpus}",
            "--number_of_epochs=2",
        ]
    )
    assert [t.state for t in study.trials] == [
        optuna.trial.TrialState.COMPLETE
    ] * 2
    for trial in study.trials:
        folder = trial.user_attrs["folder"]
        rows = read_train_log(os.path.join(folder, "train_log.txt"))
        assert len(rows) == 2  # both epochs reported, none pruned
        assert trial.value == max(row["valid score"] for row in rows)
        assert trial.intermediate_values == {
            0: rows[0]["valid score"],
            1: rows[1]["valid score"],
        }
        used = open(os.path.join(folder, "hyperparams.yaml")).read()
        values = trial.user_attrs["overrides"]
        assert values["batch_size"] in (4, 8)
        assert f"batch_size: {values['batch_size']}" in used
        assert f"emb_channels: {values['emb_channels']}" in used
    for name in ("trials.csv", "trials.md", "history.png", "importances.png"):
        assert (study_folder / name).exists(), name
