"""docs/adding_a_corpus.md's fine-tuning block starts from a trained model."""

import os
import re

import torch

from speechbrain_ser.run import run_recipe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def guide_block():
    """The YAML block after the guide's ``finetune-yaml`` marker."""
    with open(os.path.join(ROOT, "docs", "adding_a_corpus.md")) as fin:
        text = fin.read()
    after = text[text.index("<!-- finetune-yaml") :]
    return re.search(r"```yaml\n(.*?)```", after, re.S).group(1)


def test_finetuning_block_loads_the_trained_model(tmp_path):
    from speechbrain_ser.demo.prepare import prepare_demo

    corpus = tmp_path / "demo"
    prepare_demo(str(corpus), str(corpus / "manifests"), n_utterances=40)
    tiny = [
        f"--data_folder={corpus}",
        "--n_utterances=40",
        "--batch_size=8",
        "--emb_channels=16",
    ]
    demo = os.path.join(ROOT, "hparams", "demo.yaml")
    first = run_recipe(
        [
            demo,
            f"--output_folder={tmp_path / 'first'}",
            *tiny,
            "--number_of_epochs=1",
        ]
    )
    yaml = tmp_path / "my_corpus.yaml"
    with open(demo) as fin:
        yaml.write_text(fin.read() + "\n" + guide_block())
    model = tmp_path / "first" / "inference"
    second = run_recipe(
        [
            str(yaml),
            f"--output_folder={tmp_path / 'second'}",
            f"--pretrained_model={model}",
            *tiny,
            "--number_of_epochs=0",  # nothing trained: the loaded weights
        ]
    )
    trained = torch.load(model / "encoder.ckpt")
    loaded = second.modules.encoder.state_dict()
    assert set(trained) == set(loaded)
    for name, value in trained.items():
        torch.testing.assert_close(loaded[name], value)
    fresh = first.modules.head.state_dict()
    for name, value in second.modules.head.state_dict().items():
        torch.testing.assert_close(value, fresh[name])
