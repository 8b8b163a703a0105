"""The design step over blocks: text columns, missing values and weights, one pass.

A table read in blocks (a file's chunks, Dask partitions) does not show its categorical levels
up front. :class:`GrowingGram` keeps the :class:`~linearlab.exact.gram.Gram` statistics of every
numeric column and of one indicator column per level seen so far, in the order levels appear.
A new level adds a column; the rows seen before it have 0 there, so the statistics so far
extend with zeros (mean 0, centred cross-products 0): exact, and still one pass. Two growing
statistics merge by aligning their columns first (Dask's tree reduction).

At the end, :meth:`GrowingGram.finish` orders the levels as the in-memory fit does (sorted, or
a pandas category's order), drops each reference level (the first; without an intercept the
first categorical column keeps all) and returns the
:class:`~linearlab.data.categorical.CategoricalDesign` with the Gram of exactly its columns:
the statistics ``LinearRegression.fit`` would compute on the whole table. ``missing="drop"``
leaves out, block by block, the rows missing a feature, a target or a weight; ``"error"``
reports the first one through the caller's ``on_missing`` (which knows the file and line, or
the partition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linearlab.data.categorical import CategoricalDesign
from linearlab.errors import DataError
from linearlab.exact.gram import Gram
from linearlab.state.fitted import log_weight_sum

#: A raw block: column name → float64 values (NaN: missing) or, for a categorical column,
#: ``(codes, levels)`` with ``codes[i]`` the position of row i's value in ``levels`` (-1: missing).
Block = dict[str, Any]
OnMissing = Callable[[str, int], Exception]  # (column, row in the block) → the error to raise

#: Most columns a design over blocks may grow to: its statistics hold a d x d matrix (4,096
#: columns: 134 MB), which must stay within a streamed fit's bounded memory.
MAX_COLUMNS = 4096
#: Cells (rows x columns) of design matrix built at a time from a block (32 MB).
ENCODE_CELLS = 2**22


@dataclass
class TableSpec:
    """Which columns a fit reads and how.

    ``text`` are the categorical features; ``categories`` fix the level order of some of them
    (a pandas ``category`` column's categories); the others are sorted, as in memory.
    """

    features: list[str]
    targets: list[str]
    text: list[str] = field(default_factory=list)
    weight: str | None = None
    missing: str = "error"
    fit_intercept: bool = True
    categories: dict[str, list] = field(default_factory=dict)

    @property
    def numeric(self) -> list[str]:
        """Features read as numbers."""
        return [c for c in self.features if c not in self.text]


def _extended(gram: Gram, positions: np.ndarray, size: int) -> Gram:
    """``gram`` with its columns at ``positions`` of ``size`` columns, the others all zero."""
    k = gram.n_targets
    mean_x, sxx, sxy = np.zeros(size), np.zeros((size, size)), np.zeros((size, k))
    mean_x[positions] = gram.mean_x
    sxx[np.ix_(positions, positions)] = gram.sxx
    sxy[positions] = gram.sxy
    return Gram(gram.count, gram.weight_sum, mean_x, gram.mean_y, sxx, sxy, gram.syy)


class GrowingGram:
    """Gram statistics over numeric columns and the indicator columns of levels seen so far."""

    def __init__(self, spec: TableSpec):
        self.spec = spec
        self.keys: list[Any] = list(spec.numeric)  # then (column, level) as levels appear
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.gram = Gram.empty(len(self.keys), len(spec.targets))
        self.log_w = 0.0
        self.n_dropped = 0
        for column, levels in spec.categories.items():
            self._add([(column, v) for v in levels])

    def _add(self, keys: list) -> None:
        new = [k for k in dict.fromkeys(keys) if k not in self.index]
        if not new:
            return
        d = len(self.keys)
        if d + len(new) > MAX_COLUMNS:
            raise DataError(
                f"The text column {new[-1][0]!r} brings the design past {MAX_COLUMNS:,} columns "
                "(one per distinct value), more than a fit over blocks keeps in bounded memory "
                "(its statistics are a d x d matrix). Is it an identifier? Leave it out of the "
                "features (-x), or group its values."
            )
        self.gram = _extended(self.gram, np.arange(d), d + len(new))
        for k in new:
            self.index[k] = len(self.keys)
            self.keys.append(k)

    # ------------------------------------------------------------------ one block
    def complete(self, block: Block, on_missing: OnMissing | None = None) -> np.ndarray | None:
        """The rows of ``block`` without a missing value (None: all of them); with
        ``missing="error"``, ``on_missing`` gives the error for the first missing cell."""
        spec = self.spec
        columns = [*spec.features, *spec.targets] + ([spec.weight] if spec.weight else [])
        bad = np.zeros(_rows(block[columns[0]]), dtype=bool)
        for name in columns:
            bad |= _missing(block[name])
        if not bad.any():
            return None
        if spec.missing != "drop" and on_missing is not None:
            row = int(np.flatnonzero(bad)[0])
            raise on_missing(next(c for c in columns if _missing(block[c])[row]), row)
        return ~bad

    def absorb(self, block: Block, on_missing: OnMissing) -> None:
        """Add a block's rows (after the missing-value policy) to the statistics."""
        keep = self.complete(block, on_missing)
        rows = None
        if keep is not None:
            self.n_dropped += int((~keep).sum())
            rows = np.flatnonzero(keep)
        n = _rows(block[self.spec.targets[0]]) if rows is None else len(rows)
        self.encode(block, rows if rows is not None else slice(0, 0))  # the new levels first
        step = max(1, ENCODE_CELLS // max(1, len(self.keys)))  # bounded memory per piece
        for start in range(0, n, step):
            piece = slice(start, start + step) if rows is None else rows[start:start + step]
            X, Y, w = self.encode(block, piece)
            self.gram.update(X, Y, w)
            self.log_w += log_weight_sum(w)

    def encode(self, block: Block, keep: np.ndarray | slice | None) -> tuple:
        """``(X, Y, w)`` of the rows ``keep`` selects (a mask, indices or a slice; None: all),
        in the current columns."""
        spec = self.spec
        pick = (lambda a: a) if keep is None else (lambda a: a[keep])
        for name in spec.text:
            codes, levels = block[name]
            present = np.unique(pick(codes))
            self._add([(name, levels[c]) for c in present if c >= 0])
        Y = np.column_stack([pick(block[t]) for t in spec.targets])
        m = Y.shape[0]
        X = np.zeros((m, len(self.keys)))
        for name in spec.numeric:
            X[:, self.index[name]] = pick(block[name])
        for name in spec.text:
            codes, levels = block[name]
            table = np.array([self.index.get((name, v), -1) for v in levels], dtype=np.intp)
            X[np.arange(m), table[pick(codes)]] = 1.0
        w = None if spec.weight is None else pick(block[spec.weight])
        if w is not None and (not np.isfinite(w).all() or (w < 0).any()):
            row = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
            raise DataError(f"sample_weight must be finite and non-negative, but the weight "
                            f"{w[row]!r} is not (row {row} of its block).")
        finite = np.isfinite(X).all() and np.isfinite(Y).all()
        if not finite:
            raise DataError("The data holds an infinite value; fix or drop those rows.")
        return X, Y, w

    # ------------------------------------------------------------------ merging, finishing
    def merge(self, other: GrowingGram) -> GrowingGram:
        """The statistics of both sets of rows, columns aligned (this one's first)."""
        out = GrowingGram.__new__(GrowingGram)
        out.spec, out.keys, out.index = self.spec, list(self.keys), dict(self.index)
        out.gram = self.gram
        out._add(other.keys)
        size = len(out.keys)
        mine = _extended(self.gram, np.arange(len(self.keys)), size)
        theirs = _extended(other.gram, np.array([out.index[k] for k in other.keys],
                                                dtype=np.intp), size)
        out.gram = mine.merge(theirs)
        out.log_w, out.n_dropped = self.log_w + other.log_w, self.n_dropped + other.n_dropped
        return out

    def levels(self) -> dict[str, list]:
        """Each categorical column's levels in the in-memory fit's order."""
        found: dict[str, list] = {c: [] for c in self.spec.text}
        for key in self.keys:
            if isinstance(key, tuple):
                found[key[0]].append(key[1])
        out = {}
        for name, seen in found.items():
            fixed = self.spec.categories.get(name)
            out[name] = list(fixed) if fixed is not None else sorted(seen, key=str)
            if not out[name]:
                raise DataError(f"Categorical column {name!r} has no values (every row is "
                                "missing); drop the column.")
        return out

    def finish(self) -> tuple[CategoricalDesign | None, Gram]:
        """The design (None without categorical columns) and the Gram of its columns."""
        spec = self.spec
        if self.gram.count == 0:
            raise DataError(
                "Every row has a missing value, so missing='drop' leaves no data to fit. Fill "
                "in the missing values, or leave out the columns that hold them."
            )
        if not spec.text:
            return None, self.gram
        levels = self.levels()
        full_rank = None if spec.fit_intercept else next(
            c for c in spec.features if c in levels)
        design = CategoricalDesign(spec.features, levels, full_rank)
        return design, self.select(self.design_keys(design))

    def design_keys(self, design: CategoricalDesign | None) -> list:
        """The keys of ``design``'s columns (:meth:`finish`), in its order."""
        if design is None:
            return list(self.spec.features)
        keys: list = []
        for name in self.spec.features:
            if name not in design.levels:
                keys.append(name)
                continue
            levels = design.levels[name]
            keys.extend((name, v) for v in (levels if name == design.full_rank else levels[1:]))
        return keys

    def select(self, keys: list) -> Gram:
        """The statistics of the columns ``keys`` (a level never seen: a zero column)."""
        positions = [self.index.get(k, -1) for k in keys]
        g = self.gram
        size = len(keys)
        idx = np.array([p for p in positions if p >= 0], dtype=np.intp)
        at = np.array([i for i, p in enumerate(positions) if p >= 0], dtype=np.intp)
        sub = Gram(g.count, g.weight_sum, g.mean_x[idx], g.mean_y, g.sxx[np.ix_(idx, idx)],
                   g.sxy[idx], g.syy)
        return sub if len(at) == size else _extended(sub, at, size)


def _rows(values: Any) -> int:
    return len(values[0]) if isinstance(values, tuple) else len(values)


def _missing(values: Any) -> np.ndarray:
    if isinstance(values, tuple):
        return values[0] < 0
    return np.isnan(values)


# --------------------------------------------------------------------------- raw blocks
def arrow_block(batch, spec: TableSpec) -> Block:
    """A pyarrow record batch (numeric columns as numbers, text as strings) as a raw block."""
    import pyarrow as pa
    import pyarrow.compute as pc

    block: Block = {}
    numbers = [*spec.numeric, *spec.targets] + ([spec.weight] if spec.weight else [])
    for name in numbers:
        col = batch.column(name)
        if not pa.types.is_floating(col.type) or col.type != pa.float64():
            col = col.cast(pa.float64())
        block[name] = col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    for name in spec.text:
        col = batch.column(name)
        if not pa.types.is_dictionary(col.type):
            col = pc.dictionary_encode(col)
        codes = col.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
        block[name] = (codes, col.dictionary.to_pylist())
    return block


def frame_block(frame, spec: TableSpec) -> Block:
    """A pandas DataFrame (a Dask partition) as a raw block."""
    import pandas as pd

    block: Block = {}
    numbers = [*spec.numeric, *spec.targets] + ([spec.weight] if spec.weight else [])
    for name in numbers:
        col = frame[name]
        try:
            block[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise DataError(f"Column {name!r} must be numeric, but holds "
                            f"{col.dropna().iloc[0]!r}.") from None
    for name in spec.text:
        codes, uniques = pd.factorize(frame[name], use_na_sentinel=True)
        block[name] = (codes.astype(np.intp), [_plain(v) for v in uniques])
    return block


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
