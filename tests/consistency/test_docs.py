"""The user-facing documents: their links resolve, and they name nothing
that only exists in the developers' workspace."""

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
DOCUMENTS = sorted(
    [os.path.join(ROOT, "README.md")]
    + glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
    + glob.glob(
        os.path.join(ROOT, "recipes", "**", "README.md"), recursive=True
    )
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_relative_links_resolve():
    broken = []
    for document in DOCUMENTS:
        text = open(document).read()
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            path = os.path.join(os.path.dirname(document), target)
            if not os.path.exists(path):
                broken.append(f"{os.path.relpath(document, ROOT)}: {target}")
    assert not broken, broken


def test_no_workspace_paths():
    """Say "a local copy of openai/whisper-tiny.en (any Hugging Face
    Whisper folder)", not where this workspace keeps one."""
    named = [
        os.path.relpath(document, ROOT)
        for document in DOCUMENTS
        if "../shared/" in open(document).read()
    ]
    assert not named, named
