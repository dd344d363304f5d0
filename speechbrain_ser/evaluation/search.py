"""Hyper-parameter search for any recipe, with Optuna.

    speechbrain-ser search hparams/demo.yaml \\
        --space hparams/search_space.yaml --n_trials 8 \\
        --study_folder results/search_demo -- --number_of_epochs=5

Every trial is a normal training run (``python -m speechbrain_ser.run
<hparams> --key=value ...``, each in its own output folder ``<study_folder>/trial_<n>``) with
the trial's values as command-line overrides, plus any override given
after ``--``. The space (a YAML file, see ``hparams/search_space.yaml``)
names the overridden keys and their ranges, the validation statistic to
optimise (``metric``, read from each epoch's ``valid <metric>`` in the
trial's ``train_log.txt``) and the direction (default: minimise a loss
or error rate, maximise anything else). Optuna's TPE sampler proposes
the values; the median pruner stops a trial whose validation metric,
reported after every epoch, is below the median of earlier trials at the
same epoch. The trial's value is its best validation epoch (the
checkpoint a recipe tests). With ``--crossval`` each trial runs every
fold of the recipe's protocol (as :mod:`speechbrain_ser.evaluation.crossval`) and
its value is the mean over folds of the best validation metric (pruned
after each fold on the running mean). Test sets are never looked at.

The study lives in ``<study_folder>/study.db`` (SQLite): running the same
command again resumes a killed search; the trial that was running
restarts in its own folder, so its training resumes from its last
checkpoint. One search process per study folder. At the end (and after
every trial) the trials are written to ``<study_folder>/trials.csv`` and
``trials.md``, with Optuna's optimisation history, intermediate values
and parameter importances as PNG pictures.

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import csv
import os
import signal
import subprocess
import sys
import time
import warnings

import yaml
from speechbrain.utils.logger import get_logger

from speechbrain_ser.evaluation.crossval import (
    TRAIN_COMMAND,
    default_valid_key,
    fold_overrides,
    read_hparams_values,
)
from speechbrain_ser.plotting import read_train_log
from speechbrain_ser.run_lock import RunLock

logger = get_logger(__name__)

MINIMISED = ("loss", "error", "cer", "wer", "eer")


class TrialFailed(RuntimeError):
    """A trial's training exited with an error (the search goes on).

    Example
    -------
    >>> isinstance(TrialFailed("train.py exited with 1"), RuntimeError)
    True
    """


def metric_direction(metric):
    """``minimize`` for losses and error rates, else ``maximize``.

    Arguments
    ---------
    metric : str
        A validation statistic's name.

    Returns
    -------
    str

    Example
    -------
    >>> metric_direction("loss"), metric_direction("UA")
    ('minimize', 'maximize')
    >>> metric_direction("CER")
    'minimize'
    """
    lowered = metric.lower()
    return "minimize" if any(m in lowered for m in MINIMISED) else "maximize"


def load_space(path):
    """Reads and checks a search-space YAML.

    Arguments
    ---------
    path : str
        The YAML file: ``metric``, optional ``direction``, ``sampler``
        and ``pruner`` options, and ``parameters`` (see
        :func:`suggest_overrides`).

    Returns
    -------
    dict

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".yaml")
    >>> _ = open(path, "w").write(
    ...     "metric: loss\\nparameters:\\n  lr: {type: float, low: 0.001, "
    ...     "high: 0.01, log: true}\\n"
    ... )
    >>> load_space(path)["direction"]
    'minimize'
    """
    with open(path, encoding="utf-8") as fin:
        space = yaml.safe_load(fin)
    if not isinstance(space, dict) or not space.get("parameters"):
        raise ValueError(f"{path}: needs a `parameters` mapping")
    for name, spec in space["parameters"].items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in ("int", "float", "categorical"):
            raise ValueError(
                f"{path}: parameter {name!r} needs type int, float or "
                f"categorical, got {spec!r}"
            )
        if kind == "categorical" and not spec.get("choices"):
            raise ValueError(f"{path}: parameter {name!r} needs choices")
        if kind != "categorical" and not {"low", "high"} <= set(spec):
            raise ValueError(f"{path}: parameter {name!r} needs low and high")
    space.setdefault("metric", "score")
    space.setdefault("direction", metric_direction(space["metric"]))
    if space["direction"] not in ("minimize", "maximize"):
        raise ValueError(f"{path}: direction must be minimize or maximize")
    return space


def suggest_overrides(trial, parameters):
    """Asks the trial for a value of every parameter; returns overrides.

    Parameter specs (the YAML ``parameters`` mapping):

    * ``{type: float, low, high, log}``: a float (``log: true`` samples
      the logarithm uniformly);
    * ``{type: int, low, high, power_of}``: an integer; with
      ``power_of: b`` the integer is an exponent and the override is
      ``b ** k`` (e.g. batch size 2^[2..10]);
    * ``{type: categorical, choices}``: one of a list of values, or of a
      mapping ``label: {key: value, ...}`` whose chosen entry overrides
      several keys at once (e.g. a model size: source folder and width).

    Arguments
    ---------
    trial : optuna.trial.Trial
        The trial.
    parameters : dict
        name -> spec.

    Returns
    -------
    dict
        YAML key -> value.

    Example
    -------
    >>> import optuna
    >>> trial = optuna.trial.FixedTrial(
    ...     {"batch_size": 3, "lr": 0.002, "model": "small"}
    ... )
    >>> suggest_overrides(
    ...     trial,
    ...     {
    ...         "batch_size": {
    ...             "type": "int",
    ...             "low": 2,
    ...             "high": 10,
    ...             "power_of": 2,
    ...         },
    ...         "lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
    ...         "model": {
    ...             "type": "categorical",
    ...             "choices": {"small": {"channels": 8, "layers": 1}},
    ...         },
    ...     },
    ... )
    {'batch_size': 8, 'lr': 0.002, 'channels': 8, 'layers': 1}
    """
    overrides = {}
    for name, spec in parameters.items():
        if spec["type"] == "float":
            overrides[name] = trial.suggest_float(
                name,
                float(spec["low"]),
                float(spec["high"]),
                log=bool(spec.get("log", False)),
            )
        elif spec["type"] == "int":
            value = trial.suggest_int(name, int(spec["low"]), int(spec["high"]))
            base = spec.get("power_of")
            overrides[name] = base**value if base else value
        else:
            choices = spec["choices"]
            if isinstance(choices, dict):
                label = trial.suggest_categorical(name, list(choices))
                overrides.update(choices[label])
            else:
                overrides[name] = trial.suggest_categorical(name, choices)
    return overrides


def best_epoch_value(log_path, metric, direction):
    """Best ``valid <metric>`` over the epochs of a train_log.txt.

    Arguments
    ---------
    log_path : str
        The log.
    metric : str
        Statistic name without ``valid``.
    direction : str
        ``maximize`` or ``minimize``.

    Returns
    -------
    float

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp()
    >>> _ = open(path, "w").write(
    ...     "epoch: 1 - train loss: 2.0 - valid loss: 1.5, valid score: 0.4\\n"
    ...     "epoch: 2 - train loss: 1.0 - valid loss: 1.7, valid score: 0.6\\n"
    ... )
    >>> best_epoch_value(path, "score", "maximize")
    0.6
    >>> best_epoch_value(path, "loss", "minimize")
    1.5
    """
    values = epoch_values(log_path, metric)
    if not values:
        raise TrialFailed(f"{log_path}: no epoch with `valid {metric}`")
    return max(values) if direction == "maximize" else min(values)


def epoch_values(log_path, metric):
    """``valid <metric>`` of each logged epoch (empty before the first).

    Arguments
    ---------
    log_path : str
        A ``train_log.txt`` (may not exist yet).
    metric : str
        Statistic name without ``valid``.

    Returns
    -------
    list of float

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp()
    >>> epoch_values(path, "score")
    []
    >>> _ = open(path, "w").write("epoch: 1 - valid loss: 1.5, valid UA: 0.4")
    >>> epoch_values(path, "UA")
    [0.4]
    >>> epoch_values(path, "score")
    Traceback (most recent call last):
    ...
    ValueError: ...: no `valid score`; the log has ['valid UA', 'valid loss']
    """
    if not os.path.exists(log_path):
        return []
    rows = read_train_log(log_path)
    key = f"valid {metric}"
    if rows and key not in rows[0]:
        raise ValueError(
            f"{log_path}: no `{key}`; the log has "
            f"{sorted(k for k in rows[0] if k.startswith('valid'))}"
        )
    return [row[key] for row in rows if key in row]


def train_and_watch(command, folder, metric, on_epoch, poll_seconds=2.0):
    """Runs ``train.py`` and calls ``on_epoch(epoch, value)`` for every new
    validation epoch of its train_log.txt; stops it if that raises.

    Arguments
    ---------
    command : list of str
        The training command.
    folder : str
        Its output folder (the log goes to ``<folder>/train_log.txt``,
        the process' output to ``<folder>/stdout.txt``).
    metric : str
        The validation statistic to watch.
    on_epoch : callable
        ``(epoch index from 0, value) -> None``; may raise
        ``optuna.TrialPruned`` to stop the training.
    poll_seconds : float
        How often the log is read.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> line = "epoch: 1 - valid score: 0.5"
    >>> write = f"open('{folder}/train_log.txt', 'w').write('{line}')"
    >>> train_and_watch(
    ...     [sys.executable, "-c", write],
    ...     folder,
    ...     "score",
    ...     lambda epoch, value: print(epoch, value),
    ...     0.01,
    ... )
    0 0.5
    """
    os.makedirs(folder, exist_ok=True)
    log_path = os.path.join(folder, "train_log.txt")
    seen = 0  # a resumed run's earlier epochs are reported too
    with open(os.path.join(folder, "stdout.txt"), "a") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
        try:
            while True:
                done = process.poll() is not None
                values = epoch_values(log_path, metric)
                for epoch in range(seen, len(values)):
                    on_epoch(epoch, values[epoch])
                seen = len(values)
                if done:
                    break
                time.sleep(poll_seconds)
        except BaseException:
            process.terminate()
            process.wait()
            raise
    if process.returncode != 0:
        raise TrialFailed(
            f"{' '.join(command)} exited with {process.returncode}; see "
            f"{os.path.join(folder, 'stdout.txt')}"
        )


class Objective:
    """One trial: sample overrides, train (every fold with ``crossval``),
    report validation values to the pruner, return the best.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    space : dict
        From :func:`load_space`.
    study_folder : str
        Trials go to ``<study_folder>/trial_<n>``.
    overrides : list of str
        ``--key=value`` overrides of every trial.
    folds : list of tuple, optional
        ``(fold, fold overrides)`` from
        :func:`speechbrain_ser.evaluation.crossval.fold_overrides`.
    poll_seconds : float
        How often a running trial's log is read.

    Example
    -------
    >>> objective = Objective("recipe.yaml", {"parameters": {}}, "study")
    >>> objective.folds is None  # one training per trial, no folds
    True

    ``tests/unit/test_search.py`` runs it with a stand-in ``train.py``.
    """

    def __init__(
        self,
        hparams_file,
        space,
        study_folder,
        overrides=(),
        folds=None,
        poll_seconds=2.0,
    ):
        self.hparams_file = hparams_file
        self.space = space
        self.study_folder = study_folder
        self.overrides = list(overrides)
        self.folds = folds
        self.poll_seconds = poll_seconds

    def __call__(self, trial):
        """Runs the trial; returns its validation value."""
        import optuna

        values = suggest_overrides(trial, self.space["parameters"])
        folder = trial.user_attrs.get("folder") or os.path.join(
            self.study_folder, f"trial_{trial.number:03d}"
        )
        trial.set_user_attr("folder", folder)
        trial.set_user_attr("overrides", values)
        args = [*self.overrides, *(f"--{k}={v}" for k, v in values.items())]
        metric, direction = self.space["metric"], self.space["direction"]

        def report(step, value):
            """Reports to the pruner; raises TrialPruned when told to."""
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"trial {trial.number}: {value:.4f} at step {step}"
                )

        if self.folds is None:
            self.train(args, folder, report)
            return best_epoch_value(
                os.path.join(folder, "train_log.txt"), metric, direction
            )
        fold_values = []
        for step, (fold, fold_args) in enumerate(self.folds):
            out = os.path.join(folder, f"fold_{fold}")
            self.train([*args, *fold_args], out, lambda *_: None)
            fold_values.append(
                best_epoch_value(
                    os.path.join(out, "train_log.txt"), metric, direction
                )
            )
            trial.set_user_attr("fold_values", fold_values)
            report(step, sum(fold_values) / len(fold_values))
        return sum(fold_values) / len(fold_values)

    def train(self, args, folder, on_epoch):
        """``train.py`` with ``args`` into ``folder``, watched."""
        command = [
            *TRAIN_COMMAND,
            self.hparams_file,
            *args,
            f"--output_folder={folder}",
        ]
        logger.info("trial: " + " ".join(command))
        train_and_watch(
            command,
            folder,
            self.space["metric"],
            on_epoch,
            self.poll_seconds,
        )


def open_study(study_folder, space, study_name="search", seed=1986):
    """Creates or loads the SQLite-backed study of a search.

    Trials left RUNNING by a killed search are marked failed and queued
    again with the same values and output folder (so their training
    resumes from its checkpoint).

    Arguments
    ---------
    study_folder : str
        Holds ``study.db``.
    space : dict
        From :func:`load_space` (``direction``, ``sampler`` and ``pruner``
        options: keyword arguments of Optuna's ``TPESampler`` and
        ``MedianPruner``).
    study_name : str
        Name of the study in the database.
    seed : int
        Sampler seed.

    Returns
    -------
    optuna.Study

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> space = {"direction": "maximize", "pruner": {"n_warmup_steps": 1}}
    >>> study = open_study(folder, space)
    >>> os.path.exists(f"{folder}/study.db"), len(study.trials)
    (True, 0)
    """
    import optuna

    os.makedirs(study_folder, exist_ok=True)
    storage = "sqlite:///" + os.path.abspath(
        os.path.join(study_folder, "study.db")
    )
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction=space["direction"],
        sampler=optuna.samplers.TPESampler(
            seed=seed, **space.get("sampler", {})
        ),
        pruner=optuna.pruners.MedianPruner(**space.get("pruner", {})),
        load_if_exists=True,
    )
    for trial in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
        logger.info(f"trial {trial.number} was interrupted; queued again")
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(
            trial.params,
            user_attrs={"folder": trial.user_attrs.get("folder")},
        )
    return study


def trials_table(study):
    """Rows of every trial: number, state, value (a pruned trial's is its
    last reported one), number of epochs (folds) reported, the overridden
    values, categorical labels, folder.

    Arguments
    ---------
    study : optuna.Study
        The study.

    Returns
    -------
    list of dict

    Example
    -------
    >>> import optuna
    >>> study = optuna.create_study(direction="maximize")
    >>> study.enqueue_trial({"lr": 0.002})
    >>> study.optimize(lambda t: t.suggest_float("lr", 1e-3, 1e-2), n_trials=1)
    >>> trials_table(study)
    [{'trial': 0, 'state': 'COMPLETE', 'value': 0.002, 'steps reported': 0, \
'lr': 0.002, 'folder': ''}]
    """
    rows = []
    for trial in study.get_trials():
        row = {
            "trial": trial.number,
            "state": trial.state.name,
            "value": trial.value,
            "steps reported": len(trial.intermediate_values),
        }
        row.update(trial.user_attrs.get("overrides", {}))
        for name, value in trial.params.items():  # e.g. a model size label
            row.setdefault(name, value)
        row["folder"] = trial.user_attrs.get("folder", "")
        rows.append(row)
    return rows


def write_results(study, study_folder, metric):
    """trials.csv, trials.md and the PNG plots of a study.

    Arguments
    ---------
    study : optuna.Study
        The study.
    study_folder : str
        Output folder.
    metric : str
        The optimised validation statistic (table header).

    Returns
    -------
    list of str
        The files written.

    Example
    -------
    >>> import tempfile
    >>> import optuna
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(lambda t: t.suggest_float("lr", 1e-3, 1e-2), n_trials=2)
    >>> folder = tempfile.mkdtemp()
    >>> [os.path.basename(f) for f in write_results(study, folder, "score")]
    ... # doctest: +ELLIPSIS
    ['trials.csv', 'trials.md', 'history.png', ...]
    """
    rows = trials_table(study)
    if not rows:
        return []
    columns = list(dict.fromkeys(key for row in rows for key in row))
    written = [os.path.join(study_folder, name) for name in ("trials.csv",)]
    with open(written[0], "w", newline="", encoding="utf-8") as fout:
        writer = csv.DictWriter(fout, columns)
        writer.writeheader()
        writer.writerows(rows)

    def cell(value):
        """A table cell: 4 significant digits for floats."""
        if isinstance(value, float):
            return f"{value:.4g}"
        return "" if value is None else str(value)

    header = [f"valid {metric}" if c == "value" else c for c in columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += [
        "| " + " | ".join(cell(row.get(c)) for c in columns) + " |"
        for row in rows
    ]
    path = os.path.join(study_folder, "trials.md")
    completed = [r for r in rows if r["state"] == "COMPLETE"]
    with open(path, "w", encoding="utf-8") as fout:
        if completed:
            best = study.best_trial
            fout.write(
                f"Best: trial {best.number}, valid {metric} "
                f"{best.value:.4f}, {best.user_attrs.get('overrides')}\n\n"
            )
        fout.write("\n".join(lines) + "\n")
    written.append(path)
    written += write_plots(study, study_folder)
    return written


def write_plots(study, study_folder):
    """Optuna's history, intermediate values and importances as PNG.

    A plot Optuna refuses to draw is skipped with a warning.

    Arguments
    ---------
    study : optuna.Study
        The study.
    study_folder : str
        Output folder.

    Returns
    -------
    list of str
        The PNG files written.

    Example
    -------
    >>> import tempfile
    >>> import optuna
    >>> study = optuna.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    >>> [os.path.basename(p) for p in write_plots(study, tempfile.mkdtemp())]
    ['history.png', 'intermediate_values.png', 'importances.png']
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm

    written = []
    for name, plot in (
        ("history", ovm.plot_optimization_history),
        ("intermediate_values", ovm.plot_intermediate_values),
        ("importances", ovm.plot_param_importances),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning
            try:
                ax = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError) as error:
                logger.warning(f"no {name} plot yet: {error}")
                continue
        figure = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        figure.set_size_inches(6.4, 4.0)
        figure.tight_layout()
        path = os.path.join(study_folder, f"{name}.png")
        figure.savefig(path, dpi=80)
        plt.close(figure)
        written.append(path)
    return written


def build_parser():
    """The argument parser of the search command.

    Returns
    -------
    argparse.ArgumentParser

    Example
    -------
    >>> args, rest = build_parser().parse_known_args(
    ...     [
    ...         "r.yaml",
    ...         "--space=s.yaml",
    ...         "--n_trials=2",
    ...         "--study_folder=d",
    ...         "--lr=0.1",
    ...     ]
    ... )
    >>> args.n_trials, args.crossval, rest
    (2, False, ['--lr=0.1'])
    """
    parser = argparse.ArgumentParser(
        prog="speechbrain-ser search",
        description=__doc__.split("\n\n")[0],
        epilog="Arguments after -- (and unknown --key=value ones) are "
        "overrides of every trial's train.py.",
    )
    parser.add_argument("hparams", help="the recipe YAML")
    parser.add_argument("--space", required=True, help="search-space YAML")
    parser.add_argument("--n_trials", type=int, required=True)
    parser.add_argument("--study_folder", required=True)
    parser.add_argument("--study_name", default="search")
    parser.add_argument("--seed", type=int, default=1986)
    parser.add_argument(
        "--crossval",
        action="store_true",
        help="each trial runs every fold; objective = mean over folds",
    )
    parser.add_argument("--fold_key", default="fold")
    parser.add_argument("--folds", default=None)
    parser.add_argument("--valid_key", default=None)
    parser.add_argument("--poll_seconds", type=float, default=2.0)
    return parser


def main(argv=None):
    """Command-line entry point (see the module docstring).

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    optuna.Study

    Example
    -------
    >>> try:
    ...     main(["--help"])
    ... except SystemExit as exit:
    ...     print("exit status", exit.code)  # doctest: +ELLIPSIS
    usage: speechbrain-ser search ...
    exit status 0
    """

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        cut = argv.index("--")
        argv, overrides = argv[:cut], argv[cut + 1 :]
    else:
        overrides = []
    args, unknown = build_parser().parse_known_args(argv)
    overrides = unknown + overrides
    space = load_space(args.space)
    folds = None
    if args.crossval:
        values = read_hparams_values(args.hparams, overrides)
        if args.folds is None:
            if "n_folds" not in values:
                raise ValueError(
                    f"{args.hparams}: no n_folds; give the folds with --folds"
                )
            fold_list = [str(k) for k in range(int(values["n_folds"]))]
        else:
            fold_list = [f.strip() for f in args.folds.split(",")]
        valid_key = args.valid_key or default_valid_key(args.fold_key, values)
        if valid_key and valid_key.lower() == "none":
            valid_key = None
        folds = fold_overrides(args.fold_key, fold_list, valid_key)
    with RunLock(args.study_folder):  # one search process per folder
        return _search(args, space, overrides, folds)


def _search(args, space, overrides, folds):
    """The study part of :func:`main`, run under the folder's lock."""
    import optuna

    study = open_study(args.study_folder, space, args.study_name, args.seed)
    # `kill <pid>` stops the running trial's train.py too (see
    # train_and_watch); the trial is queued again on the next call.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    objective = Objective(
        args.hparams,
        space,
        args.study_folder,
        overrides,
        folds,
        args.poll_seconds,
    )
    finished = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
    )
    study.optimize(
        objective,
        n_trials=max(0, args.n_trials - len(study.get_trials(states=finished))),
        catch=(TrialFailed,),
        callbacks=[
            optuna.study.MaxTrialsCallback(args.n_trials, states=finished),
            lambda study, _: write_results(
                study, args.study_folder, space["metric"]
            ),
        ],
    )
    written = write_results(study, args.study_folder, space["metric"])
    print("\n".join(written))
    return study


if __name__ == "__main__":
    main()
