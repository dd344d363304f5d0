"""Tiny random models saved to folders: BERT, RoBERTa and Whisper.

Doctests, tests and benches build them in temporary folders, so that
nothing reaches a model hub: each loads with ``from_pretrained`` exactly as
a real checkpoint would (``HFTextEncoder``, ``WhisperEncoder``, the
transcriber), in a few hundred kB and milliseconds.

Authors
 * speechbrain-ser developers 2026
"""

import json
import os

from speechbrain_ser.brains.export import export_inference_folder

WORDS = [
    "a", "an", "the", "dog", "cat", "is", "was", "happy", "sad", "angry",
    "calm", "i", "you", "we", "they", "am", "are", "very", "not", "so",
    "hello", "world", "today", "now", "good", "bad", "day", "night", "it",
    "what", "why", "where", "go", "come", "home", "##s", "##ed", "##ing",
    ".", ",", "!", "?",
]  # fmt: skip

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def save_tiny_bert(
    folder, hidden_size=16, layers=1, heads=2, seed=0, words=WORDS
):
    """Saves a random ``BertModel`` and a WordPiece tokenizer to ``folder``.

    The vocabulary is :data:`BERT_SPECIALS` + ``words`` (default
    :data:`WORDS`), written to ``vocab.txt``.

    Arguments
    ---------
    folder : str or pathlib.Path
        Where to save (created).
    hidden_size, layers, heads : int
        Size of the random ``BertConfig``.
    seed : int
        Seed of the random weights.
    words : list of str
        The vocabulary after the special tokens.

    Returns
    -------
    str
        The folder, for ``from_pretrained``.

    Example
    -------
    >>> import tempfile
    >>> from transformers import AutoTokenizer
    >>> folder = save_tiny_bert(tempfile.mkdtemp())
    >>> AutoTokenizer.from_pretrained(folder).tokenize("the dog is happy")
    ['the', 'dog', 'is', 'happy']
    """
    words = list(dict.fromkeys(words))
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab, "w") as handle:
        handle.write("\n".join(BERT_SPECIALS + words) + "\n")
    BertTokenizer(vocab).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(BERT_SPECIALS) + len(words),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder


