"""Fast paths for plain SGD on a squared loss: the same iterates, without a Python-level loop.

With θ = [W; b] and rows a = [x, 1], one SGD step on a batch B of a squared loss is the affine
map θ ← M_B θ + v_B with M_B = I - 2·lr·(c_B Σ_B w a aᵀ + p_B P) and v_B = 2·lr·c_B Σ_B w a yᵀ
(c_B the loss's normaliser, p_B the ridge factor, P selects the weights). So:

- full batch: every epoch applies the same map; in the eigenbasis of its Hessian each coordinate
  decays geometrically, which gives every epoch's θ and loss at once (:func:`train_closed_form`);
- mini-batches: the per-batch maps are built for many epochs at once from per-row outer
  products, applied with one small matrix product per step, and the batch losses are evaluated
  afterwards on the data in one vectorised pass (:func:`train_affine`).
"""

from __future__ import annotations

import numpy as np

from ..gram import Gram
from .batches import BatchPlan
from .common import (
    EXPLOSION_FACTOR,
    DescentConfig,
    DescentResult,
    _divergence,
    _log_line,
    _penalty_factor,
    _recordable,
)


# --------------------------------------------------------------------------- closed form
def train_closed_form(X, Y, sample_weight, init, config) -> DescentResult:
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
    AtA, AtY = Gram.from_arrays(X, Y, sample_weight).augmented_cross_products(fit_b)
    H = 2.0 * c * AtA
    H[np.arange(d), np.arange(d)] += 2.0 * p
    g = 2.0 * c * AtY
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


# --------------------------------------------------------------------------- mini-batches
# The affine path keeps n·p² per-row outer products and builds the maps of a block of epochs at
# once; it pays off for the small problems where Python overhead dominates the plain loop.
AFFINE_MAX_ROW_NUMBERS = 2_000_000
AFFINE_BLOCK_NUMBERS = 4_000_000


def affine_path_fits(x_shape: tuple[int, int], y_shape: tuple[int, int], plan: BatchPlan) -> bool:
    """Whether the mini-batch affine path is worthwhile (and small enough) for this problem."""
    n, d = x_shape
    p = d + 1
    return not plan.full_batch and n * p * (p + y_shape[1]) <= AFFINE_MAX_ROW_NUMBERS


