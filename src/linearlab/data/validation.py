"""Turn whatever the user passed (lists, arrays, DataFrames, tensors) into checked float arrays.

This is the one place that decides what counts as valid input. Errors name the problem, where it
is (row, column) and how to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linearlab.errors import DataError, DataTypeError, NumericalError

_FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32}
# torch dtypes NumPy has no equivalent of, converted exactly to float32
_TORCH_WIDEN = ("torch.bfloat16", "torch.float8_e4m3fn", "torch.float8_e5m2")
# Largest |value| whose square, summed over many rows, stays finite in float64.
_SQUARE_SAFE = float(np.sqrt(np.finfo(np.float64).max)) / 1e4


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


def from_torch(obj: Any) -> Any:
    """A torch tensor as a NumPy array (bfloat16 and float8 widened exactly to float32, which
    NumPy lacks); anything else unchanged."""
    module = type(obj).__module__
    if module.startswith("torch") and hasattr(obj, "detach"):
        tensor = obj.detach().cpu()
        if str(tensor.dtype) in _TORCH_WIDEN:  # no NumPy dtype: widen (exactly) to float32
            tensor = tensor.float()
        try:
            return tensor.numpy()
        except (TypeError, RuntimeError) as exc:
            raise DataTypeError(
                f"A torch tensor of dtype {tensor.dtype} cannot be used as data ({exc}). "
                "Convert it with .float() or .double() first."
            ) from None
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
            f"{what} is a sparse matrix, and this step needs dense rows (figures, the "
            "playground, robust summaries and data-file tables draw or read every value). "
            "The estimators' fit, partial_fit, predict, score and summary() take sparse X "
            f"without densifying it; here convert it with {what}.toarray() if it fits in "
            "memory."
        )
    obj = from_torch(obj)
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
        "are not allowed). Drop or impute the missing values before fitting"
        + (", or pass missing='drop' to drop the rows with NaN." if kind == "NaN" else ".")
    )


def check_X(
    X: Any, *, dtype: Any = "float64", what: str = "X", allow_empty: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """Validate features: 2-D, numeric, finite, at least one row and one column.

    ``finite=False`` leaves out the pass over the values for NaN and inf (for a caller whose
    own pass detects them and then calls this again to report them).
    """
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
    if finite:
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


def check_fit_magnitudes(X: np.ndarray, Y: np.ndarray, w: np.ndarray | None,
                         names: list[str] | None = None) -> None:
    """Refuse values whose squares or sums overflow float64 (the fit would be inf or NaN):
    weights are a :class:`DataError`, features and targets a failed fit (:class:`NumericalError`).

    One pass (a sum of squares per array): cheap next to the fit, which forms XᵀX.
    """
    if w is not None:
        with np.errstate(over="ignore"):
            total = float(w.sum(dtype=np.float64))
        if not np.isfinite(total):
            raise DataError(
                f"sample_weight sums to more than float64 can hold (largest weight "
                f"{float(w.max()):.3g}). Divide the weights by a constant: least squares gives "
                "the same coefficients for proportional weights."
            )
    for arr, what in ((X, "X"), (Y, "y")):
        with np.errstate(over="ignore", invalid="ignore"):
            flat = arr.reshape(-1)
            # einsum, not BLAS's dot: a threaded dot leaves BLAS's threads spinning for ~0.1 s,
            # which slowed the fit's own threaded pass over X that follows by 50% (1e6 x 50)
            squares = float(np.einsum("i,i->", flat, flat))
        if np.isfinite(squares):
            continue
        big = np.abs(arr) > _SQUARE_SAFE
        index = tuple(int(i) for i in np.argwhere(big)[0]) if big.any() else (0,)
        where = f"row {index[0]}" + (f", {_column_name(names, index[1])}"
                                     if what == "X" and len(index) > 1 else "")
        raise NumericalError(
            f"{what} holds values too large for least squares in float64 (e.g. "
            f"{float(arr[index]):.3g} at {where}): their squares overflow. Rescale the data "
            "(e.g. divide the column by a power of ten, or use standardize=True); the "
            "coefficients scale back exactly."
        )


def check_fit_result(coef: np.ndarray, intercept: np.ndarray,
                     names: list[str] | None = None) -> None:
    """Raise :class:`NumericalError` when a fit produced non-finite coefficients.

    Called by every fit when it stores its coefficients: a model with ``inf`` or ``NaN`` in
    them is a failed fit, never a result.
    """
    coef, intercept = np.asarray(coef, np.float64), np.asarray(intercept, np.float64)
    if np.isfinite(coef).all() and np.isfinite(intercept).all():
        return
    table = coef.reshape(coef.shape[0] if coef.ndim else 1, -1)  # (n_features, n_targets)
    bad = np.argwhere(~np.isfinite(table))
    if len(bad):
        j, t = (int(v) for v in bad[0])
        what = f"the coefficient of {_column_name(names, j)} is {table[j, t]}"
    else:
        what = f"the intercept is {intercept.reshape(-1)[0]}"
    raise NumericalError(
        f"The fit overflowed: {what}. The data's scale is beyond float64's range for this "
        "problem (values near 1e-308 or 1e308, or slopes that large). Rescale the features and "
        "target (e.g. multiply or divide columns by a power of ten) and fit again; the "
        "coefficients scale back exactly."
    )
