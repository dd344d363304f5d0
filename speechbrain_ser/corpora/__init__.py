"""Corpus preparers: one module per corpus.

Each writes the manifest format of ``docs/manifest.md``.
"""
