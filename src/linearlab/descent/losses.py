"""Losses as functions of the residual r = prediction - target, with their gradients.

Each loss reduces like its torch.nn counterpart: ``mse`` as ``MSELoss()`` (mean over rows and
targets), ``sse`` as ``MSELoss(reduction="sum")``, ``mae`` as ``L1Loss()`` and ``huber`` as
``HuberLoss(delta=1.0)``. With sample weights the mean becomes a weighted mean over rows.
"""

from __future__ import annotations

import numpy as np

LOSSES = ("mse", "sse", "mae", "huber")
HUBER_DELTA = 1.0


class Loss:
    """A pointwise loss ℓ(r) reduced by mean or sum over the rows of a batch."""

    name = ""
    reduction = "mean"
    quadratic = False  # ℓ(r) = r², so the loss is a quadratic function of the parameters

    def pointwise(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def normaliser(self, r: np.ndarray, weight: np.ndarray | None) -> float:
        """The factor the summed (weighted) pointwise losses are multiplied by."""
        if self.reduction == "sum":
            return 1.0
        total = r.shape[0] if weight is None else float(weight.sum())
        return 1.0 / (total * r.shape[1])

    def value(self, r: np.ndarray, weight: np.ndarray | None = None) -> float:
        """Loss of the residuals ``r`` (n, k)."""
        terms = self.pointwise(r)
        total = terms.sum() if weight is None else (weight @ terms).sum()
        return float(total * self.normaliser(r, weight))

    def gradient(self, r: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        """dLoss/dprediction, same shape as ``r``."""
        g = self.derivative(r) * self.normaliser(r, weight)
        return g if weight is None else g * weight[:, None]


class MeanSquaredError(Loss):
    name, quadratic = "mse", True

    def pointwise(self, r):
        return r * r

    def derivative(self, r):
        return 2.0 * r


class SumSquaredError(MeanSquaredError):
    name, reduction = "sse", "sum"


class MeanAbsoluteError(Loss):
    name = "mae"

    def pointwise(self, r):
        return np.abs(r)

    def derivative(self, r):
        return np.sign(r)


class Huber(Loss):
    name = "huber"

    def __init__(self, delta: float = HUBER_DELTA):
        self.delta = delta

    def pointwise(self, r):
        a = np.abs(r)
        return np.where(a <= self.delta, 0.5 * r * r, self.delta * (a - 0.5 * self.delta))

    def derivative(self, r):
        return np.clip(r, -self.delta, self.delta)


def get_loss(name: str) -> Loss:
    """The loss named ``name`` (one of :data:`LOSSES`)."""
    table = {
        "mse": MeanSquaredError,
        "sse": SumSquaredError,
        "mae": MeanAbsoluteError,
        "huber": Huber,
    }
    if name not in table:
        raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")
    return table[name]()
