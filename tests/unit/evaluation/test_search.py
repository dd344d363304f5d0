"""The search loop with a stand-in for train.py that writes a known
train_log.txt: valid score per epoch = [0.5 v, v, 0.8 v], v = 100 lr (+
the fold index), so every trial's value is known by hand."""

import sys

import optuna
import pytest
import yaml

from speechbrain_ser.evaluation import search

FAKE_TRAIN = """
import os, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[2:] if a.startswith("--"))
out = args["output_folder"]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "calls.txt"), "a") as f:
    f.write(" ".join(sys.argv[2:]) + "\\n")
v = 100 * float(args["lr"]) + float(args.get("fold", 0))
with open(os.path.join(out, "train_log.txt"), "a") as f:
    for epoch, x in enumerate([0.5 * v, v, 0.8 * v], 1):
        f.write(f"epoch: {epoch}, lr: 1.00e-03 - train loss: 1.0 - "
                f"valid loss: {1 - x:.4f}, valid score: {x:.4f}\\n")
"""

SPACE = {
    "metric": "score",
    "parameters": {
        "lr": {"type": "float", "low": 0.001, "high": 0.01, "log": True},
        "batch_size": {"type": "int", "low": 2, "high": 4, "power_of": 2},
    },
    "pruner": {"n_startup_trials": 1, "n_warmup_steps": 0},
}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    script = tmp_path / "fake_train.py"
    script.write_text(FAKE_TRAIN)
    monkeypatch.setattr(search, "TRAIN_COMMAND", (sys.executable, str(script)))
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("fold: 0\nn_folds: 3\nlr: 0.001\nbatch_size: 8\n")
    study = tmp_path / "study"

    def run(n_trials, *extra):
        return search.main(
            [
                str(recipe),
                f"--space={space}",
                f"--n_trials={n_trials}",
                f"--study_folder={study}",
                "--poll_seconds=0.05",
                *extra,
            ]
        )

    return run, study, space


def enqueue(study_folder, space, *lrs):
    study = search.open_study(str(study_folder), search.load_space(space))
    for lr in lrs:
        study.enqueue_trial({"lr": lr, "batch_size": 3})
    return study


def test_best_epoch_is_the_value_and_bad_trials_are_pruned(setup):
    run, study_folder, space = setup
    enqueue(study_folder, space, 0.009, 0.001)
    study = run(2, "--", "--number_of_epochs=3")
    first, second = study.trials
    assert first.value == pytest.approx(0.9)  # epoch 2 of [0.45, 0.9, 0.72]
    assert first.intermediate_values == pytest.approx(
        {0: 0.45, 1: 0.9, 2: 0.72}
    )
    assert second.state == optuna.trial.TrialState.PRUNED  # 0.05 < 0.45
    calls = (study_folder / "trial_000" / "calls.txt").read_text()
    assert "--number_of_epochs=3" in calls and "--batch_size=8" in calls
    table = (study_folder / "trials.md").read_text()
    assert "| 0 | COMPLETE | 0.9 |" in table and "PRUNED" in table
    assert (study_folder / "trials.csv").read_text().count("\n") == 3
    assert (study_folder / "history.png").exists()


def test_a_killed_search_resumes(setup):
    """Finished trials stay; the trial that was running restarts with the
    same values in the same folder; the search then reaches n_trials."""
    run, study_folder, space = setup
    run(2)
    study = search.open_study(str(study_folder), search.load_space(space))
    killed = study.ask()
    search.suggest_overrides(killed, SPACE["parameters"])
    killed.set_user_attr("folder", str(study_folder / "trial_002"))
    study = run(3)
    states = [t.state for t in study.trials]
    assert len(states) == 4 and states[2] == optuna.trial.TrialState.FAIL
    assert states[3] in (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
    )
    resumed = study.trials[3]
    assert resumed.params == killed.params
    assert resumed.user_attrs["folder"] == str(study_folder / "trial_002")
    for n in (0, 1):  # not trained again
        calls = (study_folder / f"trial_00{n}" / "calls.txt").read_text()
        assert calls.count("\n") == 1


def test_crossval_objective_is_the_mean_over_folds(setup):
    run, study_folder, space = setup
    enqueue(study_folder, space, 0.005)
    study = run(1, "--crossval")
    trial = study.trials[0]
    # folds 0, 1, 2 (n_folds: 3): best epochs 0.5, 1.5, 2.5
    assert trial.user_attrs["fold_values"] == pytest.approx([0.5, 1.5, 2.5])
    assert trial.value == pytest.approx(1.5)
    assert trial.intermediate_values == pytest.approx({0: 0.5, 1: 1.0, 2: 1.5})
    calls = (study_folder / "trial_000" / "fold_2" / "calls.txt").read_text()
    assert "--fold=2" in calls


def test_failed_training_does_not_stop_the_search(setup, monkeypatch):
    run, study_folder, space = setup
    broken = study_folder.parent / "broken.py"
    broken.write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(search, "TRAIN_COMMAND", (sys.executable, str(broken)))
    study = run(1)
    assert study.trials[0].state == optuna.trial.TrialState.FAIL


def test_space_errors_name_the_file_and_parameter(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("parameters:\n  lr: {type: float, low: 0.1}\n")
    with pytest.raises(ValueError, match=f"{path}: parameter 'lr'"):
        search.load_space(str(path))


def test_direction_follows_the_metric():
    assert search.metric_direction("loss") == "minimize"
    assert search.metric_direction("CCC_mean") == "maximize"
    assert search.TRAIN_COMMAND[1:] == ("-m", "speechbrain_ser.run")
