"""Brain subclasses, one per training objective."""

from speechbrain_ser.brains.cpc import CPCBrain, JointCPCBrain
from speechbrain_ser.brains.emotion import EmotionBrain
from speechbrain_ser.brains.sa2sr import SA2SRBrain
from speechbrain_ser.brains.speech_text import SpeechTextBrain
from speechbrain_ser.brains.tokenwise import (
    TokenwiseContrastiveBrain,
    TranscriptEmotionBrain,
)

__all__ = [
    "CPCBrain",
    "EmotionBrain",
    "JointCPCBrain",
    "SA2SRBrain",
    "TokenwiseContrastiveBrain",
    "TranscriptEmotionBrain",
    "SpeechTextBrain",
]
