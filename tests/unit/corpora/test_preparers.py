"""Each preparer on a tiny fake corpus with the real naming conventions."""

import json
import os

import pytest

from speechbrain_ser.corpora.csv_prepare import prepare_csv
from speechbrain_ser.corpora.emodb_prepare import prepare_emodb
from speechbrain_ser.corpora.folder_prepare import prepare_class_folders
from speechbrain_ser.corpora.iemocap_prepare import prepare_iemocap
from speechbrain_ser.corpora.librispeech_prepare import prepare_librispeech
from speechbrain_ser.corpora.msp_podcast_prepare import prepare_msp_podcast
from speechbrain_ser.corpora.ravdess_prepare import prepare_ravdess
from speechbrain_ser.data.manifest import PreparationError
from tests.fakes import (
    make_class_folders,
    make_emodb,
    make_iemocap,
    make_librispeech,
    make_msp_podcast,
    make_ravdess,
)


def load(folder):
    return {
        s: json.load(open(os.path.join(folder, f"{s}.json")))
        for s in ("train", "valid", "test")
    }


def speakers(split):
    return {entry["speaker"] for entry in split.values()}


# ---------------------------------------------------------------- IEMOCAP
def test_iemocap_four_class_leave_one_session_out(tmp_path, tone):
    make_iemocap(tmp_path / "IEMOCAP", tone)
    out = tmp_path / "manifests"
    prepare_iemocap(str(tmp_path / "IEMOCAP"), str(out), test_session=1)
    splits = load(out)
    assert speakers(splits["test"]) == {"Ses01F", "Ses01M"}
    assert speakers(splits["valid"]) == {"Ses02F"}
    assert speakers(splits["train"]) == {"Ses02M", "Ses03F", "Ses03M"}
    entry = splits["test"]["Ses01F_impro01_M000"]
    assert entry["emotion"] == "happy"  # excited merged into happy
    assert (entry["activation"], entry["valence"], entry["dominance"]) == (
        4.5,
        4.0,
        3.5,
    )
    assert entry["transcript"] == "Great news!"
    assert entry["transcript_source"] == "human"
    assert entry["improvised"] is True
    assert entry["wav"].startswith("{data_root}/Session1/")
    assert splits["test"]["Ses01F_script01_1_M001"]["improvised"] is False
    every = {**splits["train"], **splits["valid"], **splits["test"]}
    assert not any(
        "fru" in uid or e.get("emotion_code") == "fru"
        for uid, e in every.items()
    )
    assert len(every) == 3 * 5


def test_iemocap_improvised_recordings_only(tmp_path, tone):
    make_iemocap(tmp_path / "IEMOCAP", tone, sessions=(1, 2))
    out = tmp_path / "impro"
    prepare_iemocap(
        str(tmp_path / "IEMOCAP"),
        str(out),
        test_session=1,
        recordings="improvised",
    )
    every = {k: v for split in load(out).values() for k, v in split.items()}
    assert len(every) == 2 * 2  # impro01: neutral and happy (fru left out)
    assert all(entry["improvised"] for entry in every.values())
    with pytest.raises(ValueError, match="recordings"):
        prepare_iemocap(str(tmp_path / "IEMOCAP"), str(out), recordings="x")


def test_iemocap_five_class_and_other_classes(tmp_path, tone):
    make_iemocap(tmp_path / "IEMOCAP", tone, sessions=(1, 2))
    out = tmp_path / "m5"
    prepare_iemocap(
        str(tmp_path / "IEMOCAP"),
        str(out),
        class_set="5class",
        test_session=1,
        keep_other_classes=True,
    )
    test = load(out)["test"]
    assert test["Ses01F_impro01_M000"]["emotion"] == "excited"
    assert "emotion" not in test["Ses01F_impro01_F001"]  # frustrated: AVD only
    assert test["Ses01F_impro01_F001"]["activation"] == 3.5


def test_iemocap_missing_audio_names_the_file(tmp_path, tone):
    make_iemocap(tmp_path / "IEMOCAP", tone, sessions=(1, 2))
    victim = next((tmp_path / "IEMOCAP").rglob("*_M002.wav"))
    victim.unlink()
    with pytest.raises(PreparationError, match=str(victim.name)):
        prepare_iemocap(
            str(tmp_path / "IEMOCAP"), str(tmp_path / "m"), test_session=1
        )
    prepare_iemocap(
        str(tmp_path / "IEMOCAP"),
        str(tmp_path / "m"),
        test_session=1,
        on_error="skip",
    )
    every = {k: v for s in load(tmp_path / "m").values() for k, v in s.items()}
    assert len(every) == 2 * 5 - 1


