"""The sentence bank of the built-in demo corpus (written for this project).

Sentences are a topic followed by a comment of positive, negative or
neutral content; topics x comments give several hundred sentences per
polarity. Topics and comments are dealt into two disjoint halves, ``main``
(the labelled demo corpus) and ``alt`` (an unlabelled pre-training set with
other sentences), so that pre-training and fine-tuning data never share a
sentence.

Authors
 * speechbrain-ser developers 2026
"""

TOPICS = (
    "The trip to the coast",
    "Our new neighbour",
    "The meeting this morning",
    "My sister's wedding",
    "The match last night",
    "Dinner at the corner cafe",
    "The new phone",
    "Your letter",
    "The weekend in the mountains",
    "The school concert",
    "The job interview",
    "Grandma's visit",
    "The train ride home",
    "The garden party",
    "The repair of the roof",
    "The exam results",
    "The hotel room",
    "The birthday dinner",
    "The film we saw",
    "The drive to work",
)

COMMENTS = {
    "positive": (
        "was absolutely wonderful",
        "made me really happy",
        "went better than we ever hoped",
        "was a lovely surprise",
        "left everyone smiling",
        "was the best part of my week",
        "turned out great",
        "was a real joy",
        "made us laugh for hours",
        "was fantastic from start to finish",
        "filled me with hope",
        "was a brilliant success",
        "felt like a gift",
        "made the whole family proud",
        "was beautiful and calm",
        "cheered everybody up",
        "was so much fun",
        "brought us good luck",
        "was a delight",
        "made my day",
    ),
    "negative": (
        "was a complete disaster",
        "made me furious",
        "went terribly wrong",
        "was a horrible shock",
        "left everyone upset",
        "was the worst part of my week",
        "turned out awful",
        "was painful to watch",
        "made us cry for hours",
        "was a miserable failure",
        "filled me with dread",
        "was a total waste of money",
        "felt like an insult",
        "made the whole family angry",
        "was ugly and loud",
        "ruined everything",
        "was so depressing",
        "brought us nothing but trouble",
        "was a nightmare",
        "broke my heart",
    ),
    "neutral": (
        "is on the list for Tuesday",
        "took about two hours",
        "was mentioned in the report",
        "starts at nine o'clock",
        "is described in the second chapter",
        "was moved to the other room",
        "happened on a Wednesday",
        "is near the station",
        "was scheduled by the office",
        "lasted until the evening",
        "is written in the notebook",
        "was on the third floor",
        "needs a form from the desk",
        "was planned in March",
        "is measured in metres",
        "was discussed at lunch",
        "uses the blue folder",
        "is next to the library",
        "was booked by phone",
        "follows the usual schedule",
    ),
}

POLARITIES = tuple(COMMENTS)


def sentence_bank(part="main"):
    """All sentences of one half of the bank, grouped by polarity.

    Arguments
    ---------
    part : str
        ``"main"`` (even-numbered topics and comments) or ``"alt"``
        (odd-numbered ones): the two halves share no sentence.

    Returns
    -------
    dict
        polarity -> list of sentences.

    Example
    -------
    >>> bank = sentence_bank("main")
    >>> sorted(bank), len(bank["positive"])
    (['negative', 'neutral', 'positive'], 100)
    >>> bank["negative"][0]
    'The trip to the coast was a complete disaster.'
    >>> set(bank["neutral"]) & set(sentence_bank("alt")["neutral"])
    set()
    """
    if part not in ("main", "alt"):
        raise ValueError(f"part must be 'main' or 'alt', not {part!r}")
    offset = 0 if part == "main" else 1
    topics = TOPICS[offset::2]
    return {
        polarity: [
            f"{topic} {comment}."
            for topic in topics
            for comment in comments[offset::2]
        ]
        for polarity, comments in COMMENTS.items()
    }
