"""Emotion recognition on new audio: recognizers, corpus and segment
prediction, ONNX export and speech activity.

The layers go one way: :mod:`~speechbrain_ser.inference.corpus` and
:mod:`~speechbrain_ser.inference.segments` call a recognizer
(:mod:`~speechbrain_ser.inference.recognizers`), which never calls them
back.
"""

from speechbrain_ser.inference.recognizers import (
    EmotionRecognizer,
    SpeechTextRecognizer,
    load_recognizer,
)

__all__ = ["EmotionRecognizer", "SpeechTextRecognizer", "load_recognizer"]
