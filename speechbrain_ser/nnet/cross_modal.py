"""Cross-modal attention: text token queries over speech frames.

The block of Sunder et al. (Interspeech 2022, sec. 2.1): the queries are
the non-contextual input embeddings of the transcript's tokens (a BERT
teacher's embedding-layer output), the keys and values are the frames of
a speech encoder; each layer is multi-head cross-attention then a
feed-forward network, each with a residual connection and LayerNorm
(post-norm, as BERT). The output has one contextual vector per token,
which tokenwise contrastive pre-training pulls towards the teacher's
contextual embedding of the same token. Sunder et al. use one layer.

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.nnet.heads import key_padding_mask


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
