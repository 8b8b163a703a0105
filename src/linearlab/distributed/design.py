"""The design step on Dask collections: text and category columns, ``missing="drop"``, formulas.

- **Text or category columns, missing values** (no formula): one pass. Every partition builds
  a :class:`~linearlab.pipeline.growing.GrowingGram` (its own levels, its rows after the
  missing-value policy); the tree reduction merges them, aligning the levels; the result is
  the design the in-memory fit would learn (sorted levels, or a category's order; the same
  reference level) and the Gram of exactly its columns.
- **Formulas** (``LinearRegression.from_formula(f, dask_frame)``): one light pass collects the
  levels of the categorical variables over the rows the fit keeps; the formula's spec is
  learnt from a small table holding those levels, so it equals the in-memory spec; every
  partition is then turned into its design where it lives. Stateful transforms
  (``center``, ``scale``, ``standardize``, ``poly``, splines) need a statistic of the whole
  column and are refused (compute the column in Dask first).

Both give :class:`Designed`: partitions of design matrices (what the solvers and the descent
loop read), and what the fitted state records (design, dropped rows, the table's names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from linearlab.distributed.blocks import Partitions, partitions, target_info
from linearlab.distributed.reduce import compute, tree_reduce
from linearlab.errors import DataError, ParameterError
from linearlab.exact.gram import Gram
from linearlab.pipeline.growing import GrowingGram, TableSpec, frame_block


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
    """(X, Y, w) of one partition in the finished design's columns."""
    growing = GrowingGram(spec)
    block = _raw_block(xb, yb, wb, spec)
    X, Y, w = growing.encode(block, growing.complete(block))
    return X[:, [growing.index[k] for k in keys]], Y, w


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
    X_parts, Y_parts, w_parts = [], [], []
    for i, xb, yb, wb in raw.blocks():
        task = delayed(_partition_design, nout=3, name="linearlab-design-rows")(
            xb, yb, wb, i, fixed, keys)
        X_parts.append(task[0])
        Y_parts.append(task[1])
        w_parts.append(task[2])
    names = list(design.names) if design is not None else features
    parts = Partitions(X=X_parts, Y=Y_parts, w=None if sample_weight is None else w_parts,
                       n_features=len(names), feature_names=names, y_ndim=raw.y_ndim,
                       target_names=raw.target_names)
    input_names = raw.feature_names
    return Designed(parts, design, growing.n_dropped, input_names, (gram, growing.log_w))


# --------------------------------------------------------------------------- formulas
def _formula_levels(part, variables: list[str], text: list[str]):
    """(rows, {column: set of levels}) of one partition, over its complete rows."""
    complete = part.dropna(subset=variables) if variables else part
    return len(part), {c: set(complete[c].dropna().tolist()) for c in text}


def _merge_levels(parts: list) -> tuple:
    rows, levels = 0, {}
    for n, found in parts:
        rows += n
        for c, values in found.items():
            levels.setdefault(c, set()).update(values)
    return rows, levels


def _prototype(X, variables: list[str], levels: dict[str, list]):
    """A small table holding every level of the categorical variables (numbers are 1)."""
    import pandas as pd

    n = max([2, *(len(v) for v in levels.values())])
    dtypes = _frame_dtypes(X)
    columns = {}
    for name in variables:
        if name in levels:
            values = levels[name] or ["?"]
            cats = (list(dtypes[name].cat.categories) if getattr(dtypes[name], "name", "")
                    == "category" else sorted(values, key=str))
            columns[name] = pd.Categorical([values[i % len(values)] for i in range(n)],
                                           categories=cats)
        else:
            columns[name] = np.ones(n)
    return pd.DataFrame(columns)


def _formula_rows(part, wb, design, missing: str, index: int):
    try:
        X, Y, keep = design.apply(part, missing, response=True)
    except DataError as exc:
        raise type(exc)(f"In partition {index} of the Dask collection: {exc}") from None
    if wb is None:
        return X, Y, None
    w = np.broadcast_to(np.asarray(wb.to_numpy() if hasattr(wb, "to_numpy") else wb,
                                   dtype=np.float64), (len(part),))
    return X, Y, (w if keep is None else w[keep])


def _formula(estimator, X, sample_weight) -> Designed:
    from dask import delayed

    template = estimator.design_
    # the tasks carry the design: only the names the formula uses travel with it
    used = {k: v for k, v in template.context.items()
            if re.search(rf"\b{re.escape(str(k))}\b", template.formula)}
    design = type(template)(template.formula, used)
    if not hasattr(X, "map_partitions") or X.ndim != 2:
        raise DataError("A formula needs its data as a Dask DataFrame (the columns it names); "
                        f"got a {type(X).__name__}.")
    columns = [str(c) for c in X.columns]
    variables = sorted(v for v in design._parsed.required_variables if v in columns)
    text = _text_columns(X)  # all: stateful transforms hide their variables from formulaic
    raw = partitions(X, None, sample_weight)
    leaves = [delayed(_formula_levels, name="linearlab-levels")(xb, variables, text)
              for _, xb, _, _ in raw.blocks()]
    rows, found = compute(tree_reduce(leaves, _merge_levels))
    levels = {c: sorted(v, key=str) for c, v in found.items()}
    empty = [c for c in text if c in variables and not levels.get(c)]
    if empty:
        raise DataError(f"Categorical column {empty[0]!r} has no values (every row is "
                        "missing); drop the column.")
    design.fit_transform(_prototype(X, columns, levels), "error")
    stateful = list(dict(design.model_spec.transform_state))
    if stateful:
        raise ParameterError(
            f"The formula {design.formula!r} uses {', '.join(stateful)}, whose state (a mean, "
            "a scale, a basis) comes from the whole column; on Dask collections linearlab "
            "fits formulas without such stateful transforms. Compute the column in Dask "
            "first (e.g. df['xc'] = df.x - df.x.mean()) and name it in the formula."
        )
    X_parts, Y_parts, w_parts = [], [], []
    for i, xb, _, wb in raw.blocks():
        task = delayed(_formula_rows, nout=3, name="linearlab-formula")(
            xb, wb, design, estimator.missing, i)
        X_parts.append(task[0])
        Y_parts.append(task[1])
        w_parts.append(task[2])
    k = len(design.target_names)
    parts = Partitions(X=X_parts, Y=Y_parts, w=None if sample_weight is None else w_parts,
                       n_features=len(design.names), feature_names=list(design.names),
                       y_ndim=1 if k == 1 else 2, target_names=list(design.target_names))
    return Designed(parts, design, None, None, rows=rows)
