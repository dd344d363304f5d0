"""Speech-side modules of tokenwise contrastive pre-training and its use.

* :class:`FeatureFrameEncoder`: waveforms -> features -> a frame encoder,
  in one module, so that the same trained speech encoder serves
  pre-training, fine-tuning and :class:`EmotionRecognizer` (the small
  encoder the demo YAMLs build from a config).
* :class:`TokenwiseHead`: the downstream head of the pre-trained speech x
  text model (Sunder et al., Interspeech 2022, sec. 3.3): the cross-modal
  block's contextual token vectors, computed from speech alone with the
  single ``[CLS]`` query, or from a transcript's tokens, then statistics
  pooling and 3 x [Linear, LayerNorm, ReLU] (the classifier of Sarkar and
  Tarigopula's "Experiment Setup").
* :class:`CrossModalEncoder`: the cross-modal block of Sunder et al.
  (sec. 2.1): text token queries (a BERT teacher's input embeddings) over
  speech frames, one contextual vector per token.
* :func:`tokenwise_contrastive_loss`: pulls each token's vector towards the
  teacher's contextual embedding of the same token (InfoNCE over the
  batch's tokens).

Authors
 * speechbrain-ser developers 2026
"""

import math

import torch

from speechbrain_ser.nnet.heads import key_padding_mask
from speechbrain_ser.nnet.losses import info_nce_loss


class FeatureFrameEncoder(torch.nn.Module):
    """Waveforms -> features (-> normalisation) -> a frame encoder.

    Arguments
    ---------
    compute_features : torch.nn.Module
        (B, samples) -> (B, T, F), e.g. SpeechBrain's ``Fbank``.
    encoder : torch.nn.Module
        ``(features, lengths) -> (B, T, D)``, e.g.
        :class:`speechbrain_ser.nnet.encoders.ConvEncoder`.
    normalize : torch.nn.Module, optional
        ``(features, lengths) -> features``, e.g. ``InputNormalization``
        with ``norm_type: sentence``.

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> from speechbrain_ser.nnet.encoders import ConvEncoder
    >>> enc = FeatureFrameEncoder(Fbank(n_mels=20), ConvEncoder(20, 8, 1))
    >>> enc(torch.rand(2, 16000), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 101, 8])
    """

    def __init__(self, compute_features, encoder, normalize=None):
        super().__init__()
        self.compute_features = compute_features
        self.normalize = normalize
        self.encoder = encoder

    def forward(self, wavs, lengths=None):
        """(B, samples) -> (B, T, D) frames."""
        feats = self.compute_features(wavs)
        if self.normalize is not None:
            feats = self.normalize(feats, lengths)
        return self.encoder(feats, lengths)


class TokenwiseHead(torch.nn.Module):
    """Emotion head on the contextual tokens of a pre-trained cross-modal
    block.

    ``query="cls"`` (speech only, Sunder et al.'s speech-only fine-tuning):
    the one query is the teacher's ``[CLS]`` input embedding kept in the
    block (``cls_query``), so no transcript is needed at test time and
    :class:`EmotionRecognizer` serves the model as any other.
    ``query="transcript"``: the queries are the transcript's token input
    embeddings (given to :meth:`forward`; see
    :class:`speechbrain_ser.brains.TranscriptEmotionBrain`). Either way
    the token vectors go through the same ``classifier``, e.g.
    :class:`StatsPoolingMLP` (mean and std over the tokens, then
    3 x [Linear, LayerNorm, ReLU]).

    Arguments
    ---------
    cross_modal : CrossModalEncoder
        The (pre-trained) cross-modal block.
    classifier : torch.nn.Module
        ``(tokens (B, L, D), lengths) -> (B, E)``.
    query : str
        ``cls`` or ``transcript``.
    freeze_cross_modal : bool
        If True the block is not trained (and stays in eval mode).

    Example
    -------
    >>> from speechbrain_ser.nnet.tokenwise import CrossModalEncoder
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> block = CrossModalEncoder(16, 8, n_heads=2, d_ffn=32)
    >>> head = TokenwiseHead(block, StatsPoolingMLP(16, hidden_size=12))
    >>> frames, lengths = torch.rand(2, 30, 8), torch.tensor([1.0, 0.5])
    >>> head(frames, lengths).shape
    torch.Size([2, 12])
    >>> head = TokenwiseHead(block, StatsPoolingMLP(16, 12), "transcript")
    >>> queries = torch.rand(2, 5, 16)
    >>> mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    >>> head(frames, lengths, queries, mask).shape
    torch.Size([2, 12])
    """

    def __init__(
        self, cross_modal, classifier, query="cls", freeze_cross_modal=False
    ):
        super().__init__()
        if query not in ("cls", "transcript"):
            raise ValueError(f"query must be cls or transcript, not {query!r}")
        self.cross_modal = cross_modal
        self.classifier = classifier
        self.query = query
        self.freeze_cross_modal = freeze_cross_modal
        if freeze_cross_modal:
            self.cross_modal.requires_grad_(False)

    def train(self, mode=True):
        """Sets the mode; a frozen cross-modal block stays in eval."""
        super().train(mode)
        if self.freeze_cross_modal:
            self.cross_modal.eval()
        return self

    def forward(self, frames, lengths=None, queries=None, query_mask=None):
        """Speech frames (and transcript queries) -> (B, E) embedding.

        Arguments
        ---------
        frames : torch.Tensor
            (B, T, D_speech) speech encoder frames.
        lengths : torch.Tensor, optional
            (B,) relative lengths of the frames.
        queries : torch.Tensor, optional
            (B, L, D) token input embeddings (``query="transcript"``).
        query_mask : torch.Tensor, optional
            (B, L), nonzero on real tokens (a prefix of each row).

        Returns
        -------
        torch.Tensor
            The classifier's (B, E) utterance embedding.
        """
        if self.query == "cls":
            cls = self.cross_modal.encode_cls(frames, lengths)
            return self.classifier(cls.unsqueeze(1))
        if queries is None or query_mask is None:
            raise ValueError(
                "query: transcript needs the transcript's token queries; "
                "train with TranscriptEmotionBrain, or use query: cls"
            )
        tokens = self.cross_modal(queries, query_mask, frames, lengths)
        token_lengths = query_mask.sum(1).to(tokens.dtype) / tokens.shape[1]
        return self.classifier(tokens, token_lengths)


