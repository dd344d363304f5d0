"""The commands the docs show use flags and YAML keys that exist.

Issue 22, item 7: every command of README.md, docs/, the recipe READMEs,
the YAMLs' comments and the ``speechbrain-ser`` docstring (its ``--help``
examples) runs as written. What can be checked without running them:

* ``speechbrain-ser <command> --flag``: the command exists and its
  parser (``speechbrain_ser.cli.build_parser``) knows the flag;
* ``python train.py <yaml> --key=value`` and ``python -m
  speechbrain_ser.evaluation.{crossval,ensemble,search} <yaml>
  --key=value``: the YAML exists (next to the README, or from the
  repository root) and has the key, unless it is a flag of that module or
  one of SpeechBrain's run options.

Commands with placeholders (``<yaml>``, ``...``) are checked as far as
they are written. That the commands run on the demo corpus is tested by
the integration tests (test_documented_commands.py and each recipe's).
"""

import functools
import glob
import os
import re
import shlex

from speechbrain.utils.run_opts import RunOptions

from speechbrain_ser.cli import build_parser

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = sorted(
    ["README.md", "recipes/README.md"]
    + [  # module docstrings: the --help of python -m speechbrain_ser.*
        os.path.relpath(p, ROOT)
        for p in glob.glob(f"{ROOT}/speechbrain_ser/**/*.py", recursive=True)
    ]
    + [os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/docs/*.md")]
    + [os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/docs/*/*.md")]
    + [os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/hparams/*.yaml")]
    + [
        os.path.relpath(p, ROOT)
        for p in glob.glob(f"{ROOT}/recipes/*/*/hparams/*.yaml")
    ]
    + [
        os.path.relpath(p, ROOT)
        for p in glob.glob(f"{ROOT}/recipes/*/*/README.md")
    ]
)
COMMAND = re.compile(
    r"(speechbrain-ser [a-z-]+ [^`|;&)#\n]*"
    r"|python -m speechbrain_ser\.[\w.]+ [^`|;&)#\n]*"
    r"|python train\.py [^`|;&)#\n]*)"
)
MODULES = {  # module -> its source, whose add_argument flags it takes
    "speechbrain_ser.evaluation.crossval": "evaluation/crossval.py",
    "speechbrain_ser.evaluation.ensemble": "evaluation/ensemble.py",
    "speechbrain_ser.evaluation.search": "evaluation/search.py",
    "speechbrain_ser.run": "run.py",
}


def subcommand_flags():
    """``{command: {flags}}`` of ``speechbrain-ser``."""
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.choices]
    flags = {
        name: {o for a in sub._actions for o in a.option_strings}
        for name, sub in commands.choices.items()
    }
    flags["search"] = module_flags("speechbrain_ser.evaluation.search")
    return flags


@functools.lru_cache
def module_flags(module):
    """The ``--flags`` a module's argument parser declares."""
    path = os.path.join(ROOT, "speechbrain_ser", MODULES[module])
    with open(path, encoding="utf-8") as fin:
        text = fin.read()
    return set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", text))


def code_of(doc, text):
    r"""The code a document shows: a Markdown file's code blocks and inline
    code, a module's docstring (its ``--help`` examples).

    Example
    -------
    >>> fence = "`" * 3
    >>> code_of("a.md", f"Run `x --y` or\n{fence}bash\nz --w\n{fence}\n")
    ['z --w\n', 'x --y']
    """
    if doc.endswith(".py"):
        parts = text.split('"""')
        return [parts[1].split("Authors")[0]] if len(parts) > 2 else []
    if doc.endswith(".yaml"):  # the commands in its comments
        return re.findall(r"^#+ ?(.*)$", text, re.M)
    block = r"```[a-z]*\n(.*?)```"
    blocks = re.findall(block, text, re.S)
    rest = re.sub(block, "", text, flags=re.S).replace("\n", " ")
    return blocks + re.findall(r"`([^`]+)`", rest)


