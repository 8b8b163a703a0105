"""Turn whatever the user passed (lists, arrays, DataFrames, tensors) into checked float arrays.

This is the one place that decides what counts as valid input. Errors name the problem, where it
is (row, column) and how to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, DataTypeError

_FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32}


def resolve_dtype(dtype: Any) -> np.dtype:
    """Return the numpy float dtype named by ``dtype`` ("float64" or "float32")."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _FLOAT_DTYPES:
        raise DataError(f"dtype must be 'float64' or 'float32', got {dtype!r}.")
    return np.dtype(_FLOAT_DTYPES[key])


def _column_name(names: Any, j: int) -> str:
    if names is not None and j < len(names):
        return f"column {j} ({names[j]!r})"
    return f"column {j}"


def _from_torch(obj: Any) -> Any:
    module = type(obj).__module__
    if module.startswith("torch") and hasattr(obj, "detach"):
        return obj.detach().cpu().numpy()
    return obj


def column_names(obj: Any) -> list[str] | None:
    """Column names of a DataFrame-like input, else None."""
    columns = getattr(obj, "columns", None)
    if columns is None or not hasattr(obj, "iloc"):
        return None
    return [str(c) for c in columns]


def _to_numeric(obj: Any, what: str, dtype: np.dtype, names: list[str] | None) -> np.ndarray:
    if obj is None:
        raise DataError(f"{what} is None; pass an array-like of numbers.")
    if hasattr(obj, "toarray") or type(obj).__module__.startswith("scipy.sparse"):
        raise DataError(
            f"{what} is a sparse matrix; sparse input is not supported. "
            f"Convert it with {what}.toarray() if it fits in memory."
        )
    obj = _from_torch(obj)
    if isinstance(obj, str):
        raise DataError(f"{what} is a string ({obj[:40]!r}); pass an array-like of numbers.")
    if hasattr(obj, "iloc"):  # pandas
        obj = obj.to_numpy()
    try:
        arr = np.asarray(obj)
    except ValueError as exc:  # ragged nested lists
        raise DataError(
            f"{what} is ragged: its rows have different lengths ({exc}). "
            "Every row must have the same number of values."
        ) from None
    if arr.dtype.kind == "c":
        raise DataError(f"Complex data not supported: {what} has complex values.")
    if arr.dtype.kind in "fiub":
        return arr.astype(dtype, copy=False)
    # object or string arrays: find the first entry that is not a number
    if arr.dtype.kind == "O" and arr.ndim >= 1:
        try:
            return arr.astype(dtype)
        except (TypeError, ValueError):
            pass
    bad = _first_non_numeric(arr)
    if bad is None:
        raise DataError(f"{what} has dtype {arr.dtype}, which is not numeric.")
    index, value, problem = bad
    where = f"row {index[0]}" + (f", {_column_name(names, index[1])}" if len(index) > 1 else "")
    error = DataTypeError if isinstance(problem, TypeError) else DataError
    raise error(
        f"{what} must be numeric, but {where} holds {value!r} ({problem}). "
        "Convert or drop non-numeric columns (or encode categories as numbers) before fitting."
    )


def _first_non_numeric(arr: np.ndarray) -> tuple[tuple[int, ...], Any, Exception] | None:
    for index, value in np.ndenumerate(arr):
        try:
            float(value)
        except (TypeError, ValueError) as exc:
            return index, value, exc
    return None


def _check_finite(arr: np.ndarray, what: str, names: list[str] | None) -> None:
    # One cheap reduction first (as scikit-learn does); locate the culprit only on failure.
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum(dtype=np.float64)
    if np.isfinite(total):
        return
    bad = ~np.isfinite(arr)
    if not bad.any():
        return  # the sum overflowed, the values are finite
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    value = arr[index]
    kind = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    where = f"row {index[0]}" + (f", {_column_name(names, index[1])}" if len(index) > 1 else "")
    count = int(bad.sum())
    raise DataError(
        f"{what} contains {kind} at {where} ({count} non-finite value(s) in all; NaN or inf "
        "are not allowed). Drop or impute the missing values before fitting."
    )


def check_X(
    X: Any, *, dtype: Any = "float64", what: str = "X", allow_empty: bool = False
) -> np.ndarray:
    """Validate features: 2-D, numeric, finite, at least one row and one column."""
    names = column_names(X)
    arr = _to_numeric(X, what, resolve_dtype(dtype), names)
    if arr.ndim != 2:
        shape = arr.shape
        hint = (
            f" Reshape your data with {what}.reshape(-1, 1) if it has a single feature"
            f" or {what}.reshape(1, -1) if it contains a single sample."
            if arr.ndim == 1
            else ""
        )
        raise DataError(
            f"Expected 2D array for {what} (n_samples, n_features), got {arr.ndim}-D array "
            f"of shape {shape}.{hint}"
        )
    if arr.shape[0] == 0 and not allow_empty:
        raise DataError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required: {what} is empty. Pass at least one row of data."
        )
    if arr.shape[1] == 0:
        raise DataError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required: {what} has no columns. Pass at least one feature column."
        )
    _check_finite(arr, what, names)
    return arr


def check_y(y: Any, n_samples: int, *, dtype: Any = "float64", what: str = "y") -> np.ndarray:
    """Validate targets: 1-D or 2-D, numeric, finite, ``n_samples`` rows."""
    names = column_names(y)
    arr = _to_numeric(y, what, resolve_dtype(dtype), names)
    if arr.ndim == 0 or arr.ndim > 2:
        raise DataError(
            f"{what} must be 1-D (n_samples,) or 2-D (n_samples, n_targets), "
            f"got shape {arr.shape}."
        )
    if arr.shape[0] != n_samples:
        raise DataError(
            f"X and {what} have inconsistent numbers of samples: X has {n_samples} rows, "
            f"{what} has {arr.shape[0]}. Pass one target value per row of X."
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise DataError(f"{what} has 0 target columns.")
    _check_finite(arr, what, names)
    return arr


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: np.dtype) -> np.ndarray | None:
    """Validate sample weights: None, a scalar, or ``n_samples`` non-negative finite numbers."""
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        w = np.full(n_samples, float(sample_weight), dtype=dtype)
    else:
        w = _to_numeric(sample_weight, "sample_weight", dtype, None)
        if w.ndim != 1:
            raise DataError(
                f"sample_weight must be 1-D with one weight per sample, got shape {w.shape}."
            )
        if w.shape[0] != n_samples:
            raise DataError(
                f"sample_weight has {w.shape[0]} values but X has {n_samples} samples; "
                "pass one weight per row."
            )
    _check_finite(w, "sample_weight", None)
    if (w < 0).any():
        row = int(np.argmax(w < 0))
        raise DataError(
            f"sample_weight must be non-negative, but row {row} has weight {w[row]!r}."
        )
    if not (w > 0).any():
        raise DataError("sample_weight are all zero; at least one sample needs positive weight.")
    return w