class CrossModalLayer(torch.nn.Module):
    """Cross-attention + feed-forward, residual and LayerNorm around each.

    Arguments
    ---------
    d_model : int
        Query, key and value dimension.
    n_heads : int
        Attention heads.
    d_ffn : int
        Hidden size of the feed-forward network.
    dropout : float
        Dropout on the attention weights and the residual branches.

    Example
    -------
    >>> layer = CrossModalLayer(d_model=16, n_heads=2, d_ffn=32)
    >>> queries, frames = torch.rand(2, 5, 16), torch.rand(2, 40, 16)
    >>> frame_pad = torch.zeros(2, 40, dtype=torch.bool)
    >>> layer(queries, frames, frame_pad).shape
    torch.Size([2, 5, 16])
    """

    def __init__(self, d_model, n_heads=4, d_ffn=1024, dropout=0.1):
        super().__init__()
        self.attention = torch.nn.MultiheadAttention(
            d_model, n_heads, dropout=dropout, batch_first=True
        )
        self.attention_norm = torch.nn.LayerNorm(d_model)
        self.ffn = torch.nn.Sequential(
            torch.nn.Linear(d_model, d_ffn),
            torch.nn.GELU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(d_ffn, d_model),
        )
        self.ffn_norm = torch.nn.LayerNorm(d_model)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, queries, frames, frame_padding):
        """Updates (B, L, d_model) queries from (B, T, d_model) frames.

        ``frame_padding`` is (B, T), True on padded frames.
        """
        attended, _ = self.attention(
            queries,
            frames,
            frames,
            key_padding_mask=frame_padding,
            need_weights=False,
        )
        x = self.attention_norm(queries + self.dropout(attended))
        return self.ffn_norm(x + self.dropout(self.ffn(x)))


class CrossModalEncoder(torch.nn.Module):
    """N cross-modal layers: token queries x speech frames -> token vectors.

    The frames are projected to the query dimension when they differ; the
    queries and outputs have the teacher's hidden size, so outputs compare
    directly with the teacher's contextual embeddings.

    The module also keeps ``cls_query``, the teacher's embedding-layer
    output for its ``[CLS]`` token at position 0 (set once with
    :meth:`set_cls_query`, saved in checkpoints): the single query of
    speech-only use (:meth:`encode_cls`), where no transcript exists.

    Arguments
    ---------
    query_size : int
        Dimension of the queries and outputs (the teacher's hidden size).
    frame_size : int
        Dimension of the speech frames.
    n_layers : int
        Number of :class:`CrossModalLayer` (Sunder et al. 2022: 1).
    n_heads : int
        Attention heads.
    d_ffn : int
        Feed-forward hidden size.
    dropout : float
        Dropout.

    Example
    -------
    >>> block = CrossModalEncoder(
    ...     query_size=16, frame_size=8, n_heads=2, d_ffn=32
    ... )
    >>> queries, frames = torch.rand(2, 5, 16), torch.rand(2, 40, 8)
    >>> query_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    >>> block(queries, query_mask, frames, torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 5, 16])
    >>> block.encode_cls(frames, torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 16])
    """

    def __init__(
        self,
        query_size,
        frame_size,
        n_layers=1,
        n_heads=4,
        d_ffn=1024,
        dropout=0.1,
    ):
        super().__init__()
        self.frame_projection = (
            torch.nn.Identity()
            if frame_size == query_size
            else torch.nn.Linear(frame_size, query_size)
        )
        self.layers = torch.nn.ModuleList(
            CrossModalLayer(query_size, n_heads, d_ffn, dropout)
            for _ in range(n_layers)
        )
        self.register_buffer("cls_query", torch.zeros(query_size))

    def set_cls_query(self, embedding):
        """Stores the teacher's (query_size,) [CLS] input embedding."""
        self.cls_query.copy_(embedding.detach().reshape(-1))

    def forward(self, queries, query_mask, frames, lengths=None):
        """Contextual token vectors from queries and speech frames.

        Arguments
        ---------
        queries : torch.Tensor
            (B, L, query_size) token input embeddings.
        query_mask : torch.Tensor
            (B, L), nonzero on real tokens. Padded queries do not affect
            the others (attention runs per query); their outputs are
            zeroed.
        frames : torch.Tensor
            (B, T, frame_size) speech encoder frames.
        lengths : torch.Tensor, optional
            (B,) relative lengths of the frames.

        Returns
        -------
        torch.Tensor
            (B, L, query_size).
        """
        frames = self.frame_projection(frames)
        frame_padding = key_padding_mask(frames, lengths)
        x = queries
        for layer in self.layers:
            x = layer(x, frames, frame_padding)
        return x * query_mask.unsqueeze(-1).to(x.dtype)

    def encode_cls(self, frames, lengths=None):
        """(B, query_size): the output of the single ``[CLS]`` query."""
        queries = self.cls_query.expand(frames.shape[0], 1, -1)
        mask = torch.ones(frames.shape[0], 1, device=frames.device)
        return self.forward(queries, mask, frames, lengths)[:, 0]


