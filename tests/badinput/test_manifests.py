"""Bad manifests and audio stop the run before the first training step
with an error naming the file, line or id and the problem (issue 13)."""

import json
import os

import numpy as np
import pytest
import speechbrain as sb

from speechbrain_ser.data.audio_checks import AudioCheckCache
from speechbrain_ser.data.emotion import fitted_label_encoder
from speechbrain_ser.data.validation import ManifestError, validate_manifests
from tests.badinput.corpus import make_corpus, manifest_path, write_manifests


@pytest.fixture
def corpus(tmp_path):
    manifests = make_corpus(str(tmp_path))
    return tmp_path, manifests


def validate(folder, **kwargs):
    kwargs.setdefault("task", "both")
    kwargs.setdefault("avd_range", (1, 5))
    paths = {
        s: manifest_path(str(folder), s) for s in ("train", "valid", "test")
    }
    return validate_manifests(paths, data_folder=str(folder), **kwargs)


def test_good_corpus_passes_and_second_run_uses_the_cache(corpus, tmp_path):
    folder, _ = corpus
    cache = str(tmp_path / "checks.json")
    first = validate(folder, n_classes=4, cache_file=cache)
    assert first["utterances"] == 16 and first["files_decoded"] == 8
    assert first["cache_hits"] == 0
    assert validate(folder, n_classes=4, cache_file=cache)["cache_hits"] == 16


def test_changed_file_is_checked_again(corpus, tmp_path):
    folder, _ = corpus
    cache = str(tmp_path / "checks.json")
    validate(folder, cache_file=cache)
    wav = folder / "wavs" / "s4_sad.wav"
    wav.write_bytes(wav.read_bytes()[:100])  # truncated after the check
    with pytest.raises(ManifestError, match="s4_sad.wav"):
        validate(folder, cache_file=cache)


def test_invalid_json_names_file_line_and_column(corpus):
    folder, _ = corpus
    path = manifest_path(str(folder), "test")
    text = open(path).read()
    open(path, "w").write(text.replace('"speaker"', "speaker", 1))
    with pytest.raises(ManifestError, match=r"test.json, line 5, column \d+"):
        validate(folder)


def test_number_given_as_string(corpus):
    folder, manifests = corpus
    manifests["train"]["s1_sad"]["valence"] = "3.0"
    write_manifests(str(folder), manifests)
    with pytest.raises(
        ManifestError,
        match="train.json: utterance 's1_sad': valence is the string '3.0'",
    ):
        validate(folder)


@pytest.mark.parametrize(
    "value, message",
    [
        (float("nan"), "activation is nan"),
        (7.0, r"activation=7.0 is outside avd_range \[1, 5\]"),
    ],
)
def test_avd_nan_or_out_of_range(corpus, value, message):
    folder, manifests = corpus
    manifests["valid"]["s3_angry"]["activation"] = value
    write_manifests(str(folder), manifests)
    with pytest.raises(
        ManifestError, match="valid.json: utterance 's3_angry': " + message
    ):
        validate(folder)


def test_empty_label(corpus):
    folder, manifests = corpus
    manifests["train"]["s2_happy"]["emotion"] = ""
    write_manifests(str(folder), manifests)
    with pytest.raises(ManifestError, match="'s2_happy': empty emotion label"):
        validate(folder)


def test_unknown_training_label_without_labels_list_breaks_n_classes(corpus):
    """A typo in train would become a fifth class: n_classes says 4."""
    folder, manifests = corpus
    manifests["train"]["s2_happy"]["emotion"] = "hapy"
    write_manifests(str(folder), manifests)
    with pytest.raises(
        ManifestError, match=r"5 emotion labels \(.*'hapy': 1.*n_classes=4"
    ):
        validate(folder, n_classes=4)


def test_label_outside_yaml_labels(corpus):
    folder, manifests = corpus
    manifests["train"]["s2_happy"]["emotion"] = "hapy"
    write_manifests(str(folder), manifests)
    with pytest.raises(ManifestError, match="unknown emotion label 'hapy'"):
        validate(folder, labels=["angry", "happy", "neutral", "sad"])


def test_test_label_unseen_in_train(corpus):
    folder, manifests = corpus
    manifests["test"]["s4_sad"]["emotion"] = "bored"
    write_manifests(str(folder), manifests)
    with pytest.raises(
        ManifestError,
        match="test.json: utterance 's4_sad': unknown emotion label 'bored'",
    ):
        validate(folder)


def test_duplicate_id_in_one_manifest_names_both_lines(corpus):
    folder, _ = corpus
    path = manifest_path(str(folder), "train")
    text = open(path).read()
    # a second "s1_sad" entry with another label, at the end
    entry = json.loads(text)["s1_sad"]
    entry["emotion"] = "happy"
    text = text.rstrip()[:-1] + ',\n  "s1_sad": ' + json.dumps(entry) + "\n}"
    open(path, "w").write(text)
    with pytest.raises(
        ManifestError,
        match=r"train.json, line \d+: id "
        r"'s1_sad' is given twice \(line \d+ and line \d+\)",
    ):
        validate(folder)


