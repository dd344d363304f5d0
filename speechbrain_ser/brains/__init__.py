"""Brain subclasses, one per training objective."""

from speechbrain_ser.brains.emotion import EmotionBrain

__all__ = ["EmotionBrain"]
