"""Losses as functions of the residual r = prediction - target: each written once, in one table.

Each loss reduces like its torch.nn counterpart: ``mse`` as ``MSELoss()`` (mean over rows and
targets), ``sse`` as ``MSELoss(reduction="sum")``, ``mae`` as ``L1Loss()`` and ``huber`` as
``HuberLoss(delta=1.0)``. With sample weights the mean becomes a weighted mean over rows.

:data:`TABLE` holds, per loss, its reduction, whether it is quadratic, ℓ(r) and ℓ'(r) written
once for NumPy arrays and torch tensors alike (the formulas use only operators and methods both
share, with ``xp`` = numpy or torch), and the torch.nn criterion it matches.
The NumPy engine (:class:`Loss`), the torch engine (:func:`pointwise`) and the seeds' torch loop
(:func:`criterion`) all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

LOSSES = ("mse", "sse", "mae", "huber")
HUBER_DELTA = 1.0


def _huber_terms(r, xp):
    a = abs(r)
    return xp.where(a <= HUBER_DELTA, 0.5 * r * r, HUBER_DELTA * (a - 0.5 * HUBER_DELTA))


@dataclass(frozen=True)
class LossEntry:
    """One loss: its reduction, ℓ(r, xp) and ℓ'(r, xp) and the torch.nn criterion it matches.

    ``xp`` is ``numpy`` or ``torch``: the formulas use only what both share, so one line serves
    arrays and tensors.
    """

    name: str
    reduction: str  # "mean" or "sum"
    quadratic: bool  # ℓ(r) = r², so the loss is a quadratic function of the parameters
    terms: Callable[[Any, Any], Any]
    slope: Callable[[Any, Any], Any]
    criterion: Callable[[Any, str], Any]  # (torch.nn, reduction) -> the nn loss module


TABLE: dict[str, LossEntry] = {
    "mse": LossEntry("mse", "mean", True, lambda r, xp: r * r, lambda r, xp: r * 2.0,
                     lambda nn, reduction: nn.MSELoss(reduction=reduction)),
    "sse": LossEntry("sse", "sum", True, lambda r, xp: r * r, lambda r, xp: r * 2.0,
                     lambda nn, reduction: nn.MSELoss(reduction=reduction)),
    "mae": LossEntry("mae", "mean", False, lambda r, xp: abs(r), lambda r, xp: xp.sign(r),
                     lambda nn, reduction: nn.L1Loss(reduction=reduction)),
    "huber": LossEntry("huber", "mean", False, _huber_terms,
                       lambda r, xp: xp.clip(r, -HUBER_DELTA, HUBER_DELTA),
                       lambda nn, reduction: nn.HuberLoss(reduction=reduction,
                                                          delta=HUBER_DELTA)),
}


def entry(name: str) -> LossEntry:
    """The table's entry for ``name`` (one of :data:`LOSSES`)."""
    if name not in TABLE:
        raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")
    return TABLE[name]


class Loss:
    """A pointwise loss ℓ(r) from :data:`TABLE`, reduced by mean or sum over a batch's rows."""

    def __init__(self, name: str):
        self.entry = entry(name)
        self.name, self.reduction = name, self.entry.reduction
        self.quadratic = self.entry.quadratic

    def pointwise(self, r: np.ndarray) -> np.ndarray:
        """ℓ(r), elementwise."""
        return self.entry.terms(r, np)

    def derivative(self, r: np.ndarray) -> np.ndarray:
        """ℓ'(r), elementwise."""
        return self.entry.slope(r, np)

    def normaliser(self, r: np.ndarray, weight: np.ndarray | None,
                   total: float | None = None) -> float:
        """The factor the summed (weighted) pointwise losses are multiplied by.

        ``total`` is the rows' count (or Σw) the mean divides by; None takes the batch's own,
        so a full batch computed block by block passes the whole table's.
        """
        if self.reduction == "sum":
            return 1.0
        if total is None:
            total = r.shape[0] if weight is None else float(weight.sum())
        return 1.0 / (total * r.shape[1])

    def value(self, r: np.ndarray, weight: np.ndarray | None = None,
              total: float | None = None) -> float:
        """Loss of the residuals ``r`` (n, k)."""
        terms = self.pointwise(r)
        summed = terms.sum() if weight is None else (weight @ terms).sum()
        return float(summed * self.normaliser(r, weight, total))

    def gradient(self, r: np.ndarray, weight: np.ndarray | None = None,
                 total: float | None = None) -> np.ndarray:
        """dLoss/dprediction, same shape as ``r``."""
        g = self.derivative(r) * self.normaliser(r, weight, total)
        return g if weight is None else g * weight[:, None]


def get_loss(name: str) -> Loss:
    """The loss named ``name`` (one of :data:`LOSSES`)."""
    return Loss(name)


def pointwise(torch, loss: str, r):
    """ℓ(r) and ℓ'(r) of the table's ``loss`` on a tensor ``r`` (the torch engine's step)."""
    row = entry(loss)
    return row.terms(r, torch), row.slope(r, torch)


def criterion(nn, loss: str, reduction: str):
    """The torch.nn module the table's ``loss`` matches, with ``reduction``."""
    return entry(loss).criterion(nn, reduction)
