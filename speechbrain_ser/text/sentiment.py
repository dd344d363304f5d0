"""Proxy sentiment labels for transcripts (SA2SR, Ghriss et al. 2022).

A labeller maps transcripts to a label and probabilities over
``negative``, ``neutral``, ``positive`` (in that order). Two are provided:

* :class:`VaderLabeller`: the offline default (the lexicon ships with
  ``vaderSentiment``). Label rule of VADER's authors: compound >= 0.05 is
  positive, compound <= -0.05 negative, neutral in between. The
  "probabilities" are VADER's neg/neu/pos proportions of the text, which
  need not peak at the label.
* :class:`HFSentimentLabeller`: any Hugging Face sequence-classification
  model in a local folder (e.g. a RoBERTa trained on tweets, as in the
  paper); probabilities are its softmax.

:func:`label_manifest` labels a manifest in batches with a progress bar,
caches the labels next to the manifest (re-runs are free) and records
which labeller and version made them.

Authors
 * speechbrain-ser developers 2026
"""

import hashlib
import json
import os

import numpy as np
import torch
from speechbrain.utils.logger import get_logger
from tqdm import tqdm

from speechbrain_ser.data.manifest import (
    SENTIMENTS,
    read_manifest,
    write_manifest,
)

logger = get_logger(__name__)