def train_affine(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    init: tuple[np.ndarray, np.ndarray],
    plan: BatchPlan,
    config: DescentConfig,
) -> DescentResult:
    """Mini-batch plain SGD on a squared loss through precomputed per-batch affine maps."""
    n, d = X.shape
    k = Y.shape[1]
    fit_b = config.fit_intercept
    p = d + 1 if fit_b else d
    dtype = np.result_type(X.dtype, Y.dtype)
    w = np.ones(n, dtype) if sample_weight is None else sample_weight
    total_weight = float(w.sum())
    penalty = _penalty_factor(config, k, total_weight)
    A = np.hstack([X, np.ones((n, 1), dtype)]) if fit_b else X
    outer = np.einsum("i,ip,iq->ipq", w, A, A)  # w a aᵀ per row
    cross = np.einsum("i,ip,ik->ipk", w, A, Y)  # w a yᵀ per row
    starts = plan.batch_starts
    sizes = np.diff(np.append(starts, n))
    n_batches = len(starts)
    eye = np.eye(p, dtype=dtype)
    weights_only = np.ones(p, dtype)
    if fit_b:
        weights_only[-1] = 0.0

    theta = np.vstack([init[0], init[1][None, :]]) if fit_b else init[0].copy()
    theta = theta.astype(dtype)
    record = _recordable(config.epochs, d + 1, k)
    snapshots = [theta[None].copy()] if record else None
    history: list[float] = []
    stopped = False
    block = max(1, AFFINE_BLOCK_NUMBERS // max(1, n * p * (p + k)))
    ridge_mask = np.diag(weights_only)
    while len(history) < config.epochs and not stopped:
        epochs = min(block, config.epochs - len(history))
        orders = plan.orders(epochs)  # (epochs, n)
        # In-order plans repeat the same batches every epoch: build one epoch's maps only.
        distinct = orders if plan.shuffle else orders[:1]
        batch_weight = np.add.reduceat(w[distinct], starts, axis=1)  # (epochs or 1, batches)
        if config.loss == "sse":
            c = np.ones_like(batch_weight)
            step_penalty = penalty * batch_weight / total_weight
        else:
            c = 1.0 / (batch_weight * k)
            step_penalty = np.full_like(batch_weight, penalty)
        G = np.add.reduceat(outer[distinct], starts, axis=1)  # (epochs or 1, batches, p, p)
        H = np.add.reduceat(cross[distinct], starts, axis=1)  # (epochs or 1, batches, p, k)
        lr2 = 2.0 * config.lr
        M = eye - lr2 * (c[..., None, None] * G + step_penalty[..., None, None] * ridge_mask)
        v = lr2 * c[..., None, None] * H
        with np.errstate(over="ignore", invalid="ignore"):
            if plan.shuffle:
                thetas = _apply_affine_steps(M.reshape(-1, p, p), v.reshape(-1, p, k), theta)
            else:
                thetas = _apply_repeated_epochs(M[0], v[0], theta, epochs)
                c = np.broadcast_to(c, (epochs, n_batches))
                step_penalty = np.broadcast_to(step_penalty, (epochs, n_batches))
            batch_losses = _batch_losses(
                A, Y, w, orders, thetas[:-1], starts, sizes, c, step_penalty, d
            ).reshape(epochs, n_batches)
            epoch_losses = batch_losses.mean(axis=1)
        offset = len(history)
        first = history[0] if history else float(epoch_losses[0])
        bad = ~np.isfinite(batch_losses).all(axis=1) | (
            (first > 0) & (epoch_losses > EXPLOSION_FACTOR * first)
        )
        if bad.any():
            epoch = int(np.argmax(bad))
            raise _divergence(offset + epoch, float(epoch_losses[epoch]), config)
        keep = epochs
        if config.tol is not None:
            if offset == 0:
                small = np.r_[False, epoch_losses[:-1] - epoch_losses[1:] < config.tol]
            else:
                previous = np.r_[history[-1], epoch_losses[:-1]]
                small = previous - epoch_losses < config.tol
            if small.any():
                keep, stopped = int(np.argmax(small)) + 1, True
        ends = thetas[n_batches :: n_batches][:keep]  # θ after each kept epoch
        if config.log_every:
            for e in range(keep):
                if (offset + e) % config.log_every == 0:
                    W_e, b_e = (ends[e, :-1], ends[e, -1]) if fit_b else (ends[e], np.zeros(k))
                    loss = float(epoch_losses[e])
                    config.log(_log_line(offset + e, config.epochs, loss, W_e, b_e, config))
        history.extend(epoch_losses[:keep].tolist())
        if snapshots is not None:
            snapshots.append(ends.copy())
        theta = ends[-1].copy()
    W, b = (theta[:-1].copy(), theta[-1].copy()) if fit_b else (theta.copy(), np.zeros(k, dtype))
    path = None
    if snapshots is not None:
        path = np.concatenate(snapshots)
        if not fit_b:
            path = np.concatenate([path, np.zeros((path.shape[0], 1, k), dtype)], axis=1)
    return DescentResult(
        coef=W, intercept=b, history=history, n_iter=len(history), stopped_by_tol=stopped,
        params_history=path,
    )


def _prefix_maps(M: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compositions T_s ∘ … ∘ T_0 of the affine maps T_s(θ) = M_s θ + v_s, for every s.

    A parallel prefix scan: after round r each entry holds the composition of the last 2^r maps
    up to it, so log2(steps) vectorised rounds replace a Python loop over the steps.
    """
    PM, Pv = M.copy(), v.copy()
    offset = 1
    while offset < len(PM):
        later_M = PM[offset:]
        Pv_new = np.matmul(later_M, Pv[:-offset])
        Pv_new += Pv[offset:]
        PM_new = np.matmul(later_M, PM[:-offset])
        PM[offset:], Pv[offset:] = PM_new, Pv_new
        offset *= 2
    return PM, Pv


def _apply_repeated_epochs(M, v, theta0, epochs: int) -> np.ndarray:
    """Like :func:`_apply_affine_steps` when every epoch applies the same batch maps M, v.

    One epoch's prefix maps give the epoch map; a scan over epochs gives each epoch's start; the
    prefix maps then give every step inside every epoch at once.
    """
    PM, Pv = _prefix_maps(M, v)  # (batches, p, p), (batches, p, k)
    starts = _apply_affine_steps(
        np.broadcast_to(PM[-1], (epochs, *PM.shape[1:])),
        np.broadcast_to(Pv[-1], (epochs, *Pv.shape[1:])),
        theta0,
    )[:-1]  # θ at the start of each epoch
    inside = np.matmul(PM[None], starts[:, None]) + Pv[None]  # (epochs, batches, p, k)
    thetas = np.empty((epochs * len(M) + 1, *theta0.shape), theta0.dtype)
    thetas[0] = theta0
    thetas[1:] = inside.reshape(-1, *theta0.shape)
    return thetas


def _apply_affine_steps(M: np.ndarray, v: np.ndarray, theta0: np.ndarray) -> np.ndarray:
    """θ₀ and every θ_{s+1} = M_s θ_s + v_s (see :func:`_prefix_maps`)."""
    PM, Pv = _prefix_maps(M, v)
    thetas = np.empty((len(M) + 1, *theta0.shape), theta0.dtype)
    thetas[0] = theta0
    np.matmul(PM, theta0, out=thetas[1:])
    thetas[1:] += Pv
    return thetas


def _batch_losses(A, Y, w, orders, thetas, starts, sizes, c, step_penalty, n_weights):
    """Loss of every step's batch at the parameters before that step, in one pass.

    ``n_weights`` is the number of rows of θ that are weights (the bias row is not penalised).
    """
    epochs, n = orders.shape
    n_batches = len(starts)
    if sizes.min() == sizes.max():  # equal batches: one (epochs, batches, rows) block
        size = int(sizes[0])
        rows = orders.reshape(epochs, n_batches, size)
        steps = thetas.reshape(epochs, n_batches, *thetas.shape[1:])
        r = np.matmul(A[rows], steps) - Y[rows]  # (epochs, batches, rows, k)
        sums = (w[rows] * (r * r).sum(axis=-1)).sum(axis=-1).reshape(-1)
    else:
        rows = orders.reshape(-1)
        step_of_row = np.repeat(np.arange(epochs * n_batches), np.tile(sizes, epochs))
        r = np.einsum("rp,rpk->rk", A[rows], thetas[step_of_row]) - Y[rows]
        per_row = w[rows] * (r * r).sum(axis=1)
        offsets = (np.arange(epochs)[:, None] * n + starts[None, :]).reshape(-1)
        sums = np.add.reduceat(per_row, offsets)
    weights = thetas[:, :n_weights]
    ridge = step_penalty.reshape(-1) * (weights * weights).sum(axis=(1, 2))
    return c.reshape(-1) * sums + ridge
