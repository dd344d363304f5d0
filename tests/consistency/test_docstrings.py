"""Every public function and class has a numpy docstring with an Example.

SpeechBrain's ``tests/consistency/test_docstrings.py`` requires a
docstring on every module, class and function not starting with ``_``.
This check applies the stricter rule its ``DOCSTRINGS.md`` describes, to
``speechbrain_ser``:

* every module has a docstring;
* every public module-level function and class has a numpy docstring
  with an ``Arguments`` section (when it takes any: the function's
  parameters, a class's ``__init__`` parameters), a ``Returns`` or
  ``Yields`` section (when a function returns or yields a value) and an
  ``Example`` section holding a doctest (pytest runs them with
  ``--doctest-modules``);
* every public method and every nested helper has a docstring
  (module-level names starting with ``_`` are skipped, as upstream).
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
PACKAGE = os.path.join(os.path.abspath(ROOT), "speechbrain_ser")


def package_files():
    """Every ``.py`` file of the package, relative to the repository."""
    paths = []
    for folder, _, names in os.walk(PACKAGE):
        for name in sorted(names):
            if name.endswith(".py"):
                paths.append(os.path.join(folder, name))
    return sorted(paths)


def sections(docstring):
    """Names of the numpy sections (a title underlined with dashes)."""
    lines = [line.strip() for line in docstring.splitlines()]
    return {
        title
        for title, underline in zip(lines, lines[1:])
        if title and underline and set(underline) == {"-"}
    }


def parameters(function, skip_first=False):
    """Parameter names of a ``def``, without ``self``/``cls``."""
    args = function.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if skip_first and names:
        names = names[1:]
    for star in (args.vararg, args.kwarg):
        if star is not None:
            names.append(star.arg)
    return names


def own_nodes(function):
    """Nodes of a function's body, not those of nested defs or classes."""
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, scopes):
            stack.extend(ast.iter_child_nodes(node))


def returns_value(function):
    """Whether a function returns (or yields) something other than None."""
    for node in own_nodes(function):
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Return) and node.value is not None:
            if not (
                isinstance(node.value, ast.Constant)
                and node.value.value is None
            ):
                return True
    return False


def public_problems(node, where):
    """Problems of a public module-level function or class docstring."""
    docstring = ast.get_docstring(node)
    if not docstring:
        return [f"{where}: no docstring"]
    found = sections(docstring)
    problems = []
    if "Example" not in found or ">>>" not in docstring:
        problems.append(f"{where}: no Example section with a doctest")
    if isinstance(node, ast.ClassDef):
        init = next(
            (
                item
                for item in node.body
                if isinstance(item, ast.FunctionDef) and item.name == "__init__"
            ),
            None,
        )
        takes = init is not None and parameters(init, skip_first=True)
        gives = False
    else:
        takes = parameters(node)
        gives = returns_value(node)
    if takes and "Arguments" not in found:
        problems.append(f"{where}: no Arguments section")
    if gives and not found & {"Returns", "Yields"}:
        problems.append(f"{where}: no Returns section")
    return problems


def nested_problems(node, where):
    """Methods and nested helpers without a docstring."""
    problems = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{where}.{child.name}"
            in_class = isinstance(node, ast.ClassDef)
            private = child.name.startswith("_")
            if not (in_class and private) and not ast.get_docstring(child):
                problems.append(f"{name}: no docstring")
            problems += nested_problems(child, name)
        elif isinstance(child, ast.ClassDef):
            name = f"{where}.{child.name}"
            if not ast.get_docstring(child):
                problems.append(f"{name}: no docstring")
            problems += nested_problems(child, name)
        elif not isinstance(child, (ast.expr, ast.arg, ast.arguments)):
            problems += nested_problems(child, where)
    return problems


def file_problems(path):
    """Every docstring problem of one file, as ``file:line name: what``."""
    with open(path, encoding="utf-8") as fin:
        tree = ast.parse(fin.read(), filename=path)
    relative = os.path.relpath(path, os.path.dirname(PACKAGE))
    problems = []
    if not ast.get_docstring(tree):
        problems.append(f"{relative}: no module docstring")
    for node in tree.body:
        if not isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ):
            continue
        where = f"{relative}:{node.lineno} {node.name}"
        if not node.name.startswith("_"):  # private: as upstream, skipped
            problems += public_problems(node, where)
        problems += nested_problems(node, where)
    return problems


@pytest.mark.parametrize(
    "path",
    package_files(),
    ids=lambda path: os.path.relpath(path, os.path.dirname(PACKAGE)),
)
def test_docstrings(path):
    """Public objects: numpy docstring with Example; helpers: a docstring."""
    problems = file_problems(path)
    assert not problems, "\n".join(problems)


def test_checker_catches_missing_sections():
    """The checker itself reports what it is meant to find."""
    source = '''
"""Module."""


def documented(x):
    """Doubles.

    Arguments
    ---------
    x : int
        A number.

    Returns
    -------
    int

    Example
    -------
    >>> documented(1)
    2
    """

    def helper():
        return 1

    return 2 * x


def bare(x):
    """Doubles."""
    return 2 * x
'''
    tree = ast.parse(source)
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found += public_problems(node, node.name)
            found += nested_problems(node, node.name)
    assert found == [
        "documented.helper: no docstring",
        "bare: no Example section with a doctest",
        "bare: no Arguments section",
        "bare: no Returns section",
    ]