# ---------------------------------------------------------------- MSP-Podcast
def test_msp_podcast_official_partitions(tmp_path, tone):
    root = make_msp_podcast(tmp_path / "MSP", tone)
    prepare_msp_podcast(str(root), str(tmp_path / "m"))
    splits = load(tmp_path / "m")
    assert sorted(splits["train"]) == [
        "MSP-PODCAST_0001_0001",
        "MSP-PODCAST_0001_0002",
    ]
    assert list(splits["valid"]) == ["MSP-PODCAST_0002_0001"]
    assert list(splits["test"]) == [
        "MSP-PODCAST_0003_0001"
    ]  # contempt left out
    angry = splits["train"]["MSP-PODCAST_0001_0001"]
    assert (
        angry["emotion"] == "angry"
        and angry["transcript"] == "you never listen"
    )
    assert (angry["activation"], angry["valence"], angry["dominance"]) == (
        5.2,
        2.0,
        5.0,
    )
    assert "transcript" not in splits["train"]["MSP-PODCAST_0001_0002"]
    prepare_msp_podcast(
        str(root),
        str(tmp_path / "m2"),
        test_set="Test2",
        keep_other_classes=True,
    )
    assert list(load(tmp_path / "m2")["test"]) == ["MSP-PODCAST_0004_0001"]
    assert "emotion" not in load(tmp_path / "m2")["train"].get(
        "MSP-PODCAST_0003_0002", {}
    )


def test_msp_podcast_bad_label_file(tmp_path):
    root = tmp_path / "MSP"
    (root / "Labels").mkdir(parents=True)
    (root / "Labels" / "labels_consensus.csv").write_text(
        "FileName,EmoClass\nx.wav,A\n"
    )
    with pytest.raises(
        PreparationError, match="labels_consensus.csv: missing columns"
    ):
        prepare_msp_podcast(str(root), str(tmp_path / "m"))


# ---------------------------------------------------------------- EmoDB
def test_emodb_random_and_loso(tmp_path, tone):
    make_emodb(tmp_path / "emodb", tone)
    prepare_emodb(str(tmp_path / "emodb"), str(tmp_path / "r"), seed=3)
    splits = load(tmp_path / "r")
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [
        24,
        7,
        4,
    ]  # 35 * .7, .2
    labels = {e["emotion"] for s in splits.values() for e in s.values()}
    assert labels == {
        "anger",
        "boredom",
        "disgust",
        "fear",
        "happiness",
        "sadness",
        "neutral",
    }
    prepare_emodb(
        str(tmp_path / "emodb"),
        str(tmp_path / "l"),
        protocol="loso",
        test_speaker="10",
        valid_speaker="03",
    )
    loso = load(tmp_path / "l")
    assert speakers(loso["test"]) == {"10"} and speakers(loso["valid"]) == {
        "03"
    }
    assert loso["test"]["10a01Wa"]["gender"] == "M"


def test_emodb_bad_names(tmp_path, tone):
    make_emodb(tmp_path / "emodb", tone)
    tone(tmp_path / "emodb" / "wav" / "03a01Xa.wav")
    with pytest.raises(
        PreparationError, match="03a01Xa.wav: unknown emotion letter"
    ):
        prepare_emodb(str(tmp_path / "emodb"), str(tmp_path / "m"))
    os.remove(tmp_path / "emodb" / "wav" / "03a01Xa.wav")
    tone(tmp_path / "emodb" / "wav" / "notes.wav")
    with pytest.raises(
        PreparationError, match="notes.wav: not an EmoDB file name"
    ):
        prepare_emodb(str(tmp_path / "emodb"), str(tmp_path / "m"))


# ---------------------------------------------------------------- RAVDESS
def test_ravdess(tmp_path, tone):
    root = make_ravdess(tmp_path / "ravdess", tone)
    prepare_ravdess(
        str(root), str(tmp_path / "m"), ratios=(0.5, 0.25, 0.25), seed=0
    )
    splits = load(tmp_path / "m")
    assert sum(len(s) for s in splits.values()) == 8 * 8
    assert not speakers(splits["test"]) & speakers(splits["train"])
    assert [len(speakers(splits[s])) for s in ("train", "valid", "test")] == [
        4,
        2,
        2,
    ]
    entry = next(
        e
        for s in splits.values()
        for k, e in s.items()
        if k == "03-01-05-01-01-01-03"
    )
    assert entry["emotion"] == "angry" and entry["gender"] == "M"
    assert entry["transcript"] == "Kids are talking by the door"
    prepare_ravdess(str(root), str(tmp_path / "s"), include_song=True)
    assert sum(len(s) for s in load(tmp_path / "s").values()) == 8 * 9


