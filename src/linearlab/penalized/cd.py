"""Coordinate descent for the elastic net on the Gram matrix ("covariance updates").

The problem, per unit of weight (scikit-learn's objective divided by nothing: the statistics are
already means)::

    minimise  ½ wᵀQw − qᵀw + ½ yy + l1·‖w‖₁ + ½ l2·‖w‖²

with Q = XᵀWX / Σw, q = XᵀWy / Σw, yy = yᵀWy / Σw (centred when an intercept is fitted),
l1 = α·ρ and l2 = α·(1 − ρ). It never touches X: a sweep costs O(d) per changed coordinate.

Each solve alternates three cheap moves, stopping on scikit-learn's duality-gap criterion
(``gap ≤ tol · yy``):

1. *Active-set solve*: with the current support and signs fixed, the optimum is one small linear
   solve, (Q_AA + l2·I) w_A = q_A − l1·s_A. It is kept when its signs agree and the duality gap
   accepts it; it makes a warm-started path step, and the final digits, nearly free.
2. Otherwise a *full sweep* of cyclic (or random) coordinate updates, as scikit-learn's
   ``enet_coordinate_descent_gram``, which finds the support.
3. *Active sweeps* over the non-zero coordinates until their largest change is small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.blas import daxpy


@dataclass
class CDResult:
    """One solve: coefficients (d,), achieved duality gap, sweeps run, whether ``gap ≤ tol``."""

    coef: np.ndarray
    gap: float
    n_iter: int
    converged: bool


def duality_gap(
    Q: np.ndarray, q: np.ndarray, yy: float, w: np.ndarray, Qw: np.ndarray,
    l1: float, l2: float, positive: bool, n_samples: float = 1.0,
) -> float:
    """scikit-learn's duality gap (formulation A; B for ridge; the gradient norm for OLS).

    Per unit weight, like ``yy``. The OLS criterion ‖Xᵀr‖² is quadratic in the sums, so it is
    multiplied by ``n_samples`` to compare with ``tol·yy`` as scikit-learn compares ‖Xᵀr‖²
    with ``tol·‖y‖²`` (otherwise it would stop ``n_samples`` times too early).
    """
    qw = float(q @ w)
    R_norm2 = yy + float(w @ Qw) - 2.0 * qw
    Ry = yy - qw
    w2 = float(w @ w) if l2 > 0 else 0.0
    if l1 == 0.0:
        XtA = q - Qw
        norm2 = float(XtA @ XtA)
        if l2 == 0.0:
            return norm2 * n_samples
        return R_norm2 + 0.5 * l2 * w2 - Ry + norm2 / (2.0 * l2)
    XtA = q - Qw - l2 * w
    dual_norm = float(XtA.max()) if positive else float(np.abs(XtA).max())
    primal = 0.5 * (R_norm2 + l2 * w2) + l1 * float(np.abs(w).sum())
    scale = l1 / dual_norm if dual_norm > l1 else 1.0
    dual = -0.5 * scale**2 * (R_norm2 + l2 * w2) + scale * Ry
    return primal - dual


def _active_solve(Q, q, w, l1, l2, positive):
    """Optimum on the current support with the current signs, or None when it is not valid.

    Without an L1 penalty (ridge, or OLS through ``alpha=0``) no sign or support constrains the
    optimum: it is the solve over every coordinate, taken as soon as it is defined.
    """
    unconstrained = l1 == 0.0 and not positive
    active = np.flatnonzero(np.diag(Q) > 0) if unconstrained else np.flatnonzero(w)
    if active.size == 0:
        return None
    signs = np.zeros(active.size) if unconstrained else np.sign(w[active])
    A = Q[np.ix_(active, active)]
    if l2:
        A = A + l2 * np.eye(active.size)
    try:
        factor = cho_factor(A, check_finite=False)
    except LinAlgError:
        return None
    sol = cho_solve(factor, q[active] - l1 * signs, check_finite=False)
    if not np.all(np.isfinite(sol)) or (not unconstrained and np.any(sol * signs <= 0)):
        return None
    new = np.zeros_like(w)
    new[active] = sol
    return new


def _sweep(order, rows, diag, denom, q, w, Qw, l1, positive):
    """One pass of coordinate updates over ``order``; returns (max |Δw|, max |w|) touched."""
    d_w_max = w_max = 0.0
    for j in order:
        dj = diag[j]
        if dj == 0.0:
            continue
        w_j = w[j]
        tmp = q[j] - Qw.item(j) + w_j * dj
        if positive and tmp < 0.0:
            new = 0.0
        elif tmp > l1:
            new = (tmp - l1) / denom[j]
        elif tmp < -l1:
            new = (tmp + l1) / denom[j]
        else:
            new = 0.0
        if new != w_j:
            daxpy(rows[j], Qw, a=new - w_j)
            w[j] = new
            change = abs(new - w_j)
            if change > d_w_max:
                d_w_max = change
        if abs(new) > w_max:
            w_max = abs(new)
    return d_w_max, w_max


def enet_gram(
    Q: np.ndarray, q: np.ndarray, yy: float, l1: float, l2: float, *,
    coef_init: np.ndarray | None = None, tol: float = 1e-4, max_iter: int = 1000,
    positive: bool = False, rng: np.random.RandomState | None = None, n_samples: float = 1.0,
) -> CDResult:
    """Minimise ``½wᵀQw − qᵀw + l1‖w‖₁ + ½l2‖w‖²`` (see the module notes).

    Parameters
    ----------
    Q : ndarray (d, d)
        Gram matrix per unit weight, symmetric positive semi-definite.
    q : ndarray (d,)
        Cross-products with the target per unit weight.
    yy : float
        Target's sum of squares per unit weight (scales the tolerance, as scikit-learn's).
    l1, l2 : float
        L1 and L2 penalty strengths (α·ρ and α·(1 − ρ)).
    coef_init : ndarray (d,), optional
        Warm start.
    tol : float
        Stop when the duality gap is at most ``tol · yy``.
    max_iter : int
        Maximum number of sweeps.
    positive : bool
        Constrain the coefficients to be non-negative.
    rng : RandomState, optional
        When given, coordinates are drawn at random (``selection="random"``), else cyclic.
    n_samples : float
        Rows behind the statistics (scales the OLS criterion; see :func:`duality_gap`).
    """
    d = q.shape[0]
    w = np.zeros(d) if coef_init is None else np.array(coef_init, dtype=np.float64)
    if positive:
        w = np.maximum(w, 0.0)
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    q = np.ascontiguousarray(q, dtype=np.float64)
    tol_gap = tol * yy
    Qw = Q @ w
    gap = duality_gap(Q, q, yy, w, Qw, l1, l2, positive, n_samples)
    if 0.0 <= gap <= tol_gap:
        return CDResult(w, gap, 0, True)
    rows = list(Q)
    diag = np.diag(Q).tolist()
    denom = [dj + l2 for dj in diag]
    q_list = q.tolist()
    w_list = w.tolist()
    everything = range(d)
    n_iter = 0
    while n_iter < max_iter:
        # 1. the exact optimum on the current support, when the signs are right
        polished = _active_solve(Q, q, np.asarray(w_list), l1, l2, positive)
        if polished is not None:
            Qp = Q @ polished
            gap_p = duality_gap(Q, q, yy, polished, Qp, l1, l2, positive, n_samples)
            if gap_p <= tol_gap:
                return CDResult(polished, max(gap_p, 0.0), max(n_iter, 1), True)
        # 2. a full sweep finds the support
        order = rng.randint(0, d, d).tolist() if rng is not None else everything
        d_w_max, w_max = _sweep(order, rows, diag, denom, q_list, w_list, Qw, l1, positive)
        n_iter += 1
        # 3. sweeps over the support until it settles
        active = [j for j in everything if w_list[j] != 0.0]
        while n_iter < max_iter and active and d_w_max > 1e-3 * max(w_max, 1e-300):
            sub = ([active[i] for i in rng.randint(0, len(active), len(active))]
                   if rng is not None else active)
            d_w_max, w_max = _sweep(sub, rows, diag, denom, q_list, w_list, Qw, l1, positive)
            n_iter += 1
        w = np.asarray(w_list)
        Qw = Q @ w  # refresh: the running updates accumulate rounding
        gap = duality_gap(Q, q, yy, w, Qw, l1, l2, positive, n_samples)
        if gap <= tol_gap:
            return CDResult(w, gap, n_iter, True)
    return CDResult(np.asarray(w_list), gap, n_iter, math.isfinite(gap) and gap <= tol_gap)
