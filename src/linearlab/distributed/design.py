"""The design step on Dask collections: text and category columns, ``missing="drop"``, formulas.

- **Text or category columns, missing values** (no formula): one pass. Every partition builds
  a :class:`~linearlab.design.growing.GrowingGram` (its own levels, its rows after the
  missing-value policy); the tree reduction merges them, aligning the levels; the result is
  the design the in-memory fit would learn (sorted levels, or a category's order; the same
  reference level) and the Gram of exactly its columns.
- **Formulas** (``LinearRegression.from_formula(f, dask_frame)``): one light pass collects the
  levels of the categorical variables over the rows the fit keeps, then every partition is
  turned into its design where it lives (:mod:`linearlab.design.formula_blocks`; stateful
  transforms are refused there).

Both give :class:`Designed`: partitions of design matrices (what the solvers and the descent
loop read), and what the fitted state records (design, dropped rows, the table's names).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from linearlab.data.categorical import unseen_level_error
from linearlab.design.formula_blocks import (
    block_levels,
    block_rows,
    fit_formula,
    formula_variables,
    merge_levels,
    portable,
)
from linearlab.design.growing import GrowingGram, TableSpec, frame_block
from linearlab.distributed.blocks import Partitions, partitions, target_info
from linearlab.distributed.reduce import compute, tree_reduce
from linearlab.errors import DataError
from linearlab.exact.gram import Gram


@dataclass
class Designed:
    """Partitions of the design matrix and what the fit records about the design."""

    parts: Partitions
    design: Any
    n_dropped: int | None  # None: the rows read less the rows fitted (``rows``)
    input_names: list[str] | None
    stats: tuple[Gram, float] | None = None  # the Gram pass, when it is done already
    rows: int | None = None


def _is_formula(design) -> bool:
    return getattr(design, "kind", None) == "formula"


def _frame_dtypes(X) -> dict[str, Any]:
    return dict(X.dtypes.items()) if hasattr(X, "map_partitions") and X.ndim == 2 else {}


def _text_columns(X) -> list[str]:
    return [str(c) for c, t in _frame_dtypes(X).items() if getattr(t, "kind", "O") not in "fiucb"]


def needs_design(estimator, X, y) -> bool:
    """Whether a Dask fit takes the design step (a formula, missing='drop', text columns)."""
    return ((_is_formula(getattr(estimator, "design_", None)) and y is None)
            or getattr(estimator, "missing", "error") == "drop" or bool(_text_columns(X)))


def designed(estimator, X, y, sample_weight) -> Designed:
    """Partitions of the design of ``X`` (see the module notes)."""
    if _is_formula(getattr(estimator, "design_", None)) and y is None:
        return _formula(estimator, X, sample_weight)
    if y is None:
        raise DataError(f"{type(estimator).__name__} requires y to be passed, but y is None.")
    return _table(estimator, X, y, sample_weight)


# --------------------------------------------------------------------------- text columns
def _names(X) -> list[str]:
    if hasattr(X, "map_partitions"):
        return [str(c) for c in X.columns]
    return [f"x{j}" for j in range(int(X.shape[1]))]


def _raw_block(xb, yb, wb, spec: TableSpec):
    """One partition (pandas or NumPy) as a raw block of the growing statistics."""
    import pandas as pd

    features = spec.features
    frame = xb if hasattr(xb, "iloc") else pd.DataFrame(np.asarray(xb), columns=features)
    frame = frame.set_axis(features, axis=1)
    Y = np.asarray(yb.to_numpy() if hasattr(yb, "to_numpy") else yb, dtype=np.float64)
    Y = Y.reshape(len(frame), -1)
    for t, name in enumerate(spec.targets):
        frame[name] = Y[:, t]
    if spec.weight is not None:
        w = wb.to_numpy() if hasattr(wb, "to_numpy") else np.asarray(wb)
        frame[spec.weight] = np.broadcast_to(np.asarray(w, dtype=np.float64), (len(frame),))
    return frame_block(frame, spec)


def _missing_error(index: int, spec: TableSpec):
    def error(column: str, row: int) -> Exception:
        what = ("y" if column in spec.targets else "sample_weight" if column == spec.weight
                else f"X, column {column!r}")
        return DataError(
            f"In partition {index} of the Dask collection: {what} is missing a value (NaN or "
            f"None) at row {row}. Fill in or remove the missing values, or pass "
            "missing='drop' to drop the rows that have them."
        )
    return error


def _partition_growing(xb, yb, wb, index: int, spec: TableSpec) -> GrowingGram:
    growing = GrowingGram(spec)
    growing.absorb(_raw_block(xb, yb, wb, spec), _missing_error(index, spec))
    return growing


def _merge_growing(parts: list[GrowingGram]) -> GrowingGram:
    out = parts[0]
    for part in parts[1:]:
        out = out.merge(part)
    return out


def _partition_design(xb, yb, wb, index: int, spec: TableSpec, keys: list):
    """(X, Y, w) of one partition in the finished design's columns (``spec.categories``
    holds every level; another one is refused, as in memory)."""
    growing = GrowingGram(spec)
    known = len(growing.keys)
    block = _raw_block(xb, yb, wb, spec)
    keep = growing.complete(block, _missing_error(index, spec))
    X, Y, w = growing.encode(block, keep)
    if len(growing.keys) > known:
        column, level = growing.keys[known]
        codes, levels = block[column]
        row = int(np.flatnonzero(codes == levels.index(level))[0])
        error = unseen_level_error(level, column, row, spec.categories[column])
        raise DataError(f"In partition {index} of the Dask collection: {error}")
    return X[:, [growing.index[k] for k in keys]], Y, w


def _rows_partitions(raw: Partitions, task, args: tuple, weighted: bool, names: list[str],
                     y_ndim: int, target_names: list[str]) -> Partitions:
    """Partitions of ``task(xb, yb, wb, index, *args)`` -> (X, Y, w), computed where the
    partitions live."""
    from dask import delayed

    X_parts, Y_parts, w_parts = [], [], []
    for i, xb, yb, wb in raw.blocks():
        rows = delayed(task, nout=3, name="linearlab-design-rows")(xb, yb, wb, i, *args)
        X_parts.append(rows[0])
        Y_parts.append(rows[1])
        w_parts.append(rows[2])
    return Partitions(X=X_parts, Y=Y_parts, w=w_parts if weighted else None,
                      n_features=len(names), feature_names=list(names), y_ndim=y_ndim,
                      target_names=list(target_names))


def applied(estimator, X, y, sample_weight) -> Partitions:
    """Partitions of a fitted model's design applied to other data (``score``)."""
    design = estimator.design_
    if _is_formula(design):
        if y is not None:
            raise DataError(f"The formula {design.formula!r} names the target on its left "
                            "side; pass the data alone (y=None).")
        raw = partitions(X, None, sample_weight)
        k = len(design.target_names)
        return _rows_partitions(raw, _formula_rows, (portable(design), estimator.missing),
                                sample_weight is not None, design.names, 1 if k == 1 else 2,
                                design.target_names)
    raw = partitions(X, y, sample_weight)
    spec = TableSpec(list(design.input_names), [f"__y{t}" for t in range(
        len(raw.target_names) if raw.y_ndim == 2 else 1)], list(design.levels),
        None if sample_weight is None else "__w", estimator.missing, estimator.fit_intercept,
        dict(design.levels))
    keys = GrowingGram(spec).design_keys(design)
    return _rows_partitions(raw, _partition_design, (spec, keys), sample_weight is not None,
                            design.names, raw.y_ndim, raw.target_names)


