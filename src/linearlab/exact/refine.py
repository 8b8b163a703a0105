"""Iterative refinement of least-squares solutions with residuals in double-double arithmetic.

Householder QR in double precision solves min ‖W^½(b − A x)‖ with a relative error of about
cond(A)·ε (and cond(A)²·ε·tan θ when the residual is large). To get every digit that the data
determine, :func:`refine_least_squares` polishes the solution with Björck's iterative refinement
of the *augmented system*

    [ I    A ] [s]   [b]          s = b − A x   (the residual)
    [ AᵀW  0 ] [x] = [c]          Aᵀ W s = c    (c = 0: the least-squares problem)

Each step computes the residuals of both equations in double-double arithmetic (error-free
transformations: Dekker's product and Knuth's sum, vectorised with NumPy, so the result does not
depend on the platform's ``long double``) and solves for the correction with the double-precision
QR factorisation. The iteration contracts by about cond(A)·ε per step, so it converges whenever
the column-scaled problem has a condition number well below 1/ε ≈ 4.5e15; the limiting accuracy
is then that of the double-double residuals, far below one unit in the last place.

With ``b = 0`` and ``c = −I`` the same iteration returns (AᵀWA)⁻¹, so standard errors are
refined too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

_EPS = np.finfo(np.float64).eps
_SPLITTER = 134217729.0  # 2**27 + 1: Dekker's splitting constant for binary64
# Refinement counts as converged once a correction changes the solution by less than this
# (relative): it contracted to (near) the rounding level instead of diverging.
CONVERGED = 1e-12
# Elements per temporary block in the transposed products (bounds memory, keeps numpy fast).
_BLOCK_ELEMENTS = 2**20


# --------------------------------------------------------------------------- error-free kernels
def split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's split: a = hi + lo with hi, lo holding at most 26 significant bits each."""
    t = _SPLITTER * a
    hi = t - (t - a)
    return hi, a - hi


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's TwoSum: s + e == a + b exactly, s = fl(a + b)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def two_prod(a_split, b_split) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's TwoProduct of already split operands: p + e == a · b exactly."""
    ah, al = a_split
    bh, bl = b_split
    a, b = ah + al, bh + bl
    p = a * b
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def centred_dd(hi: np.ndarray, lo: np.ndarray, shift: np.ndarray):
    """Tᵀg for a gradient g = hi + lo of the design [1, X] (rows: its columns): rows j ≥ 1 minus
    shiftⱼ·row 0, in double-double. The refinement needs the gradient of the *centred* design;
    rounded before centring, gⱼ ≈ x̄ⱼ·g₀ cancels its centred part away when columns sit far
    from zero (offsets 1e9 times their spread: 7 digits lost, a pass contracting by 1e-2)."""
    p_hi, p_lo = two_prod(split(shift[1:, None]), split(hi[:1]))
    p_lo = p_lo + shift[1:, None] * lo[:1]
    top, err = two_sum(hi[1:], -p_hi)
    return (np.concatenate([hi[:1], top]),
            np.concatenate([lo[:1], err + lo[1:] - p_lo]))


def _tree_sum(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum over axis 0 as an unevaluated pair (hi, lo), pairwise with TwoSum at every level."""
    lo = np.zeros(values.shape[1:])
    while values.shape[0] > 1:
        if values.shape[0] % 2:
            values = np.concatenate([values, np.zeros((1,) + values.shape[1:])])
        half = values.shape[0] // 2
        values, err = two_sum(values[:half], values[half:])
        lo += err.sum(axis=0)
    return values[0], lo


def dd_matmul(A_split, x: np.ndarray, start: tuple[np.ndarray, np.ndarray] | None = None):
    """``start + A @ x`` in double-double; ``A_split`` = split(A) (n, p), ``x`` (p, m).

    Returns (hi, lo) of shape (n, m). Ogita, Rump & Oishi's Dot2, vectorised over rows.
    """
    Ah, Al = A_split
    n, m = Ah.shape[0], x.shape[1]
    hi = np.zeros((n, m)) if start is None else start[0].copy()
    lo = np.zeros((n, m)) if start is None else start[1].copy()
    xh, xl = split(x)
    for j in range(Ah.shape[1]):
        p, e = two_prod((Ah[:, j, None], Al[:, j, None]), (xh[j], xl[j]))
        hi, err = two_sum(hi, p)
        lo += err + e
    return hi, lo


