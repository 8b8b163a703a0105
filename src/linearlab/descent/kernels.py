"""Per-sample and small-batch SGD as compiled kernels (numba, the optional ``linearlab[numba]``).

The plain loop (:func:`linearlab.descent.loop.train_loop`) stays the reference a learner reads:
forward, loss, gradient, update, one batch at a time, in NumPy. For batches of a few rows that
loop is dominated by Python overhead (one epoch of ``batch_size=1`` over 100,000 rows is 100,000
trips through it), so :func:`kernel_path` hands the same computation, written as plain loops, to
numba: one call per epoch. The kernel computes exactly the loop's steps::

    r = X_b W + b − Y_b;  loss = c·Σ w r² + p‖W‖²;  g = 2c·w·r
    W ← W − lr·(X_bᵀ g + 2p·W);  b ← b − lr·Σ g

(c the loss's normaliser, p the step's ridge factor), in the same order, so it gives the loop's
iterates and history to rounding (tested to 1e-12), for dense X and for CSR X alike. It is used
for plain SGD (no momentum) on a squared loss with a per-epoch step size, no averaging and no
early stopping, in float64, batches of at most :data:`KERNEL_MAX_BATCH` rows, and only when numba
is installed; everything else runs the loop.
"""

from __future__ import annotations

import numpy as np

from linearlab.descent.config import DescentConfig, DescentResult, penalty_factor
from linearlab.descent.driver import EpochDriver
from linearlab.descent.schedules import LearningRateSchedule

try:  # this module is imported only when a kernel may run: numba's import cost is paid then
    import numba

    _jit = numba.njit(cache=True, nogil=True)  # compiled on first call, cached on disk
except ImportError:  # pragma: no cover - the loop runs instead (kernel_path says None)
    numba = None

    def _jit(fn):
        return fn

# Batches up to this many rows run compiled; larger ones spend their time in BLAS already.
KERNEL_MAX_BATCH = 64


@_jit
def _epoch_dense(X, Y, w, weighted, order, batch, lr, penalty, sse, total_weight, fit_b,
                 WT, b, losses):
    """One epoch over dense X; ``WT`` is the weight transposed (k, d), updated in place."""
    n, d, k = order.shape[0], X.shape[1], Y.shape[1]
    R = np.empty((batch, k))
    G = np.zeros((k, d))
    count = 0
    for start in range(0, n, batch):
        m = min(n, start + batch) - start
        share = 0.0
        for i in range(m):  # forward: r = X_b W + b - Y_b
            row = order[start + i]
            share += w[row] if weighted else 1.0
            for t in range(k):
                acc = 0.0
                for j in range(d):
                    acc += X[row, j] * WT[t, j]
                R[i, t] = acc + b[t] - Y[row, t]
        step_penalty = _batch_loss(R, m, k, w, weighted, order, start, share, penalty, sse,
                                   total_weight, WT, losses, count)
        count += 1
        if not np.isfinite(losses[count - 1]):
            return count
        for i in range(m):  # backward: G = X_bᵀ g
            row = order[start + i]
            for t in range(k):
                r = R[i, t]
                for j in range(d):
                    G[t, j] += X[row, j] * r
        _update_weights(WT, G, lr, step_penalty)  # W -= lr (G + 2p W)
        _update_bias(R, m, k, lr, fit_b, b)
    return count


@_jit
def _epoch_csr(indptr, indices, data, Y, w, weighted, order, batch, lr, penalty, sse,
               total_weight, fit_b, WT, b, losses):
    """One epoch over CSR X (its arrays); only the batch's non-zero columns are read."""
    n, d, k = order.shape[0], WT.shape[1], Y.shape[1]
    R = np.empty((batch, k))
    G = np.zeros((k, d))
    count = 0
    for start in range(0, n, batch):
        m = min(n, start + batch) - start
        share = 0.0
        for i in range(m):
            row = order[start + i]
            share += w[row] if weighted else 1.0
            for t in range(k):
                acc = 0.0
                for p in range(indptr[row], indptr[row + 1]):
                    acc += data[p] * WT[t, indices[p]]
                R[i, t] = acc + b[t] - Y[row, t]
        step_penalty = _batch_loss(R, m, k, w, weighted, order, start, share, penalty, sse,
                                   total_weight, WT, losses, count)
        count += 1
        if not np.isfinite(losses[count - 1]):
            return count
        for i in range(m):
            row = order[start + i]
            for t in range(k):
                r = R[i, t]
                for p in range(indptr[row], indptr[row + 1]):
                    G[t, indices[p]] += data[p] * r
        if step_penalty == 0.0:  # only the batch's columns move (the others' step is 0)
            for i in range(m):
                row = order[start + i]
                for p in range(indptr[row], indptr[row + 1]):
                    j = indices[p]
                    for t in range(k):
                        WT[t, j] -= lr * (G[t, j] + 0.0 * WT[t, j])
                        G[t, j] = 0.0
        else:
            _update_weights(WT, G, lr, step_penalty)
        _update_bias(R, m, k, lr, fit_b, b)
    return count


