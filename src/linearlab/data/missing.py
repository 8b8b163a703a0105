"""Missing values (NaN, None, pandas' NA): find them, refuse them, or drop their rows.

``missing="error"`` (the default) refuses data with a missing value in one paragraph that gives
the total count and the first row and column. ``missing="drop"`` removes every row with a missing
value in X, y or the sample weights, as statsmodels' ``missing="drop"`` does, and reports how
many rows went. Infinities are not missing values: they stay errors (see :mod:`.validation`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from linearlab.data.validation import from_torch
from linearlab.errors import DataError, ParameterError

POLICIES = ("error", "drop")


def check_policy(missing: str, allowed: tuple[str, ...] = POLICIES) -> str:
    """Return ``missing`` if it is one of ``allowed``, else raise :class:`ParameterError`."""
    if missing not in allowed:
        raise ParameterError(
            f"missing={missing!r} is not supported; use one of {', '.join(map(repr, allowed))}."
        )
    return missing


def _is_missing_scalar(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")  # pandas.NA, pandas.NaT


def _as_array(obj: Any) -> np.ndarray:
    if hasattr(obj, "detach") and type(obj).__module__.startswith("torch"):
        return from_torch(obj)  # bfloat16 has no NumPy dtype: widened there
    return np.asarray(obj)


def missing_cells(obj: Any) -> np.ndarray | None:
    """Boolean array (n_rows, n_columns) marking missing cells of ``obj``, or None if none is.

    Accepts DataFrames, Series, arrays, nested lists and tensors. Numeric arrays are checked
    with one reduction first, so complete data costs a single pass.
    """
    if obj is None or hasattr(obj, "toarray") or type(obj).__module__.startswith(
            ("scipy.sparse", "dask")):
        return None  # sparse and lazy input: validation refuses or handles it
    if hasattr(obj, "isna") and hasattr(obj, "iloc"):  # pandas
        mask = np.asarray(obj.isna(), dtype=bool)
    else:
        try:
            arr = _as_array(obj)
        except ValueError:  # ragged lists: validation reports them
            return None
        if arr.dtype.kind in "fc":
            with np.errstate(invalid="ignore", over="ignore"):
                if not np.isnan(arr.sum()):
                    return None
            mask = np.isnan(arr)
        elif arr.dtype.kind == "O":
            mask = np.asarray(np.frompyfunc(_is_missing_scalar, 1, 1)(arr), dtype=bool)
        else:
            return None
    if mask.ndim == 1:
        mask = mask[:, None]
    return mask if mask.any() else None


def describe_missing(mask: np.ndarray, what: str, names: list[str] | None,
                     kind: str = "a missing value") -> str:
    """"X contains NaN at row 4, column 'city' (3 missing value(s) in 2 row(s) in all)"."""
    rows = mask.any(axis=1)
    i, j = (int(v) for v in np.argwhere(mask)[0])
    column = ""
    if mask.shape[1] > 1 or names:
        column = f", column {names[j]!r}" if names and j < len(names) else f", column {j}"
    return (
        f"{what} contains {kind} at row {i}{column} ({int(mask.sum())} missing value(s), NaN "
        f"or None, in {int(rows.sum())} row(s) in all)"
    )


def missing_error(
    mask: np.ndarray, what: str, names: list[str] | None, predicting: bool = False,
    kind: str = "a missing value",
) -> DataError:
    """The error for ``missing="error"``: count, first row and column, and the ways out."""
    fix = (
        "Fill in or remove the missing values (on the command line, predict --missing keep "
        "leaves those rows' predictions empty)." if predicting else
        "Fill in or remove the missing values, or pass missing='drop' to drop the rows that "
        "have them."
    )
    return DataError(f"{describe_missing(mask, what, names, kind)}. {fix}")


def column_labels(obj: Any) -> list[str] | None:
    """Column names of a DataFrame, the name of a Series, else None."""
    columns = getattr(obj, "columns", None)
    if columns is not None and hasattr(obj, "iloc"):
        return [str(c) for c in columns]
    name = getattr(obj, "name", None)
    return [str(name)] if isinstance(name, str) else None


def take_rows(obj: Any, keep: np.ndarray) -> Any:
    """Rows ``keep`` (boolean mask) of a DataFrame, Series, array, list or tensor."""
    if obj is None:
        return None
    if hasattr(obj, "iloc"):
        return obj.iloc[np.flatnonzero(keep)]
    if hasattr(obj, "detach") and type(obj).__module__.startswith("torch"):
        import torch

        return obj[torch.as_tensor(keep, device=obj.device)]
    return _as_array(obj)[keep]


def handle_missing(
    X: Any, y: Any, sample_weight: Any, missing: str, *,
    x_names: list[str] | None = None,
) -> tuple[Any, Any, Any, int]:
    """Apply the ``missing`` policy to training data.

    Returns
    -------
    X, y, sample_weight, n_dropped
        Unchanged (``n_dropped`` 0) when nothing is missing; the complete rows with
        ``missing="drop"``.

    Raises
    ------
    DataError
        Something is missing and ``missing="error"``, or every row has a missing value.
    """
    check_policy(missing)
    if missing == "error" and all(_plain_floats(v) for v in (X, y, sample_weight)):
        return X, y, sample_weight, 0  # validation reports NaN in float arrays in one pass
    parts = [("X", X, x_names or column_labels(X)), ("y", y, column_labels(y)),
             ("sample_weight", None if np.isscalar(sample_weight) else sample_weight, None)]
    masks = [(what, missing_cells(obj), names) for what, obj, names in parts]
    if all(mask is None for _, mask, _ in masks):
        return X, y, sample_weight, 0
    if missing == "error":
        what, mask, names = next(m for m in masks if m[1] is not None)
        obj = dict((p[0], p[1]) for p in parts)[what]
        raise missing_error(mask, what, names, kind=_first_kind(obj, mask))
    n_rows = next(m.shape[0] for _, m, _ in masks if m is not None)
    drop = np.zeros(n_rows, dtype=bool)
    for what, mask, _ in masks:
        if mask is None:
            continue
        if mask.shape[0] != n_rows:
            raise DataError(
                f"X and {what} have inconsistent numbers of samples ({n_rows} and "
                f"{mask.shape[0]}); pass one value per row."
            )
        drop |= mask.any(axis=1)
    if drop.all():
        raise DataError(
            f"Every one of the {n_rows} rows has a missing value, so missing='drop' leaves no "
            "data to fit. Fill in the missing values, or leave out the columns that hold them."
        )
    keep = ~drop
    weight = sample_weight if np.isscalar(sample_weight) else take_rows(sample_weight, keep)
    return take_rows(X, keep), take_rows(y, keep), weight, int(drop.sum())


def _first_kind(obj: Any, mask: np.ndarray) -> str:
    """"NaN" or "None" (what the first missing cell holds), for the message."""
    i, j = (int(v) for v in np.argwhere(mask)[0])
    values = obj.to_numpy() if hasattr(obj, "iloc") else _as_array(obj)
    value = values[i, j] if values.ndim == 2 else values[i]
    if value is None:
        return "None"
    return "NaN" if isinstance(value, (float, np.floating)) else "a missing value"


def _plain_floats(obj: Any) -> bool:
    return obj is None or np.isscalar(obj) or (
        isinstance(obj, np.ndarray) and obj.dtype.kind in "fiub")


def complete_rows(X: Any) -> np.ndarray | None:
    """Boolean mask of the rows of ``X`` without a missing value, or None if all are complete."""
    mask = missing_cells(X)
    return None if mask is None else ~mask.any(axis=1)


def expand_rows(values: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """``values`` computed for the rows ``keep`` marks, spread over all rows (NaN elsewhere)."""
    if keep is None:
        return values
    out = np.full((keep.shape[0], *values.shape[1:]), np.nan)
    out[keep] = values
    return out
