"""``summary()`` of a model with its training data on Dask: residual statistics and HC0–HC3.

Non-robust statistics come from the Gram statistics of the fit (no pass at all). Given the
training data, one more distributed pass evaluates every row's residual (in double-double) and
returns, per target, the residual sum of squares and White's "meat" Σ ωᵢ ãᵢ ãᵢᵀ (p × p) with the
HC2/HC3 leverage corrections applied where the row lives; the client forms the sandwich
C · meat · C. Only O(p²) numbers per partition travel.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from linearlab.distributed.blocks import partitions
from linearlab.distributed.reduce import map_sum
from linearlab.errors import DataError
from linearlab.exact.refine import dd_matmul, split


def _centred_inverse(cov_unscaled: np.ndarray, weight_sum: float, fit_intercept: bool):
    """(ÃᵀWÃ)⁻¹ for Ã = [1, X − x̄]: block-diagonal, the slope block shared with [1, X]."""
    if not fit_intercept:
        return cov_unscaled
    C = np.zeros_like(cov_unscaled)
    C[0, 0] = 1.0 / weight_sum
    C[1:, 1:] = cov_unscaled[1:, 1:]
    return C


def _residual_meat(X, Y, w, kept, mean_x, params, C, fit_intercept, cov_type):
    """Per partition: (rows, Σw, Σw·x, Σ w r², meat (k, p, p))."""
    Xk = X[:, kept]
    n = Xk.shape[0]
    ones = np.ones((n, 1))
    full = np.hstack([ones, Xk]) if fit_intercept else Xk
    hi, lo = dd_matmul(split(np.asfortranarray(full)), -params, start=(Y, np.zeros_like(Y)))
    resid = hi + lo
    A = np.hstack([ones, Xk - mean_x]) if fit_intercept else Xk.copy()
    weights = np.ones(n) if w is None else w
    if w is not None:
        root = np.sqrt(w)[:, None]
        A *= root
        resid_w = resid * root
    else:
        resid_w = resid
    omega = resid_w**2
    factor = np.ones(n)
    if cov_type in ("HC2", "HC3"):
        leverage = np.einsum("ij,jk,ik->i", A, C, A)
        factor = 1.0 / (1.0 - leverage) ** (1 if cov_type == "HC2" else 2)
    meat = np.stack([(A * (omega[:, t] * factor)[:, None]).T @ A for t in range(Y.shape[1])])
    return (
        np.array(float(n)), np.array(weights.sum()), weights @ Xk, omega.sum(axis=0), meat,
    )


def _check_same_data(gram, kept, rows, weight_sum, sum_wx) -> None:
    mean_x = sum_wx / weight_sum if weight_sum > 0 else sum_wx
    spread = np.sqrt(np.diag(gram.sxx)[kept] / max(gram.weight_sum, 1e-300))
    spread = spread + np.abs(gram.mean_x[kept]) + 1e-300
    same = (
        int(rows) == gram.count
        and abs(weight_sum - gram.weight_sum) <= 1e-8 * gram.weight_sum
        and np.all(np.abs(mean_x - gram.mean_x[kept]) <= 1e-8 * spread)
    )
    if not same:
        raise DataError(
            f"summary() got {int(rows)} rows (total weight {weight_sum:.6g}), but the model was "
            f"fitted on {gram.count} rows (total weight {gram.weight_sum:.6g}), or their means "
            "differ: pass the training data (and its sample_weight)."
        )


def _robust_wald(cov: np.ndarray, params: np.ndarray, k_constant: int) -> float:
    b = params[k_constant:]
    if b.size == 0:
        return np.nan
    V = cov[k_constant:, k_constant:]
    try:
        z = np.linalg.solve(V, b)
    except np.linalg.LinAlgError:
        return np.nan
    return float(b @ z)


def summarize(record, cov_type: str, X, y, sample_weight=None):
    """The summary of a fit whose training data ``X, y`` are Dask collections.

    Parameters
    ----------
    record : linearlab.stats.FitRecord
        What the estimator kept from the fit.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
    X, y, sample_weight : Dask collections (or in-memory y / weights)
        The training data, read once more to compute the residuals.
    """
    from linearlab.stats import summarize as summarize_stats
    from linearlab.stats.build import build_inference, check_cov_type

    cov_type = check_cov_type(cov_type)
    if record.alpha:
        return summarize_stats(record, cov_type)  # raises the ridge message
    inference = build_inference(record, None)
    kept = inference.kept
    gram = record.gram
    C = _centred_inverse(inference.cov_unscaled, gram.weight_sum, record.fit_intercept)
    parts = partitions(X, y, sample_weight)
    rows, weight_sum, sum_wx, ssr, meat = map_sum(
        parts, _residual_meat, kept, gram.mean_x[kept], inference.params, C,
        record.fit_intercept, cov_type, name="hc",
    )
    _check_same_data(gram, kept, float(rows), float(weight_sum), sum_wx)
    if bool(kept.all()):  # the residuals' own SSR, as with in-memory data
        record = dataclasses.replace(record, ssr=ssr)

    def robust(inference, record, cov_type):
        p = inference.params.shape[0]
        T = np.eye(p)
        if record.fit_intercept:  # b0 = c − x̄ᵀβ: back from the centred parametrisation
            T[0, 1:] = -gram.mean_x[kept]
        scale = inference.nobs / (inference.nobs - p) if cov_type == "HC1" else 1.0
        covs = [T @ (C @ (scale * m) @ C) @ T.T for m in meat]
        walds = [
            _robust_wald(cov, inference.params[:, t], int(record.fit_intercept))
            for t, cov in enumerate(covs)
        ]
        return covs, walds

    return summarize_stats(
        record, cov_type, None, robust=None if cov_type == "nonrobust" else robust
    )