# ---------------------------------------------------------------- LibriSpeech
def test_librispeech(tmp_path, tone):
    root = tmp_path / "LibriSpeech"
    make_librispeech(root, tone, "train-clean-100", "19")
    make_librispeech(root, tone, "dev-clean", "84")
    make_librispeech(root, tone, "test-clean", "61")
    prepare_librispeech(str(root), str(tmp_path / "m"))
    splits = load(tmp_path / "m")
    assert splits["train"]["19-100-0001"]["transcript"] == "HELLO NUMBER 1"
    assert speakers(splits["valid"]) == {"84"} and speakers(splits["test"]) == {
        "61"
    }
    make_librispeech(root, tone, "train-other-500", "7", transcripts=False)
    with pytest.raises(
        PreparationError, match="7-100-0000.flac: no transcript"
    ):
        prepare_librispeech(
            str(root), str(tmp_path / "o"), train_splits=["train-other-500"]
        )


def test_librispeech_jsonl_transcripts(tmp_path, tone):
    root = tmp_path / "libri"
    tone(root / "test-other" / "1688" / "1688-142285-0000.flac")
    tone(root / "train" / "19" / "19-198-0001.flac")
    jsonl = root / "pseudo.jsonl"
    jsonl.write_text(
        json.dumps(
            {
                "path": "test-other/1688/1688-142285-0000.flac",
                "text": "There's iron.",
            }
        )
        + "\n"
        + json.dumps({"path": "train/19/19-198-0001.flac", "text": "Hello."})
        + "\n"
    )
    prepare_librispeech(
        str(root),
        str(tmp_path / "m"),
        train_splits=["train"],
        valid_splits=[],
        test_splits=["test-other"],
        transcripts_file=str(jsonl),
    )
    splits = load(tmp_path / "m")
    assert splits["test"]["1688-142285-0000"]["transcript"] == "There's iron."
    assert splits["valid"] == {}


# ---------------------------------------------------------------- CSV
def test_csv_with_split_column_and_errors(tmp_path, tone):
    for name in ("a", "b", "c", "d"):
        tone(tmp_path / "audio" / f"{name}.wav")
    csv_file = tmp_path / "corpus.csv"
    csv_file.write_text(
        "id,wav,speaker,emotion,valence,split,channel\n"
        "a,audio/a.wav,s1,happy,4.5,train,phone\n"
        "b,audio/b.wav,s2,sad,1.5,train,\n"
        "c,audio/c.wav,s3,happy,3.0,valid,\n"
        "d,audio/d.wav,s4,sad,2.0,test,\n"
    )
    with pytest.raises(PreparationError, match="test has 0 clip"):
        prepare_csv(str(csv_file), str(tmp_path), str(tmp_path / "m"))
    prepare_csv(
        str(csv_file), str(tmp_path), str(tmp_path / "m"), min_per_class=0
    )
    splits = load(tmp_path / "m")
    assert list(splits["test"]) == ["d"] and list(splits["valid"]) == ["c"]
    assert (
        splits["train"]["a"]["valence"] == 4.5
        and splits["train"]["a"]["channel"] == "phone"
    )
    with pytest.raises(
        PreparationError, match=r"audio/b.wav: unknown emotion label 'sad'"
    ):
        prepare_csv(
            str(csv_file), str(tmp_path), str(tmp_path / "n"), labels=["happy"]
        )
    bad = tmp_path / "bad.csv"
    bad.write_text("id,wav,speaker,valence\na,audio/a.wav,s1,high\n")
    with pytest.raises(
        PreparationError,
        match="bad.csv, line 2: valence='high' is not a number",
    ):
        prepare_csv(str(bad), str(tmp_path), str(tmp_path / "b"))
    nan = tmp_path / "nan.csv"
    nan.write_text("id,wav,speaker,valence\na,audio/a.wav,s1,nan\n")
    with pytest.raises(PreparationError, match="a.wav: valence is nan"):
        prepare_csv(str(nan), str(tmp_path), str(tmp_path / "c"))
    missing = tmp_path / "missing.csv"
    missing.write_text("id,wav\na,audio/a.wav\n")
    with pytest.raises(PreparationError, match="missing columns"):
        prepare_csv(str(missing), str(tmp_path), str(tmp_path / "d"))


def newcomer_csv(tmp_path, tone):
    """40 clips, 10 speakers who each speak 1-2 of 4 emotions."""
    emotions = ("angry", "happy", "neutral", "sad")
    rows = []
    for i in range(40):
        speaker = i // 4
        emotion = emotions[(speaker + (i % 4 == 3)) % 4]
        tone(tmp_path / "wavs" / f"c{i}.wav", freq=200 + 5 * i)
        rows.append(f"c{i},wavs/c{i}.wav,spk{speaker},{emotion}")
    csv_file = tmp_path / "corpus.csv"
    csv_file.write_text("id,wav,speaker,emotion\n" + "\n".join(rows) + "\n")
    return csv_file