class SentimentLabeller:
    """Interface: transcripts -> labels and (N, 3) probabilities.

    Subclasses implement :meth:`probabilities` and :meth:`describe`, and
    :meth:`labels` when the label is not the most probable class.

    Example
    -------
    >>> class Constant(SentimentLabeller):
    ...     def probabilities(self, texts):
    ...         return np.array([[0.1, 0.2, 0.7]] * len(texts))
    ...
    ...     def describe(self):
    ...         return {"name": "constant"}
    >>> Constant().labels(["Fine.", "Awful."])
    ['positive', 'positive']
    >>> len(Constant().tag)
    10
    """

    def probabilities(self, texts):
        """(N, 3) numpy array of probabilities, one row per text."""
        raise NotImplementedError

    def describe(self):
        """A JSON-serialisable description: name, version, settings."""
        raise NotImplementedError

    def labels(self, texts):
        """The sentiment label of each text (argmax of its probabilities).

        Arguments
        ---------
        texts : list of str

        Returns
        -------
        list of str
        """
        return [SENTIMENTS[i] for i in self.probabilities(texts).argmax(1)]

    @property
    def tag(self):
        """A short file-name-safe id of this labeller and its settings."""
        text = json.dumps(self.describe(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


class VaderLabeller(SentimentLabeller):
    """VADER (Hutto and Gilbert, 2014) lexicon sentiment, offline.

    Arguments
    ---------
    threshold : float
        ``abs(compound)`` below it is neutral (VADER's authors use 0.05).

    Example
    -------
    >>> labeller = VaderLabeller()
    >>> labeller.labels(
    ...     [
    ...         "What a wonderful day!",
    ...         "The bus leaves at six.",
    ...         "This is a horrible mess.",
    ...     ]
    ... )
    ['positive', 'neutral', 'negative']
    >>> labeller.probabilities(["The bus leaves at six."]).tolist()
    [[0.0, 1.0, 0.0]]
    >>> text = ["It is okay I guess."]  # mostly neutral words, yet positive
    >>> labeller.labels(text), int(labeller.probabilities(text).argmax())
    (['positive'], 1)
    """

    def __init__(self, threshold=0.05):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.threshold = threshold
        self.analyzer = SentimentIntensityAnalyzer()

    def probabilities(self, texts):
        """VADER's neg/neu/pos proportions of each text."""
        rows = []
        for text in texts:
            scores = self.analyzer.polarity_scores(text)
            row = np.array([scores["neg"], scores["neu"], scores["pos"]])
            rows.append(row / row.sum() if row.sum() else np.array([0, 1.0, 0]))
        return np.array(rows)

    def labels(self, texts):
        """The compound-score rule's label of each text."""
        labels = []
        for text in texts:
            compound = self.analyzer.polarity_scores(text)["compound"]
            if compound >= self.threshold:
                labels.append("positive")
            elif compound <= -self.threshold:
                labels.append("negative")
            else:
                labels.append("neutral")
        return labels

    def describe(self):
        """Name, version of vaderSentiment, threshold."""
        from importlib.metadata import version

        return {
            "name": "vader",
            "version": version("vaderSentiment"),
            "threshold": self.threshold,
            "rule": "compound >= t positive, <= -t negative, else neutral",
        }


class HFSentimentLabeller(SentimentLabeller):
    """A Hugging Face sequence classifier from a local folder.

    Its classes are matched to SENTIMENTS by the names in the config's
    ``id2label`` (``negative``/``neutral``/``positive``, any case, or
    ``neg``/``neu``/``pos``). Models whose classes are ``LABEL_0``,
    ``LABEL_1``, ``LABEL_2`` (e.g. the first Twitter RoBERTa sentiment
    models) are read in the order negative, neutral, positive; pass
    ``label_map`` when yours differs.

    Arguments
    ---------
    source : str
        Local model folder (config, weights, tokenizer).
    label_map : dict, optional
        Model label name -> one of SENTIMENTS.
    batch_size : int
        Texts per forward pass.
    device : str
        Torch device.
    max_length : int
        Longer transcripts are truncated.

    Example
    -------
    >>> import tempfile
    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> from transformers import PreTrainedTokenizerFast
    >>> folder = tempfile.mkdtemp()
    >>> vocab = {"[PAD]": 0, "[UNK]": 1, "good": 2, "bad": 3}
    >>> backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    >>> backend.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> PreTrainedTokenizerFast(
    ...     tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]"
    ... ).save_pretrained(folder)  # doctest: +ELLIPSIS
    (...)
    >>> config = BertConfig(
    ...     vocab_size=4,
    ...     hidden_size=8,
    ...     num_hidden_layers=1,
    ...     num_attention_heads=2,
    ...     intermediate_size=8,
    ...     id2label={0: "POS", 1: "NEG", 2: "NEU"},
    ...     label2id={"POS": 0, "NEG": 1, "NEU": 2},
    ... )
    >>> BertForSequenceClassification(config).save_pretrained(folder)
    >>> labeller = HFSentimentLabeller(folder)
    >>> labeller.order  # the model's classes for negative, neutral, positive
    [1, 2, 0]
    >>> labeller.probabilities(["good", "bad good"]).shape
    (2, 3)
    """

    def __init__(
        self,
        source,
        label_map=None,
        batch_size=32,
        device="cpu",
        max_length=128,
    ):
        from transformers import (
            AutoModelForSequenceClassification,
            AutoTokenizer,
        )

        from speechbrain_ser.sources import resolve_source

        self.source = source
        folder = resolve_source(source)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder)
        self.model.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.order = self._class_order(label_map)

    def _class_order(self, label_map):
        id2label = self.model.config.id2label
        names = [id2label[i] for i in range(len(id2label))]
        if label_map is None:
            aliases = {"neg": "negative", "neu": "neutral", "pos": "positive"}
            label_map = {}
            for name in names:
                key = name.lower()
                key = aliases.get(key, key)
                if key in SENTIMENTS:
                    label_map[name] = key
            if not label_map and names == ["LABEL_0", "LABEL_1", "LABEL_2"]:
                label_map = dict(zip(names, SENTIMENTS))
        missing = [s for s in SENTIMENTS if s not in label_map.values()]
        if missing:
            raise ValueError(
                f"{self.source}: cannot tell which of the model's classes "
                f"{names} is {missing}; pass label_map"
            )
        return [
            names.index(n)
            for s in SENTIMENTS
            for n in label_map
            if label_map[n] == s
        ]

    def probabilities(self, texts):
        """Softmax of the model over SENTIMENTS, in batches."""
        rows = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                list(texts[start : start + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            with torch.no_grad():
                logits = self.model(**batch).logits
            rows.append(torch.softmax(logits[:, self.order], -1).cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 3))

    def describe(self):
        """Model folder, its config's name/type, and a hash of its config."""
        import transformers

        config = self.model.config.to_json_string()
        return {
            "name": "huggingface",
            "source": (
                os.path.abspath(self.source)
                if os.path.isdir(self.source)
                else self.source  # a Hugging Face Hub id
            ),
            "model_type": self.model.config.model_type,
            "config_sha1": hashlib.sha1(config.encode()).hexdigest(),
            "transformers": transformers.__version__,
        }


def label_manifest(manifest_path, labeller, output_path=None, batch_size=64):
    """Adds ``sentiment`` and ``sentiment_probs`` to a manifest's entries.

    Labels are cached in ``<manifest>.sentiment-<tag>.json`` next to the
    manifest, keyed by transcript, with the labeller's description; a
    re-run labels only transcripts it has not seen. The output is left
    as it is (hand edits kept) while the input manifest and the labeller
    are those it was made from (recorded in ``<output>.source.json``).

    Arguments
    ---------
    manifest_path : str
        Manifest whose entries have a ``transcript``.
    labeller : SentimentLabeller
        Who labels.
    output_path : str, optional
        Where the labelled manifest goes (default:
        ``<manifest stem>_sentiment.json``).
    batch_size : int
        Transcripts per labelling call.

    Returns
    -------
    dict
        The labelled manifest.

    Raises
    ------
    ValueError
        For an entry without a transcript (names the manifest and id).

    Example
    -------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> entries = {
    ...     "u1": {"wav": "a.wav", "transcript": "What a wonderful day!"},
    ...     "u2": {"wav": "b.wav", "transcript": "This is a horrible mess."},
    ... }
    >>> write_manifest(entries, f"{folder}/train.json")
    >>> labelled = label_manifest(f"{folder}/train.json", VaderLabeller())
    >>> [entry["sentiment"] for entry in labelled.values()]
    ['positive', 'negative']
    >>> sorted(name for name in os.listdir(folder) if "sentiment" in name)[0]
    'train.sentiment-...json'
    """
    output_path = output_path or (
        f"{os.path.splitext(manifest_path)[0]}_sentiment.json"
    )
    source = {
        "manifest": os.path.abspath(manifest_path),
        "manifest_mtime_ns": os.stat(manifest_path).st_mtime_ns
        if os.path.isfile(manifest_path)
        else None,
        "labeller": labeller.describe(),
    }
    source_path = f"{output_path}.source.json"
    if os.path.isfile(output_path) and os.path.isfile(source_path):
        with open(source_path, encoding="utf-8") as fin:
            if json.load(fin) == json.loads(json.dumps(source)):
                logger.info(f"{output_path} is up to date; skipping")
                return read_manifest(output_path)
    entries = read_manifest(manifest_path)
    for uid, entry in entries.items():
        if not entry.get("transcript"):
            raise ValueError(
                f"{manifest_path}: utterance {uid!r} ({entry.get('wav')}) has "
                "no transcript to label"
            )
    stem = os.path.splitext(manifest_path)[0]
    cache_path = f"{stem}.sentiment-{labeller.tag}.json"
    cache = {"labeller": labeller.describe(), "labels": {}}
    if os.path.isfile(cache_path):
        with open(cache_path, encoding="utf-8") as fin:
            cache = json.load(fin)
    todo = sorted(
        {e["transcript"] for e in entries.values()} - set(cache["labels"])
    )
    if todo:
        for start in tqdm(
            range(0, len(todo), batch_size),
            desc=f"labelling {os.path.basename(manifest_path)}",
        ):
            texts = todo[start : start + batch_size]
            probabilities = labeller.probabilities(texts)
            for text, label, row in zip(
                texts, labeller.labels(texts), probabilities
            ):
                cache["labels"][text] = {
                    "label": label,
                    "probs": [round(float(p), 6) for p in row],
                }
        with open(cache_path, "w", encoding="utf-8") as fout:
            json.dump(cache, fout, indent=1, ensure_ascii=False)
    for entry in entries.values():
        labelled = cache["labels"][entry["transcript"]]
        entry["sentiment"] = labelled["label"]
        entry["sentiment_probs"] = labelled["probs"]
    write_manifest(entries, output_path)
    with open(source_path, "w", encoding="utf-8") as fout:
        json.dump(source, fout, indent=1)
    logger.info(f"{output_path}: {len(entries)} utterances labelled")
    return entries


def prepare_with_sentiment(
    prepare, manifest_folder, labeller, splits=("train", "valid", "test")
):
    """Runs a corpus preparer, then labels its manifests' transcripts.

    For YAML: ``prepare`` is a ``!name:`` preparer; the labelled manifests
    are ``<manifest_folder>/<split>_sentiment.json``.

    Arguments
    ---------
    prepare : callable
        Preparer with its arguments bound.
    manifest_folder : str
        Where ``prepare`` writes ``<split>.json``.
    labeller : SentimentLabeller
        Who labels.
    splits : sequence of str
        Manifests to label.

    Example
    -------
    >>> import functools, os, tempfile
    >>> from speechbrain_ser.data.manifest import write_splits
    >>> folder = tempfile.mkdtemp()
    >>> entries = {"u1": {"wav": "a.wav", "transcript": "What a lovely day!"}}
    >>> prepare = functools.partial(
    ...     write_splits,
    ...     {s: entries for s in ("train", "valid", "test")},
    ...     folder,
    ...     {},
    ... )
    >>> prepare_with_sentiment(prepare, folder, VaderLabeller())
    >>> read_manifest(f"{folder}/test_sentiment.json")["u1"]["sentiment"]
    'positive'
    """
    prepare()
    for split in splits:
        label_manifest(os.path.join(manifest_folder, f"{split}.json"), labeller)


def make_labeller(kind="vader", source=None, **kwargs):
    """A labeller by name, so that YAML overrides can switch it.

    Arguments
    ---------
    kind : str
        ``"vader"`` or ``"huggingface"``.
    source : str, optional
        Local model folder (``huggingface``).
    **kwargs
        Passed to the labeller.

    Returns
    -------
    SentimentLabeller

    Example
    -------
    >>> make_labeller("vader").describe()["name"]
    'vader'
    """
    if kind == "vader":
        return VaderLabeller(**kwargs)
    if kind == "huggingface":
        if not source:
            raise ValueError(
                "the huggingface labeller needs source=<model folder>"
            )
        return HFSentimentLabeller(source, **kwargs)
    raise ValueError(f"unknown labeller {kind!r}; use vader or huggingface")
