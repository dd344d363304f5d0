"""speechbrain-ser: speech emotion recognition on top of SpeechBrain."""

__version__ = "0.1.0"
