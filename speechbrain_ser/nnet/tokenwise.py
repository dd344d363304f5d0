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

Authors
 * speechbrain-ser developers 2026
"""

import torch


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
    >>> from speechbrain_ser.nnet.cross_modal import CrossModalEncoder
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
