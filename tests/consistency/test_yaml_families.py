"""Recipe YAMLs of one method on several corpora differ only in their corpus
block.

Recipe YAMLs are self-contained, as in SpeechBrain: a reader sees every
setting of a recipe in its own folder. The price is repetition (the five
``whisper_stats_pooling.yaml`` share ~90 % of their lines), and repetition
drifts: a fix made in one copy and not the others. This test makes the
copies one definition: outside the corpus block (data, split, protocol,
number of classes) every top-level key of a family must read the same,
comments aside.
"""

import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

# where, how and what is tested: the corpus' own keys
CORPUS_KEYS = {
    "data_folder",
    "output_folder",
    "protocol",
    "split_protocol",
    "prepare",
    "n_classes",
    "class_set",
    "avd_range",
    "test_session",
    "test_set",
    "test_speaker",
    "valid_speaker",
    "fold",
    "n_folds",
    "group_by",  # the manifest fields a corpus has (gender, session...)
}
# MSP-Podcast's Whisper recipe predicts A/V/D as well as classes
REGRESSION_KEYS = {
    "task",
    "selection_metric",
    "modules",
    "checkpointer",
    "avd_out",
    "ccc_loss",
    "regression_weight",
}
FAMILIES = {
    "emotion/whisper_stats_pooling.yaml": {"MSP-Podcast": REGRESSION_KEYS},
    "cpc/pretrain.yaml": {},
    "cpc/sup.yaml": {},
    "cpc/finetune.yaml": {},
    "cpc/jointcpc.yaml": {},
    "sa2sr/finetune.yaml": {},
}
# same file name, different jobs
NOT_FAMILIES = {
    "tokenwise/tokenwise.yaml": "LibriSpeech pre-trains the speech-to-text "
    "block; EmoDB and IEMOCAP train the emotion head on it",
}


def top_level_blocks(path):
    """Top-level key -> its lines (continuations included), comments and
    blank lines left out."""
    blocks, key = {}, None
    with open(path) as fin:
        for line in fin:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            line = re.sub(r"\s+#.*$", "", line.rstrip())
            match = re.match(r"^(\w+):", line)
            if match:
                key = match.group(1)
                blocks[key] = []
            blocks[key].append(line)
    return blocks


def members(family):
    """Corpus -> YAML path of one family (``<method>/<file>``)."""
    method, name = family.split("/")
    pattern = os.path.join(ROOT, "recipes", "*", method, "hparams", name)
    return {path.split(os.sep)[-4]: path for path in sorted(glob.glob(pattern))}


def test_every_family_is_listed():
    names = {}
    for path in glob.glob(
        os.path.join(ROOT, "recipes", "*", "*", "hparams", "*.yaml")
    ):
        parts = path.split(os.sep)
        names.setdefault(f"{parts[-3]}/{parts[-1]}", []).append(parts[-4])
    families = {name for name, corpora in names.items() if len(corpora) > 1}
    assert families == set(FAMILIES) | set(NOT_FAMILIES), (
        "a YAML name used by several corpora: add it to FAMILIES (same "
        "recipe, another corpus) or NOT_FAMILIES (another job)"
    )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_differs_only_in_its_corpus_block(family):
    yamls = members(family)
    blocks = {corpus: top_level_blocks(path) for corpus, path in yamls.items()}
    reference = next(iter(blocks))
    differ = {}
    for corpus, own in blocks.items():
        free = CORPUS_KEYS | FAMILIES[family].get(corpus, set())
        for key in set(own) | set(blocks[reference]):
            allowed = free | FAMILIES[family].get(reference, set())
            if key not in allowed and own.get(key) != blocks[reference].get(
                key
            ):
                differ.setdefault(corpus, []).append(key)
    assert not differ, (
        f"{family}: keys outside the corpus block differ from "
        f"{reference}'s: {differ}; change every copy (or move the key to "
        "CORPUS_KEYS if it is the corpus' own)"
    )
