import json

import pytest

from speechbrain_ser.baselines import logistic_regression_baseline


def test_baseline_separates_low_and_high_tones(tmp_path, tone):
    """Two 'emotions' that differ only in pitch are trivially separable by
    filterbank means: the baseline must get them all right."""
    splits = {"train": range(6), "valid": range(6, 8), "test": range(8, 12)}
    manifests = {}
    for split, indices in splits.items():
        entries = {}
        for i in indices:
            for label, freq in (("low", 200.0), ("high", 3000.0)):
                path = tone(tmp_path / f"{label}{i}.wav", freq=freq + 10 * i)
                entries[f"{label}{i}"] = {
                    "wav": "{data_root}/" + path.name,
                    "speaker": str(i),
                    "emotion": label,
                }
        manifests[split] = str(tmp_path / f"{split}.json")
        json.dump(entries, open(manifests[split], "w"))
    results = logistic_regression_baseline(manifests, str(tmp_path))
    assert results["UA"] == 1.0 and results["n_test"] == 8
    assert results["predictions"]["high9"] == "high"
    assert results["C"] in (0.01, 0.1, 1.0, 10.0)
    assert results["valid_UA"] == pytest.approx(1.0)