def documented_commands(code):
    r"""Commands in a piece of code, continuation lines joined.

    Example
    -------
    >>> documented_commands("speechbrain-ser tsne --run r \\\n  --out o")
    ['speechbrain-ser tsne --run r --out o']
    """
    code = re.sub(r"\s*\\{1,2}\n\s*", " ", code)  # "\\" in a docstring
    return [m.group(1).strip() for m in COMMAND.finditer(code)]


@functools.lru_cache
def yaml_keys(path):
    """The top-level keys of a YAML (lines that start with ``key:``)."""
    with open(path, encoding="utf-8") as fin:
        return set(re.findall(r"^([A-Za-z_]\w*):", fin.read(), re.M))


def command_problems(command, folder, flags, run_options):
    """What in ``command`` does not exist (``folder``: where it runs)."""
    command = command.replace("[", " ").replace("]", " ")  # optional parts
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if "--" in words:  # the rest goes to another command (search)
        words = words[: words.index("--")]
    given = [w.split("=")[0] for w in words if w.startswith("--")]
    if words[0] == "speechbrain-ser":
        if words[1] not in flags:
            return [f"no command {words[1]!r}"]
        known = flags[words[1]] | {"--debug", "--help"}
        return [f"{words[1]}: no flag {f}" for f in given if f not in known]
    if words[:2] == ["python", "-m"]:
        if words[2] not in MODULES:
            return []
        known = module_flags(words[2])
    else:
        known = set()
    yamls = [w for w in words if w.endswith(".yaml")]
    if not yamls or re.search(r"[<>]|\.\.\.|X\.yaml|my_", yamls[0]):
        return []
    # next to the README, from the root, or (recipes/README.md) any recipe
    places = [os.path.join(folder, yamls[0]), f"{ROOT}/{yamls[0]}"]
    places += sorted(glob.glob(f"{ROOT}/recipes/*/*/{yamls[0]}"))
    path = next((p for p in places if os.path.isfile(p)), None)
    if path is None:
        return [f"no {yamls[0]}"]
    keys = {f"--{key}" for key in yaml_keys(path) | run_options}
    return [
        f"{yamls[0]} has no key {flag[2:]}"
        for flag in given
        if flag not in known | keys | {"--help", "--debug"}
    ]


def help_texts():
    """``speechbrain-ser <command> --help`` of every command (epilogs
    with examples included)."""
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.choices]
    return {
        f"speechbrain-ser {name} --help": sub.format_help()
        for name, sub in commands.choices.items()
    }


def test_documented_commands_use_existing_flags_and_keys():
    flags = subcommand_flags()
    run_options = set(RunOptions().as_dict())
    problems, checked = [], 0
    helps = help_texts()
    for doc in DOCS + sorted(helps):
        if doc in helps:
            code = [helps[doc]]
        else:
            with open(os.path.join(ROOT, doc), encoding="utf-8") as fin:
                code = code_of(doc, fin.read())
        commands = [c for piece in code for c in documented_commands(piece)]
        folder = os.path.join(ROOT, os.path.dirname(doc))
        if doc.endswith(".yaml"):  # its commands run above hparams/
            folder = os.path.dirname(folder)
        if doc.endswith(".py") or doc in helps:  # the repository's root
            folder = ROOT
        for command in commands:
            checked += 1
            problems += [
                f"{doc}: {command}: {problem}"
                for problem in command_problems(
                    command, folder, flags, run_options
                )
            ]
    assert checked > 100
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_wrong_flag_and_key():
    flags = subcommand_flags()
    demo = f"{ROOT}/hparams/demo.yaml"
    cases = {
        "speechbrain-ser tsne --run r --modul x": "tsne: no flag --modul",
        "speechbrain-ser plot --out x": "no command 'plot'",
        f"python train.py {demo} --n_epochs=3": "has no key n_epochs",
        "python -m speechbrain_ser.evaluation.ensemble "
        f"{demo} --n-models 3": "has no key n-models",
    }
    for command, expected in cases.items():
        found = command_problems(command, ROOT, flags, set())
        assert any(expected in p for p in found), (command, found)
    fine = f"python -m speechbrain_ser.evaluation.ensemble {demo} --n_models 3"
    assert command_problems(fine, ROOT, flags, set()) == []