def save_tiny_roberta(folder, hidden_size=16, layers=1, heads=2, seed=0):
    """Saves a random ``RobertaModel`` and a word-level tokenizer that adds
    ``<s>`` ... ``</s>`` as RoBERTa's does.

    Arguments
    ---------
    folder : str or pathlib.Path
        Where to save (created).
    hidden_size, layers, heads : int
        Size of the random ``RobertaConfig``.
    seed : int
        Seed of the random weights.

    Returns
    -------
    str
        The folder, for ``from_pretrained``.

    Example
    -------
    >>> import tempfile
    >>> from transformers import AutoTokenizer
    >>> folder = save_tiny_roberta(tempfile.mkdtemp())
    >>> tokens = AutoTokenizer.from_pretrained(folder)("a sad day").input_ids
    >>> len(tokens)  # <s> a sad day </s>
    5
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import (
        PreTrainedTokenizerFast,
        RobertaConfig,
        RobertaModel,
    )

    folder = str(folder)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {w: i for i, w in enumerate(specials + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=66,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
    )
    RobertaModel(config).save_pretrained(folder)
    return folder


SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|transcribe|>",
    "<|translate|>",
    "<|notimestamps|>",
]


def _byte_characters():
    """GPT-2's byte -> printable character table (byte-level BPE)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def make_tiny_whisper(folder, chunk_seconds=2, encoder_layers=1, d_model=16):
    """Saves a random WhisperForConditionalGeneration + processor.

    Arguments
    ---------
    folder : str or pathlib.Path
        Where to save (created).
    chunk_seconds : int
        Input window of the feature extractor and encoder.
    encoder_layers : int
        Number of encoder layers (2 heads).
    d_model : int
        Width of the encoder and decoder (feed-forward: twice that).

    Returns
    -------
    str
        The folder, for ``from_pretrained``.

    Example
    -------
    >>> import tempfile
    >>> from transformers import WhisperConfig
    >>> folder = make_tiny_whisper(tempfile.mkdtemp())
    >>> WhisperConfig.from_pretrained(folder).max_source_positions
    100
    """
    import pathlib

    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {c: i for i, c in enumerate(_byte_characters())}
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = WhisperTokenizer(
        str(folder / "vocab.json"),
        str(folder / "merges.txt"),
        unk_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": SPECIAL_TOKENS[1:]}
    )
    extractor = WhisperFeatureExtractor(
        feature_size=80, chunk_length=chunk_seconds
    )
    frames = extractor.nb_max_frames // 2
    start = vocab["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(vocab),
        num_mel_bins=80,
        d_model=d_model,
        encoder_layers=encoder_layers,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model,
        max_source_positions=frames,
        max_target_positions=8,
        decoder_start_token_id=start,
        bos_token_id=vocab["<|endoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
        begin_suppress_tokens=None,
        suppress_tokens=None,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config.decoder_start_token_id = start
    model.save_pretrained(folder)
    WhisperProcessor(extractor, tokenizer).save_pretrained(folder)
    return str(folder)


def export_yaml_model(yaml_text, folder, labels=None):
    """Builds the modules a YAML text describes and exports them, untrained.

    For tests, doctests and benchmarks: writes ``<folder>/train.yaml``,
    loads it and exports its ``modules`` (and a label encoder of
    ``labels``) to ``<folder>/inference`` as training would.

    Arguments
    ---------
    yaml_text : str
        A training YAML with at least ``modules`` and what
        :data:`INFERENCE_KEYS` lists.
    folder : str
        Where to write.
    labels : sequence of str, optional
        Class names (classification models).

    Returns
    -------
    str
        The inference folder.

    Example
    -------
    >>> import tempfile
    >>> folder = export_yaml_model(
    ...     "sample_rate: 16000\\ntask: regression\\navd_range: [1, 5]\\n"
    ...     "modules:\\n  encoder: !new:torch.nn.Identity\\n",
    ...     tempfile.mkdtemp(),
    ... )
    >>> sorted(os.listdir(folder))
    ['encoder.ckpt', 'hyperparams.yaml']
    """
    from hyperpyyaml import load_hyperpyyaml
    from speechbrain.dataio.encoder import CategoricalEncoder

    yaml_path = os.path.join(folder, "train.yaml")
    with open(yaml_path, "w") as fout:
        fout.write(yaml_text)
    with open(yaml_path) as fin:
        hparams = load_hyperpyyaml(fin)
    encoder = None
    if labels is not None:
        encoder = CategoricalEncoder()
        encoder.update_from_iterable(labels)
    return export_inference_folder(
        yaml_path,
        {},
        hparams["modules"],
        os.path.join(folder, "inference"),
        label_encoder=encoder,
    )


def tiny_model_folder():
    """Exports a tiny untrained demo-style model to a temporary folder.

    For doctests and tests: the same YAML layout as ``hparams/demo.yaml``
    with small sizes.

    Returns
    -------
    str
        The inference folder.

    Example
    -------
    >>> folder = tiny_model_folder()
    >>> sorted(os.listdir(folder))[-3:]
    ['hyperparams.yaml', 'label_encoder.ckpt', 'mean_var_norm.ckpt']
    """
    import tempfile

    return export_yaml_model(TINY_MODEL_YAML, tempfile.mkdtemp(), DEMO_LABELS)


def tiny_speech_text_folder(
    transcriber=None, modalities="both", asr_source=None
):
    """Exports a tiny untrained speech + text model to a temporary folder.

    For doctests and tests: ``hparams/speech_text.yaml``'s layout with a
    tiny random wav2vec2 and BERT.

    Arguments
    ---------
    transcriber : str, optional
        Dotted name of a transcriber class (``!name:`` in the exported
        hyperparams), e.g. a fake one in tests.
    modalities : str
        audio, text or both.
    asr_source : str, optional
        A local Whisper folder for the recognizer's ASR.

    Returns
    -------
    str
        The inference folder.

    Example
    -------
    >>> folder = tiny_speech_text_folder(modalities="audio")
    >>> "modalities: audio" in open(f"{folder}/hyperparams.yaml").read()
    True
    """
    import tempfile

    from speechbrain_ser.nnet.ssl_encoder import TINY_CONFIG
    from speechbrain_ser.tiny_models import save_tiny_bert

    folder = tempfile.mkdtemp()
    text = TINY_SPEECH_TEXT_YAML.format(
        speech=os.path.join(folder, "speech"),
        text=save_tiny_bert(os.path.join(folder, "text")),
        modalities=modalities,
        config=json.dumps(TINY_CONFIG),
        asr=json.dumps(asr_source),
    )
    if transcriber:
        text += f"transcriber: !name:{transcriber}\n"
    return export_yaml_model(text, folder, DEMO_LABELS)


DEMO_LABELS = ("angry", "happy", "neutral", "sad")


TINY_MODEL_YAML = """
sample_rate: 16000
task: both
avd_range: [1, 5]
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: 20
encoder: !new:speechbrain_ser.nnet.encoders.ConvEncoder
    input_size: 20
    channels: 8
    n_layers: 1
head: !new:speechbrain_ser.nnet.heads.StatsPoolingMLP
    input_size: 8
    hidden_size: 8
modules:
    mean_var_norm: !new:speechbrain.processing.features.InputNormalization
        norm_type: sentence
    encoder: !ref <encoder>
    head: !ref <head>
    emotion_out: !new:torch.nn.Linear [8, 4]
    avd_out: !new:torch.nn.Linear [8, 3]
"""


TINY_SPEECH_TEXT_YAML = """
sample_rate: 16000
task: both
avd_range: [1, 5]
modalities: {modalities}
fusion: late
text_max_length: 16
asr_source: {asr}
modules:
    encoder: !new:speechbrain_ser.nnet.ssl_encoder.SSLEncoder
        source: {speech}
        save_path: {speech}
        config: {config}
    head: !new:speechbrain_ser.nnet.heads.StatsPoolingMLP
        input_size: 16
        hidden_size: 8
        n_layers: 1
    emotion_out: !new:torch.nn.Linear [8, 4]
    avd_out: !new:torch.nn.Linear [8, 3]
    text_encoder: !new:speechbrain_ser.text.encoders.HFTextEncoder
        source: {text}
        freeze: False
    text_head: !new:speechbrain_ser.nnet.heads.StatsPoolingMLP
        input_size: 16
        hidden_size: 8
        n_layers: 1
    text_emotion_out: !new:torch.nn.Linear [8, 4]
    text_avd_out: !new:torch.nn.Linear [8, 3]
"""


def save_to_hub_cache(folder, repo_id, cache_dir, revision="main"):
    """Puts a model folder into a Hugging Face Hub cache, as a download would.

    For tests and doctests that load by Hub id without network access: the
    files go to ``<cache_dir>/models--<org>--<name>/blobs/<sha256>``, the
    snapshot ``snapshots/<commit>/`` links to them and ``refs/<revision>``
    names the commit, the layout ``huggingface_hub`` writes and reads
    (``HF_HUB_CACHE``; with ``HF_HUB_OFFLINE=1`` nothing else is needed).

    Arguments
    ---------
    folder : str
        A model folder (sub-folders kept).
    repo_id : str
        ``org/name``.
    cache_dir : str
        The Hub cache (what ``HF_HUB_CACHE`` names).
    revision : str
        The branch or tag the snapshot is filed under.

    Returns
    -------
    str
        The snapshot folder.

    Example
    -------
    >>> import tempfile
    >>> from huggingface_hub import snapshot_download
    >>> cache = tempfile.mkdtemp()
    >>> snapshot = save_to_hub_cache(
    ...     save_tiny_bert(tempfile.mkdtemp()), "tiny/bert", cache
    ... )
    >>> os.path.relpath(snapshot, cache).split(os.sep)[:2]
    ['models--tiny--bert', 'snapshots']
    >>> found = snapshot_download(
    ...     "tiny/bert", cache_dir=cache, local_files_only=True
    ... )
    >>> found == snapshot, os.path.islink(os.path.join(found, "vocab.txt"))
    (True, True)
    """
    import hashlib
    import shutil

    repo = os.path.join(cache_dir, "models--" + repo_id.replace("/", "--"))
    files = sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
    )
    commit = hashlib.sha1()
    blobs = {}
    for name in files:
        with open(os.path.join(folder, name), "rb") as fin:
            digest = hashlib.sha256(fin.read()).hexdigest()
        blobs[name] = digest
        commit.update(f"{name} {digest}\n".encode())
    snapshot = os.path.join(repo, "snapshots", commit.hexdigest())
    os.makedirs(os.path.join(repo, "blobs"), exist_ok=True)
    for name, digest in blobs.items():
        blob = os.path.join(repo, "blobs", digest)
        if not os.path.exists(blob):
            shutil.copyfile(os.path.join(folder, name), blob)
        link = os.path.join(snapshot, name)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)
    os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
    with open(os.path.join(repo, "refs", revision), "w") as fout:
        fout.write(commit.hexdigest())
    return snapshot
