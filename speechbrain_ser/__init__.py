"""speechbrain-ser: speech emotion recognition on top of SpeechBrain."""

import logging

__version__ = "0.1.0"


def _drop_torchvision_warning(record):
    """SpeechBrain warns at import that figures cannot be saved without
    torchvision; this package draws its figures with matplotlib."""
    return "torchvision is not available" not in record.getMessage()


logging.getLogger("speechbrain.utils.train_logger").addFilter(
    _drop_torchvision_warning
)