def test_same_id_or_audio_in_train_and_test_is_leakage(corpus):
    folder, manifests = corpus
    manifests["test"]["s1_angry"] = manifests["train"]["s1_angry"]
    write_manifests(str(folder), manifests)
    with pytest.raises(ManifestError) as error:
        validate(folder)
    assert "'s1_angry' is also in" in str(error.value)
    assert "as 's1_angry' in" in str(error.value)  # the same wav too


@pytest.mark.parametrize("samples", [1, 800])  # one sample, 0.05 s
def test_too_short_training_audio(corpus, samples):
    folder, _ = corpus
    import soundfile

    soundfile.write(
        str(folder / "wavs" / "s1_sad.wav"), np.full(samples, 0.1), 16000
    )
    with pytest.raises(
        ManifestError,
        match=r"s1_sad.wav lasts .* shorter "
        r"than min_duration=0.1 s",
    ):
        validate(folder)
    validate(folder, min_duration=0)  # allowed when the YAML says so


def test_truncated_flac_in_test_is_found_before_training(corpus):
    import soundfile

    folder, manifests = corpus
    flac = folder / "wavs" / "s4_sad.flac"
    soundfile.write(
        str(flac), np.random.default_rng(0).uniform(-0.5, 0.5, 16000), 16000
    )
    flac.write_bytes(flac.read_bytes()[: len(flac.read_bytes()) // 2])
    assert soundfile.info(str(flac)).frames == 16000  # the header is fine
    manifests["test"]["s4_sad"]["wav"] = "{data_root}/wavs/s4_sad.flac"
    write_manifests(str(folder), manifests)
    with pytest.raises(
        ManifestError,
        match="s4_sad.flac: cannot be decoded .*probably truncated",
    ):
        validate(folder)


def test_nan_samples_in_valid_are_found_before_training(corpus):
    import soundfile

    folder, _ = corpus
    samples = np.full(8000, 0.1)
    samples[4000] = np.nan
    soundfile.write(
        str(folder / "wavs" / "s3_sad.wav"), samples, 16000, subtype="FLOAT"
    )
    with pytest.raises(ManifestError, match="s3_sad.wav: sample 4000 is NaN"):
        validate(folder)


def test_missing_and_unreadable_audio_all_listed(corpus):
    folder, _ = corpus
    os.remove(folder / "wavs" / "s1_sad.wav")
    (folder / "wavs" / "s2_sad.wav").write_bytes(b"RIFF junk")
    with pytest.raises(ManifestError, match="2 problem") as error:
        validate(folder)
    assert "s1_sad.wav: no such audio file" in str(error.value)
    assert "s2_sad.wav: not readable as audio" in str(error.value)


def test_cache_never_trusts_a_header_check_for_decoding(tmp_path):
    import soundfile

    path = str(tmp_path / "a.wav")
    samples = np.full(4000, 0.1)
    samples[10] = np.inf
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    cache = AudioCheckCache()
    assert cache.check(path, decode=False) == (0.25, None)
    assert "sample 10" in cache.check(path, decode=True)[1]


def _dataset(labels):
    return sb.dataio.dataset.DynamicItemDataset(
        {f"u{i}": {"emotion": label} for i, label in enumerate(labels)}
    )


def test_stale_label_encoder_is_rebuilt(tmp_path):
    path = str(tmp_path / "label_encoder.txt")
    fitted_label_encoder(path, _dataset(["a", "b", "", "c"]))  # bad data
    encoder = fitted_label_encoder(path, _dataset(["a", "b", "c"]), 3)
    assert sorted(encoder.lab2ind) == ["a", "b", "c"]


def test_stale_label_encoder_with_checkpoints_is_named(tmp_path):
    path = str(tmp_path / "save" / "label_encoder.txt")
    fitted_label_encoder(path, _dataset(["a", "b", "x"]))
    os.makedirs(tmp_path / "save" / "CKPT+2026")
    with pytest.raises(
        ValueError,
        match="label_encoder.txt: saved by an "
        r"earlier run.*Delete .*label_encoder.txt",
    ):
        fitted_label_encoder(
            path, _dataset(["a", "b", "c"]), 3, str(tmp_path / "save")
        )


def test_one_class_corpus_refused_before_training(corpus):
    """Issue 22, item 4: one label in train with --n_classes=1 trained and
    reported UA = WA = F1 = 1.0."""
    folder, manifests = corpus
    for split in manifests:
        for entry in manifests[split].values():
            entry["emotion"] = "neutral"
    write_manifests(str(folder), manifests)
    with pytest.raises(ManifestError) as error:
        validate(folder, task="classification", n_classes=1)
    assert "every training utterance (8) has the label 'neutral'" in str(
        error.value
    )


def test_one_class_test_set_refused(corpus):
    folder, manifests = corpus
    for entry in manifests["test"].values():
        entry["emotion"] = "sad"
    write_manifests(str(folder), manifests)
    with pytest.raises(ManifestError, match="every test utterance has the"):
        validate(folder)
