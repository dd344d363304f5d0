import collections

import numpy as np
import pytest
import soundfile

from speechbrain_ser.demo.prepare import (
    EMOTIONS,
    generate_demo_corpus,
    plan_corpus,
)
from speechbrain_ser.demo.sentences import sentence_bank


def test_sentence_bank_has_hundreds_and_disjoint_halves():
    main, alt = sentence_bank("main"), sentence_bank("alt")
    assert sum(len(v) for v in main.values()) >= 300
    for polarity in main:
        assert not set(main[polarity]) & set(alt[polarity])
    with pytest.raises(ValueError):
        sentence_bank("other")


def test_plan_is_deterministic_and_balanced():
    plans = plan_corpus(80, seed=5)
    assert plans == plan_corpus(80, seed=5)
    assert plans != plan_corpus(80, seed=6)
    counts = collections.Counter(p["emotion"] for p in plans)
    assert set(counts.values()) == {20} and set(counts) == set(EMOTIONS)
    assert len({p["speaker"] for p in plans}) == 10


def test_plan_carries_both_cues():
    plans = plan_corpus(400, seed=1)
    by = collections.defaultdict(list)
    for p in plans:
        by[p["emotion"]].append(p)
    mean = lambda e, k: np.mean([p[k] for p in by[e]])  # noqa: E731
    # acoustic: sad is slower, lower and quieter than angry and happy
    assert mean("sad", "rate") < mean("neutral", "rate") < mean("angry", "rate")
    assert (
        mean("sad", "pitch") < mean("neutral", "pitch") < mean("happy", "pitch")
    )
    assert mean("sad", "volume") < mean("angry", "volume")
    # linguistic: happy text is mostly positive, angry mostly negative
    assert mean("happy", "vader_compound") > 0.3
    assert mean("angry", "vader_compound") < -0.2
    # targets: valence follows emotion, activation too
    assert (
        mean("happy", "valence")
        > mean("neutral", "valence")
        > mean("sad", "valence")
    )
    assert (
        mean("angry", "activation")
        > mean("neutral", "activation")
        > mean("sad", "activation")
    )
    for p in plans:
        assert all(
            1 <= p[k] <= 5 for k in ("activation", "valence", "dominance")
        )


def test_generated_audio(tmp_path):
    manifest = generate_demo_corpus(str(tmp_path), n_utterances=8, seed=3)
    assert len(manifest) == 8
    for uid, entry in manifest.items():
        path = entry["wav"].replace("{data_root}", str(tmp_path))
        info = soundfile.info(path)
        assert info.samplerate == 16000 and info.channels == 1
        assert info.frames / 16000 == pytest.approx(entry["duration"], abs=1e-3)
        assert 0.8 < entry["duration"] < 8
    again = generate_demo_corpus(
        str(tmp_path / "again"), n_utterances=8, seed=3
    )
    first = next(iter(manifest))
    a = soundfile.read(
        manifest[first]["wav"].replace("{data_root}", str(tmp_path))
    )[0]
    b = soundfile.read(
        again[first]["wav"].replace("{data_root}", str(tmp_path / "again"))
    )[0]
    np.testing.assert_array_equal(a, b)


def test_synthesizer_that_cannot_start_raises_in_the_caller(tmp_path):
    # espeak-ng exits its process when its data is missing, and a
    # multiprocessing.Pool restarts such a worker forever: the caller must
    # get the error instead.
    from speechbrain_ser.demo.synthesis import synthesize_in_fresh_process

    missing = str(tmp_path / "no-espeak-ng-data")
    requests = [{"text": "Hi.", "voice": "en"}]
    with pytest.raises(FileNotFoundError, match="no-espeak-ng-data"):
        list(synthesize_in_fresh_process(requests, data_path=missing))
    # Past that check, espeak-ng still exits on the next missing file.
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "phontab").touch()
    partial = str(tmp_path / "partial")
    with pytest.raises(RuntimeError, match="worker process died"):
        list(synthesize_in_fresh_process(requests, data_path=partial))
