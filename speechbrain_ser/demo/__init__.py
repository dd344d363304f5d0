"""The built-in synthetic demo corpus.

espeak-ng voices with emotion prosody presets; see ``prepare.py``.
"""
