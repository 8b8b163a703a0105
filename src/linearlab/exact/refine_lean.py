"""The accurate (QR + double-double refinement) solve for tall data, with one copy of X.

:func:`linearlab.exact.refine.solve_accurate` keeps the scaled design ``[1, X]/D``, its split
halves, the centred copy and the explicit Q: about seven copies of X, and a column-pivoted QR
that is mostly matrix-vector work. For tall problems this module solves the same Björck
refinement with

- one copy of X: the centred, column-scaled, √w-weighted design, factored in place by LAPACK's
  blocked Householder QR (``dgeqrf``); Q is applied from its reflectors (``dormqr``), never
  formed;
- the residuals of the augmented system evaluated in double-double block by block from X
  itself (each block split on the fly), with the parameters scaled by the same powers of two
  D, so the problem solved is exactly the one given.

The iteration, its stopping rule and the statistics returned are those of ``solve_accurate``
(:class:`~linearlab.exact.refine.AccurateFit`); the covariance comes from the factor (relative
error ≈ cond·ε), as ``solve_accurate`` gives it above its refinement budget.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linearlab.exact.refine import (
    CONVERGED,
    RANK_TOLERANCE,
    AccurateFit,
    dd_matmul,
    dd_rmatmul,
    split,
    two_prod,
    two_sum,
)

_EPS = np.finfo(np.float64).eps
_BLOCK_ELEMENTS = 2**16  # elements of X per double-double block


def _power_of_two(values: np.ndarray) -> np.ndarray:
    values = np.where((values > 0) & np.isfinite(values), values, 1.0)
    return np.exp2(np.round(np.log2(values)))


def solve_accurate_lean(X, Y, sample_weight=None, *, fit_intercept: bool = True,
                        max_iter: int = 30) -> AccurateFit | None:
    """Least squares of ``[1, X]`` (or ``X``) to full double precision; None when the centred,
    scaled design is numerically rank-deficient or the refinement does not converge."""
    n, d = X.shape
    p = d + int(fit_intercept)
    k = Y.shape[1]
    if n < p:
        return None
    w = sample_weight
    root_w = None if w is None else np.sqrt(w)
    total = float(n if w is None else w.sum())
    # D: powers of two near the column norms of √w·[1, X] (scaling by them is exact)
    sq = np.einsum("ij,ij->j", X, X) if w is None else np.einsum("i,ij,ij->j", w, X, X)
    D = _power_of_two(np.sqrt(np.concatenate([[total], sq]) if fit_intercept else np.sqrt(sq)))
    Dx = D[1:] if fit_intercept else D
    mean = (X.sum(axis=0) if w is None else w @ X) / total if fit_intercept else np.zeros(d)
    # the one copy: centred, √w-weighted, scaled by D and then by the column norms E
    Ac = np.empty((n, p), order="F")
    if fit_intercept:
        Ac[:, 0] = 1.0 / D[0] if root_w is None else root_w / D[0]
    np.subtract(X, mean, out=Ac[:, int(fit_intercept):])
    cols = Ac[:, int(fit_intercept):]
    cols /= Dx
    if root_w is not None:
        cols *= root_w[:, None]
    E = np.sqrt(np.einsum("ij,ij->j", Ac, Ac))  # (no squared copy)
    E = np.where(E > 0, E, 1.0)
    Ac /= E
    shift = np.zeros(p)
    if fit_intercept:
        shift[1:] = (mean / Dx) * D[0]
    qr, tau, _, info = sla.lapack.dgeqrf(Ac, overwrite_a=True)
    if info != 0:
        return None
    R = np.triu(qr[:p, :p])
    rcond, _ = sla.lapack.dtrcon(R, norm="1", uplo="U")
    if not rcond > RANK_TOLERANCE:
        return None

    def K(y):  # T E⁻¹ y
        z = y / E[:, None]
        if fit_intercept:
            z[0] -= shift[1:] @ z[1:]
        return z

    def K_t(g):  # E⁻¹ Tᵀ g
        v = g.copy()
        if fit_intercept:
            v[1:] -= np.outer(shift[1:], g[0])
        return v / E[:, None]

    def q_t(f):  # the first p entries of Qᵀ f
        out, _, _ = sla.lapack.dormqr("L", "T", qr, tau, np.asfortranarray(f), max(1, 64 * k))
        return out[:p]

    def correct(f, g):
        wf = f if root_w is None else f * root_w[:, None]
        rhs = q_t(wf) - sla.solve_triangular(R, K_t(g), trans="T", check_finite=False)
        return K(sla.solve_triangular(R, rhs, check_finite=False))

    def apply(x):  # [1, X] (x / D) in double
        out = X @ (x[int(fit_intercept):] / Dx[:, None])
        if fit_intercept:
            out += x[0] / D[0]
        return out

    rows = max(256, _BLOCK_ELEMENTS // max(1, d))
    Y = np.asarray(Y, dtype=np.float64)
    x = correct(Y, np.zeros((p, k)))
    s = Y - apply(x)
    best, stalls, ratio, it = np.inf, 0, np.inf, 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        f = np.empty_like(s)
        g_hi, g_lo = np.zeros((p, k)), np.zeros((p, k))
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            block = X[start:stop]
            if fit_intercept:
                block = np.hstack([np.ones((stop - start, 1)), block])
            As = split(block)  # this block of [1, X], split on the fly
            hi, lo = two_sum(Y[start:stop], -s[start:stop])  # f = B − s − A x, double-double
            hi, lo = dd_matmul(As, -(x / D[:, None]), start=(hi, lo))
            f[start:stop] = hi + lo
            sb = s[start:stop]  # g = Aᵀ W s, double-double
            if w is None:
                ws_hi, ws_lo = sb, np.zeros_like(sb)
            else:
                ws_hi, ws_lo = two_prod(split(w[start:stop, None]), split(sb))
            part_hi, part_lo = dd_rmatmul(As, ws_hi, ws_lo)
            g_hi, e = two_sum(g_hi, part_hi)
            g_lo += e + part_lo
        g = (-g_hi - g_lo) / D[:, None]
        dx = correct(f, g)
        s = s + (f - apply(dx))
        x = x + dx
        scale = np.abs(x).max(axis=0)
        step = np.abs(dx).max(axis=0)
        ratio = float(np.max(np.where(scale > 0, step / np.where(scale > 0, scale, 1.0), 0.0)))
        if ratio <= _EPS / 4:
            break
        if ratio > 0.5 * best:
            stalls += 1
            if stalls >= 2:
                break
        else:
            stalls = 0
        best = min(best, ratio)
    best = min(best, ratio)
    if not best <= CONVERGED:
        return None
    ssr = (s**2).sum(axis=0) if w is None else w @ s**2
    identity = np.eye(p)
    cov0 = K(sla.solve_triangular(R, -sla.solve_triangular(R, K_t(-identity), trans="T",
                                                           check_finite=False),
                                  check_finite=False))
    cov = (cov0 + cov0.T) / 2 / np.outer(D, D)
    K_inv = np.linalg.solve(K(identity), identity)
    return AccurateFit(
        params=x / D[:, None], cov_unscaled=cov, ssr=ssr, rank=p,
        condition_number=_condition(R), raw_condition_number=_condition(R @ K_inv * D),
        converged=True, iterations=it, cov_refined=False,
    )


def _condition(M: np.ndarray) -> float:
    sv = np.linalg.svd(M, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
