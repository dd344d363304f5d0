"""Dynamic batching by total duration in a real (tiny) training run."""

import os

import pytest

from speechbrain_ser.data.manifest import read_manifest
from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from speechbrain_ser.demo.prepare import prepare_demo

    folder = tmp_path_factory.mktemp("demo")
    prepare_demo(str(folder), str(folder / "manifests"), n_utterances=40)
    return folder


def test_training_batches_bounded_by_total_duration(corpus, tmp_path):
    max_seconds = 9.0
    brain = run_recipe(
        [os.path.join(ROOT, "hparams", "demo.yaml")]
        + [
            f"--data_folder={corpus}",
            f"--output_folder={tmp_path}",
            "--n_utterances=40",
            "--number_of_epochs=1",
            "--emb_channels=16",
            "--dynamic_batching=True",
            f"--max_batch_seconds={max_seconds}",
            "--num_buckets=4",
        ]
    )
    sampler = brain.hparams.train_dataloader_options["batch_sampler"]
    entries = list(read_manifest(corpus / "manifests" / "train.json").values())
    batches = list(sampler)
    assert sorted(i for batch in batches for i in batch) == list(
        range(len(entries))
    )
    sizes = {len(batch) for batch in batches}
    assert len(sizes) > 1  # not a fixed batch size
    for batch in batches:
        longest = max(entries[i]["duration"] for i in batch)
        assert len(batch) * longest <= max_seconds + 1e-6
    assert os.path.isfile(tmp_path / "results.json")