def tokenwise_contrastive_loss(outputs, targets, mask, temperature=0.07):
    """Tokenwise InfoNCE of Sunder et al. (Interspeech 2022, sec. 2.2).

    Each output token must be closest (cosine similarity / temperature) to
    the teacher's contextual embedding of the same token, against every
    other valid token of the batch (other tokens of the same utterance
    and all tokens of the other utterances). Tokens where ``mask`` is
    False (padding, special tokens such as [CLS] and [SEP]) are neither
    queries nor candidates. It is :func:`info_nce_loss` on unit vectors
    scaled by 1 / temperature.

    Arguments
    ---------
    outputs : torch.Tensor
        (B, L, D) tokens from speech (the cross-modal block).
    targets : torch.Tensor
        (B, L, D) the teacher's contextual embeddings.
    mask : torch.Tensor
        (B, L) bool, True on the tokens that count.
    temperature : float or torch.Tensor
        Softmax temperature (a tensor when learned).

    Returns
    -------
    loss : torch.Tensor
        Mean cross-entropy of retrieving the right teacher token.
    accuracy : torch.Tensor
        Token retrieval top-1 accuracy.

    Example
    -------
    >>> targets = torch.eye(3).unsqueeze(0)
    >>> mask = torch.tensor([[True, True, False]])
    >>> loss, accuracy = tokenwise_contrastive_loss(
    ...     targets, targets, mask, temperature=0.1
    ... )
    >>> round(loss.item(), 6), accuracy.item()
    (4.5e-05, 1.0)
    """
    outputs = torch.nn.functional.normalize(outputs, dim=-1)
    targets = torch.nn.functional.normalize(targets, dim=-1)
    return info_nce_loss(outputs / temperature, targets, mask.bool())


class TokenwiseContrastiveLoss(torch.nn.Module):
    """:func:`tokenwise_contrastive_loss` with a fixed or learned temperature.

    A learned temperature is kept as its logarithm (so it stays positive)
    and clamped to [``min_temperature``, 1], as CLIP does with its scale.

    Arguments
    ---------
    temperature : float
        The (initial) temperature.
    learn_temperature : bool
        If True the temperature is a trained parameter.
    min_temperature : float
        Lower bound of a learned temperature.

    Example
    -------
    >>> loss = TokenwiseContrastiveLoss(temperature=0.1)
    >>> targets = torch.eye(3).unsqueeze(0)
    >>> mask = torch.tensor([[True, True, False]])
    >>> [round(v.item(), 6) for v in loss(targets, targets, mask)]
    [4.5e-05, 1.0]
    >>> len(list(TokenwiseContrastiveLoss(learn_temperature=True).parameters()))
    1
    """

    def __init__(
        self, temperature=0.07, learn_temperature=False, min_temperature=0.01
    ):
        super().__init__()
        log_temperature = torch.tensor(math.log(temperature))
        if learn_temperature:
            self.log_temperature = torch.nn.Parameter(log_temperature)
        else:
            self.register_buffer("log_temperature", log_temperature)
        self.min_temperature = min_temperature

    @property
    def temperature(self):
        """The current temperature (a scalar tensor)."""
        return self.log_temperature.exp().clamp(self.min_temperature, 1.0)

    def forward(self, outputs, targets, mask):
        """Returns the loss and the top-1 retrieval accuracy."""
        return tokenwise_contrastive_loss(
            outputs, targets, mask, self.temperature
        )
