"""Losses for dimensional speech emotion recognition.

Authors
 * speechbrain-ser developers 2026
"""

import math

import torch


def batch_ccc(predictions, targets, eps=1e-8):
    """Concordance correlation coefficient per dimension over a batch.

    Population moments over the batch axis; a batch of one, or a constant
    prediction, gives 0 for that dimension rather than NaN.

    Arguments
    ---------
    predictions : torch.Tensor
        (B, D) predictions.
    targets : torch.Tensor
        (B, D) targets.
    eps : float
        Floor of the denominator.

    Returns
    -------
    torch.Tensor
        (D,) CCC of each dimension.

    Example
    -------
    >>> y = torch.tensor([[1.0, 2.0], [2.0, 0.0], [3.0, 1.0]])
    >>> batch_ccc(y, y)
    tensor([1., 1.])
    >>> batch_ccc(torch.zeros(1, 2), torch.ones(1, 2))
    tensor([0., 0.])
    """
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions {tuple(predictions.shape)} and targets "
            f"{tuple(targets.shape)} differ in shape"
        )
    pred_mean = predictions.mean(dim=0)
    target_mean = targets.mean(dim=0)
    pred_centred = predictions - pred_mean
    target_centred = targets - target_mean
    covariance = (pred_centred * target_centred).mean(dim=0)
    denominator = (
        pred_centred.pow(2).mean(dim=0)
        + target_centred.pow(2).mean(dim=0)
        + (pred_mean - target_mean).pow(2)
    )
    return 2 * covariance / denominator.clamp_min(eps)


def ccc_loss(predictions, targets, weights=None, eps=1e-8):
    """CCC loss: 1 - sum_d w_d * CCC_d over the output dimensions.

    With ``weights=None`` every dimension weighs 1/D, the equal-weight
    loss of SA2SR (Ghriss et al. 2022, eq. 3, up to the constant 1). Li et al. 2021 writes
    L = 1 - alpha*CCC_act - beta*CCC_val - (1 - alpha - beta)*CCC_dom;
    pass ``weights=[alpha, beta, 1 - alpha - beta]`` for it, or use
    :class:`CCCLoss`.

    Arguments
    ---------
    predictions : torch.Tensor
        (B, D) predictions.
    targets : torch.Tensor
        (B, D) targets.
    weights : sequence of float, optional
        One weight per dimension; they should add up to 1.
    eps : float
        Floor of the CCC denominator.

    Returns
    -------
    torch.Tensor
        Scalar loss, 0 for perfect concordance.

    Example
    -------
    >>> y = torch.tensor([[1.0, 2.0, 0.0], [2.0, 0.0, 1.0], [3.0, 1.0, 5.0]])
    >>> ccc_loss(y, y)
    tensor(0.)
    >>> ccc_loss(torch.zeros(3, 3), y)
    tensor(1.)
    """
    ccc = batch_ccc(predictions, targets, eps=eps)
    if weights is None:
        weights = torch.full_like(ccc, 1.0 / ccc.numel())
    else:
        weights = torch.as_tensor(weights, dtype=ccc.dtype, device=ccc.device)
        if weights.numel() != ccc.numel():
            raise ValueError(
                f"{weights.numel()} weights for {ccc.numel()} dimensions"
            )
    return 1 - (weights * ccc).sum()


class CCCLoss(torch.nn.Module):
    """Module form of :func:`ccc_loss` for activation/valence/dominance.

    Arguments
    ---------
    alpha : float, optional
        Weight of activation (Li et al. 2021).
    beta : float, optional
        Weight of valence (Li et al. 2021); dominance gets 1 - alpha - beta.
        Leave both as None for equal weights (Ghriss et al. 2022).

    Example
    -------
    >>> loss = CCCLoss(alpha=0.5, beta=0.5)
    >>> y = torch.tensor([[1.0, 2.0, 0.0], [2.0, 0.0, 1.0], [3.0, 1.0, 5.0]])
    >>> loss(y, y)
    tensor(0.)
    >>> loss(torch.cat([y[:, :2], torch.zeros(3, 1)], dim=1), y)
    tensor(0.)
    """

    def __init__(self, alpha=None, beta=None):
        super().__init__()
        if (alpha is None) != (beta is None):
            raise ValueError("give both alpha and beta, or neither")
        if alpha is None:
            self.weights = None
        else:
            if alpha < 0 or beta < 0 or alpha + beta > 1:
                raise ValueError(
                    f"alpha={alpha}, beta={beta}: need alpha, beta >= 0 "
                    "and alpha + beta <= 1"
                )
            self.weights = [alpha, beta, 1.0 - alpha - beta]

    def forward(self, predictions, targets):
        """Returns the scalar loss for (B, 3) predictions and targets."""
        return ccc_loss(predictions, targets, weights=self.weights)


def info_nce_loss(
    predictions, targets, mask, num_negatives=None, generator=None
):
    """InfoNCE over the valid frames of a padded batch (CPC, Li et al. 2021).

    ``predictions[b, t]`` should match ``targets[b, t]``; every other valid
    target frame of the batch (other time steps of the same utterance and
    frames of the other utterances) is a negative. Frames where ``mask``
    is False (padding) are neither queries, positives nor negatives.
    Scores are dot products, as in Li et al.'s loss.

    Arguments
    ---------
    predictions : torch.Tensor
        (B, T, D) predicted frames.
    targets : torch.Tensor
        (B, T, D) true frames.
    mask : torch.Tensor
        (B, T) bool, True on valid positions.
    num_negatives : int, optional
        Number of valid frames drawn at random (one draw shared by all
        queries) as negatives; a query's own positive is left out of its
        negatives. None uses every other valid frame.
    generator : torch.Generator, optional
        For drawing negatives.

    Returns
    -------
    loss : torch.Tensor
        Mean cross-entropy of picking the positive among the candidates.
    accuracy : torch.Tensor
        Fraction of queries whose positive scores highest.

    Example
    -------
    >>> z = torch.eye(3).unsqueeze(0)  # three orthogonal frames
    >>> mask = torch.tensor([[True, True, False]])
    >>> loss, accuracy = info_nce_loss(10 * z, z, mask)
    >>> round(loss.item(), 6), accuracy.item()
    (4.5e-05, 1.0)
    """
    queries = predictions[mask]
    pool = targets[mask]
    count = pool.shape[0]
    if count < 2:
        raise ValueError("InfoNCE needs at least two valid frames")
    if num_negatives is None or num_negatives >= count - 1:
        logits = queries @ pool.t()
        labels = torch.arange(count, device=pool.device)
    else:
        # One shared draw for all queries: a (count, num_negatives) score
        # matrix instead of a (count, num_negatives, D) gather.
        drawn = torch.randperm(count, generator=generator)[:num_negatives]
        drawn = drawn.to(pool.device)
        positive = (queries * pool).sum(-1, keepdim=True)
        negative = queries @ pool[drawn].t()
        own = torch.arange(count, device=pool.device).unsqueeze(1)
        negative = negative.masked_fill(drawn.unsqueeze(0) == own, -math.inf)
        logits = torch.cat([positive, negative], dim=1)
        labels = torch.zeros(count, dtype=torch.long, device=pool.device)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    accuracy = (logits.argmax(dim=1) == labels).float().mean()
    return loss, accuracy
