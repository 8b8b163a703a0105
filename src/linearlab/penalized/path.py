"""Regularization paths and alpha grids from one Gram (as scikit-learn's ``enet_path``).

Everything here reads a :class:`~linearlab.exact.gram.Gram`; ``enet_path`` and ``lasso_path``
build one from ``X, y`` in a single pass and never look at the rows again.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from linearlab.data.validation import check_sample_weight, check_X, check_y
from linearlab.errors import ParameterError
from linearlab.exact.gram import Gram
from linearlab.penalized.cd import enet_gram

_RESOLUTION = np.finfo(np.float64).resolution


def unit_problem(gram: Gram, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Q, q, yy) per unit weight: XᵀWX/Σw (d, d), XᵀWY/Σw (d, k), diag(YᵀWY)/Σw (k,).

    Centred statistics with an intercept, raw ones without (scikit-learn's objective divides the
    weighted squared error by Σw, so these are exactly its quadratic terms).
    """
    XtX, XtY, YtY = gram.cross_products(fit_intercept)
    W = gram.weight_sum
    return XtX / W, XtY / W, np.diag(YtY) / W


def alpha_grid(
    gram: Gram, *, l1_ratio: float = 1.0, eps: float = 1e-3, n_alphas: int = 100,
    fit_intercept: bool = True, positive: bool = False,
) -> np.ndarray:
    """scikit-learn's ``_alpha_grid``: ``alpha_max · geomspace(1, eps, n_alphas)``.

    ``alpha_max = max_j ‖(XᵀWy)_j‖ / (Σw · l1_ratio)`` is the smallest alpha whose solution is
    all zeros (for ``positive``, the largest positive correlation).
    """
    if l1_ratio == 0:
        raise ParameterError(
            "An automatic alpha grid needs an L1 penalty, but l1_ratio=0. Pass the grid "
            "explicitly with alphas=[...], or use RidgeCV for a pure L2 penalty."
        )
    _, q, _ = unit_problem(gram, fit_intercept)
    if positive:
        top = max(0.0, float(q.max()))
    else:
        top = float(np.sqrt(np.max(np.sum(q**2, axis=1))))
    alpha_max = top / l1_ratio
    if alpha_max <= _RESOLUTION:
        return np.full(n_alphas, _RESOLUTION)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def resolve_alphas(alphas, gram: Gram, *, l1_ratio: float, eps: float, fit_intercept: bool,
                   positive: bool) -> np.ndarray:
    """An int (or None = 100) builds the automatic grid; a sequence is sorted, largest first."""
    if alphas is None or isinstance(alphas, Integral):
        n = 100 if alphas is None else int(alphas)
        return alpha_grid(gram, l1_ratio=l1_ratio, eps=eps, n_alphas=n,
                          fit_intercept=fit_intercept, positive=positive)
    values = np.asarray(alphas, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ParameterError(
            f"alphas must be non-negative finite numbers (or an int: the size of the automatic "
            f"grid); got {alphas!r}."
        )
    return np.sort(values)[::-1]


def gram_path(
    gram: Gram, alphas: np.ndarray, *, l1_ratio: float = 1.0, fit_intercept: bool = True,
    positive: bool = False, tol: float = 1e-4, max_iter: int = 1000,
    coef_init: np.ndarray | None = None, rng=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve along ``alphas`` (in the given order), each solve warm-started from the last.

    Returns
    -------
    coefs : ndarray (k, d, n_alphas)
    intercepts : ndarray (k, n_alphas)
        ``ȳ − x̄ᵀw`` with an intercept, else zeros.
    gaps : ndarray (k, n_alphas)
        Duality gaps per unit weight (scikit-learn's ``dual_gaps`` scale).
    n_iters : ndarray (k, n_alphas) of int
    """
    Q, q, yy = unit_problem(gram, fit_intercept)
    d, k = q.shape
    n = len(alphas)
    coefs = np.zeros((k, d, n))
    gaps = np.zeros((k, n))
    n_iters = np.zeros((k, n), dtype=int)
    for t in range(k):
        w = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).reshape(k, d)[t]
        for i, alpha in enumerate(alphas):
            result = enet_gram(
                Q, q[:, t], float(yy[t]), alpha * l1_ratio, alpha * (1.0 - l1_ratio),
                coef_init=w, tol=tol, max_iter=max_iter, positive=positive, rng=rng,
                n_samples=float(gram.count),
            )
            w = result.coef
            coefs[t, :, i] = w
            gaps[t, i] = result.gap
            n_iters[t, i] = result.n_iter
    if fit_intercept:
        intercepts = gram.mean_y[:, None] - np.einsum("j,kjn->kn", gram.mean_x, coefs)
    else:
        intercepts = np.zeros((k, n))
    return coefs, intercepts, gaps, n_iters


def enet_path(
    X, y, *, l1_ratio: float = 0.5, eps: float = 1e-3, alphas=None, coef_init=None,
    return_n_iter: bool = False, positive: bool = False, fit_intercept: bool = False,
    sample_weight=None, tol: float = 1e-4, max_iter: int = 1000,
):
    """Elastic-net path by coordinate descent on the Gram matrix, as scikit-learn's ``enet_path``.

    One pass over ``X`` builds the Gram statistics; every alpha is then solved from them alone.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Several targets are fitted independently (scikit-learn's multi-output path solves the
        multi-task problem instead).
    l1_ratio : float, default=0.5
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid.
    alphas : int, array-like or None, default=None
        The alphas, or the size of the automatic grid (None: 100).
    coef_init : array-like of shape (n_features,) or (n_targets, n_features), default=None
    return_n_iter : bool, default=False
    positive : bool, default=False
    fit_intercept : bool, default=False
        scikit-learn's path functions never centre; True centres from the Gram statistics.
    sample_weight : array-like of shape (n_samples,), default=None
    tol, max_iter : float, int
        Duality-gap tolerance (relative to ``‖y‖²``) and the most sweeps per alpha.

    Returns
    -------
    alphas : ndarray (n_alphas,)
    coefs : ndarray (n_features, n_alphas) or (n_targets, n_features, n_alphas)
    dual_gaps : ndarray (n_alphas,) or (n_targets, n_alphas)
    n_iters : ndarray, only when ``return_n_iter``
    """
    Xa = check_X(X)
    ya = check_y(y, Xa.shape[0])
    w = check_sample_weight(sample_weight, Xa.shape[0], Xa.dtype)
    gram = Gram.from_arrays(Xa, ya, w)
    grid = resolve_alphas(alphas, gram, l1_ratio=l1_ratio, eps=eps,
                          fit_intercept=fit_intercept, positive=positive)
    coefs, _, gaps, n_iters = gram_path(
        gram, grid, l1_ratio=l1_ratio, fit_intercept=fit_intercept, positive=positive,
        tol=tol, max_iter=max_iter, coef_init=coef_init,
    )
    if ya.ndim == 1:
        coefs, gaps, n_iters = coefs[0], gaps[0], n_iters[0]
    return (grid, coefs, gaps, n_iters) if return_n_iter else (grid, coefs, gaps)


def lasso_path(X, y, *, eps: float = 1e-3, alphas=None, **params):
    """Lasso path (``enet_path`` with ``l1_ratio=1``), as ``sklearn.linear_model.lasso_path``."""
    return enet_path(X, y, l1_ratio=1.0, eps=eps, alphas=alphas, **params)
