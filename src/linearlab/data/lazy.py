"""Lazy (Dask) inputs: recognise them without importing Dask, and map row-wise functions over them.

:func:`is_dask` looks only at the type's module, so the estimator and the statistics can check
every input for free and ``import linearlab`` never loads Dask. :func:`map_rows` applies a NumPy
function of a block of rows to every partition (``map_blocks`` / ``map_partitions``) and returns a
lazy Dask object: a Dask array for a Dask array, a Series or DataFrame with the input's index and
divisions (and the given column names) for a Dask DataFrame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def is_dask(*objs: Any) -> bool:
    """Whether any of ``objs`` is a Dask collection (array, DataFrame, Series)."""
    for obj in objs:
        module = type(obj).__module__ or ""
        if (module == "dask" or module.startswith(("dask.", "dask_expr"))) and hasattr(
            obj, "__dask_graph__"
        ):
            return True
    return False


def is_frame(obj: Any) -> bool:
    """A Dask (or pandas) DataFrame or Series, as opposed to an array."""
    return hasattr(obj, "map_partitions") or hasattr(obj, "iloc")


def n_columns(X) -> int:
    """Number of columns of a 2-D Dask array or a Dask DataFrame."""
    if X.ndim != 2:
        return 1
    return len(X.columns) if hasattr(X, "map_partitions") else int(X.shape[1])


def map_rows(
    X, fn: Callable[[np.ndarray], np.ndarray], out_names: Sequence[str], single: bool
):
    """Lazy ``fn(block)`` for every row partition of the Dask collection ``X``.

    ``fn`` maps an (n, d) block to (n,) when ``single`` else (n, len(out_names)). A Dask array
    gives a Dask array with ``X``'s row chunks; a DataFrame gives a Series named
    ``out_names[0]`` (``single``) or a DataFrame with columns ``out_names``, keeping ``X``'s
    index and divisions.
    """
    k = len(out_names)
    if hasattr(X, "map_partitions"):
        import pandas as pd

        def frame_block(part):
            values = fn(part)
            if single:
                return pd.Series(values, index=part.index, name=out_names[0])
            return pd.DataFrame(values, index=part.index, columns=list(out_names))

        if single:
            meta = pd.Series(np.empty(0), name=out_names[0], dtype=np.float64)
        else:
            meta = pd.DataFrame({c: np.empty(0) for c in out_names})
        return X.map_partitions(frame_block, meta=meta)
    if X.ndim == 2 and X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    if single:
        return X.map_blocks(fn, drop_axis=1, dtype=np.float64, chunks=(X.chunks[0],))
    return X.map_blocks(fn, dtype=np.float64, chunks=(X.chunks[0], (k,)))


def map_interval(X, fn: Callable[[np.ndarray], Sequence[np.ndarray]], fields: Sequence[str]):
    """Lazy ``fn(block)`` returning several (n,) arrays (e.g. mean, lower, upper, se).

    Computed once per partition as an (n, len(fields)) block; returns one lazy column per field
    (Dask arrays, or Series named after the fields keeping ``X``'s index and divisions).
    """
    stacked = map_rows(X, lambda block: np.column_stack(fn(block)), fields, single=False)
    if hasattr(stacked, "map_partitions"):
        return tuple(stacked[name] for name in fields)
    return tuple(stacked[:, j] for j in range(len(fields)))
