"""Sphinx configuration of the API reference (built from the docstrings).

Build it with ``python -m sphinx -W -b html docs/api docs/api/_build``.
Each package has one page (``<package>.rst``, its title and intro); the
modules of the package are appended to that page when it is read, so a new
module appears without editing the page, and a new package without a page
stops the build.
"""

import os
import pkgutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
sys.path.insert(0, ROOT)

import speechbrain_ser  # noqa: E402

project = "speechbrain-ser"
author = "speechbrain-ser contributors"
release = speechbrain_ser.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # numpy-style docstrings, as in SpeechBrain
    "sphinx.ext.viewcode",
]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
# SpeechBrain's section names: "Arguments" is napoleon's alias of
# "Parameters", "Example" and "Returns" are built in.
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings state the types
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
# Cross-references to other projects are not resolved (no intersphinx: the
# build works offline), so docstrings may name torch or SpeechBrain types.
nitpicky = False


def package_modules(package):
    """The modules (not sub-packages) directly inside ``package``."""
    module = __import__(package, fromlist=["__path__"])
    return sorted(
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(module.__path__)
        if not info.ispkg
    )


def packages():
    """``speechbrain_ser`` and each of its sub-packages."""
    return ["speechbrain_ser"] + sorted(
        f"speechbrain_ser.{info.name}"
        for info in pkgutil.iter_modules(speechbrain_ser.__path__)
        if info.ispkg
    )


def module_sections(package):
    """reStructuredText: one section per module of ``package``."""
    text = []
    for name in package_modules(package):
        text += ["", name, "-" * len(name), "", f".. automodule:: {name}", ""]
    return "\n".join(text) + "\n"


def append_modules(app, docname, source):
    """Appends the modules of the package a page documents."""
    package = "speechbrain_ser" + (
        "" if docname == "speechbrain_ser" else f".{docname}"
    )
    if docname != "index" and package in packages():
        source[0] += module_sections(package)


def check_pages(app):
    """Every package has a page."""
    for package in packages():
        page = package.split(".", 1)[-1]
        if not os.path.exists(os.path.join(app.srcdir, f"{page}.rst")):
            raise RuntimeError(
                f"{package} has no page: add docs/api/{page}.rst and list "
                "it in docs/api/index.rst"
            )


def setup(app):
    """Sphinx hooks."""
    app.connect("builder-inited", check_pages)
    app.connect("source-read", append_modules)