@_jit
def _batch_loss(R, m, k, w, weighted, order, start, share, penalty, sse, total_weight, WT,
                losses, count):
    """The batch loss into ``losses[count]``; R becomes the gradient 2c·w·r. Returns the
    step's ridge factor p (a batch's share of it for ``sse``)."""
    norm = 1.0 if sse else 1.0 / (share * k)
    step_penalty = penalty * share / total_weight if (sse and penalty) else penalty
    total = 0.0
    for i in range(m):
        wi = w[order[start + i]] if weighted else 1.0
        for t in range(k):
            total += wi * (R[i, t] * R[i, t])
    loss = total * norm
    if step_penalty != 0.0:
        squares = 0.0
        for j in range(WT.shape[1]):
            for t in range(k):
                squares += WT[t, j] * WT[t, j]
        loss += step_penalty * squares
    losses[count] = loss
    for i in range(m):
        wi = w[order[start + i]] if weighted else 1.0
        for t in range(k):
            R[i, t] = (2.0 * R[i, t]) * norm
            if weighted:
                R[i, t] *= wi
    return step_penalty


@_jit
def _update_weights(WT, G, lr, step_penalty):
    """W -= lr (G + 2p W) on every weight, then G = 0 for the next batch."""
    for t in range(WT.shape[0]):
        for j in range(WT.shape[1]):
            WT[t, j] -= lr * (G[t, j] + 2.0 * step_penalty * WT[t, j])
            G[t, j] = 0.0


@_jit
def _update_bias(R, m, k, lr, fit_b, b):
    if fit_b:
        for t in range(k):
            acc = 0.0
            for i in range(m):
                acc += R[i, t]
            b[t] -= lr * acc


def available() -> bool:
    """Whether numba is installed (else the loop runs: the same numbers, more slowly)."""
    return numba is not None


def kernel_path(X, Y: np.ndarray, plan, config: DescentConfig):
    """:func:`train_kernel` when the compiled kernel gives the loop's iterates, else None."""
    schedule = LearningRateSchedule(config.lr_schedule, config.lr, config.epochs)
    if not (
        config.optimizer == "sgd"
        and config.loss in ("mse", "sse")
        and not schedule.per_step
        and config.average is False
        and not plan.full_batch
        and plan.batch_size <= KERNEL_MAX_BATCH
        and X.dtype == np.float64
        and Y.dtype == np.float64
        and (hasattr(X, "indptr") or (isinstance(X, np.ndarray) and X.flags.c_contiguous))
        and available()
    ):
        return None
    return train_kernel


def train_kernel(X, Y: np.ndarray, sample_weight: np.ndarray | None, init, plan,
                 config: DescentConfig) -> DescentResult:
    """The loop's epochs (see :func:`linearlab.descent.loop.train_loop`), one compiled call
    each; the epoch driver keeps history, stopping, logging and callbacks as for the loop."""
    n, k = X.shape[0], Y.shape[1]
    W = np.array(init[0], dtype=np.float64)
    WT = np.ascontiguousarray(W.T)  # (k, d): each target's weights contiguous
    b = (np.array(init[1], dtype=np.float64) if config.fit_intercept
         else np.zeros_like(init[1], dtype=np.float64))
    weighted = sample_weight is not None
    w = np.ascontiguousarray(sample_weight if weighted else np.empty(0), dtype=np.float64)
    total_weight = float(w.sum()) if weighted else float(n)
    penalty = penalty_factor(config, k, total_weight)
    schedule = LearningRateSchedule(config.lr_schedule, config.lr, config.epochs)
    losses = np.empty(plan.batches_per_epoch)
    Yc = np.ascontiguousarray(Y)
    sse = config.loss == "sse"
    driver = EpochDriver(config, WT.T, b, None)
    with driver:
        while driver.running:
            lr = driver.lr = schedule.at_epoch(driver.epoch)
            order = plan.orders(1)[0] if plan.shuffle else np.arange(n)
            order = np.ascontiguousarray(order, dtype=np.int64)
            common = (Yc, w, weighted, order, plan.batch_size, float(lr), float(penalty), sse,
                      total_weight, config.fit_intercept, WT, b, losses)
            if hasattr(X, "indptr"):
                count = _epoch_csr(X.indptr, X.indices, X.data, *common)
            else:
                count = _epoch_dense(X, *common)
            if not np.isfinite(losses[count - 1]):
                raise driver.diverged(float(losses[count - 1]))
            driver.end_epoch(float(np.mean(losses[:count])), WT.T, b)
    return driver.result(np.ascontiguousarray(WT.T), b)
