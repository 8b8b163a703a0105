"""Fast paths for plain SGD on a squared loss: the loop's iterates, without a Python-level loop.

With θ = [W; b] and rows a = [x, 1], one SGD step on a batch B of a squared loss is the affine
map θ ← M_B θ + v_B with M_B = I - 2·lr·(c_B Σ_B w a aᵀ + p_B P) and v_B = 2·lr·c_B Σ_B w a yᵀ
(c_B the loss's normaliser, p_B the ridge factor, P selects the weights). So:

- full batch: every epoch applies the same map θ ← θ - lr(Hθ - g). In H's eigenbasis each
  coordinate follows θ_t = θ_0 + V·diag((1 - (1 - lr λ)^t)/λ)·Vᵀ(g - Hθ_0), evaluated with
  expm1/log1p so that tiny or zero curvatures (ill-conditioned designs) stay exact
  (:func:`train_closed_form`);
- mini-batches: the per-batch maps are built for a block of epochs at once from per-row outer
  products, composed by a prefix scan, and the batch losses are evaluated afterwards on the
  data in one vectorised pass (:func:`train_affine`).

Both run in blocks of epochs handed to the epoch driver, so memory does not depend on the
epoch budget and ``tol`` stops them where it stops the loop. They are chosen (by
:func:`fast_path`) only for float64 data, plain SGD with a constant step and no averaging; every
other case runs the loop.
"""

from __future__ import annotations

import numpy as np

from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig, DescentResult, penalty_factor
from linearlab.descent.driver import EpochDriver
from linearlab.descent.losses import get_loss
from linearlab.exact.gram import Gram

# Numbers (float64) one block of epochs may hold in its temporaries.
BLOCK_NUMBERS = 4_000_000
# The affine path keeps n·p² per-row outer products; beyond this the plain loop is as fast.
AFFINE_MAX_ROW_NUMBERS = 2_000_000


def fast_path(X: np.ndarray, Y: np.ndarray, plan: BatchPlan, config: DescentConfig):
    """The fast path that gives the loop's iterates for this run, or None to run the loop."""
    if not (
        config.optimizer == "sgd"
        and get_loss(config.loss).quadratic
        and X.dtype == np.float64
        and Y.dtype == np.float64
        and config.lr_schedule == "constant"
        and config.average is False
    ):
        return None
    if plan.full_batch:
        return train_closed_form
    if affine_path_fits(X.shape, Y.shape, plan):
        return train_affine
    return None


# --------------------------------------------------------------------------- closed form
def train_closed_form(X, Y, sample_weight, init, plan, config) -> DescentResult:
    """Full-batch plain gradient descent on a squared loss, a block of epochs at a time."""
    n, d = X.shape
    k = Y.shape[1]
    fit_b = config.fit_intercept
    w = np.ones(n) if sample_weight is None else sample_weight
    total_weight = float(w.sum())
    c = 1.0 if config.loss == "sse" else 1.0 / (total_weight * k)
    p = penalty_factor(config, k, total_weight)
    AtA, AtY = Gram.from_arrays(X, Y, sample_weight).augmented_cross_products(fit_b)
    H = 2.0 * c * AtA
    H[np.arange(d), np.arange(d)] += 2.0 * p
    lam, V = np.linalg.eigh(H)
    W0, b0 = init[0], init[1] if fit_b else np.zeros_like(init[1])
    theta0 = np.vstack([W0, b0[None, :]]) if fit_b else W0.copy()
    u = V.T @ (2.0 * c * AtY - H @ theta0)  # -Vᵀ∇L(θ₀), shape (q, k)
    A = np.hstack([X, np.ones((n, 1))]) if fit_b else X
    x = config.lr * lam

    def thetas_at(t: np.ndarray) -> np.ndarray:  # θ_t for every t, shape (len(t), q, k)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if np.all(x < 1.0):
                growth = -np.expm1(t[:, None] * np.log1p(-x)[None, :])  # 1 - (1 - lr λ)^t
            else:
                growth = 1.0 - (1.0 - x)[None, :] ** t[:, None]
            safe = np.where(lam != 0.0, lam, 1.0)
            f = np.where(lam != 0.0, growth / safe, t[:, None] * config.lr)
        return theta0[None] + np.einsum("qj,tj,jk->tqk", V, f, u)

    def losses_at(thetas: np.ndarray) -> np.ndarray:
        r = np.matmul(A, thetas) - Y  # (m, n, k)
        weights = thetas[:, :d]
        with np.errstate(over="ignore", invalid="ignore"):
            return c * np.einsum("n,tnk->t", w, r * r) + p * (weights * weights).sum(axis=(1, 2))

    driver = EpochDriver(config, W0, b0)
    with driver:
        while driver.running:
            m = driver.block_size(n * k + 2 * theta0.size, BLOCK_NUMBERS)
            t = np.arange(driver.epoch, driver.epoch + m + 1, dtype=np.float64)
            thetas = thetas_at(t)
            driver.end_block(losses_at(thetas[:-1]), _with_bias_row(thetas[1:], fit_b))
    return driver.result()


def _with_bias_row(thetas: np.ndarray, fit_b: bool) -> np.ndarray:
    if fit_b:
        return thetas
    zeros = np.zeros((thetas.shape[0], 1, thetas.shape[2]), thetas.dtype)
    return np.concatenate([thetas, zeros], axis=1)


# --------------------------------------------------------------------------- mini-batches
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
    penalty = penalty_factor(config, k, total_weight)
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
    ridge_mask = np.diag(weights_only)

    W0, b0 = init[0], init[1] if fit_b else np.zeros_like(init[1])
    theta = (np.vstack([W0, b0[None, :]]) if fit_b else W0.copy()).astype(dtype)
    driver = EpochDriver(config, W0, b0)
    with driver:
        while driver.running:
            epochs = driver.block_size(n * p * (p + k), BLOCK_NUMBERS)
            orders = plan.orders(epochs)  # (epochs, n)
            # In-order plans repeat the same batches every epoch: build one epoch's maps only.
            distinct = orders if plan.shuffle else orders[:1]
            batch_weight = np.add.reduceat(w[distinct], starts, axis=1)
            if config.loss == "sse":
                c = np.ones_like(batch_weight)
                step_penalty = penalty * batch_weight / total_weight
            else:
                c = 1.0 / (batch_weight * k)
                step_penalty = np.full_like(batch_weight, penalty)
            G = np.add.reduceat(outer[distinct], starts, axis=1)  # (epochs|1, batches, p, p)
            H = np.add.reduceat(cross[distinct], starts, axis=1)  # (epochs|1, batches, p, k)
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
            ends = thetas[n_batches::n_batches]  # θ after each epoch
            keep = driver.end_block(epoch_losses, _with_bias_row(ends, fit_b))
            theta = ends[keep - 1].copy()
    return driver.result()


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
