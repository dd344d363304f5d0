"""The package's modules import each other without cycles, and never
the tests/ folder (which an installed package lacks), doctests included.

Data flows one way (preparer -> manifest -> pipelines -> Brain ->
inference): a module never imports, even inside a function, a module that
imports it back, directly or through others.
"""

import ast
import doctest
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = "speechbrain_ser"


def module_names():
    """Dotted name -> file of every module of the package."""
    modules = {}
    for folder, _, names in os.walk(os.path.join(ROOT, PACKAGE)):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            modules[dotted.removesuffix(".__init__")] = path
    return modules


def imports(path, modules):
    """The package modules a file imports (anywhere in the file)."""
    with open(path, encoding="utf-8") as fin:
        tree = ast.parse(fin.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for child in sorted(graph[node]):
            if state.get(child) == "open":
                return path[path.index(child) :] + [child]
            if child not in state:
                cycle = visit(child, path + [child])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [node])
            if cycle:
                return cycle
    return None


def test_no_import_cycle():
    """No module reaches itself through its imports."""
    modules = module_names()
    graph = {
        name: imports(path, modules) - {name} for name, path in modules.items()
    }
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder():
    """The finder reports a cycle and accepts a chain."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def doctest_sources(path):
    """The source of every doctest example in a file's docstrings."""
    with open(path, encoding="utf-8") as fin:
        tree = ast.parse(fin.read())
    parser = doctest.DocTestParser()
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        docstring = isinstance(node, kinds) and ast.get_docstring(node)
        for example in parser.get_examples(docstring or ""):
            yield example.source


def test_package_never_imports_the_tests_folder():
    """An installed package has no tests/: neither its code nor its
    doctests may import from it."""
    found = []
    for path in module_names().values():
        sources = [open(path, encoding="utf-8").read()]
        sources += doctest_sources(path)
        for source in sources:
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                else:
                    continue
                found += [
                    f"{os.path.relpath(path, ROOT)}: {name}"
                    for name in names
                    if name.split(".")[0] == "tests"
                ]
    assert not found, "imports of tests/: " + ", ".join(found)
