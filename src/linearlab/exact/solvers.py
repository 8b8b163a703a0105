"""Closed-form least-squares solvers.

Each solver is a small function that takes arrays (or a :class:`~linearlab.exact.gram.Gram`) and
returns an :class:`~linearlab.exact.solution.ExactSolution` (re-exported here, with the
statistics of :mod:`.solution`).
The intercept is handled by centring, never by appending a column of ones;
ridge ``alpha`` penalises the coefficients only (as scikit-learn's ``Ridge``).

- ``normal``: Cholesky factorisation of the centred Gram matrix after scaling its columns to unit
  diagonal; one pass over the data, O(d²) memory. Accurate while cond(X)² · ε is small.
- ``qr``: Householder QR with column pivoting of the centred, column-scaled design.
- ``svd``: singular value decomposition, minimum-norm solution for rank-deficient problems.
- ``auto``: the normal equations when their error estimate (:mod:`linearlab.exact.accuracy`)
  promises 12 correct digits (the fast path, one pass over the data); otherwise QR of the
  column-scaled design polished by iterative refinement with double-double residuals
  (:mod:`linearlab.exact.refine`), which recovers every digit that the data determine up to
  condition numbers near 1/ε; SVD (minimum norm) when the problem is numerically
  rank-deficient.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linearlab.exact.accuracy import EPS, OWN, TARGET_ERROR, normal_equation_errors
from linearlab.exact.fastpath import (  # noqa: F401 - re-exported for their importers
    REFINE_SAFE_CONDITION,
    NotSafe,
    cholesky_factor,
    measured_solution,
)
from linearlab.exact.gram import Gram, one_blas_thread
from linearlab.exact.refine import COVARIANCE_REFINE_BUDGET, solve_accurate
from linearlab.exact.refine_lean import solve_accurate_lean
from linearlab.exact.solution import ExactSolution, raw_condition_number, residual_ssr

__all__ = [
    "NORMAL_SAFE_CONDITION", "SOLVERS", "ExactSolution", "raw_condition_number", "residual_ssr",
    "solve", "solve_auto", "solve_normal", "solve_qr", "solve_refined", "solve_svd",
]

# The normal equations square the condition number: their coefficients carry about
# cond(XᵀX)·ε relative error. Above this the fast path is not even considered; below it the
# error estimate of :mod:`linearlab.exact.accuracy` decides.
NORMAL_SAFE_CONDITION = 1e6
# From this many elements of X on, the accurate path keeps one copy of X (exact.refine_lean).
LEAN_ELEMENTS = 1_000_000


def _intercept(gram_or_means, coef: np.ndarray, fit_intercept: bool) -> np.ndarray:
    mean_x, mean_y = gram_or_means
    if not fit_intercept:
        return np.zeros(coef.shape[1])
    return mean_y - mean_x @ coef


# --------------------------------------------------------------------------- normal equations
def _cholesky_solve(gram: Gram, alpha: float, fit_intercept: bool, max_condition: float):
    factor, scale, Hs, condition = cholesky_factor(gram, alpha, fit_intercept, max_condition)
    coef_scaled = sla.cho_solve((factor, False), Hs, check_finite=False)
    return coef_scaled / scale[:, None], condition


def _eigen_solve(gram: Gram, alpha: float, fit_intercept: bool) -> ExactSolution:
    """Minimum-norm solution from the Gram alone (rank-deficient statistics)."""
    G, H, _ = gram.cross_products(fit_intercept)
    eigvals, eigvecs = np.linalg.eigh(G)
    top = max(eigvals.max(), 0.0)
    cutoff = top * max(gram.count, G.shape[0]) * np.finfo(float).eps
    keep = eigvals > cutoff
    if alpha:
        inv = 1.0 / (np.maximum(eigvals, 0.0) + alpha)
    else:
        inv = np.zeros_like(eigvals)
        inv[keep] = 1.0 / eigvals[keep]
    coef = eigvecs @ (inv[:, None] * (eigvecs.T @ H))
    rank = int(keep.sum())
    kept = eigvals[keep]
    condition = float(np.sqrt(kept.max() / kept.min())) if rank else np.inf
    # with a penalty every eigen-direction is used: its rounding (ε·λ_max) against λ + α
    error = OWN * EPS * top / (max(float(eigvals.min()), 0.0) + alpha) if alpha else (
        EPS * condition**2)
    return ExactSolution(
        error_estimate=error,
        coef=coef,
        intercept=_intercept((gram.mean_x, gram.mean_y), coef, fit_intercept),
        solver="normal",
        rank=rank,
        condition_number=condition if rank == G.shape[0] else np.inf,
        singular_values=np.sqrt(np.maximum(eigvals[::-1], 0.0)),
    )


def solve_normal(gram: Gram, *, alpha: float = 0.0, fit_intercept: bool = True) -> ExactSolution:
    """Solve the normal equations by Cholesky on the column-scaled Gram matrix.

    Falls back to a minimum-norm eigen-solution when the Gram matrix is singular.
    """
    try:
        coef, gram_condition = _cholesky_solve(gram, alpha, fit_intercept, np.inf)
    except NotSafe:
        return _eigen_solve(gram, alpha, fit_intercept)
    intercept = _intercept((gram.mean_x, gram.mean_y), coef, fit_intercept)
    errors = normal_equation_errors(gram, coef, intercept, gram_condition, fit_intercept, alpha)
    return ExactSolution(
        coef=coef,
        intercept=intercept,
        solver="normal",
        rank=gram.n_features,
        condition_number=float(np.sqrt(gram_condition)),
        error_estimate=errors.worst,
    )


# --------------------------------------------------------------------------- orthogonal methods
def _centred_design(X, Y, sample_weight, fit_intercept):
    """Centred (and sqrt-weighted) copies of X and Y plus the means used."""
    if sample_weight is None:
        mean_x = X.mean(axis=0) if fit_intercept else np.zeros(X.shape[1])
        mean_y = Y.mean(axis=0) if fit_intercept else np.zeros(Y.shape[1])
        return X - mean_x, Y - mean_y, mean_x, mean_y
    w = sample_weight
    if fit_intercept:
        mean_x = (w @ X) / w.sum()
        mean_y = (w @ Y) / w.sum()
    else:
        mean_x, mean_y = np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    root_w = np.sqrt(w)[:, None]
    return (X - mean_x) * root_w, (Y - mean_y) * root_w, mean_x, mean_y


def _rank_tolerance(shape) -> float:
    return max(shape) * np.finfo(float).eps


def solve_qr(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    alpha: float = 0.0,
    fit_intercept: bool = True,
) -> ExactSolution:
    """Least squares by column-pivoted Householder QR of the centred, column-scaled design.

    Rank-deficient designs are handed to :func:`solve_svd` (minimum-norm solution).
    """
    Xc, Yc, mean_x, mean_y = _centred_design(X, Y, sample_weight, fit_intercept)
    scale = np.linalg.norm(Xc, axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Xc /= scale
    d = X.shape[1]
    if alpha:
        Xc = np.vstack([Xc, np.diag(np.sqrt(alpha) / scale)])
        Yc = np.vstack([Yc, np.zeros((d, Yc.shape[1]))])
    Q, R, perm = sla.qr(Xc, mode="economic", pivoting=True, overwrite_a=True, check_finite=False)
    diag = np.abs(np.diag(R))
    rank = int((diag > diag[0] * _rank_tolerance(Xc.shape)).sum()) if diag.size else 0
    if rank < d:
        return solve_svd(X, Y, sample_weight, alpha=alpha, fit_intercept=fit_intercept)
    z = sla.solve_triangular(R, Q.T @ Yc, check_finite=False)
    coef_scaled = np.empty_like(z)
    coef_scaled[perm] = z
    coef = coef_scaled / scale[:, None]
    condition = float(np.linalg.cond(R)) if d <= 2000 else float(diag[0] / diag[-1])
    intercept = _intercept((mean_x, mean_y), coef, fit_intercept)
    cov, ssr = (None, None) if alpha else _qr_statistics(
        R, perm, scale, mean_x, X, Y, sample_weight, coef, intercept, fit_intercept
    )
    return ExactSolution(
        coef=coef,
        intercept=intercept,
        solver="qr",
        rank=rank,
        condition_number=condition,
        cov_unscaled=cov,
        ssr=ssr,
        error_estimate=OWN * EPS * condition,
    )


def _qr_statistics(R, perm, scale, mean_x, X, Y, w, coef, intercept, fit_intercept):
    """(AᵀWA)⁻¹ (intercept first) from the QR factor — error ≈ cond·ε, not the Gram's
    cond²·ε — and the residual sums of squares from the residuals themselves."""
    R_inv = sla.solve_triangular(R, np.eye(R.shape[0]), check_finite=False)
    C = np.empty_like(R_inv)
    C[np.ix_(perm, perm)] = R_inv @ R_inv.T
    C /= np.outer(scale, scale)
    if fit_intercept:  # through v = R⁻ᵀ Pᵀ S⁻¹ x̄: a sum of squares, no cancellation
        total = X.shape[0] if w is None else float(w.sum())
        v = sla.solve_triangular(R, (mean_x / scale)[perm], trans="T", check_finite=False)
        cross = np.empty_like(v)
        cross[perm] = -sla.solve_triangular(R, v, check_finite=False)
        cross /= scale
        C = np.block([[np.array([[1.0 / total + v @ v]]), cross[None, :]],
                      [cross[:, None], C]])
    return C, residual_ssr(X, Y, w, coef, intercept)


def solve_svd(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    alpha: float = 0.0,
    fit_intercept: bool = True,
) -> ExactSolution:
    """Minimum-norm least squares (or ridge) through the SVD of the centred design.

    Singular values below ``max(n, d) · ε · s_max`` count as zero, as in ``numpy.linalg.lstsq``.
    """
    Xc, Yc, mean_x, mean_y = _centred_design(X, Y, sample_weight, fit_intercept)
    U, s, Vt = sla.svd(Xc, full_matrices=False, overwrite_a=True, check_finite=False,
                       lapack_driver="gesdd")
    s_max = s[0] if s.size else 0.0
    keep = s > s_max * _rank_tolerance(Xc.shape)
    rank = int(keep.sum())
    if alpha:
        factor = s / (s**2 + alpha)
    else:
        factor = np.zeros_like(s)
        factor[keep] = 1.0 / s[keep]
    coef = Vt.T @ (factor[:, None] * (U.T @ Yc))
    condition = float(s_max / s[keep].min()) if rank == X.shape[1] and rank else np.inf
    return ExactSolution(
        coef=coef,
        intercept=_intercept((mean_x, mean_y), coef, fit_intercept),
        solver="svd",
        rank=rank,
        condition_number=condition,
        singular_values=s,
        aliased=_aliased_columns(Vt, keep) if rank < X.shape[1] else [],
        error_estimate=OWN * EPS * condition,
    )


def _aliased_columns(Vt: np.ndarray, keep: np.ndarray) -> list[int]:
    """Columns that take part in an exact linear dependency (null-space directions)."""
    null = Vt[~keep]
    if null.size == 0:
        return []
    weight = np.abs(null).max(axis=0)
    return [int(j) for j in np.flatnonzero(weight > 1e-8)]


# --------------------------------------------------------------------------- automatic choice
def solve_auto(
    X: np.ndarray | None,
    Y: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
    *,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    gram: Gram | None = None,
) -> ExactSolution:
    """Normal equations when their error estimate promises 12 digits, else QR refined in
    double-double (full rank) or SVD (rank-deficient).

    With only a ``gram`` (streamed data) the normal equations are the only option; an
    ill-conditioned Gram then gets the eigen (minimum-norm) solution.
    """
    if gram is None:
        gram = Gram.from_arrays(X, Y, sample_weight)
    if X is not None and not alpha:  # measured: residual passes, QR only when they fall short
        Y2 = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        # d × d factorisations are faster on one BLAS thread (threads' start-up and spinning
        # cost 50x on a loaded 2-core machine); the pass over X runs its own threads
        with one_blas_thread():
            try:
                factor, scale, Hs, condition = cholesky_factor(
                    gram, 0.0, fit_intercept, REFINE_SAFE_CONDITION
                )
                coef = sla.cho_solve((factor, False), Hs, check_finite=False) / scale[:, None]
            except NotSafe:
                factor = None
        if factor is None:
            return solve_refined(X, Y2, sample_weight, fit_intercept=fit_intercept, gram=gram)
        solution = measured_solution(
            X, Y2, sample_weight, gram, factor, scale, condition, coef, fit_intercept
        )
        if solution is None:
            return solve_refined(X, Y2, sample_weight, fit_intercept=fit_intercept, gram=gram)
        return solution
    try:
        coef, gram_condition = _cholesky_solve(gram, alpha, fit_intercept, NORMAL_SAFE_CONDITION)
        intercept = _intercept((gram.mean_x, gram.mean_y), coef, fit_intercept)
        errors = normal_equation_errors(gram, coef, intercept, gram_condition, fit_intercept, alpha)
        if errors.worst > TARGET_ERROR and X is not None and not alpha:
            raise NotSafe(gram_condition)
    except NotSafe:
        if X is None:
            return solve_normal(gram, alpha=alpha, fit_intercept=fit_intercept)
        Y2 = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if alpha:
            return solve_qr(X, Y2, sample_weight, alpha=alpha, fit_intercept=fit_intercept)
        return solve_refined(X, Y2, sample_weight, fit_intercept=fit_intercept)
    # Σ(y − ŷ)² from the Gram cancels when the fit is tight: then sum the residuals directly
    ssr = None
    if X is not None and np.any(errors.ssr > 2 * TARGET_ERROR):
        ssr = residual_ssr(X, Y, sample_weight, coef, intercept)
    return ExactSolution(
        coef=coef,
        intercept=intercept,
        solver="normal",
        rank=gram.n_features,
        condition_number=float(np.sqrt(gram_condition)),
        ssr=ssr,
        error_estimate=errors.worst,
    )


def solve_refined(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    fit_intercept: bool = True,
    gram: Gram | None = None,
) -> ExactSolution:
    """Least squares to full double precision: QR, then refinement in double-double.

    Also returns the refined (AᵀWA)⁻¹ and the residual sums of squares, so that standard errors
    keep their digits too. Rank-deficient designs get :func:`solve_svd`'s minimum-norm solution.
    ``gram``, the same data's statistics when the caller has them, spares the tall path a pass.
    """
    # one BLAS thread: a tall, narrow Householder QR is mostly panel (matrix-vector) work that
    # threads slow down (dgeqrf of 100,000 x 21: 0.04 s on one thread, 0.4 s on two busy cores)
    n, p = X.shape[0], X.shape[1] + int(fit_intercept)
    # tall, or too big for the small path to refine the covariance (which is then its only
    # difference): one copy of X, Q never formed, instead of ~9 copies
    lean = n * X.shape[1] >= LEAN_ELEMENTS or n * p * p > COVARIANCE_REFINE_BUDGET
    with one_blas_thread():
        if lean:
            fit = solve_accurate_lean(X, Y, sample_weight, fit_intercept=fit_intercept,
                                      gram=gram)
        else:
            fit = solve_accurate(X, Y, sample_weight, fit_intercept=fit_intercept)
    if fit is None:
        return solve_svd(X, Y, sample_weight, fit_intercept=fit_intercept)
    params = fit.params
    coef = params[1:] if fit_intercept else params
    intercept = params[0] if fit_intercept else np.zeros(params.shape[1])
    return ExactSolution(
        coef=coef,
        intercept=intercept,
        solver="qr",
        rank=X.shape[1],
        condition_number=fit.condition_number,
        raw_condition_number=fit.raw_condition_number,
        cov_unscaled=fit.cov_unscaled,
        ssr=fit.ssr,
        refined=fit.converged,
        error_estimate=OWN * EPS * (1.0 if fit.cov_refined else fit.condition_number),
    )


SOLVERS = ("auto", "normal", "qr", "svd")


def solve(
    solver: str,
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    alpha: float = 0.0,
    fit_intercept: bool = True,
    gram: Gram | None = None,
) -> ExactSolution:
    """Dispatch to the named exact solver. ``Y`` is 2-D (n, k).

    When a ``gram`` is given, the solution also carries ``raw_condition_number``.
    """
    if solver == "auto":
        solution = solve_auto(
            X, Y, sample_weight, alpha=alpha, fit_intercept=fit_intercept, gram=gram
        )
    elif solver == "normal":
        gram = gram if gram is not None else Gram.from_arrays(X, Y, sample_weight)
        solution = solve_normal(gram, alpha=alpha, fit_intercept=fit_intercept)
    elif solver == "qr":
        solution = solve_qr(X, Y, sample_weight, alpha=alpha, fit_intercept=fit_intercept)
    elif solver == "svd":
        solution = solve_svd(X, Y, sample_weight, alpha=alpha, fit_intercept=fit_intercept)
    else:
        raise ValueError(f"unknown exact solver {solver!r}; choose one of {SOLVERS}")
    if solution.rank < solution.coef.shape[0] and not alpha:
        solution.raw_condition_number = np.inf  # singular (the Gram would say ~1e8 at most)
    elif gram is not None and np.isnan(solution.raw_condition_number):
        solution.raw_condition_number = raw_condition_number(gram, fit_intercept)
    return solution