def dd_rmatmul(A_split, v_hi: np.ndarray, v_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Aᵀ (v_hi + v_lo)`` in double-double; A (n, p), v (n, m) → (hi, lo) of shape (p, m)."""
    Ah, Al = A_split
    n, p = Ah.shape
    m = v_hi.shape[1]
    rows = max(1, _BLOCK_ELEMENTS // max(1, p * m))
    hi = np.zeros((p, m))
    lo = Al.T @ v_lo + Ah.T @ v_lo  # second-order term: plain double is accurate enough
    vh, vl = split(v_hi)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        a_blk = (Ah[start:stop, :, None], Al[start:stop, :, None])
        v_blk = (vh[start:stop, None, :], vl[start:stop, None, :])
        prod, err = two_prod(a_blk, v_blk)  # (rows, p, m)
        block_hi, block_lo = _tree_sum(prod)
        hi, e = two_sum(hi, block_hi)
        lo += e + block_lo + err.sum(axis=0)
    return hi, lo


# --------------------------------------------------------------------------- refinement
@dataclass
class Refinement:
    """Outcome of :func:`refine_least_squares`."""

    x: np.ndarray  # (p, m) solution
    residual: np.ndarray  # (n, m) s = b − A x, unweighted
    iterations: int
    converged: bool
    correction: float  # smallest ‖dx‖∞ / ‖x‖∞ seen (per right-hand side, the worst)


def refine_least_squares(
    A: np.ndarray,
    B: np.ndarray,
    x0: np.ndarray,
    correct: Callable[[np.ndarray, np.ndarray], np.ndarray],
    weights: np.ndarray | None = None,
    C: np.ndarray | None = None,
    *,
    max_iter: int = 30,
    A_split=None,
    shift: np.ndarray | None = None,
) -> Refinement:
    """Refine ``x0`` towards the solution of the weighted augmented system.

    Parameters
    ----------
    A : ndarray of shape (n, p)
        The design, exactly as the problem defines it (scaled only by powers of two).
    B : ndarray of shape (n, m)
        Right-hand sides (targets).
    x0 : ndarray of shape (p, m)
        Starting solution (from the double-precision factorisation).
    correct : callable ``(f, g) -> dx``
        Approximate solver of AᵀWA dx = AᵀW f − g that uses Q rather than forming AᵀWA
        (for stability); built from the QR factorisation.
    weights : ndarray of shape (n,), optional
        Row weights W (weighted least squares).
    C : ndarray of shape (p, m), optional
        Right-hand side of the second block row (zero for least squares).
    shift : ndarray of shape (p,), optional
        With an intercept column first: ``correct`` takes the centred gradient Tᵀg (rows j ≥ 1
        minus shiftⱼ·row 0), formed here in double-double (:func:`centred_dd`); ``C`` is then
        given centred too.

    Returns
    -------
    Refinement
    """
    A_split = split(A) if A_split is None else A_split
    w_split = None if weights is None else split(weights[:, None])
    x = x0.copy()
    s = B - A @ x
    best = np.inf
    stalls = 0
    iterations = 0
    ratio = np.inf
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        # f = B − s − A x  and  g = C − Aᵀ W s, both in double-double, then rounded
        f_hi, f_lo = two_sum(B, -s)
        f_hi, f_lo = dd_matmul(A_split, -x, start=(f_hi, f_lo))
        f = f_hi + f_lo
        if w_split is None:
            ws_hi, ws_lo = s, np.zeros_like(s)
        else:
            ws_hi, ws_lo = two_prod(w_split, split(s))
        g_hi, g_lo = dd_rmatmul(A_split, ws_hi, ws_lo)
        if shift is not None:
            g_hi, g_lo = centred_dd(g_hi, g_lo, shift)
        g = (-g_hi - g_lo) if C is None else ((C - g_hi) - g_lo)
        dx = correct(f, g)
        ds = f - A @ dx
        x = x + dx
        s = s + ds
        scale = np.abs(x).max(axis=0)  # per right-hand side: targets may differ in size
        step = np.abs(dx).max(axis=0)
        ratio = float(np.max(np.where(scale > 0, step / np.where(scale > 0, scale, 1.0), 0.0)))
        if ratio <= _EPS / 4:
            break
        if ratio > 0.5 * best:  # no longer contracting: rounding level reached (or diverging)
            stalls += 1
            if stalls >= 2:
                break
        else:
            stalls = 0
        best = min(best, ratio)
    best = min(best, ratio)
    return Refinement(
        x=x, residual=s, iterations=iterations, converged=bool(best <= CONVERGED), correction=best
    )


# --------------------------------------------------------------------------- the accurate solver
# Refining (AᵀWA)⁻¹ costs about n·p² double-double operations per step; above this many the
# covariance comes from the double-precision factor (relative error ≈ cond·ε) instead.
COVARIANCE_REFINE_BUDGET = 5_000_000
# The scaled, centred design counts as rank-deficient when the last pivot of its QR factor is
# below this fraction of the first; between this and ~1e-13 refinement still converges (tested).
RANK_TOLERANCE = 16 * _EPS


@dataclass
class AccurateFit:
    """Least-squares solution of [1, X] (intercept first) or X, with its statistics."""

    params: np.ndarray  # (p, k), intercept first when fitted
    cov_unscaled: np.ndarray | None  # (AᵀWA)⁻¹, (p, p)
    ssr: np.ndarray  # (k,) Σ w (y − ŷ)²
    rank: int  # numerical rank of the preconditioner (centred, column-scaled design)
    condition_number: float  # of the centred, column-scaled design
    raw_condition_number: float  # of the weighted design with its constant, as statsmodels
    converged: bool
    iterations: int
    cov_refined: bool = False  # (AᵀWA)⁻¹ refined too (else from the factor: error ≈ cond·ε)


def _power_of_two(values: np.ndarray) -> np.ndarray:
    """The powers of two nearest to ``values`` (scaling by them is exact in binary floats)."""
    values = np.where((values > 0) & np.isfinite(values), values, 1.0)
    return np.exp2(np.round(np.log2(values)))


def solve_accurate(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    fit_intercept: bool = True,
    covariance: bool = True,
) -> AccurateFit | None:
    """Least squares to full double precision by QR plus refinement in double-double.

    The design ``A = [1, X]`` is scaled by powers of two only, so the residuals are those of the
    problem exactly as given. The preconditioner is the Householder QR (with column pivoting) of
    the centred, column-scaled, √w-weighted design. Returns None when that design is
    numerically rank-deficient (the caller then wants the minimum-norm solution).
    """
    n, d = X.shape
    p = d + int(fit_intercept)
    if n < p:
        return None
    root_w = None if sample_weight is None else np.sqrt(sample_weight)
    A = np.hstack([np.ones((n, 1)), X]) if fit_intercept else np.array(X, dtype=np.float64)
    weighted = A if root_w is None else A * root_w[:, None]
    D = _power_of_two(np.linalg.norm(weighted, axis=0))
    A /= D  # exact: powers of two
    # preconditioner: centre on the (weighted) means, scale, factor
    shift = np.zeros(p)
    if fit_intercept:
        mean = A.mean(axis=0) if sample_weight is None else sample_weight @ A / sample_weight.sum()
        shift[1:] = mean[1:] / A[0, 0]
    Ac = A - np.outer(A[:, 0], shift) if fit_intercept else A.copy()
    if root_w is not None:
        Ac *= root_w[:, None]
    E = np.linalg.norm(Ac, axis=0)
    E = np.where(E > 0, E, 1.0)
    Ac /= E
    Q, R, perm = _qr(Ac)
    diag = np.abs(np.diag(R))
    if diag.size == 0 or diag[-1] <= diag[0] * RANK_TOLERANCE:
        return None
    inv_perm = np.argsort(perm)

    def K(y):  # T E⁻¹ P y
        z = y[inv_perm] / E[:, None]
        if fit_intercept:
            z[0] -= shift[1:] @ z[1:]
        return z

    def T_t(g):  # Tᵀ g, in double (the passes form it in double-double: centred_dd)
        v = g.copy()
        if fit_intercept:
            v[1:] -= np.outer(shift[1:], g[0])
        return v

    def correct(f, g):  # g centred (Tᵀ applied): Pᵀ E⁻¹ is what is left of K_t
        wf = f if root_w is None else f * root_w[:, None]
        rhs = Q.T @ wf - _solve_r(R, (g / E[:, None])[perm], trans=True)
        return K(_solve_r(R, rhs))

    A_split = split(np.asfortranarray(A))  # column-major: the kernels walk columns
    Y2 = np.asarray(Y, dtype=np.float64)
    x0 = correct(Y2, np.zeros((p, Y2.shape[1])))
    centre = shift if fit_intercept else None
    fit = refine_least_squares(A, Y2, x0, correct, sample_weight, A_split=A_split, shift=centre)
    if not fit.converged:  # cond·ε too close to 1: the factor cannot even drive the refinement
        return None
    params = fit.x / D[:, None]
    resid = fit.residual
    ssr = (resid**2).sum(axis=0) if sample_weight is None else sample_weight @ resid**2

    identity = np.eye(p)
    cov0 = correct(np.zeros((n, p)), T_t(-identity))
    cov_refined = False
    if covariance and n * p * p <= COVARIANCE_REFINE_BUDGET:
        cov_fit = refine_least_squares(
            A, np.zeros((n, p)), cov0, correct, sample_weight, C=T_t(-identity),
            A_split=A_split, shift=centre,
        )
        if cov_fit.converged:
            cov0, cov_refined = cov_fit.x, True
    cov = (cov0 + cov0.T) / 2 / np.outer(D, D) if covariance else None

    # singular values of √W·A_raw are those of R K⁻¹ diag(D)
    K_inv = np.linalg.solve(K(identity), identity)
    return AccurateFit(
        params=params,
        cov_unscaled=cov,
        ssr=ssr,
        rank=p,
        condition_number=_condition(R),
        raw_condition_number=_condition(R @ K_inv * D),
        converged=fit.converged,
        iterations=fit.iterations,
        cov_refined=cov_refined,
    )


def _condition(M: np.ndarray) -> float:
    """2-norm condition number (SVD), or LAPACK's 1-norm estimate for big matrices."""
    if M.shape[0] > 1500:
        factor = np.linalg.qr(M, mode="r") if np.any(np.tril(M, -1)) else M
        rcond, _ = sla.lapack.dtrcon(factor, norm="1", uplo="U")
        return np.inf if rcond == 0 else float(1.0 / rcond)
    sv = np.linalg.svd(M, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf


def _qr(M):
    return sla.qr(M, mode="economic", pivoting=True, check_finite=False)


def _solve_r(R, b, trans=False):
    return sla.solve_triangular(R, b, trans="T" if trans else "N", check_finite=False)
