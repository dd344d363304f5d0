"""Calibration a model folder carries: temperature scaling and conformal
A/V/D intervals.

After training, the checkpoint that is tested is run once more on the
validation set; from its outputs

* a temperature ``T`` (and optionally one bias per class) is fitted by
  minimising the negative log-likelihood (Guo et al. 2017, "On
  Calibration of Modern Neural Networks"): calibrated probabilities are
  ``softmax(logits / T + b)``, the arg max is unchanged when ``b`` is 0;
* one conformal half-width per A/V/D dimension is the
  ``ceil((n + 1) c) / n`` quantile of the absolute validation residuals
  (split conformal prediction, Lei et al. 2018): a new utterance's
  interval ``[y - q, y + q]`` holds its true value with probability at
  least ``c`` when it is exchangeable with the validation utterances.

Both are saved as ``calibration.json`` in the model folder; a folder
without one loads with temperature 1 and no intervals, and says so.

Authors
 * speechbrain-ser developers 2026
"""

import json
import math
import os

import numpy as np
import torch

CALIBRATION_FILE = "calibration.json"
DEFAULT_COVERAGE = 0.9
# the fitted temperature is clipped to this range (T = 100 is already
# close to uniform probabilities)
TEMPERATURE_RANGE = (0.01, 100.0)


def fit_temperature(logits, labels, bias=False, max_iter=200):
    """Temperature (and per-class bias) minimising the NLL of ``labels``.

    Arguments
    ---------
    logits : array-like
        (N, C) logits (log-probabilities work as well: the softmax does
        not see a per-row shift).
    labels : array-like
        (N,) true class indices.
    bias : bool
        Also fit one additive bias per class (vector scaling with a
        shared scale), which can correct a model's prior shift; it may
        change the arg max.
    max_iter : int
        L-BFGS iterations.

    Returns
    -------
    tuple
        (temperature, bias list or None); the temperature is clipped to
        ``TEMPERATURE_RANGE``.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> labels = torch.randint(0, 3, (300,), generator=g)
    >>> logits = torch.randn(300, 3, generator=g)
    >>> logits[torch.arange(300), labels] += 1.0
    >>> t, b = fit_temperature(logits * 5, labels)  # overconfident x5
    >>> 3 < t < 8, b
    (True, None)
    """
    logits = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    shift = torch.zeros(logits.shape[1], dtype=torch.float64)
    params = [log_t]
    if bias:
        shift.requires_grad_(True)
        params.append(shift)
    optimizer = torch.optim.LBFGS(
        params, lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe"
    )

    def closure():
        """The NLL at the current parameters, with its gradient."""
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            logits / log_t.exp() + shift, labels
        )
        loss.backward()
        return loss

    optimizer.step(closure)
    # a model no better than chance on held-out data drives T to infinity
    temperature = float(log_t.detach().exp().clamp(*TEMPERATURE_RANGE))
    if bias:
        shift = shift.detach()
        return temperature, (shift - shift.mean()).tolist()
    return temperature, None


def conformal_half_width(residuals, coverage=DEFAULT_COVERAGE):
    """Split-conformal half-width from absolute calibration residuals.

    Arguments
    ---------
    residuals : array-like
        (N,) or (N, D) ``|target - prediction|`` on held-out data.
    coverage : float
        Nominal coverage ``c`` in (0, 1).

    Returns
    -------
    float or list of float
        The ``ceil((N + 1) c)``-th smallest residual (per column), or
        ``inf`` when ``N`` is too small for ``c`` (``(N + 1) c > N``).

    Example
    -------
    >>> conformal_half_width([0.1, 0.4, 0.2, 0.3], coverage=0.6)
    0.3
    >>> conformal_half_width([0.1, 0.2], coverage=0.9)
    inf
    """
    residuals = np.abs(np.asarray(residuals, dtype=np.float64))
    n = residuals.shape[0]
    rank = math.ceil((n + 1) * coverage)
    if residuals.ndim == 2:
        return [conformal_half_width(r, coverage) for r in residuals.T]
    if rank > n:
        return math.inf
    return float(np.sort(residuals)[rank - 1])


