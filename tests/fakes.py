"""Tiny fake corpora with the real file-name conventions and formats.

Each ``make_*`` writes a corpus tree under ``root`` with short tones as
audio (``tone`` is :func:`tests.conftest.write_tone`).
"""

IEMOCAP_UTTERANCES = [
    # (dialog, utterance, code, V, A, D, transcript)
    ("impro01", "F000", "neu", 2.5, 2.0, 2.5, "Excuse me."),
    ("impro01", "M000", "exc", 4.0, 4.5, 3.5, "Great news!"),
    ("impro01", "F001", "fru", 2.0, 3.5, 3.0, "Not again."),
    ("script01_1", "M001", "ang", 1.5, 4.0, 4.5, "Get out."),
    ("script01_1", "F002", "sad", 1.5, 1.5, 2.0, "I miss her."),
    ("script01_1", "M002", "hap", 4.5, 3.5, 3.0, "Lovely."),
]


def make_iemocap(root, tone, sessions=(1, 2, 3)):
    for session in sessions:
        base = root / f"Session{session}"
        for dialog in ("impro01", "script01_1"):
            name = f"Ses{session:02d}F_{dialog}"
            evaluation = [
                "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n",
                "\n",
            ]
            transcript = []
            for d, utt, code, v, a, dom, text in IEMOCAP_UTTERANCES:
                if d != dialog:
                    continue
                uid = f"{name}_{utt}"
                evaluation += [
                    f"[6.2901 - 8.2357]\t{uid}\t{code}\t"
                    f"[{v:.4f}, {a:.4f}, {dom:.4f}]\n",
                    f"C-E1:\t{code};\t()\n",
                    "\n",
                ]
                transcript.append(f"{uid} [006.2901-008.2357]: {text}\n")
                tone(base / "sentences" / "wav" / name / f"{uid}.wav")
            (base / "dialog" / "EmoEvaluation").mkdir(
                parents=True, exist_ok=True
            )
            (base / "dialog" / "transcriptions").mkdir(
                parents=True, exist_ok=True
            )
            (base / "dialog" / "EmoEvaluation" / f"{name}.txt").write_text(
                "".join(evaluation)
            )
            (base / "dialog" / "transcriptions" / f"{name}.txt").write_text(
                "".join(transcript)
            )


EMODB_LETTERS = "WLEAFTN"


def make_emodb(root, tone):
    for speaker in ("03", "08", "09", "10", "11"):
        for i, letter in enumerate(EMODB_LETTERS):
            tone(root / "wav" / f"{speaker}a0{i % 5 + 1}{letter}a.wav")


def make_librispeech(root, tone, subset, speaker, n=2, transcripts=True):
    chapter = root / subset / speaker / "100"
    for i in range(n):
        tone(chapter / f"{speaker}-100-{i:04d}.flac")
    if transcripts:
        lines = [f"{speaker}-100-{i:04d} HELLO NUMBER {i}\n" for i in range(n)]
        (chapter / f"{speaker}-100.trans.txt").write_text("".join(lines))


def make_class_folders(root, tone):
    for emotion, spk in (
        ("Angry", "SM1"),
        ("Happy", "SF1"),
        ("Neutral", "SM5"),
        ("Sad", "SM24"),
    ):
        for i in range(3):
            tone(
                root / emotion / f"{spk}_F{i:02d}_{emotion[0]}{i:02d}.flac",
                sample_rate=44100,
            )
        tone(
            root / emotion / f"SX{emotion}_F01_{emotion[0]}99.flac",
            sample_rate=44100,
        )


