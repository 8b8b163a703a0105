"""Dask collections → aligned row partitions, validated inside the tasks that read them.

``X`` may be a Dask array (any row chunking; column chunks are joined) or a Dask DataFrame;
``y`` and ``sample_weight`` may be Dask collections with the same row partitions, or in-memory
arrays (split to match ``X``). Each partition is turned into float64 NumPy arrays and checked
where it lives; an error names the partition (and, through the command line's reader, the file
and line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from linearlab.data.lazy import is_dask
from linearlab.data.validation import check_X, check_y
from linearlab.errors import DataError


@dataclass
class Partitions:
    """Row partitions of one problem as lists of Dask ``Delayed`` blocks (same length)."""

    X: list
    Y: list | None
    w: list | None
    n_features: int
    feature_names: list[str] | None  # string column names of a DataFrame (feature_names_in_)
    y_ndim: int
    target_names: list[str]

    def __len__(self) -> int:
        return len(self.X)

    def blocks(self):
        """(index, X block, Y block or None, w block or None) for every partition."""
        for i, xb in enumerate(self.X):
            yield (
                i,
                xb,
                None if self.Y is None else self.Y[i],
                None if self.w is None else self.w[i],
            )


def _is_frame(obj: Any) -> bool:
    return hasattr(obj, "map_partitions") and obj.ndim == 2


def _is_series(obj: Any) -> bool:
    return hasattr(obj, "map_partitions") and obj.ndim == 1


def feature_columns(X) -> tuple[int, list[str] | None]:
    """(number of features, string column names or None) of a Dask array or DataFrame."""
    if _is_frame(X):
        columns = list(X.columns)
        names = [str(c) for c in columns] if all(isinstance(c, str) for c in columns) else None
        return len(columns), names
    if X.ndim != 2:
        raise DataError(
            f"Expected a 2-D Dask array for X (n_samples, n_features), got {X.ndim}-D of shape "
            f"{X.shape}. Reshape with X.reshape(-1, 1) if it has a single feature."
        )
    return int(X.shape[1]), None


def _row_lengths(X) -> tuple[int, ...]:
    """Rows per partition of ``X`` (computed when Dask does not know them)."""
    if _is_frame(X):
        return tuple(int(n) for n in X.map_partitions(len).compute())
    chunks = X.chunks[0]
    if any(np.isnan(c) for c in chunks):
        chunks = X.compute_chunk_sizes().chunks[0]
    return tuple(int(c) for c in chunks)


def _x_blocks(X) -> list:
    if _is_frame(X):
        return list(X.to_delayed())
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return list(X.to_delayed()[:, 0])


def _aligned_blocks(v, X, what: str) -> list:
    """Blocks of ``v`` (y or sample_weight) partitioned like ``X``."""
    import dask

    n_parts = X.npartitions if _is_frame(X) else X.numblocks[0]
    if is_dask(v):
        if _is_frame(v) or _is_series(v):
            if v.npartitions != n_parts and _is_frame(X) and X.known_divisions:
                v = v.repartition(divisions=X.divisions)
            if v.npartitions != n_parts:
                raise DataError(
                    f"{what} has {v.npartitions} partitions but X has {n_parts}; pass Dask "
                    f"collections split into the same row partitions (e.g. columns of one "
                    "DataFrame), or an in-memory {what}."
                )
            return list(v.to_delayed())
        if v.ndim == 2 and v.numblocks[1] > 1:
            v = v.rechunk({1: -1})
        if v.numblocks[0] != n_parts or (
            not _is_frame(X) and v.chunks[0] != X.chunks[0]
        ):
            if _is_frame(X) or any(np.isnan(c) for c in v.chunks[0] + X.chunks[0]):
                lengths = _row_lengths(X)
                v = v.compute_chunk_sizes() if any(np.isnan(c) for c in v.chunks[0]) else v
            else:
                lengths = X.chunks[0]
            if v.shape[0] != sum(lengths):
                raise DataError(
                    f"X has {sum(lengths)} rows but {what} has {v.shape[0]}; pass one value "
                    "per row of X."
                )
            v = v.rechunk({0: tuple(lengths)})
        blocks = v.to_delayed()
        return list(blocks[:, 0] if blocks.ndim == 2 else blocks)
    # an in-memory y or weight vector: split it like X
    arr = v.to_numpy() if hasattr(v, "to_numpy") else np.asarray(v)
    if arr.ndim == 0:  # a scalar weight
        return [dask.delayed(arr)] * n_parts
    lengths = _row_lengths(X)
    if arr.shape[0] != sum(lengths):
        raise DataError(
            f"X has {sum(lengths)} rows but {what} has {arr.shape[0]}; pass one value per row."
        )
    pieces = np.split(arr, np.cumsum(lengths)[:-1])
    return [dask.delayed(p) for p in pieces]


def target_info(y) -> tuple[int, list[str]]:
    """(ndim, target names) of ``y``: a Series' name, DataFrame columns, else "y"/"y1".."yk"."""
    if _is_frame(y):
        return 2, [str(c) for c in y.columns]
    if _is_series(y):
        return 1, [str(y.name) if isinstance(y.name, str) else "y"]
    arr_ndim = getattr(y, "ndim", np.ndim(y))
    if arr_ndim == 1:
        return 1, ["y"]
    k = int(y.shape[1])
    return 2, [f"y{t + 1}" for t in range(k)]


