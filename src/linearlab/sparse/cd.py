"""Elastic-net coordinate descent over the columns of sparse X (scikit-learn's objective).

Per target, with weights w (Σw = W) and the intercept by implicit centring, it minimises::

    ½ Σ wᵢ (yᵢ − ȳ − (xᵢ − x̄)ᵀβ)² + l1·‖β‖₁ + ½ l2·‖β‖²,   l1 = αρW,  l2 = α(1 − ρ)W

which is scikit-learn's ``ElasticNet`` objective times W. X is never centred: the residual is
kept as ``r = u + c`` with ``u = y − ȳ − Xβ`` (updated on a column's non-zeros only) and the
scalar ``c = x̄ᵀβ``. A coordinate's update reads its column once::

    ρⱼ = Σ_{i: xᵢⱼ≠0} wᵢ xᵢⱼ (uᵢ + c)          (Σ wᵢ rᵢ = 0 at every step: the weighted
    βⱼ ← S(ρⱼ + ‖xⱼ − x̄ⱼ‖²_w βⱼ, l1) / (‖xⱼ − x̄ⱼ‖²_w + l2)   centred columns sum to zero)

S the soft threshold (0 below 0 when ``positive``). Stopping follows scikit-learn's
``sparse_enet_coordinate_descent``: the duality gap is computed when the largest change of a
sweep falls below ``tol`` times the largest coefficient, and the solve stops when it is at most
``tol·Σw(y − ȳ)²``.

:func:`sweep_reference` is the readable NumPy sweep; :mod:`.kernels` compiles the same loop with
numba when it is installed (tested against this one to 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class SparseCDResult:
    """Coefficients (k, d), intercepts (k,), duality gaps per unit weight (k,), sweeps (k,),
    and the tolerance each gap was held to (per unit weight)."""

    coef: np.ndarray
    intercept: np.ndarray
    gap: np.ndarray
    n_iter: np.ndarray
    limit: np.ndarray


def sweep_reference(order, indptr, indices, data, wdata, mean_x, norms, u, c, beta, l1, l2,
                    positive):
    """One pass of coordinate updates over ``order`` (NumPy); returns (max |Δβ|, max |β|, c).

    ``data`` are X's stored values (CSC), ``wdata`` the same times their row's weight; ``u``
    and ``beta`` are updated in place, the new ``c`` returned.
    """
    d_w_max = w_max = 0.0
    for j in order:
        if norms[j] == 0.0:
            continue
        nz = slice(indptr[j], indptr[j + 1])
        rows = indices[nz]
        old = beta[j]
        rho = float(wdata[nz] @ (u[rows] + c))  # Σ w x (u + c) over the column's non-zeros
        tmp = rho + norms[j] * old
        if positive and tmp < 0.0:
            new = 0.0
        else:
            new = np.sign(tmp) * max(abs(tmp) - l1, 0.0) / (norms[j] + l2)
        if new != old:
            delta = new - old
            u[rows] -= delta * data[nz]  # the residual moves on the non-zeros ...
            c += delta * mean_x[j]  # ... and by x̄ⱼδ everywhere
            beta[j] = new
            d_w_max = max(d_w_max, abs(delta))
        w_max = max(w_max, abs(new))
    return d_w_max, w_max, c


def _column_sums(indptr, values, times=None, block: int = 1 << 16) -> np.ndarray:
    """Σ values (or values·times) over each CSC column, in blocks of columns (bounded memory)."""
    d = indptr.shape[0] - 1
    out = np.zeros(d)
    start = 0
    while start < d:
        stop = int(np.searchsorted(indptr, indptr[start] + block, side="right")) - 1
        stop = min(d, max(stop, start + 1))
        lo, hi = indptr[start], indptr[stop]
        full = start + np.flatnonzero(np.diff(indptr[start:stop + 1]))  # non-empty columns
        if full.size:
            part = values[lo:hi] if times is None else values[lo:hi] * times[lo:hi]
            out[full] = np.add.reduceat(part, indptr[full] - lo)
        start = stop
    return out


def duality_gap(X, w, yc, u, c, beta, mean_x, l1, l2, positive) -> float:
    """scikit-learn's duality gap of the (W-scaled) objective at ``beta`` (r = u + c)."""
    r = u + c
    wr = r if w is None else w * r
    XtA = X.T @ wr - mean_x * float(wr.sum()) - l2 * beta
    dual_norm = float(XtA.max()) if positive else float(np.abs(XtA).max())
    R_norm2 = float(wr @ r)
    w_norm2 = float(beta @ beta)
    const = l1 / dual_norm if dual_norm > l1 else 1.0
    gap = 0.5 * R_norm2 * (1.0 + const * const)
    return (gap + l1 * float(np.abs(beta).sum()) - const * float(wr @ yc)
            + 0.5 * l2 * (1.0 + const * const) * w_norm2)


