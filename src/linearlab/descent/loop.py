"""The training loop: forward, loss, backward (hand-derived gradient), update — epoch by epoch.

``train`` is the from-scratch NumPy engine behind ``LinearRegression(solver="gd")``. Each step
does what the seed documents do by hand::

    pred = X_b @ W + b                         # forward
    loss = criterion(pred - y_b)               # loss
    g = dloss/dpred;  dW = X_bᵀ g;  db = Σ g   # backward, by the chain rule
    optimizer.step([dW, db])                   # update

Batches come from a batch source (:mod:`.driver`): an in-memory array here, a file's chunk
stream in ``streaming``. The epoch driver keeps the history, stops, logs and calls callbacks.
``history`` records one loss per epoch: the loss before the update for full batches, the mean
of the batch losses seen during the epoch for mini-batches (as seed 001 prints it).

``engine="auto"`` may hand plain SGD on a squared loss to :mod:`.fastpaths`, which computes
the same iterates without a Python-level loop (float64 only, in blocks of epochs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig, DescentResult, penalty_factor
from linearlab.descent.driver import ArrayBatches, BatchSource, EpochDriver
from linearlab.descent.fastpaths import fast_path
from linearlab.descent.losses import get_loss
from linearlab.descent.optimizers import Averager, make_optimizer
from linearlab.descent.schedules import LearningRateSchedule

__all__ = ["DescentConfig", "DescentResult", "forward_backward", "train", "train_loop"]


def train(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    init: tuple[np.ndarray, np.ndarray],
    plan: BatchPlan,
    config: DescentConfig,
    *,
    engine: str = "auto",
    validation: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> DescentResult:
    """Run gradient descent on ``(X, Y)`` (Y is 2-D) from ``init`` = (weight (d, k), bias (k,)).

    ``engine="loop"`` always runs :func:`train_loop`; ``"auto"`` may pick a fast path that gives
    the loop's iterates (see :func:`.fastpaths.fast_path`), or for batches of a few rows the
    compiled kernel (:mod:`.kernels`, with numba). ``X`` may be a scipy.sparse CSR matrix: its
    batches stay sparse and X_bᵀg is a sparse product.
    """
    sparse = type(X).__module__.startswith("scipy.sparse")  # batches stay sparse
    if engine == "auto" and validation is None:
        accelerated = None if sparse else fast_path(X, Y, plan, config)
        if accelerated is not None:
            return accelerated(X, Y, sample_weight, init, plan, config)
        if not plan.full_batch and plan.batch_size <= 64:  # small batches: compiled (numba)
            from linearlab.descent.kernels import kernel_path

            compiled = kernel_path(X, Y, plan, config)
            if compiled is not None:
                return compiled(X, Y, sample_weight, init, plan, config)
    total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    if sparse:
        from linearlab.sparse.batches import SparseBatches

        source = SparseBatches(X, Y, sample_weight, plan)
    else:
        source = ArrayBatches(X, Y, sample_weight, plan)
    return train_loop(source, init, config, total_weight=total_weight, validation=validation)


def forward_backward(W, b, Xb, Yb, wb, loss_fn, penalty: float, fit_intercept: bool):
    """One batch's loss and its gradients [dW, db] (or [dW] without an intercept).

    ``penalty`` is this step's ridge factor c in c‖W‖² (see :func:`.config.penalty_factor`).
    """
    pred = Xb @ W + b  # forward
    residual = pred - Yb
    loss = loss_fn.value(residual, wb) + penalty * float((W * W).sum())
    grad_pred = loss_fn.gradient(residual, wb)  # backward: dloss/dpred ...
    grad_W = Xb.T @ grad_pred + (2.0 * penalty) * W  # ... then the chain rule
    return loss, ([grad_W, grad_pred.sum(axis=0)] if fit_intercept else [grad_W])


def train_loop(
    source: BatchSource,
    init: tuple[np.ndarray, np.ndarray],
    config: DescentConfig,
    *,
    total_weight: float,
    validation: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> DescentResult:
    """The plain loop over any batch source; ``total_weight`` is Σw over one epoch's rows."""
    loss_fn = get_loss(config.loss)
    W = init[0].copy()
    b = init[1].copy() if config.fit_intercept else np.zeros_like(init[1])
    params = [W, b] if config.fit_intercept else [W]
    optimizer = make_optimizer(config.optimizer, params, config.lr)
    penalty = penalty_factor(config, W.shape[1], total_weight)
    schedule = LearningRateSchedule(config.lr_schedule, config.lr, config.epochs)
    averager = None
    if config.average is not False:
        averager = Averager(params, 0 if config.average is True else int(config.average))

    def current():  # the model's parameters: the averages when averaging
        if averager is None:
            return W, b
        return averager.averages[0], averager.averages[1] if config.fit_intercept else b

    driver = EpochDriver(config, W, b, validation)
    seen = 0
    # a full batch read in blocks brings its own step: the gradient summed over every block
    step = getattr(source, "forward_backward", forward_backward)
    with driver:
        while driver.running:
            optimizer.lr = driver.lr = schedule.at_epoch(driver.epoch)
            batch_losses = []
            for Xb, Yb, wb in source.epoch():
                if schedule.per_step:
                    optimizer.lr = driver.lr = schedule.at_sample(seen)
                step_penalty = penalty
                if config.loss == "sse" and penalty:  # sse: the batch's share of the rows
                    share = Xb.shape[0] if wb is None else float(wb.sum())
                    step_penalty = penalty * share / total_weight
                loss, grads = step(
                    W, b, Xb, Yb, wb, loss_fn, step_penalty, config.fit_intercept
                )
                if not np.isfinite(loss):
                    raise driver.diverged(loss)
                optimizer.step(grads)  # update
                seen += Xb.shape[0]
                if averager is not None:
                    averager.update(Xb.shape[0])
                batch_losses.append(loss)
            driver.end_epoch(float(np.mean(batch_losses)), *current())
    return driver.result(*current())