MSP_ROWS = [
    # FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
    (
        "MSP-PODCAST_0001_0001.wav",
        "A",
        "5.2",
        "2.0",
        "5.0",
        "127",
        "Male",
        "Train",
    ),
    (
        "MSP-PODCAST_0001_0002.wav",
        "N",
        "4.0",
        "4.0",
        "4.0",
        "127",
        "Male",
        "Train",
    ),
    (
        "MSP-PODCAST_0002_0001.wav",
        "H",
        "5.0",
        "6.2",
        "4.4",
        "33",
        "Female",
        "Development",
    ),
    (
        "MSP-PODCAST_0003_0001.wav",
        "S",
        "2.0",
        "2.2",
        "3.0",
        "Unknown",
        "Unknown",
        "Test1",
    ),
    (
        "MSP-PODCAST_0003_0002.wav",
        "C",
        "3.0",
        "3.0",
        "3.0",
        "Unknown",
        "Unknown",
        "Test1",
    ),
    (
        "MSP-PODCAST_0004_0001.wav",
        "N",
        "4.0",
        "4.0",
        "4.0",
        "500",
        "Female",
        "Test2",
    ),
]


def make_msp_podcast(root, tone, rows=MSP_ROWS):
    lines = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    for row in rows:
        lines.append(",".join(row))
        tone(root / "Audios" / row[0])
    (root / "Labels").mkdir(exist_ok=True)
    (root / "Labels" / "labels_consensus.csv").write_text(
        "\n".join(lines) + "\n"
    )
    (root / "Transcripts").mkdir(exist_ok=True)
    (root / "Transcripts" / "MSP-PODCAST_0001_0001.txt").write_text(
        "you never listen\n"
    )
    return root


def make_ravdess(root, tone, actors=8):
    """Per actor: 8 emotions of audio-only speech, one song, one video."""
    for actor in range(1, actors + 1):
        folder = root / f"Actor_{actor:02d}"
        for emotion in range(1, 9):
            tone(folder / f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav")
        tone(folder / f"03-02-03-01-01-01-{actor:02d}.wav")  # song
        tone(folder / f"01-01-03-01-01-01-{actor:02d}.wav")  # video
    return root


def make_demo(root, tone, part="main", n_utterances=20, seed=1234):
    """The demo corpus with tones in place of speech, fast to build.

    The plan (ids, voices, emotions, transcripts, AVD) is the real one of
    :func:`speechbrain_ser.demo.prepare.plan_corpus`, and the options file
    matches, so ``prepare_demo`` with the same ``n_utterances``, ``part``
    and ``seed`` only splits it.
    """
    import json

    from speechbrain_ser.demo.prepare import plan_corpus

    manifest = {}
    for i, plan in enumerate(plan_corpus(n_utterances, part, seed)):
        uid = plan.pop("id")
        tone(root / "wavs" / f"{uid}.wav", freq=150.0 + 20 * i)
        manifest[uid] = {
            **plan,
            "wav": "{data_root}/wavs/" + f"{uid}.wav",
            "duration": 0.5,
        }
    (root / "corpus.json").write_text(json.dumps(manifest))
    options = {"n_utterances": n_utterances, "part": part, "seed": seed}
    (root / "corpus_options.json").write_text(json.dumps(options))
    return root


def make_msp_podcast_four_classes(root, tone):
    """MSP-Podcast with the four classes N, H, S, A for every speaker.

    Activation, valence and dominance differ by class, so that CCC is not
    0 by construction.
    """
    rows = []
    for partition, speakers in (
        ("Train", ("1", "2")),
        ("Development", ("3",)),
        ("Test1", ("4",)),
    ):
        for speaker in speakers:
            for code in "NHSA":
                name = f"MSP-PODCAST_{speaker:0>4}_{'NHSA'.index(code):04d}.wav"
                i = "NHSA".index(code)  # AVD differ between utterances
                rows.append(
                    (
                        name,
                        code,
                        f"{2.0 + i}",
                        f"{5.0 - i}",
                        f"{3.0 + 0.5 * i}",
                        speaker,
                        "Female",
                        partition,
                    )
                )
    return make_msp_podcast(root, tone, rows)


def make_urdu(root, tone):
    """The Urdu corpus layout: <Emotion>/SM<speaker>_F01_<E><nn>.flac."""
    for speaker in range(1, 9):
        for emotion in ("Angry", "Happy", "Neutral", "Sad"):
            tone(
                root
                / emotion
                / f"SM{speaker}_F01_{emotion[0]}{speaker:02d}.flac",
                sample_rate=44100,
            )
    return root