def _categories(X, text: list[str]) -> dict[str, list]:
    out = {}
    for name, dtype in _frame_dtypes(X).items():
        if str(name) in text and getattr(dtype, "name", "") == "category":
            column = X[name] if getattr(dtype, "known", True) else X[name].cat.as_known()
            out[str(name)] = [v.item() if isinstance(v, np.generic) else v
                              for v in column.cat.categories]
    return out


def _table(estimator, X, y, sample_weight) -> Designed:
    from dask import delayed

    raw = partitions(X, y, sample_weight)
    features = _names(X)
    k = len(target_info(y)[1]) if raw.y_ndim == 2 else 1
    text = _text_columns(X)
    spec = TableSpec(features, [f"__y{t}" for t in range(k)], text,
                     None if sample_weight is None else "__w", estimator.missing,
                     estimator.fit_intercept, _categories(X, text))
    leaves = [delayed(_partition_growing, name="linearlab-design")(xb, yb, wb, i, spec)
              for i, xb, yb, wb in raw.blocks()]
    growing = compute(tree_reduce(leaves, _merge_growing))
    design, gram = growing.finish()
    keys = growing.design_keys(design)
    fixed = replace(spec, categories=growing.levels())
    names = list(design.names) if design is not None else features
    parts = _rows_partitions(raw, _partition_design, (fixed, keys), sample_weight is not None,
                             names, raw.y_ndim, raw.target_names)
    input_names = raw.feature_names
    return Designed(parts, design, growing.n_dropped, input_names, (gram, growing.log_w))


# --------------------------------------------------------------------------- formulas
def _formula_rows(part, _, wb, index: int, design, missing: str):
    try:
        return block_rows(part, design, missing,
                          None if wb is None else (wb.to_numpy() if hasattr(wb, "to_numpy")
                                                   else wb))
    except DataError as exc:
        raise type(exc)(f"In partition {index} of the Dask collection: {exc}") from None


def _formula(estimator, X, sample_weight) -> Designed:
    from dask import delayed

    if not hasattr(X, "map_partitions") or X.ndim != 2:
        raise DataError("A formula needs its data as a Dask DataFrame (the columns it names); "
                        f"got a {type(X).__name__}.")
    design = portable(estimator.design_)  # the tasks carry it
    columns = [str(c) for c in X.columns]
    variables = formula_variables(design, columns)
    text = _text_columns(X)  # all: stateful transforms hide their variables from formulaic
    raw = partitions(X, None, sample_weight)
    leaves = [delayed(block_levels, name="linearlab-levels")(xb, variables, text)
              for _, xb, _, _ in raw.blocks()]
    rows, found = compute(tree_reduce(leaves, merge_levels))
    fit_formula(design, columns, text, found, _categories(X, text))
    k = len(design.target_names)
    parts = _rows_partitions(raw, _formula_rows, (design, estimator.missing),
                             sample_weight is not None, design.names, 1 if k == 1 else 2,
                             design.target_names)
    return Designed(parts, design, None, None, rows=rows)
