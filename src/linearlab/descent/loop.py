"""The training loop: forward, loss, backward (hand-derived gradient), update — epoch by epoch.

``train`` is the from-scratch NumPy engine behind ``LinearRegression(solver="gd")``. Each step
does what the seed documents do by hand::

    pred = X_b @ W + b                     # forward
    loss = criterion(pred - y_b)           # loss
    g = dloss/dpred;  dW = X_bᵀ g;  db = Σ g  # backward, by the chain rule
    optimizer.step([dW, db])               # update

``history`` records one loss per epoch: the loss before the update for full batches, the mean
of the batch losses seen during the epoch for mini-batches (as seed 001 prints it).

Plain full-batch gradient descent on a squared loss is a linear recurrence, so it is evaluated in
closed form over all epochs at once (the same iterates, without a Python-level loop); every other
combination runs the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import DivergenceError
from .batches import BatchPlan
from .losses import get_loss
from .optimizers import make_optimizer

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


def train(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    init: tuple[np.ndarray, np.ndarray],
    plan: BatchPlan,
    config: DescentConfig,
) -> DescentResult:
    """Run gradient descent on ``(X, Y)`` (Y is 2-D) from ``init`` = (weight (d, k), bias (k,))."""
    if plan.full_batch and config.optimizer == "sgd" and get_loss(config.loss).quadratic:
        return _train_closed_form(X, Y, sample_weight, init, config)
    return _train_loop(X, Y, sample_weight, init, plan, config)


# --------------------------------------------------------------------------- the loop
def _train_loop(X, Y, sample_weight, init, plan, config) -> DescentResult:
    loss_fn = get_loss(config.loss)
    W, b = init[0].copy(), init[1].copy()
    params = [W, b] if config.fit_intercept else [W]
    optimizer = make_optimizer(config.optimizer, params, config.lr)
    total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    penalty = _penalty_factor(config, Y.shape[1], total_weight)
    record = _recordable(config.epochs, X.shape[1] + 1, Y.shape[1])
    snapshots = [np.vstack([W, b[None, :]])] if record else None

    history: list[float] = []
    stopped = False
    for epoch in range(config.epochs):
        batch_losses = []
        for rows in plan.epoch():
            Xb, Yb = X[rows], Y[rows]
            wb = None if sample_weight is None else sample_weight[rows]
            step_penalty = penalty
            if config.loss == "sse" and penalty:
                share = Xb.shape[0] if wb is None else float(wb.sum())
                step_penalty = penalty * share / total_weight
            pred = Xb @ W + b  # forward
            residual = pred - Yb
            loss = loss_fn.value(residual, wb) + step_penalty * float((W * W).sum())
            grad_pred = loss_fn.gradient(residual, wb)  # backward: dloss/dpred ...
            grad_W = Xb.T @ grad_pred + (2.0 * step_penalty) * W  # ... then the chain rule
            grads = [grad_W, grad_pred.sum(axis=0)] if config.fit_intercept else [grad_W]
            if not np.isfinite(loss):
                raise _divergence(epoch, loss, config)
            optimizer.step(grads)  # update
            batch_losses.append(loss)
        epoch_loss = float(np.mean(batch_losses))
        history.append(epoch_loss)
        _check_divergence(epoch, epoch_loss, history[0], config)
        if snapshots is not None:
            snapshots.append(np.vstack([W, b[None, :]]))
        if config.log_every and epoch % config.log_every == 0:
            config.log(_log_line(epoch, config.epochs, epoch_loss, W, b, config))
        if config.tol is not None and epoch > 0 and history[-2] - history[-1] < config.tol:
            stopped = True
            break
    return DescentResult(
        coef=W,
        intercept=b,
        history=history,
        n_iter=len(history),
        stopped_by_tol=stopped,
        params_history=None if snapshots is None else np.stack(snapshots),
    )


# --------------------------------------------------------------------------- closed form
def _train_closed_form(X, Y, sample_weight, init, config) -> DescentResult:
    """Full-batch plain gradient descent on a squared loss, all epochs at once.

    With θ = [W; b] and A = [X, 1] the loss is c‖Aθ - Y‖²_w + p‖W‖², so one step is the affine
    map θ ← θ - lr (Hθ - g), H = 2(c AᵀWA + pP), g = 2c AᵀWY. In H's eigenbasis each coordinate
    decays as (1 - lr λ)^t towards the optimum, which gives every epoch's θ and loss directly.
    """
    n, d = X.shape
    k = Y.shape[1]
    fit_b = config.fit_intercept
    w = np.ones(n) if sample_weight is None else sample_weight
    total_weight = float(w.sum())
    c = 1.0 if config.loss == "sse" else 1.0 / (total_weight * k)
    p = _penalty_factor(config, k, total_weight)
    A = np.hstack([X, np.ones((n, 1))]) if fit_b else X
    Aw = A * w[:, None]
    H = 2.0 * c * (A.T @ Aw)
    H[np.arange(d), np.arange(d)] += 2.0 * p
    g = 2.0 * c * (Aw.T @ Y)
    lam, V = np.linalg.eigh(H)

    theta0 = np.vstack([init[0], init[1][None, :]]) if fit_b else init[0].copy()
    z0 = V.T @ theta0
    gz = V.T @ g
    positive = lam > lam.max() * 1e-14 if lam.max() > 0 else np.zeros_like(lam, bool)
    z_star = np.where(positive[:, None], gz / np.where(positive, lam, 1.0)[:, None], z0)
    rate = np.where(positive, 1.0 - config.lr * lam, 1.0)

    def loss_of(theta: np.ndarray) -> float:
        W_, b_ = (theta[:-1], theta[-1]) if fit_b else (theta, np.zeros(k))
        r = X @ W_ + b_ - Y
        return float(c * (w @ (r * r)).sum() + p * (W_ * W_).sum())

    theta_star = V @ z_star
    loss_star = loss_of(theta_star)
    epochs = config.epochs
    t = np.arange(epochs + 1, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        decay = rate[None, :] ** t[:, None]  # (epochs + 1, p)
        delta = z0 - z_star  # (p, k)
        excess = 0.5 * np.einsum("p,tp,pk->t", lam * positive, decay**2, delta**2)
        losses = loss_star + excess
    first = losses[0]
    bad = ~np.isfinite(losses) | ((first > 0) & (losses > EXPLOSION_FACTOR * first))
    n_iter, stopped = epochs, False
    if bad[:epochs].any():
        epoch = int(np.argmax(bad[:epochs]))
        raise _divergence(epoch, float(losses[epoch]), config)
    if config.tol is not None and epochs > 1:
        small = (losses[:-1][:-1] - losses[1:epochs]) < config.tol
        if small.any():
            n_iter, stopped = int(np.argmax(small)) + 2, True

    def theta_at(steps: np.ndarray) -> np.ndarray:  # (len(steps), p, k)
        z = z_star[None] + decay[steps][:, :, None] * delta[None]
        return np.einsum("ij,tjk->tik", V, z)

    record = _recordable(n_iter, d + 1, k)
    path = theta_at(np.arange(n_iter + 1)) if record else theta_at(np.array([0, n_iter]))
    final = path[-1]
    if config.log_every:
        for epoch in range(0, n_iter, config.log_every):
            theta = path[epoch + 1] if record else theta_at(np.array([epoch + 1]))[0]
            W_e, b_e = (theta[:-1], theta[-1]) if fit_b else (theta, np.zeros(k))
            config.log(_log_line(epoch, epochs, float(losses[epoch]), W_e, b_e, config))
    W, b = (final[:-1].copy(), final[-1].copy()) if fit_b else (final.copy(), np.zeros(k))
    params_history = None
    if record:
        params_history = path if fit_b else np.concatenate(
            [path, np.zeros((path.shape[0], 1, k))], axis=1
        )
    return DescentResult(
        coef=W,
        intercept=b,
        history=[float(v) for v in losses[:n_iter]],
        n_iter=n_iter,
        stopped_by_tol=stopped,
        params_history=params_history,
    )