def enet_sparse(X, Y, sample_weight=None, *, alpha: float, l1_ratio: float,
                fit_intercept: bool = True, positive: bool = False, tol: float = 1e-4,
                max_iter: int = 1000, coef_init=None, rng=None,
                compiled: bool | None = None) -> SparseCDResult:
    """Elastic net on sparse ``X`` (n, d) and ``Y`` (n, k), one target at a time.

    ``compiled`` None uses the numba kernel when numba is installed, False the NumPy reference,
    True insists on the kernel. ``rng`` (a RandomState) draws coordinates at random.
    """
    from linearlab.sparse import kernels

    sweep = kernels.sweep if kernels.use_kernel(compiled) else sweep_reference
    X = sp.csc_matrix(X)
    X.sort_indices()
    Y2 = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    n, d = X.shape
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weight_sum = float(n if w is None else w.sum())
    indptr, indices, data = X.indptr, X.indices, X.data
    wdata = data if w is None else data * w[indices]
    mean_x = _column_sums(indptr, wdata) / weight_sum if fit_intercept else np.zeros(d)
    sq = _column_sums(indptr, wdata, data)
    norms = np.maximum(sq - weight_sum * mean_x**2, 0.0)
    l1, l2 = alpha * l1_ratio * weight_sum, alpha * (1.0 - l1_ratio) * weight_sum
    k = Y2.shape[1]
    coef, intercept = np.zeros((k, d)), np.zeros(k)
    gaps, iters, limits = np.zeros(k), np.zeros(k, dtype=int), np.zeros(k)
    everything = np.arange(d)
    for t in range(k):
        y = Y2[:, t]
        mean_y = (y.sum() if w is None else w @ y) / weight_sum if fit_intercept else 0.0
        yc = y - mean_y
        beta = np.zeros(d) if coef_init is None else np.array(coef_init[t], dtype=np.float64)
        if positive:
            beta = np.maximum(beta, 0.0)
        u = yc - X @ beta
        c = float(mean_x @ beta)
        tol_gap = tol * float(yc @ yc if w is None else (w * yc) @ yc)
        gap, n_iter = np.inf, 0
        for n_iter in range(1, max_iter + 1):
            order = rng.randint(0, d, d) if rng is not None else everything
            d_w_max, w_max, c = sweep(order, indptr, indices, data, wdata, mean_x, norms, u,
                                      c, beta, l1, l2, positive)
            if w_max == 0.0 or d_w_max / w_max <= tol or n_iter == max_iter:
                u = yc - X @ beta  # refresh: the running updates accumulate rounding
                c = float(mean_x @ beta)
                gap = duality_gap(X, w, yc, u, c, beta, mean_x, l1, l2, positive)
                if gap <= tol_gap:
                    break
        coef[t] = beta
        intercept[t] = mean_y - float(mean_x @ beta) if fit_intercept else 0.0
        gaps[t], iters[t], limits[t] = gap / weight_sum, n_iter, tol_gap / weight_sum
    return SparseCDResult(coef, intercept, gaps, iters, limits)
