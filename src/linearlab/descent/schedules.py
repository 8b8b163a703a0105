"""Step sizes: the automatic learning rate from the problem's curvature.

For the mean squared error L(θ) = (1/n)‖Aθ - y‖² with A = [X, 1], the Hessian is (2/n)AᵀA and
gradient descent is stable for lr < 2/λ_max. ``lr="auto"`` takes 1/L (half that limit), where L is
the largest curvature one step can meet: λ_max for full batches, steeper for small mini-batches.
"""

from __future__ import annotations

import numpy as np

from linearlab.descent.optimizers import MOMENTUM
from linearlab.exact.gram import Gram


def batch_curvature(
    gram: Gram,
    *,
    fit_intercept: bool,
    loss: str,
    batch_size: int | None,
    max_row_norm2: float | None = None,
    alpha: float = 0.0,
) -> float:
    """Largest curvature a single step can meet, for full batches or mini-batches.

    A full batch sees λ_max of the whole Hessian. A mini-batch of B rows can be steeper: a single
    row a = [x, 1] has curvature 2‖a‖². The estimate moves from the full-batch value towards the
    steepest row as batches shrink, L_B = L + (L_row - L)/B, which is exact for B = 1 and B = n.
    ``max_row_norm2`` is max‖a‖² over the rows; without it the steepest row is guessed as
    (d + 1) times the average curvature.
    """
    n = gram.weight_sum
    full = batch_size is None or batch_size >= gram.count
    batch_weight = n if full else n * batch_size / gram.count
    A, _ = gram.augmented_cross_products(fit_intercept)
    average = 2.0 * float(np.linalg.eigvalsh(A)[-1]) / n  # 2 λ_max of the mean a aᵀ
    if full:
        per_row = average
    else:
        steepest = 2.0 * max_row_norm2 if max_row_norm2 else average * A.shape[0]
        per_row = average + max(steepest - average, 0.0) / batch_size
    k = gram.n_targets
    if loss == "mse":
        curvature = per_row / k
    elif loss == "sse":
        curvature = per_row * batch_weight
    else:  # huber's quadratic part is r²/2; mae borrows the same scale
        curvature = per_row / (2.0 * k)
    if alpha:
        curvature += 2.0 * alpha * (batch_weight / n if loss == "sse" else 1.0 / (n * k))
    return max(curvature, np.finfo(float).tiny)


def auto_learning_rate(
    gram: Gram,
    *,
    fit_intercept: bool,
    loss: str,
    optimizer: str,
    batch_size: int | None,
    alpha: float = 0.0,
    distance: float | None = None,
    epochs: int = 1000,
    max_row_norm2: float | None = None,
    curvature: float | None = None,
) -> float:
    """A stable, reasonably fast step size for this problem and optimizer.

    ``curvature`` (from :func:`batch_curvature`, if already computed) saves recomputing it.

    Plain SGD takes 1/L (half the stability limit 2/L), L from :func:`batch_curvature`.
    Momentum multiplies steps by up to 1/(1 - μ): full batches take 0.5/L, mini-batches, whose
    noise momentum also amplifies, (1 - μ)/L. Adam moves each parameter by about lr per step
    whatever the curvature, so its step is sized to cover ``distance`` (the largest gap between
    the start and the exact optimum) ten times over in ``epochs`` epochs (at least 100).
    """
    if optimizer == "adam":
        if not distance or not np.isfinite(distance):
            return 1e-3  # torch.optim.Adam's default
        return float(10.0 * distance / max(epochs, 100))
    if curvature is None:
        curvature = batch_curvature(
            gram, fit_intercept=fit_intercept, loss=loss, batch_size=batch_size,
            max_row_norm2=max_row_norm2, alpha=alpha,
        )
    full = batch_size is None or batch_size >= gram.count
    if optimizer in ("momentum", "nesterov"):
        return float((0.5 if full else 1.0 - MOMENTUM) / curvature)
    return float(1.0 / curvature)


# --------------------------------------------------------------------------- schedules
LR_SCHEDULES = ("constant", "step", "exponential", "cosine", "invscaling")
STEP_GAMMA = 0.1  # StepLR's gamma, applied every epochs // 3 epochs
EXPONENTIAL_FINAL = 0.01  # ExponentialLR's gamma is chosen so the last epoch's lr is 1% of lr
POWER_T = 0.25  # scikit-learn's invscaling exponent (SGDRegressor's power_t default)


class LearningRateSchedule:
    """Step size by epoch (torch.optim.lr_scheduler, stepped once per epoch) or by sample.

    ``constant``: lr. ``step``: StepLR, lr·γ^⌊e/s⌋ with γ = 0.1, s = max(1, epochs // 3).
    ``exponential``: ExponentialLR, lr·γ^e with γ = 0.01^(1/epochs). ``cosine``:
    CosineAnnealingLR with T_max = epochs and η_min = 0, lr·(1 + cos(π e / T_max)) / 2.
    ``invscaling``: scikit-learn's lr / t^0.25 with t = 1 + the samples seen before the step
    (the only schedule that changes within an epoch).
    """

    def __init__(self, name: str, lr: float, epochs: int):
        if name not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {name!r}; choose one of {LR_SCHEDULES}")
        self.name, self.lr, self.epochs = name, float(lr), max(int(epochs), 1)
        self.per_step = name == "invscaling"

    def at_epoch(self, epoch: int) -> float:
        """The step size of epoch ``epoch`` (0-based) for the per-epoch schedules."""
        if self.name == "step":
            return self.lr * STEP_GAMMA ** (epoch // max(1, self.epochs // 3))
        if self.name == "exponential":
            return self.lr * EXPONENTIAL_FINAL ** (epoch / self.epochs)
        if self.name == "cosine":
            return self.lr * (1.0 + np.cos(np.pi * epoch / self.epochs)) / 2.0
        return self.lr

    def at_sample(self, samples_seen: int) -> float:
        """invscaling's step size once ``samples_seen`` rows have been used."""
        return self.lr / (1.0 + samples_seen) ** POWER_T
