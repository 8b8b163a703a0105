"""The Gram statistics of sparse X, for small d: XᵀWX as a sparse product, then dense d×d.

The result is an ordinary :class:`~linearlab.exact.gram.Gram` (weighted means and centred
cross-products), so everything that reads a Gram (exact solvers, penalized coordinate descent,
summaries, the step size of gradient descent) serves sparse data unchanged. The centring is
implicit: Sxx = XᵀWX − Σw·x̄x̄ᵀ, never X − x̄ (which would be dense).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from linearlab.exact.gram import Gram


def sparse_gram(X: sp.spmatrix, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> Gram:
    """:class:`Gram` of sparse ``X`` (n, d) and dense ``Y`` (n,) or (n, k), weights optional.

    Costs one sparse product XᵀWX (Σ over rows of nnz(row)²) and O(d²) memory.
    """
    X = sp.csr_matrix(X)
    Y2 = np.asarray(Y, dtype=np.float64)
    Y2 = Y2.reshape(-1, 1) if Y2.ndim == 1 else Y2
    n = X.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weight_sum = float(w.sum())
    Xw = X if sample_weight is None else sp.diags(w) @ X
    mean_x = np.asarray(Xw.sum(axis=0)).ravel() / weight_sum
    mean_y = (w @ Y2) / weight_sum
    sxx = np.asarray((X.T @ Xw).toarray())
    sxx -= weight_sum * np.outer(mean_x, mean_x)
    sxx = (sxx + sxx.T) / 2.0  # exactly symmetric
    Yc = Y2 - mean_y
    sxy = np.asarray(Xw.T @ Yc)  # Σ w (x − x̄)(y − ȳ) = Σ w x (y − ȳ): ȳ is the weighted mean
    syy = (Yc * w[:, None]).T @ Yc
    return Gram(count=n, weight_sum=weight_sum, mean_x=mean_x, mean_y=mean_y,
                sxx=sxx, sxy=sxy, syy=syy)


def max_row_norm2(X: sp.spmatrix, fit_intercept: bool) -> float:
    """max‖[x, 1]‖² over the rows of sparse ``X`` (the steepest single-row curvature)."""
    X = sp.csr_matrix(X)
    norms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return float(norms.max()) + (1.0 if fit_intercept else 0.0)


def gram_for(X: sp.spmatrix, Y: np.ndarray, sample_weight: np.ndarray | None,
             model: str) -> Gram:
    """:func:`sparse_gram` for an estimator that needs the d×d statistics, or one paragraph
    (:class:`UsageError`) when X has too many columns for them."""
    from linearlab.errors import UsageError
    from linearlab.sparse import GRAM_MAX_FEATURES

    if X.shape[1] > GRAM_MAX_FEATURES:
        raise UsageError(
            f"{model} needs the d×d statistics of this sparse X, but X has {X.shape[1]} "
            f"columns, more than {GRAM_MAX_FEATURES}: that matrix would hold "
            f"{X.shape[1] ** 2:,} numbers. Lasso/ElasticNet (coordinate descent over the sparse "
            "columns) and LinearRegression(solver='lsqr', alpha=...) fit wide sparse X without "
            "it; or select fewer columns."
        )
    return sparse_gram(X, Y, sample_weight)