def test_csv_split_missing_classes_stops_and_suggests_crossval(tmp_path, tone):
    """A newcomer's 40 clips: the 80/10/10 speaker split leaves classes
    out of valid and test, so preparation stops and says what to do;
    speaker-grouped folds (n_folds) test every clip once."""
    csv_file = newcomer_csv(tmp_path, tone)
    with pytest.raises(PreparationError, match="need 2 per class") as error:
        prepare_csv(str(csv_file), str(tmp_path), str(tmp_path / "m"))
    assert "crossval" in str(error.value) and "n_folds" in str(error.value)
    tested = {}
    for fold in range(4):
        out = tmp_path / f"f{fold}"
        prepare_csv(
            str(csv_file), str(tmp_path), str(out), n_folds=4, fold=fold
        )
        splits = load(out)
        assert not speakers(splits["test"]) & speakers(splits["train"])
        assert not speakers(splits["valid"]) & speakers(splits["train"])
        tested.update(splits["test"])
    assert len(tested) == 40  # every clip tested once over the folds


# ---------------------------------------------------------------- class folders
def test_class_folders(tmp_path, tone):
    root = tmp_path / "urdu"
    make_class_folders(root, tone)
    (root / "README.md").write_text("not audio")
    prepare_class_folders(
        str(root),
        str(tmp_path / "m"),
        ratios=(0.5, 0.25, 0.25),
        seed=0,
        min_per_class=0,  # 4 speakers, 1 emotion each: see the next test
    )
    splits = load(tmp_path / "m")
    every = {k: v for s in splits.values() for k, v in s.items()}
    assert len(every) == 16
    assert every["Angry/SM1_F00_A00"]["speaker"] == "SM1"
    assert every["Angry/SM1_F00_A00"]["emotion"] == "Angry"
    parts = [speakers(splits[s]) for s in ("train", "valid", "test")]
    assert (
        not (parts[0] & parts[1])
        and not (parts[0] & parts[2])
        and not (parts[1] & parts[2])
    )


def test_class_folders_stratified_folds(tmp_path, tone):
    root = tmp_path / "urdu"
    make_class_folders(root, tone)
    seen_in_test = set()
    for fold in range(4):
        out = tmp_path / f"f{fold}"
        prepare_class_folders(str(root), str(out), n_folds=4, fold=fold)
        splits = load(out)
        assert not speakers(splits["test"]) & speakers(splits["train"])
        seen_in_test |= set(splits["test"])
    assert len(seen_in_test) == 16  # every utterance is tested once


def test_class_folders_errors(tmp_path, tone):
    root = tmp_path / "urdu"
    make_class_folders(root, tone)
    tone(root / "Surprised" / "SM9_F00_U00.flac")
    with pytest.raises(
        PreparationError,
        match="SM9_F00_U00.flac: unknown emotion label 'Surprised'",
    ):
        prepare_class_folders(
            str(root),
            str(tmp_path / "m"),
            labels=["Angry", "Happy", "Neutral", "Sad"],
        )
    (root / "Sad" / "SM24_F09_S09.flac").write_bytes(b"not really flac")
    with pytest.raises(
        PreparationError, match="SM24_F09_S09.flac: not readable as audio"
    ):
        prepare_class_folders(str(root), str(tmp_path / "m"))
    (root / "Sad" / "broken.flac").write_bytes(b"")
    with pytest.raises(
        PreparationError, match="broken.flac: file name does not match"
    ):
        prepare_class_folders(str(root), str(tmp_path / "m"))


def test_class_folders_skip_and_idempotence(tmp_path, tone, caplog):
    root = tmp_path / "urdu"
    make_class_folders(root, tone)
    (root / "Sad" / "SM24_F09_S09.flac").write_bytes(b"not really flac")
    import numpy as np
    import soundfile

    soundfile.write(str(root / "Sad" / "SM24_F10_S10.wav"), np.zeros(0), 16000)
    out = tmp_path / "m"
    with caplog.at_level("WARNING"):
        prepare_class_folders(
            str(root), str(out), on_error="skip", min_per_class=0
        )
    assert "skipped 2 of 18 utterances" in caplog.text
    train = out / "train.json"
    stamp = os.path.getmtime(train)
    os.utime(train, (stamp - 100, stamp - 100))
    prepare_class_folders(str(root), str(out), on_error="skip", min_per_class=0)
    assert os.path.getmtime(train) == stamp - 100  # up to date: not rewritten
    prepare_class_folders(
        str(root), str(out), on_error="skip", seed=7, min_per_class=0
    )
    assert os.path.getmtime(train) != stamp - 100  # new options: rewritten


def test_missing_corpus_folder(tmp_path):
    with pytest.raises(PreparationError, match="no such corpus folder"):
        prepare_emodb(str(tmp_path / "nowhere"), str(tmp_path / "m"))
