"""The character set of character-level CTC models.

29 symbols, as in SA2SR (Ghriss et al. 2022, sec. 4.2): the CTC blank, space,
apostrophe and the 26 letters a-z. Transcripts are lower-cased, letters
with diacritics lose them, and anything else (digits, punctuation) is
dropped or turned into a space.

Authors
 * speechbrain-ser developers 2026
"""

import re
import unicodedata

from speechbrain.dataio.encoder import CTCTextEncoder

CHARACTERS = (" ", "'") + tuple("abcdefghijklmnopqrstuvwxyz")
BLANK = "<blank>"


def normalize_transcript(text):
    """Lower-cases ``text`` and keeps only letters, apostrophes and spaces.

    Arguments
    ---------
    text : str
        A transcript, cased and punctuated or not.

    Returns
    -------
    str

    Example
    -------
    >>> normalize_transcript('"Margaret," said Mr. Hale -- CAFÉ! It\\'s 9.')
    "margaret said mr hale cafe it's"
    """
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^a-z' ]+", " ", text)
    text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)  # quotes, not it's
    return " ".join(text.split())


def character_encoder():
    """A CTCTextEncoder over :data:`CHARACTERS`, blank at index 0.

    Returns
    -------
    CTCTextEncoder
        29 labels.

    Example
    -------
    >>> encoder = character_encoder()
    >>> len(encoder), encoder.get_blank_index()
    (29, 0)
    >>> encoder.encode_sequence(list("it's"))
    [11, 22, 2, 21]
    """
    encoder = CTCTextEncoder()
    encoder.insert_blank(BLANK, index=0)
    encoder.update_from_iterable(CHARACTERS, sequence_input=False)
    encoder.expect_len(len(CHARACTERS) + 1)
    return encoder
