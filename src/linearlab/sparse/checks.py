"""Validation of sparse input: one paragraph per problem, never a traceback.

Sparse X is converted to CSR (or CSC, for coordinate descent) float64 without touching its
implicit zeros; only the stored values are checked for NaN and inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from linearlab.errors import DataError, ParameterError


def as_sparse(X: Any, *, what: str = "X", fmt: str = "csr") -> sp.csr_matrix | sp.csc_matrix:
    """``X`` (any scipy.sparse format) as a float64 CSR or CSC matrix with checked values.

    Raises :class:`DataError` for complex or non-numeric values, an empty matrix, and stored
    NaN or inf (naming the row and column of the first one).
    """
    if X.ndim != 2:
        raise DataError(f"{what} is a sparse array with {X.ndim} dimensions; pass a 2-D one.")
    n, d = X.shape
    if n == 0 or d == 0:
        raise DataError(
            f"{what} is a sparse matrix of shape {X.shape}: it needs at least one row and one "
            "column."
        )
    if X.dtype.kind == "c" or X.dtype.kind not in "fiub":
        raise DataError(
            f"{what} is a sparse matrix of dtype {X.dtype}; pass real numbers (float or int)."
        )
    M = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    if M.dtype != np.float64:
        M = M.astype(np.float64)
    M.sum_duplicates()  # COO input may repeat an entry: the sum is its value
    check_stored_values(M, what)
    return M


def check_stored_values(M: sp.csr_matrix | sp.csc_matrix, what: str = "X") -> None:
    """Raise :class:`DataError` when a stored value of ``M`` is NaN or inf."""
    data = M.data
    with np.errstate(over="ignore", invalid="ignore"):
        total = data.sum()
    if np.isfinite(total):
        return
    bad = ~np.isfinite(data)
    if not bad.any():
        return  # the sum overflowed; the values are finite
    pos = int(np.argmax(bad))
    major = int(np.searchsorted(M.indptr, pos, side="right") - 1)
    minor = int(M.indices[pos])
    row, col = (major, minor) if M.format == "csr" else (minor, major)
    value = data[pos]
    kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    raise DataError(
        f"{what} is a sparse matrix with a stored {kind} at row {row}, column {col} "
        f"({int(bad.sum())} non-finite stored value(s) in all). Sparse input must hold finite "
        f"numbers: replace them before fitting (e.g. {what}.data[~np.isfinite({what}.data)] = "
        "0, then eliminate_zeros()); missing='drop' applies to dense tables only."
    )


def check_columns(M: Any, n_features: int | None, model: str) -> None:
    """Raise :class:`DataError` when ``M`` has another number of columns than the model."""
    if n_features is not None and M.shape[1] != n_features:
        more = "more" if M.shape[1] > n_features else "fewer"
        raise DataError(
            f"X has {M.shape[1]} columns, {more} than the {n_features} the {model} was fitted "
            f"with. Sparse data (an svmlight file, a vectorizer's output) must keep the "
            f"training columns: pass n_features={n_features} to load_svmlight_file, or reuse "
            "the fitted vectorizer's transform()."
        )


def refuse_option(model: str, option: str, why: str, instead: str) -> None:
    """Raise :class:`ParameterError` for an option that works on dense X only."""
    raise ParameterError(
        f"{model}({option}) does not accept sparse X: {why}. {instead} Or pass a dense "
        "array (X.toarray()) if it fits in memory."
    )


def sparse_inputs(estimator: Any, X: Any, y: Any, sample_weight: Any, reset: bool,
                  fmt: str = "csr"):
    """``(X, y, w)`` checked for a fit on sparse ``X``; ``reset`` learns ``n_features_in_``."""
    from linearlab.data.features import check_feature_names
    from linearlab.data.validation import check_sample_weight, check_y

    if y is None:
        raise DataError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    check_feature_names(estimator, X, reset=reset)
    M = as_sparse(X, fmt=fmt)
    if not reset:
        check_columns(M, getattr(estimator, "n_features_in_", None), type(estimator).__name__)
    ya = check_y(y, M.shape[0], dtype="float64")
    w = check_sample_weight(sample_weight, M.shape[0], np.dtype(np.float64))
    if reset:
        estimator.n_features_in_ = M.shape[1]
    return M, ya, w


def predict_input(estimator: Any, X: Any) -> sp.csr_matrix:
    """Sparse ``X`` checked for ``predict``: finite stored values and the model's columns."""
    M = as_sparse(X)
    check_columns(M, getattr(estimator, "n_features_in_", None), type(estimator).__name__)
    return M


def predict(model: Any, X: Any) -> np.ndarray:
    """``X @ coef_ᵀ + intercept_`` for sparse ``X`` (checked: finite, the model's columns)."""
    M = predict_input(model, X)
    return np.asarray(M @ np.asarray(model.coef_).T) + model.intercept_


def score(model: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
    """R² of the predictions on sparse ``X`` against ``y`` (weighted by ``sample_weight``)."""
    from linearlab.data.validation import check_sample_weight, check_y
    from linearlab.stats.metrics import r_squared

    pred = predict(model, X)
    ya = check_y(y, pred.shape[0], dtype="float64")
    w = check_sample_weight(sample_weight, pred.shape[0], np.dtype(np.float64))
    return r_squared(ya, pred.reshape(ya.shape), sample_weight=w)


def wide_fit_error(model: Any, what: str):
    """The paragraph (:class:`UsageError`) for ``summary()`` or a path plot of a penalized model
    fitted by coordinate descent over the columns of wide sparse X (no d×d statistics)."""
    from linearlab.errors import UsageError
    from linearlab.sparse import GRAM_MAX_FEATURES

    return UsageError(
        f"{what} needs the d×d statistics of the training data, which this "
        f"{type(model).__name__} did not form: it was fitted on sparse X with "
        f"{model.n_features_in_} columns (more than {GRAM_MAX_FEATURES}) by coordinate descent "
        "over the columns. Its coefficients, predictions and score() are available; for a "
        "summary or a path, fit fewer columns."
    )