def partitions(X, y=None, sample_weight=None) -> Partitions:
    """Split a problem into aligned row partitions (blocks stay lazy, on the cluster)."""
    n_features, names = feature_columns(X)
    Y = None if y is None else _aligned_blocks(y, X, "y")
    y_ndim, target_names = (1, ["y"]) if y is None else target_info(y)
    w = None if sample_weight is None else _aligned_blocks(sample_weight, X, "sample_weight")
    return Partitions(
        X=_x_blocks(X), Y=Y, w=w, n_features=n_features, feature_names=names,
        y_ndim=y_ndim, target_names=target_names,
    )


def validated(xb, yb, wb, index: int):
    """(X, Y (n, k) or None, w or None) of one partition as float64 arrays, checked.

    Runs inside a task. Errors say which partition; the command line's reader has already
    located bad values in their file and line.
    """
    try:
        X = check_X(xb, dtype="float64", allow_empty=True)
        Y = None
        if yb is not None:
            Y = check_y(yb, X.shape[0])
            Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        w = None if wb is None else _weights(wb, X.shape[0])
    except DataError as exc:
        raise type(exc)(f"In partition {index} of the Dask collection: {exc}") from None
    return _aligned(X), _aligned(Y), _aligned(w)


def plain_float_blocks(xb, yb, wb):
    """(X, Y (n, k), w) without the finiteness scan when the blocks already are float64 NumPy
    arrays of the right shapes (a Dask array's chunks), else None.

    The Gram pass uses it and checks its result instead: a NaN or inf in the rows makes the
    statistics non-finite, and only then is the partition validated again to say where.
    """
    if not (isinstance(xb, np.ndarray) and xb.dtype == np.float64 and xb.ndim == 2):
        return None
    n = xb.shape[0]
    if not (isinstance(yb, np.ndarray) and yb.dtype == np.float64 and yb.shape[:1] == (n,)
            and yb.ndim in (1, 2)):
        return None
    if wb is not None and not (isinstance(wb, np.ndarray) and wb.dtype == np.float64
                               and wb.shape == (n,)):
        return None
    Y = yb.reshape(-1, 1) if yb.ndim == 1 else yb
    if xb.shape[1] == 0 or Y.shape[1] == 0 or (wb is not None and (wb < 0).any()):
        return None
    return _aligned(xb), _aligned(Y), _aligned(wb)


def _aligned(a: np.ndarray | None) -> np.ndarray | None:
    """``a``, copied when its buffer is not aligned for float64 (deserialized blocks can be):
    NumPy sums unaligned data along another path, so the same rows would give other bits."""
    return a if a is None or a.flags.aligned else a.copy()


def _weights(wb, n: int) -> np.ndarray:
    w = np.asarray(wb.to_numpy() if hasattr(wb, "to_numpy") else wb, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise DataError(
            f"sample_weight has shape {w.shape} for {n} rows; pass one weight per row."
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"sample_weight must be finite and non-negative, but row {row} has weight "
            f"{w[row]!r}."
        )
    return w
