"""Every hidden state of a speech encoder: weighted, concatenated, or one.

SUPERB (Yang et al., Interspeech 2021) feeds its downstream models a
learned softmax-weighted sum of all the hidden states of a frozen upstream
model. A linear probe of an encoder instead concatenates every hidden
state's statistics (``layer="concat"``): nothing is learned before the
head, so with a linear head the model is convex and can be solved to
convergence (:mod:`speechbrain_ser.brains.full_batch`). Encoders here
return every hidden state as (B, T, L, D) with ``layer="all"`` (see
:mod:`speechbrain_ser.nnet.encoders`); the modules below reduce them to
(B, T, D) (or (B, T, L * D) concatenated) for any head.

Authors
 * speechbrain-ser developers 2026
"""

import torch


class WeightedLayerSum(torch.nn.Module):
    """(B, T, L, D) hidden states -> (B, T, D): weighted sum or one layer.

    With ``layer="weighted"`` the output is sum_l softmax(w)_l h_l with one
    learned logit w_l per hidden state, initialised equal (the mean of the
    layers), as SUPERB's weighted sum. With ``layer="concat"`` the output
    is every hidden state side by side, (B, T, L * D): statistics pooled
    over it are every layer's statistics concatenated (the all-layer
    linear probe's input), and nothing is learned. With an int, the output is that
    hidden state and nothing is learned (e.g. -1: the last layer); a
    (B, T, D) input is then taken as that layer already chosen by the
    encoder and returned as is, so that one YAML key can set both::

        layers: -1  # or weighted
        encoder: !new:speechbrain_ser.nnet.encoders.WhisperEncoder
            layer: !ref <layers>  # "weighted" returns every layer
        head: !new:speechbrain_ser.nnet.layer_weighting.LayerWeightedHead
            layers: !ref <layers>

    Arguments
    ---------
    n_layers : int
        Number of hidden states L (transformer layers + 1).
    layer : str or int
        ``"weighted"``, ``"concat"`` or the index of one hidden state.
    layer_norm : bool
        Normalise each hidden state (LayerNorm without affine parameters)
        before summing, so that no layer dominates by its scale.

    Example
    -------
    >>> hiddens = torch.rand(2, 10, 5, 8)
    >>> WeightedLayerSum(5)(hiddens).shape
    torch.Size([2, 10, 8])
    >>> torch.equal(WeightedLayerSum(5, layer=-1)(hiddens), hiddens[:, :, -1])
    True
    >>> concat = WeightedLayerSum(5, layer="concat")(hiddens)
    >>> concat.shape
    torch.Size([2, 10, 40])
    >>> torch.equal(concat[..., 8:16], hiddens[:, :, 1])
    True
    """

    def __init__(self, n_layers, layer="weighted", layer_norm=False):
        super().__init__()
        if layer not in ("weighted", "concat") and not (
            isinstance(layer, int) and -n_layers <= layer < n_layers
        ):
            raise ValueError(
                f"layer must be 'weighted', 'concat' or an int in "
                f"[{-n_layers}, {n_layers - 1}], got {layer!r}"
            )
        self.n_layers = n_layers
        self.layer = layer
        self.layer_norm = layer_norm
        if layer == "weighted":
            self.weights = torch.nn.Parameter(torch.zeros(n_layers))

    def forward(self, hiddens):
        """Reduces (B, T, L, D) hidden states to (B, T, D) or (B, T, L*D)."""
        if isinstance(self.layer, int) and hiddens.dim() == 3:
            return hiddens  # the encoder returned this one layer already
        if hiddens.shape[-2] != self.n_layers:
            raise ValueError(
                f"expected {self.n_layers} hidden states in dimension -2 of "
                f"a (B, T, L, D) input, got shape {tuple(hiddens.shape)}; "
                "does the encoder return every layer (layer: all)?"
            )
        if self.layer == "concat":
            if self.layer_norm:
                hiddens = torch.nn.functional.layer_norm(
                    hiddens, hiddens.shape[-1:]
                )
            return hiddens.flatten(-2)
        if self.layer != "weighted":
            hiddens = hiddens[..., self.layer, :]
            if self.layer_norm:
                hiddens = torch.nn.functional.layer_norm(
                    hiddens, hiddens.shape[-1:]
                )
            return hiddens
        if self.layer_norm:
            hiddens = torch.nn.functional.layer_norm(
                hiddens, hiddens.shape[-1:]
            )
        weights = torch.softmax(self.weights, dim=0)
        return torch.einsum("btld,l->btd", hiddens, weights)

    def layer_weights(self):
        """The normalised weight of every hidden state, as a list.

        One-hot for a chosen layer; None when they are concatenated.

        Example
        -------
        >>> WeightedLayerSum(4).layer_weights()
        [0.25, 0.25, 0.25, 0.25]
        >>> WeightedLayerSum(3, layer=-1).layer_weights()
        [0.0, 0.0, 1.0]
        """
        if self.layer == "weighted":
            return torch.softmax(self.weights.detach(), 0).cpu().tolist()
        if self.layer == "concat":
            return None
        weights = [0.0] * self.n_layers
        weights[self.layer] = 1.0
        return weights


