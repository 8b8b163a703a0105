"""What an exact solve returns, and the statistics computed to describe it.

:class:`ExactSolution` carries the coefficients and the diagnostics every solver fills in
(:mod:`linearlab.exact.solvers`; the device solvers build it too). :func:`residual_ssr` sums the
residuals in double-double arithmetic and :func:`raw_condition_number` gives statsmodels'
condition number from the Gram statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from linearlab.exact.gram import Gram
from linearlab.exact.refine import dd_matmul, split, two_sum

__all__ = ["ExactSolution", "raw_condition_number", "residual_ssr"]


@dataclass
class ExactSolution:
    """Result of an exact solve: coefficients (d, k), intercepts (k,) and diagnostics."""

    coef: np.ndarray
    intercept: np.ndarray
    solver: str
    rank: int
    condition_number: float  # of the (centred, column-scaled) design matrix
    singular_values: np.ndarray | None = None
    aliased: list[int] = field(default_factory=list)  # columns dropped as linearly dependent
    # of the weighted design with its constant column, unscaled, as statsmodels reports it
    raw_condition_number: float = np.nan
    # (AᵀWA)⁻¹ of A = [1, X] (intercept first) or X, when the solver computed it accurately
    cov_unscaled: np.ndarray | None = None
    ssr: np.ndarray | None = None  # (k,) residual sums of squares from the residuals themselves
    refined: bool = False  # polished by iterative refinement in double-double arithmetic
    # estimated relative error of the coefficients and (AᵀWA)⁻¹ (worst entry; nan: unknown)
    error_estimate: float = np.nan


def residual_ssr(X, Y, sample_weight, coef, intercept) -> np.ndarray:
    """Σ w (y − Xβ − β₀)² per target, the residuals evaluated in double-double arithmetic
    (so large offsets or a near-perfect fit do not cancel digits away)."""
    Y2 = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    start = two_sum(np.asarray(Y2, dtype=np.float64), -np.broadcast_to(intercept, Y2.shape))
    hi, lo = dd_matmul(split(np.asarray(X, dtype=np.float64)), -coef, start=start)
    resid = hi + lo
    return (resid**2).sum(axis=0) if sample_weight is None else sample_weight @ resid**2


def raw_condition_number(gram: Gram, fit_intercept: bool = True) -> float:
    """Condition number of the weighted design ``[1, X]`` (or ``X``), as statsmodels reports it.

    Computed from the Gram statistics without forming the raw cross-product matrix: with
    S_xx = Uᵀ U (Cholesky of the column-scaled centred matrix), ``[1, X]`` has the singular
    values of ``[[√W, √W x̄ᵀ], [0, U]]``. Reliable to a few digits up to about 1e13; infinite
    when the centred cross-products are singular.
    """
    G, _, _ = gram.cross_products(fit_intercept)
    scale = np.sqrt(np.diag(G))
    if G.size == 0 or np.any(scale == 0) or not np.all(np.isfinite(G)):
        return np.inf
    factor, info = sla.lapack.dpotrf(G / np.outer(scale, scale), lower=False)
    if info != 0:
        return np.inf
    U = np.triu(factor) * scale
    if fit_intercept:
        root = np.sqrt(gram.weight_sum)
        top = np.concatenate([[root], root * gram.mean_x])
        U = np.vstack([top, np.hstack([np.zeros((U.shape[0], 1)), U])])
    if U.shape[0] > 1500:  # an estimate is enough for big problems (O(p²) instead of O(p³))
        rcond, _ = sla.lapack.dtrcon(U, norm="1", uplo="U")
        return np.inf if rcond == 0 else float(1.0 / rcond)
    sv = np.linalg.svd(U, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
