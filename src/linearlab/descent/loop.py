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

import numpy as np

from .batches import BatchPlan
from .common import (
    DescentConfig,
    DescentResult,
    _check_divergence,
    _divergence,
    _log_line,
    _penalty_factor,
    _recordable,
)
from .fastpaths import affine_path_fits, train_affine, train_closed_form
from .losses import get_loss
from .optimizers import make_optimizer

__all__ = ["DescentConfig", "DescentResult", "forward_backward", "train"]


def train(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    init: tuple[np.ndarray, np.ndarray],
    plan: BatchPlan,
    config: DescentConfig,
) -> DescentResult:
    """Run gradient descent on ``(X, Y)`` (Y is 2-D) from ``init`` = (weight (d, k), bias (k,))."""
    if config.optimizer == "sgd" and get_loss(config.loss).quadratic:
        if plan.full_batch:
            return train_closed_form(X, Y, sample_weight, init, config)
        if affine_path_fits(X.shape, Y.shape, plan):
            return train_affine(X, Y, sample_weight, init, plan, config)
    return _train_loop(X, Y, sample_weight, init, plan, config)


# --------------------------------------------------------------------------- the loop
def forward_backward(W, b, Xb, Yb, wb, loss_fn, penalty: float, fit_intercept: bool):
    """One batch's loss and its gradients [dW, db] (or [dW] without an intercept).

    ``penalty`` is this step's ridge factor c in c‖W‖² (see ``_penalty_factor``).
    """
    pred = Xb @ W + b  # forward
    residual = pred - Yb
    loss = loss_fn.value(residual, wb) + penalty * float((W * W).sum())
    grad_pred = loss_fn.gradient(residual, wb)  # backward: dloss/dpred ...
    grad_W = Xb.T @ grad_pred + (2.0 * penalty) * W  # ... then the chain rule
    return loss, ([grad_W, grad_pred.sum(axis=0)] if fit_intercept else [grad_W])



def _train_loop(X, Y, sample_weight, init, plan, config) -> DescentResult:
    loss_fn = get_loss(config.loss)
    W = init[0].copy()
    b = init[1].copy() if config.fit_intercept else np.zeros_like(init[1])
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
            loss, grads = forward_backward(
                W, b, Xb, Yb, wb, loss_fn, step_penalty, config.fit_intercept
            )
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
