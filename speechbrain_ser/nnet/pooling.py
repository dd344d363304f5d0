"""Length-aware pooling over time.

Authors
 * speechbrain-ser developers 2026
"""

import torch


def valid_frames(lengths, frames):
    """Absolute number of valid frames of each item (at least 1).

    Every module here turns SpeechBrain's relative lengths into frame
    counts this way.

    Arguments
    ---------
    lengths : torch.Tensor
        (B,) relative lengths in (0, 1].
    frames : int
        Padded length T.

    Returns
    -------
    torch.Tensor
        (B,) long frame counts in [1, T].

    Example
    -------
    >>> valid_frames(torch.tensor([1.0, 0.5]), 10).tolist()
    [10, 5]
    """
    return torch.round(lengths * frames).long().clamp(min=1, max=frames)


def time_mask(x, lengths):
    """(B, T, 1) float mask of the valid frames of a padded batch.

    Arguments
    ---------
    x : torch.Tensor
        (B, T, ...) padded batch.
    lengths : torch.Tensor or None
        (B,) relative lengths in (0, 1]; None means no padding.

    Returns
    -------
    torch.Tensor
        (B, T, 1) mask with 1.0 on valid frames.

    Example
    -------
    >>> time_mask(torch.rand(2, 4, 3), torch.tensor([1.0, 0.5]))[:, :, 0]
    tensor([[1., 1., 1., 1.],
            [1., 1., 0., 0.]])
    """
    batch, frames = x.shape[:2]
    if lengths is None:
        return x.new_ones(batch, frames, 1)
    # At least one frame per item, so that pooling is always defined.
    valid = valid_frames(lengths, frames)
    # arange < length rather than length_to_mask, whose len(lengths) would
    # fix the batch size when the model is exported (ONNX)
    steps = torch.arange(frames, device=x.device)
    mask = steps.unsqueeze(0) < valid.to(x.device).unsqueeze(1)
    return mask.to(x.dtype).unsqueeze(-1)


class MeanStdPooling(torch.nn.Module):
    """Mean and standard deviation (or variance) over the valid frames.

    Arguments
    ---------
    second_moment : str
        ``"std"`` (Sarkar & Tarigopula; Li et al. 2021) or ``"var"`` (Ghriss et al. 2022).
    eps : float
        Floor of the variance before the square root.

    Example
    -------
    >>> pool = MeanStdPooling()
    >>> lengths = torch.tensor([1.0, 0.5, 0.8, 1.0])
    >>> pool(torch.rand(4, 50, 32), lengths=lengths).shape
    torch.Size([4, 64])
    """

    def __init__(self, second_moment="std", eps=1e-5):
        super().__init__()
        if second_moment not in ("std", "var"):
            raise ValueError(
                f"second_moment must be std or var, not {second_moment!r}"
            )
        self.second_moment = second_moment
        self.eps = eps

    def forward(self, x, lengths=None):
        """Pools (B, T, D) to (B, 2D): [mean; std or var]."""
        mask = time_mask(x, lengths)
        count = mask.sum(dim=1)
        mean = (x * mask).sum(dim=1) / count
        var = (((x - mean.unsqueeze(1)) ** 2) * mask).sum(dim=1) / count
        if self.second_moment == "std":
            second = torch.sqrt(var.clamp(min=self.eps))
        else:
            second = var
        return torch.cat([mean, second], dim=-1)


def token_attention_mask(input_ids, lengths):
    """(B, T) attention mask (1 on real tokens) from relative lengths.

    Arguments
    ---------
    input_ids : torch.Tensor
        (B, T) token ids (only the shape and device are used).
    lengths : torch.Tensor
        (B,) relative lengths in [0, 1].

    Returns
    -------
    torch.Tensor
        (B, T) long mask, 1 on the real tokens and 0 on padding.

    Example
    -------
    >>> token_attention_mask(torch.zeros(2, 4), torch.tensor([1.0, 0.5]))
    tensor([[1, 1, 1, 1],
            [1, 1, 0, 0]])
    """
    steps = torch.arange(input_ids.shape[1], device=input_ids.device)
    valid = valid_frames(lengths, input_ids.shape[1]).to(input_ids.device)
    return (steps.unsqueeze(0) < valid.unsqueeze(1)).long()