class LayerWeightedHead(torch.nn.Module):
    """A head on every hidden state: :class:`WeightedLayerSum`, then ``head``.

    Put it where a recipe names its ``head`` when the encoder returns every
    hidden state (``layer: all``): the head's interface, ``(frames,
    lengths) -> embedding``, is unchanged, so caching of frozen encoder
    frames, checkpointing and inference need nothing else.

    Arguments
    ---------
    head : torch.nn.Module
        Any head ``(B, T, D), lengths -> (B, E)``.
    n_layers : int
        Number of hidden states of the encoder (layers + 1).
    layers : str or int
        ``"weighted"`` (learned softmax weights), ``"concat"`` (every
        hidden state side by side: the head's ``input_size`` is then
        L * D, see :func:`layer_input_size`) or one hidden state's index.
    layer_norm : bool
        See :class:`WeightedLayerSum`.

    Example
    -------
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> head = LayerWeightedHead(StatsPoolingMLP(8, 16), n_layers=5)
    >>> head(torch.rand(2, 10, 5, 8), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 16])
    >>> linear = LayerWeightedHead(  # concatenated, statistics only
    ...     StatsPoolingMLP(layer_input_size(8, 5, "concat"), n_layers=0),
    ...     n_layers=5,
    ...     layers="concat",
    ... )
    >>> linear(torch.rand(2, 10, 5, 8), torch.tensor([1.0, 0.5])).shape
    torch.Size([2, 80])
    >>> linear.output_size
    80
    """

    def __init__(self, head, n_layers, layers="weighted", layer_norm=False):
        super().__init__()
        self.layer_sum = WeightedLayerSum(n_layers, layers, layer_norm)
        self.head = head

    @property
    def output_size(self):
        """The head's embedding size E (its ``output_size``)."""
        return self.head.output_size

    def forward(self, hiddens, lengths=None):
        """(B, T, L, D) hidden states -> the head's (B, E) embedding."""
        return self.head(self.layer_sum(hiddens), lengths)


def learned_layer_sums(modules):
    """Every :class:`WeightedLayerSum` with learned weights, by name.

    Arguments
    ---------
    modules : torch.nn.Module
        E.g. a Brain's ``modules`` (a DDP wrapper's ``module.`` is left
        out of the names).

    Returns
    -------
    dict
        ``{"head.layer_sum": WeightedLayerSum, ...}`` for ``layer=
        "weighted"``; empty without one.

    Example
    -------
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> modules = torch.nn.ModuleDict(
    ...     {"head": LayerWeightedHead(StatsPoolingMLP(4, 8), n_layers=3)}
    ... )
    >>> list(learned_layer_sums(modules))
    ['head.layer_sum']
    >>> [round(w, 3) for w in layer_weights(modules)["head.layer_sum"]]
    [0.333, 0.333, 0.333]
    >>> list(layer_weight_logits(modules))
    ['head.layer_sum.weights']
    """
    return {
        name.replace("module.", ""): module
        for name, module in modules.named_modules()
        if isinstance(module, WeightedLayerSum) and module.layer == "weighted"
    }


def layer_weights(modules):
    """Normalised weights of every learned layer weighting, by name.

    Arguments
    ---------
    modules : torch.nn.Module
        See :func:`learned_layer_sums`.

    Returns
    -------
    dict
        e.g. ``{"head.layer_sum": [0.1, ...]}``; empty without one.

    Example
    -------
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> modules = torch.nn.ModuleDict(
    ...     {"head": LayerWeightedHead(StatsPoolingMLP(4, 8), n_layers=2)}
    ... )
    >>> layer_weights(modules)
    {'head.layer_sum': [0.5, 0.5]}
    """
    return {
        name: module.layer_weights()
        for name, module in learned_layer_sums(modules).items()
    }


def layer_weight_logits(modules):
    """The learned layer-weight logits, by parameter name.

    Arguments
    ---------
    modules : torch.nn.Module
        See :func:`learned_layer_sums`.

    Returns
    -------
    dict
        ``{"head.layer_sum.weights": Parameter, ...}``; empty without one.

    Example
    -------
    >>> from speechbrain_ser.nnet.heads import StatsPoolingMLP
    >>> modules = torch.nn.ModuleDict(
    ...     {"head": LayerWeightedHead(StatsPoolingMLP(4, 8), n_layers=2)}
    ... )
    >>> logits = layer_weight_logits(modules)
    >>> list(logits), logits["head.layer_sum.weights"].shape
    (['head.layer_sum.weights'], torch.Size([2]))
    """
    return {
        f"{name}.weights": module.weights
        for name, module in learned_layer_sums(modules).items()
    }


def layer_input_size(input_size, n_layers, layers):
    """The frame size a head receives from :class:`WeightedLayerSum`.

    For a YAML that switches ``layers`` from the command line: the head's
    ``input_size`` is ``n_layers * input_size`` when they are concatenated,
    else ``input_size``::

        input_size: !apply:speechbrain_ser.nnet.layer_weighting.layer_input_size
            - !ref <whisper_size> + <fbank_fusion_mels>
            - !apply:getattr [!ref <encoder>, n_hidden_states]
            - !ref <layers>

    Arguments
    ---------
    input_size : int
        One hidden state's size D (with anything appended to it).
    n_layers : int
        Number of hidden states L.
    layers : str or int
        ``"concat"``, ``"weighted"`` or an index.

    Returns
    -------
    int

    Example
    -------
    >>> layer_input_size(384, 5, "concat"), layer_input_size(384, 5, -1)
    (1920, 384)
    """
    return input_size * n_layers if layers == "concat" else input_size
