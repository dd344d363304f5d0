"""The Urdu Whisper recipe's head search space names real recipe keys."""

import os

from speechbrain_ser.evaluation.crossval import read_hparams_values
from speechbrain_ser.evaluation.search import load_space

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
HPARAMS = os.path.join(ROOT, "..", "recipes", "URDU", "emotion", "hparams")


def test_every_head_choice_overrides_keys_of_the_recipe():
    space = load_space(os.path.join(HPARAMS, "search_space_head.yaml"))
    recipe = os.path.join(HPARAMS, "whisper_stats_pooling.yaml")
    needed = ["--data_folder=d", "--whisper_source=w"]
    keys = set(read_hparams_values(recipe, needed))
    choices = space["parameters"]["head"]["choices"]
    assert {"recipe", "concat_linear"} <= set(choices)
    for overrides in choices.values():
        assert set(overrides) <= keys
        args = [f"--{key}={value}" for key, value in overrides.items()]
        values = read_hparams_values(recipe, needed + args)
        for key, value in overrides.items():
            assert values[key] == value
    assert choices["concat_linear"]["training"] == "full_batch"
