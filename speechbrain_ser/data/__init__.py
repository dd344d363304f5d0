"""Corpus preparers, manifest schema, shared data pipelines, demo corpus."""
