"""Step sizes: the automatic learning rate from the problem's curvature.

For the mean squared error L(θ) = (1/n)‖Aθ - y‖² with A = [X, 1], the Hessian is (2/n)AᵀA and
gradient descent is stable for lr < 2/λ_max. ``lr="auto"`` takes 1/λ_max (half that limit) for
full batches and a smaller fraction for mini-batches, whose curvature fluctuates.
"""

from __future__ import annotations

import numpy as np

from ..gram import Gram


def max_curvature(gram: Gram, fit_intercept: bool, loss: str, batch_weight: float | None = None):
    """Largest eigenvalue of the loss Hessian (per target), from the Gram statistics.

    For ``sse`` the Hessian scales with the rows summed in one step (``batch_weight``).
    """
    A, _ = gram.augmented_cross_products(fit_intercept)
    n = gram.weight_sum
    lam = float(np.linalg.eigvalsh(A)[-1]) / n  # of (1/n)AᵀA
    if loss in ("mse",):
        return 2.0 * lam / gram.n_targets
    if loss == "sse":
        return 2.0 * lam * (batch_weight if batch_weight is not None else n)
    # huber: quadratic part 0.5 r², half the mse curvature; mae borrows the same scale
    return lam / gram.n_targets


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
) -> float:
    """A stable, reasonably fast step size for this problem and optimizer.

    Plain and momentum SGD take a fraction of 2/λ_max. Adam moves each parameter by about lr
    per step whatever the curvature, so its step is sized to cover ``distance`` (the largest
    gap between the start and the exact optimum) ten times over in ``epochs`` epochs.
    """
    n = gram.weight_sum
    full = batch_size is None or batch_size >= gram.count
    batch_weight = n if full else n * batch_size / gram.count
    curvature = max_curvature(gram, fit_intercept, loss, batch_weight)
    if alpha:
        factor = 1.0 if loss == "sse" else 1.0 / (n * gram.n_targets)
        curvature += 2.0 * alpha * factor * (batch_weight / n if loss == "sse" else 1.0)
    curvature = max(curvature, np.finfo(float).tiny)
    if optimizer == "adam":
        if not distance or not np.isfinite(distance):
            return 1e-3  # torch.optim.Adam's default
        return float(10.0 * distance / epochs)
    lr = 1.0 / curvature
    if optimizer in ("momentum", "nesterov"):
        lr *= 0.5
    if not full:
        lr *= 0.5
    return float(lr)


def stable_learning_rate_limit(gram: Gram, *, fit_intercept: bool, loss: str) -> float:
    """2/λ_max: full-batch plain gradient descent diverges above this step size."""
    return float(2.0 / max(max_curvature(gram, fit_intercept, loss), np.finfo(float).tiny))
