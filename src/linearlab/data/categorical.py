"""Categorical (text) columns without a formula: one-hot encoding with a reference level.

A column is categorical when it is a pandas ``category`` column, or a text column (pandas
string/object, NumPy string or object) whose values are all strings. It becomes one indicator
column per level but the first (the reference), named ``col[T.level]`` as statsmodels' formulas
name them. Without an intercept, the first categorical column keeps every level (``col[level]``),
as patsy does, so the model still has a baseline. Levels come from the category order, or are the
sorted distinct values; they are stored in model files and unseen levels are refused at
prediction. Numeric and boolean columns pass through unchanged. ``partial_fit`` learns the
levels from its first chunk: give such columns a pandas ``category`` dtype holding every level to
fix them up front.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from linearlab.data.missing import _is_missing_scalar
from linearlab.errors import DataError, ModelFileError

#: The most columns a one-hot design may have: its normal equations hold this squared numbers
#: (20,000 columns: 3.2 GB), as the command line's limit on feature columns.
MAX_DESIGN_COLUMNS = 20_000


def check_design_width(levels: Mapping[str, int], others: int = 0) -> None:
    """Refuse, before anything is allocated, a design whose one-hot columns (``levels``: the
    level count of each categorical column) and ``others`` exceed :data:`MAX_DESIGN_COLUMNS`,
    naming the column with the most levels."""
    width = others + sum(max(k - 1, 1) for k in levels.values())
    if width <= MAX_DESIGN_COLUMNS:
        return
    column, count = max(levels.items(), key=lambda item: item[1])
    raise DataError(
        f"Column {column!r} has {count:,} levels: one-hot encoded, the design would have "
        f"{width:,} columns, more than the {MAX_DESIGN_COLUMNS:,} linearlab allows (its normal "
        f"equations would need a {width:,} x {width:,} matrix). Group rare levels, drop the "
        "column, or use it as a numeric code."
    )


def unseen_level_error(value: Any, column: str, row: int, levels: list, term: str | None = None):
    """The error for a level absent from training: names the level, the column and the row."""
    known = ", ".join(repr(v) for v in levels[:20]) + (", ..." if len(levels) > 20 else "")
    where = f" (term {term!r})" if term and term != column else ""
    return DataError(
        f"Column {column!r}{where} holds the level {value!r} at row {row}, which the model did "
        f"not see in training; its levels are {known}. The model has no coefficient for it: "
        "map it to one of those levels, or refit with data that contains it."
    )


def _columns(X: Any, names: list[str]) -> list[tuple[np.ndarray, list | None]]:
    """(values, category order or None) of every column of a DataFrame or a 2-D array."""
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        out = []
        for j in range(X.shape[1]):
            col = X.iloc[:, j]
            cats = getattr(getattr(col, "cat", None), "categories", None) \
                if getattr(col.dtype, "name", "") == "category" else None
            values = col.to_numpy(dtype=object) if cats is not None else col.to_numpy()
            out.append((values, None if cats is None else [_plain(c) for c in cats]))
        return out
    arr = np.asarray(X)
    if arr.ndim != 2:
        return []
    return [(arr[:, j], None) for j in range(arr.shape[1])]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_text(values: np.ndarray) -> bool:
    if values.dtype.kind != "O":  # NumPy string arrays stay errors, as in scikit-learn
        return False
    present = [v for v in values if not _is_missing_scalar(v)]
    return bool(present) and all(isinstance(v, str) for v in present)


def _label(level: Any) -> str:
    return str(level)


class CategoricalDesign:
    """The encoding of a table with categorical columns (see the module notes).

    Attributes
    ----------
    input_names : list of str
        The table's columns, in order.
    levels : dict of str to list
        The levels of each categorical column, reference first.
    full_rank : str or None
        The categorical column that keeps every level (fits without an intercept).
    names : list of str
        The design's columns: the coefficients' names.
    """

    kind = "categorical"
    intercept_name = "const"

    def __init__(self, input_names: list[str], levels: Mapping[str, list],
                 full_rank: str | None = None):
        self.input_names = [str(n) for n in input_names]
        self.levels = {str(k): list(v) for k, v in levels.items()}
        check_design_width({k: len(v) for k, v in self.levels.items()},
                           len(self.input_names) - len(self.levels))
        self.full_rank = full_rank
        self.names: list[str] = []
        for name in self.input_names:
            if name not in self.levels:
                self.names.append(name)
            elif name == full_rank:
                self.names.extend(f"{name}[{_label(v)}]" for v in self.levels[name])
            else:
                self.names.extend(f"{name}[T.{_label(v)}]" for v in self.levels[name][1:])

    @classmethod
    def detect(cls, X: Any, names: list[str], fit_intercept: bool = True):
        """The design for ``X`` if it has a categorical column, else None.

        ``names`` label the columns (a DataFrame's own names, or those the caller gives an
        array). Missing values are left to the missing-value policy, applied before.
        """
        columns = _columns(X, names)
        levels: dict[str, list] = {}
        for name, (values, cats) in zip(names, columns, strict=False):
            if cats is not None:
                levels[name] = cats
            elif _is_text(values):
                present = {v for v in values if not _is_missing_scalar(v)}
                levels[name] = sorted(present, key=str)
        if not levels:
            return None
        empty = [n for n, v in levels.items() if not v]
        if empty:
            raise DataError(f"Categorical column {empty[0]!r} has no values (every row is "
                            "missing); drop the column.")
        full_rank = None if fit_intercept else next(n for n in names if n in levels)
        return cls(names, levels, full_rank)

    def transform(self, X: Any) -> np.ndarray:
        """The float64 design of ``X`` (same columns as at fit time, by position).

        Raises
        ------
        DataError
            A level not seen in training, a missing value, or text in a numeric column.
        """
        columns = _columns(X, self.input_names)
        if len(columns) != len(self.input_names):
            got = len(columns) if columns else np.ndim(X)
            raise DataError(
                f"X has {got} column(s), but the model was fitted on {len(self.input_names)} "
                f"({', '.join(self.input_names)}); pass the same columns in the same order."
            )
        n = len(columns[0][0])
        blocks = []
        for name, (values, _) in zip(self.input_names, columns, strict=True):
            if name in self.levels:
                blocks.append(self._indicators(name, values))
            else:
                blocks.append(_numeric(name, values).reshape(n, 1))
        return np.ascontiguousarray(np.hstack(blocks)) if blocks else np.empty((n, 0))

    def _indicators(self, name: str, values: np.ndarray) -> np.ndarray:
        levels = self.levels[name]
        index = {level: i for i, level in enumerate(levels)}
        codes = np.empty(len(values), dtype=np.intp)
        for row, value in enumerate(values):
            code = index.get(_plain(value), -1)
            if code < 0:
                if _is_missing_scalar(value):
                    raise DataError(
                        f"Column {name!r} is missing a value at row {row}; drop or fill in the "
                        "row (missing='drop' on fit, --missing keep on predict)."
                    )
                raise unseen_level_error(_plain(value), name, row, levels)
            codes[row] = code
        start = 0 if name == self.full_rank else 1
        out = np.zeros((len(values), len(levels) - start))
        rows = np.flatnonzero(codes >= start)
        out[rows, codes[rows] - start] = 1.0
        return out

    def to_dict(self) -> dict[str, Any]:
        """The encoding as plain JSON."""
        return {"kind": self.kind, "input_names": list(self.input_names),
                "levels": {k: list(v) for k, v in self.levels.items()},
                "full_rank": self.full_rank}

    @classmethod
    def from_dict(cls, doc: Mapping, where: str = "<model>") -> CategoricalDesign:
        """Rebuild the encoding from :meth:`to_dict`'s output."""
        try:
            names, levels = doc["input_names"], doc["levels"]
            ok = (isinstance(names, list) and all(isinstance(n, str) for n in names)
                  and isinstance(levels, dict) and all(
                      isinstance(v, list) and v and all(
                          isinstance(x, (str, int, float, bool)) for x in v)
                      for v in levels.values()) and set(levels) <= set(names))
            full_rank = doc.get("full_rank")
            if not ok or (full_rank is not None and full_rank not in levels):
                raise ValueError("input_names must be names and levels lists of values")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"{where!r} has an invalid categorical design ({exc}); re-create the model file."
            ) from None
        return cls(names, levels, full_rank)

    def __repr__(self) -> str:
        return f"CategoricalDesign(levels={self.levels})"


def _numeric(name: str, values: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        for row, value in enumerate(values):
            try:
                float(value)
            except (TypeError, ValueError):
                raise DataError(
                    f"Column {name!r} must be numeric, but row {row} holds {value!r}. Convert "
                    "it, or make the whole column text so that it is encoded as categories."
                ) from None
        raise
