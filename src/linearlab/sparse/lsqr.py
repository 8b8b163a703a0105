"""Least squares and ridge on sparse X by SciPy's LSQR, with the intercept by implicit centring.

With weights w, the problem is ``min Σ wᵢ(yᵢ − ȳ − (xᵢ − x̄)ᵀβ)² + α‖β‖²``: LSQR runs on the
linear operator A = diag(√w)(X − 1x̄ᵀ), whose products are ``√w∘(Xv − x̄ᵀv)`` and
``Xᵀ(√w∘u) − x̄·(√wᵀu)``, so X itself is never centred (it would become dense). This is
scikit-learn's ``Ridge(solver="lsqr")`` with ``X_offset``; ``damp = √α`` gives the ridge term.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, lsqr

from linearlab.errors import ConvergenceWarning
from linearlab.exact.solution import ExactSolution

DEFAULT_TOL = 1e-10


def centred_operator(X: sp.spmatrix, mean_x: np.ndarray, root_w: np.ndarray | None):
    """The operator diag(√w)(X − 1x̄ᵀ) (√w = None: unweighted), without forming it."""
    XT = X.T  # a view (CSC of CSR X): no copy of X

    def matvec(v):
        v = np.ravel(v)
        out = X @ v - float(mean_x @ v)
        return out if root_w is None else out * root_w

    def rmatvec(u):
        u = np.ravel(u)
        if root_w is not None:
            u = u * root_w
        return XT @ u - mean_x * float(u.sum())

    return LinearOperator(X.shape, matvec=matvec, rmatvec=rmatvec, dtype=np.float64)


def solve_lsqr(X: sp.spmatrix, Y: np.ndarray, sample_weight: np.ndarray | None = None, *,
               alpha: float = 0.0, fit_intercept: bool = True, tol: float = DEFAULT_TOL,
               max_iter: int | None = None) -> tuple[ExactSolution, int]:
    """The solution (coefficients (d, k), intercepts (k,)) of (ridge) least squares on sparse
    ``X`` (a dense array works too), and the most LSQR iterations a target took.

    ``tol`` is LSQR's ``atol`` and ``btol``; a target that reaches ``max_iter`` iterations first
    gets a :class:`~linearlab.errors.ConvergenceWarning`. ``rank`` is d (LSQR does not detect
    rank deficiency: it returns the minimum-norm solution from a zero start).
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    Y2 = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    n, d = X.shape
    w = sample_weight
    weight_sum = float(n if w is None else w.sum())
    if fit_intercept:
        wx = X if w is None else sp.diags(w) @ X
        mean_x = np.asarray(wx.sum(axis=0)).ravel() / weight_sum
        mean_y = (Y2.sum(axis=0) if w is None else w @ Y2) / weight_sum
    else:
        mean_x, mean_y = np.zeros(d), np.zeros(Y2.shape[1])
    root_w = None if w is None else np.sqrt(w)
    A = centred_operator(X, mean_x, root_w)
    coef = np.empty((d, Y2.shape[1]))
    iterations, condition = [], 0.0
    for t in range(Y2.shape[1]):
        b = Y2[:, t] - mean_y[t]
        if root_w is not None:
            b = b * root_w
        out = lsqr(A, b, damp=float(np.sqrt(alpha)), atol=tol, btol=tol, conlim=1e16,
                   iter_lim=max_iter)
        coef[:, t], istop, itn, acond = out[0], out[1], out[2], out[6]
        iterations.append(int(itn))
        condition = max(condition, float(acond))
        if istop == 7:
            warnings.warn(
                f"LSQR stopped at its iteration limit ({itn}) before reaching tol={tol:g} "
                f"(target {t}); the coefficients may be inaccurate. Loosen tol, or fit with "
                "solver='auto' when the Gram (d×d) fits in memory.",
                ConvergenceWarning, stacklevel=4,
            )
    intercept = mean_y - mean_x @ coef if fit_intercept else np.zeros(Y2.shape[1])
    solution = ExactSolution(coef=coef, intercept=intercept, solver="lsqr", rank=d,
                             condition_number=condition)
    return solution, max(iterations)