class Calibration:
    """A model folder's calibration: temperature, bias, A/V/D intervals.

    Arguments
    ---------
    temperature : float
        Logits are divided by it (1: unchanged).
    bias : list of float, optional
        Added to the scaled logits, one per class.
    coverage : float, optional
        Nominal coverage of the A/V/D intervals.
    half_widths : dict, optional
        Dimension name -> conformal half-width on the model's normalised
        [-1, 1] scale (``null`` / inf: the whole range).
    fitted : bool
        False for a folder without ``calibration.json``.
    info : dict, optional
        Anything else saved with it (e.g. the validation NLL before and
        after, the number of validation utterances).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> Calibration(2.0, coverage=0.9, half_widths={"valence": 0.2}).save(
    ...     folder
    ... )
    >>> c = Calibration.load(folder)
    >>> c.temperature, c.note
    (2.0, 'calibrated on validation data (temperature 2.000)')
    >>> c.probabilities(torch.tensor([[2.0, 0.0]])).round(decimals=3)
    tensor([[0.7310, 0.2690]])
    >>> c.interval("valence", 3.0, (1, 5))  # 0.2 normalised = 0.4 here
    [2.6, 3.4]
    >>> Calibration.load(tempfile.mkdtemp()).note  # doctest: +ELLIPSIS
    'not calibrated: the model folder has no calibration.json ...'
    """

    def __init__(
        self,
        temperature=1.0,
        bias=None,
        coverage=None,
        half_widths=None,
        fitted=True,
        info=None,
    ):
        self.temperature = float(temperature)
        self.bias = None if bias is None else list(bias)
        self.coverage = coverage
        self.half_widths = dict(half_widths or {})
        self.fitted = fitted
        self.info = dict(info or {})

    @property
    def note(self):
        """One sentence on what this calibration is, for the output."""
        if not self.fitted:
            return (
                "not calibrated: the model folder has no calibration.json "
                "(trained before calibration existed); temperature 1, "
                "probabilities are the raw softmax, no A/V/D intervals"
            )
        return (
            "calibrated on validation data "
            f"(temperature {self.temperature:.3f})"
        )

    def logits(self, logits):
        """Calibrated logits ``logits / T + b`` (torch tensors)."""
        scaled = logits / self.temperature
        if self.bias is not None:
            scaled = scaled + torch.as_tensor(
                self.bias, dtype=scaled.dtype, device=scaled.device
            )
        return scaled

    def probabilities(self, logits):
        """Calibrated class probabilities from (B, C) logits."""
        return torch.softmax(self.logits(logits), dim=-1)

    def interval(self, name, value, avd_range):
        """``[lo, hi]`` around a prediction on the corpus scale.

        Arguments
        ---------
        name : str
            Dimension (``activation``, ``valence``, ``dominance``).
        value : float
            The prediction on the corpus scale.
        avd_range : sequence of float
            (low, high) of the corpus scale; the interval is clipped to it.

        Returns
        -------
        list of float or None
            None when this calibration has no interval for ``name``.
        """
        if name not in self.half_widths:
            return None
        low, high = avd_range
        half = self.half_widths[name]
        half = math.inf if half is None else half * (high - low) / 2
        return [
            round(max(low, value - half), 6),
            round(min(high, value + half), 6),
        ]

    def to_dict(self):
        """The JSON-able content of ``calibration.json``."""
        return {
            "temperature": self.temperature,
            "bias": self.bias,
            "conformal": {
                "coverage": self.coverage,
                "scale": "normalised [-1, 1]",
                "half_widths": {
                    k: (None if v is None or math.isinf(v) else v)
                    for k, v in self.half_widths.items()
                },
            },
            **self.info,
        }

    def save(self, folder):
        """Writes ``<folder>/calibration.json``."""
        os.makedirs(folder, exist_ok=True)
        with open(
            os.path.join(folder, CALIBRATION_FILE), "w", encoding="utf-8"
        ) as fout:
            json.dump(self.to_dict(), fout, indent=2)

    @classmethod
    def from_dict(cls, data):
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        conformal = data.pop("conformal", None) or {}
        return cls(
            data.pop("temperature", 1.0),
            data.pop("bias", None),
            conformal.get("coverage"),
            conformal.get("half_widths"),
            info={k: v for k, v in data.items()},
        )

    @classmethod
    def load(cls, folder):
        """The calibration of a model folder; uncalibrated without one.

        Arguments
        ---------
        folder : str
            A model folder (or the savedir it was fetched into).

        Returns
        -------
        Calibration
            ``fitted`` is False when the folder has no calibration.json.
        """
        path = os.path.join(str(folder), CALIBRATION_FILE)
        if not os.path.isfile(path):
            return cls(fitted=False)
        with open(path, encoding="utf-8") as fin:
            return cls.from_dict(json.load(fin))
