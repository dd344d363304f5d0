"""Preparers keep hand-edited manifests unless their inputs changed, and
say what they did (issue 13)."""

import json
import logging
import os

import pytest

from speechbrain_ser.corpora.csv_prepare import prepare_csv
from speechbrain_ser.corpora.emodb_prepare import prepare_emodb
from tests.fakes import make_emodb


def hand_edit(path):
    entries = json.load(open(path))
    uid = sorted(entries)[0]
    entries[uid]["emotion"] = "edited by hand"
    json.dump(entries, open(path, "w"))
    return uid


def test_csv_preparer_skips_when_up_to_date(tmp_path, tone, caplog):
    for i, speaker in enumerate("abcdefghij"):
        tone(tmp_path / "wavs" / f"{speaker}.wav", freq=200 + 10 * i)
    rows = [f"{s},wavs/{s}.wav,{s},happy" for s in "abcdefghij"]
    csv_file = tmp_path / "corpus.csv"
    csv_file.write_text("id,wav,speaker,emotion\n" + "\n".join(rows) + "\n")
    save = tmp_path / "manifests"
    prepare_csv(str(csv_file), str(tmp_path), str(save), min_per_class=1)
    uid = hand_edit(save / "train.json")
    with caplog.at_level(logging.INFO):
        prepare_csv(str(csv_file), str(tmp_path), str(save), min_per_class=1)
    assert "up to date; skipping" in caplog.text
    assert json.load(open(save / "train.json"))[uid]["emotion"] == (
        "edited by hand"
    )
    csv_file.write_text(csv_file.read_text().replace("happy", "sad"))
    prepare_csv(  # input changed
        str(csv_file), str(tmp_path), str(save), min_per_class=1
    )
    assert json.load(open(save / "train.json"))[uid]["emotion"] == "sad"


@pytest.mark.parametrize("change", [None, "seed"])
def test_corpus_preparer_keeps_hand_edits_unless_options_change(
    tmp_path, tone, change
):
    make_emodb(tmp_path / "emodb", tone)
    save = tmp_path / "manifests"
    prepare_emodb(str(tmp_path / "emodb"), str(save))
    uid = hand_edit(save / "train.json")
    prepare_emodb(
        str(tmp_path / "emodb"), str(save), **({change: 7} if change else {})
    )
    edited = json.load(open(save / "train.json")).get(uid, {}).get("emotion")
    assert (edited == "edited by hand") == (change is None)


def test_sentiment_labelling_keeps_hand_edits_unless_input_changes(tmp_path):
    from speechbrain_ser.text.sentiment import VaderLabeller, label_manifest

    manifest = tmp_path / "train.json"
    entries = {"a": {"wav": "a.wav", "speaker": "s", "transcript": "Lovely."}}
    manifest.write_text(json.dumps(entries))
    label_manifest(str(manifest), VaderLabeller())
    output = tmp_path / "train_sentiment.json"
    labelled = json.loads(output.read_text())
    labelled["a"]["sentiment"] = "negative"  # a hand correction
    output.write_text(json.dumps(labelled))
    label_manifest(str(manifest), VaderLabeller())
    assert json.loads(output.read_text())["a"]["sentiment"] == "negative"
    entries["a"]["transcript"] = "Lovely, lovely day."
    manifest.write_text(json.dumps(entries))  # the input changed
    os.utime(manifest, ns=(1, os.stat(output).st_mtime_ns + 10**9))
    label_manifest(str(manifest), VaderLabeller())
    assert json.loads(output.read_text())["a"]["sentiment"] == "positive"
