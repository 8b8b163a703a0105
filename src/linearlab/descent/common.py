"""What every gradient-descent engine shares: settings, result, logging and divergence checks.

The NumPy loop, its closed-form and affine fast paths, and the PyTorch backend all use these, so
they log, stop and fail in exactly the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import DivergenceError

# A loss this many times its starting value means the iterates are running away.
EXPLOSION_FACTOR = 1e10
# Parameter snapshots are kept per epoch unless they would exceed this many numbers.
MAX_RECORDED_NUMBERS = 20_000_000


@dataclass
class DescentConfig:
    """Settings of one gradient-descent run (already validated, lr already resolved)."""

    lr: float
    loss: str = "mse"
    optimizer: str = "sgd"
    epochs: int = 1000
    tol: float | None = None
    alpha: float = 0.0
    fit_intercept: bool = True
    log_every: int = 0
    log: Callable[[str], None] = print
    stable_lr: float | None = None  # suggested in divergence errors
    feature_names: list[str] | None = None


@dataclass
class DescentResult:
    """Final parameters, per-epoch loss history and, when small enough, per-epoch parameters."""

    coef: np.ndarray  # (d, k)
    intercept: np.ndarray  # (k,)
    history: list[float]
    n_iter: int
    stopped_by_tol: bool
    # θ after each epoch, θ[0] the start: shape (n_iter + 1, d + 1, k), last row of axis 1 = bias
    params_history: np.ndarray | None = field(default=None, repr=False)


def _penalty_factor(config: DescentConfig, n_targets: int, total_weight: float) -> float:
    """c in the penalty c·α‖W‖², chosen so the optimum is scikit-learn's Ridge(alpha)."""
    if not config.alpha:
        return 0.0
    if config.loss == "sse":
        return config.alpha  # scaled per batch by its share of the rows, see _step_penalty
    return config.alpha / (total_weight * n_targets)


def _divergence(epoch: int, loss: float, config: DescentConfig) -> DivergenceError:
    what = "became non-finite" if not np.isfinite(loss) else f"exploded to {loss:.3g}"
    hint = (
        f"a step size below {config.stable_lr:.3g} is stable (try lr={config.stable_lr / 2:.3g}"
        " or lr='auto')"
        if config.stable_lr
        else "try a smaller lr or lr='auto'"
    )
    return DivergenceError(
        f"Gradient descent diverged at epoch {epoch}: the {config.loss} loss {what} with "
        f"lr={config.lr:.6g}. The step size is too large for this data; {hint}, or set "
        "standardize=True to put the features on one scale.",
        epoch=epoch,
        suggested_lr=None if config.stable_lr is None else config.stable_lr / 2,
    )


def _check_divergence(epoch: int, loss: float, first: float, config: DescentConfig) -> None:
    if not np.isfinite(loss) or (first > 0 and loss > EXPLOSION_FACTOR * first):
        raise _divergence(epoch, loss, config)


def _format_params(W: np.ndarray, b: np.ndarray, names: list[str] | None) -> str:
    if W.shape[1] == 1 and W.shape[0] <= 6:
        labels = names or ([f"w{j}" for j in range(W.shape[0])] if W.shape[0] > 1 else ["w"])
        parts = [f"{label} = {v:.6g}" for label, v in zip(labels, W[:, 0], strict=True)]
        return ", ".join(parts + [f"b = {b[0]:.6g}"])
    return f"|W| = {np.linalg.norm(W):.6g}, b = {np.array2string(b, precision=4)}"


def _log_line(epoch: int, epochs: int, loss: float, W, b, config: DescentConfig) -> str:
    width = len(str(epochs))
    params = _format_params(W, b, config.feature_names)
    return f"Epoch {epoch:>{width}}/{epochs}  loss {loss:.6g}  {params}"


def _recordable(epochs: int, n_params: int, n_targets: int) -> bool:
    return (epochs + 1) * n_params * n_targets <= MAX_RECORDED_NUMBERS
