"""Checks of a training command before anything is built.

:func:`check_command` runs in ``run.py`` before the YAML is loaded (so
before any model is built): overrides of the wrong type
(``--lr=abc``: "lr: expected a number, got 'abc'"), a CUDA device on
a machine without CUDA, and a ``--*_source`` override that is neither a
local folder nor a Hugging Face id. :func:`check_pretrained_files` runs
before data preparation: a YAML whose ``pretrainer`` needs the result of an earlier
run (fusion's ASR encoder, a fine-tuning's pre-trained encoder) names the
missing file and the command that makes it (the YAML's
``pretrained_by``). Each raises :class:`RunError`, which ``run.py``'s
``main`` prints as one line with exit status 2 (a traceback only with
``--debug``).

Authors
 * speechbrain-ser developers 2026
"""

import os
import re

import torch

# A Hugging Face model id: "name" or "namespace/name"
HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class RunError(ValueError):
    """A user-facing problem of a run's command or YAML (one line).

    Example
    -------
    >>> try:
    ...     check_sources({"asr_source": "no/such/folder/x"})
    ... except RunError as error:
    ...     print(str(error).split(":")[0])
    --asr_source=no/such/folder/x
    """


def _plain_values(text):
    """Top-level plain values (numbers, bools, strings) of a YAML text
    (tagged nodes and references are left out)."""
    import ruamel.yaml

    try:
        data = ruamel.yaml.YAML(typ="safe", pure=True).load(text)
    except ruamel.yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    return data


def _yaml_values(hparams_file):
    """Top-level values of a YAML file as written (tagged nodes such as
    ``!ref`` and ``!PLACEHOLDER`` stay tagged nodes, not numbers)."""
    from ruamel.yaml import YAML

    try:
        with open(hparams_file, encoding="utf-8") as fin:
            data = YAML(typ="rt").load(fin)
    except Exception:  # an unusual YAML: HyperPyYAML reports it later
        return {}
    return dict(data) if isinstance(data, dict) else {}


def _is_bool(value):
    # ruamel's round-trip loader gives ScalarBoolean (an int) for true/false
    return isinstance(value, bool) or type(value).__name__ == "ScalarBoolean"


def _is_number(value):
    return isinstance(value, (int, float)) and not _is_bool(value)


def override_problems(defaults, overrides):
    """Overrides whose type does not fit the YAML's value.

    Arguments
    ---------
    defaults : dict
        The YAML's top-level values.
    overrides : dict
        The command line's ``--key=value`` overrides, parsed as YAML.

    Returns
    -------
    list of str
        One message per bad override.

    Example
    -------
    >>> override_problems({"lr": 0.001, "seed": 1}, {"lr": "abc", "seed": 2})
    ["lr: expected a number, got 'abc'"]
    >>> override_problems({"augment": True}, {"augment": "yes please"})
    ["augment: expected true or false, got 'yes please'"]
    """
    problems = []
    for key, value in overrides.items():
        if key not in defaults or value is None:
            continue
        default = defaults[key]
        if _is_number(default) and not _is_number(value):
            try:
                float(value)
            except (TypeError, ValueError):
                problems.append(f"{key}: expected a number, got {value!r}")
        elif _is_bool(default) and isinstance(value, str):  # not 0/1/3
            problems.append(f"{key}: expected true or false, got {value!r}")
    return problems


def check_command(hparams_file, run_opts, overrides):
    """Checks overrides and the device before the YAML is loaded.

    Arguments
    ---------
    hparams_file : str
        The recipe YAML.
    run_opts : dict
        SpeechBrain's run options (``device``...).
    overrides : str
        The overrides as a YAML string (``sb.parse_arguments``).

    Raises
    ------
    RunError
        Naming the bad value.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".yaml")
    >>> _ = open(path, "w").write(
    ...     "lr: 0.001\\nmodel: !new:torch.nn.Identity\\n"
    ... )
    >>> check_command(path, {}, "lr: 0.01")
    >>> check_command(path, {}, "lr: abc")
    Traceback (most recent call last):
    ...
    speechbrain_ser.run_checks.RunError: lr: expected a number, got 'abc'
    """
    if not os.path.isfile(hparams_file):
        raise RunError(f"{hparams_file}: no such hparams file")
    device = str(run_opts.get("device") or "")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RunError(
            f"--device={device}: CUDA is not available on this machine "
            "(torch.cuda.is_available() is False); use --device=cpu"
        )
    given = _plain_values(overrides or "")
    problems = override_problems(_yaml_values(hparams_file), given)
    if problems:
        raise RunError("; ".join(problems))
    check_sources(given)  # e.g. --asr_source, before a model loads it


def check_pretrained_files(hparams):
    """Names a pre-trained file the YAML needs and no run has made yet.

    A ``pretrainer`` path that looks local (it exists, or its folder
    exists, or it starts with ``results/``, ``./`` or ``/``) must exist;
    otherwise the error names the file, its key in the pretrainer, and the
    YAML's ``pretrained_by`` (the command that makes it), or says that
    ``--pretrainer=null`` trains without it.

    Arguments
    ---------
    hparams : dict
        The loaded YAML.

    Raises
    ------
    RunError

    Example
    -------
    >>> from speechbrain.utils.parameter_transfer import Pretrainer
    >>> pretrainer = Pretrainer(paths={"encoder": "results/x/1/encoder.ckpt"})
    >>> check_pretrained_files(
    ...     {
    ...         "pretrainer": pretrainer,
    ...         "pretrained_by": "python train.py x.yaml",
    ...     }
    ... )
    Traceback (most recent call last):
    ...
    speechbrain_ser.run_checks.RunError: results/x/1/encoder.ckpt (the pretrainer's encoder) does not exist yet; an earlier run makes it: python train.py x.yaml
    """
    pretrainer = hparams.get("pretrainer")
    paths = getattr(pretrainer, "paths", None) or {}
    for name, path in paths.items():
        path = str(path)
        local = (
            path.startswith(("results/", "./", "../", "/"))
            or os.path.isdir(os.path.dirname(path) or ".")
            and os.sep in path
        )
        if not local or os.path.exists(path):
            continue
        made_by = hparams.get("pretrained_by")
        how = (
            f"an earlier run makes it: {made_by}"
            if made_by
            else "train that model first, or pass --pretrainer=null to "
            "train without it"
        )
        raise RunError(
            f"{path} (the pretrainer's {name}) does not exist yet; {how}"
        )


def check_sources(hparams):
    """Every ``*_source`` key (``asr_source``, ``whisper_source``...) names
    a local folder or is a Hugging Face id (``namespace/name``).

    Arguments
    ---------
    hparams : dict
        Keys and values, e.g. the command line's overrides.

    Raises
    ------
    RunError
        Naming the key, e.g. for a path that does not exist.

    Example
    -------
    >>> check_sources({"asr_source": "openai/whisper-tiny.en"})
    >>> check_sources({"asr_source": "models/gone/whisper"})
    Traceback (most recent call last):
    ...
    speechbrain_ser.run_checks.RunError: --asr_source=models/gone/whisper: no such local folder, and not a Hugging Face id (namespace/name)
    """
    for key, value in hparams.items():
        if not key.endswith("_source") or not isinstance(value, str):
            continue
        if not value or os.path.exists(value) or HF_ID.match(value):
            continue
        raise RunError(
            f"--{key}={value}: no such local folder, and not a Hugging Face "
            "id (namespace/name)"
        )
