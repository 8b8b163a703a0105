"""Cross-validation folds as Gram statistics, gathered in one pass over the rows.

Each fold's validation rows give one :class:`~linearlab.exact.gram.Gram`. When the splits partition
the rows (``KFold``, the default, and any splitter whose test sets are disjoint and whose
training set is the rest), a fold's training statistics are the merge of the other folds' —
the total minus the fold, formed without the cancellation a subtraction would suffer — so the
rows are read once whatever the number of folds. Other splitters (``TimeSeriesSplit``, repeated
or shuffled splits with overlaps) get their training Grams from their own rows.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.model_selection import check_cv

from linearlab.errors import GridEdgeWarning, ParameterError
from linearlab.exact.gram import Gram

_GATHER_ROWS = 65_536  # rows gathered per block when a fold is not a contiguous range


def warn_at_grid_edge(estimator: str, alphas, chosen: float, *, extend: str,
                      stacklevel: int = 3) -> None:
    """Warn (:class:`GridEdgeWarning`) when ``chosen`` is the smallest or largest of ``alphas``
    (a grid of at least three values)."""
    grid = np.unique(np.asarray(alphas, dtype=np.float64).ravel())
    if grid.size < 3 or not (chosen == grid[0] or chosen == grid[-1]):
        return
    side, beyond = ("smallest", "smaller") if chosen == grid[0] else ("largest", "larger")
    warnings.warn(
        f"{estimator} chose alpha={chosen:.4g}, the {side} of the {grid.size} values it tried "
        f"({grid[0]:.3g} to {grid[-1]:.3g}): the best penalty may be {beyond} still. {extend} "
        "Features on very different scales also push the choice to an edge: standardize them "
        "first (a StandardScaler in a pipeline).",
        GridEdgeWarning, stacklevel=stacklevel,
    )


@dataclass
class FoldStatistics:
    """Per split: training and validation statistics; ``total`` is every row's."""

    train: list[Gram]
    test: list[Gram]
    total: Gram


def _rows_gram(X, Y, w, index: np.ndarray | slice) -> Gram:
    """Gram of the rows ``index``: a view for a contiguous range, else gathered in blocks."""
    gram = Gram.empty(X.shape[1], Y.shape[1])
    if isinstance(index, slice):
        return gram.update(X[index], Y[index], None if w is None else w[index])
    if index.size and np.all(np.diff(index) == 1):
        sl = slice(int(index[0]), int(index[-1]) + 1)
        return gram.update(X[sl], Y[sl], None if w is None else w[sl])
    for start in range(0, index.size, _GATHER_ROWS):
        part = index[start:start + _GATHER_ROWS]
        gram.update(X[part], Y[part], None if w is None else w[part])
    return gram


def _merge_all(grams: list[Gram], template: Gram) -> Gram:
    total = Gram.empty(template.n_features, template.n_targets)
    for g in grams:
        total = total.merge(g)
    return total


def fold_statistics(X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, cv) -> FoldStatistics:
    """Gram statistics of every split of ``cv`` (None = 5-fold ``KFold``, unshuffled).

    Parameters
    ----------
    X : ndarray (n, d)
    Y : ndarray (n, k)
    w : ndarray (n,) or None
    cv : int, cross-validation generator, iterable of (train, test) or None
    """
    n = X.shape[0]
    if cv is None or isinstance(cv, Integral):  # unshuffled KFold: contiguous ranges, no indices
        bounds = kfold_bounds(n, cv)
        test_grams = [_rows_gram(X, Y, w, slice(a, b)) for a, b in itertools.pairwise(bounds)]
        return _from_partition(test_grams)
    splits = [(np.asarray(tr), np.asarray(te)) for tr, te in check_cv(cv).split(X, Y[:, 0])]
    tests = [np.sort(te) for _, te in splits]
    test_grams = [_rows_gram(X, Y, w, te) for te in tests]
    covered = np.zeros(n, dtype=int)
    for te in tests:
        covered[te] += 1
    if np.all(covered == 1) and all(_complement(tr, te, n) for tr, te in splits):
        return _from_partition(test_grams)
    train = [_rows_gram(X, Y, w, np.sort(tr)) for tr, _ in splits]
    return FoldStatistics(train=train, test=test_grams, total=Gram.from_arrays(X, Y, w))


def kfold_bounds(n: int, cv) -> np.ndarray:
    """Row boundaries of scikit-learn's unshuffled ``KFold(cv)`` (None = 5) over ``n`` rows."""
    k = 5 if cv is None else int(cv)
    if k < 2:
        raise ParameterError(
            f"k-fold cross-validation requires at least one train/test split by setting "
            f"n_splits=2 or more, got cv={cv!r}."
        )
    if k > n:
        raise ParameterError(
            f"Cannot have number of splits n_splits={k} greater than the number of "
            f"samples: n_samples={n} (cv={cv!r}); use between 2 and {n} folds."
        )
    return np.cumsum([0] + [n // k + (1 if i < n % k else 0) for i in range(k)])


def stream_fold_statistics(blocks, n_rows: int, cv=None) -> FoldStatistics:
    """Fold statistics of unshuffled ``KFold`` from a stream of ``(X, Y)`` blocks in row order.

    ``n_rows`` (from an earlier pass) fixes the fold boundaries; each block is split at them,
    so one more pass gathers every fold in bounded memory.
    """
    bounds = kfold_bounds(n_rows, cv)
    grams: list[Gram] | None = None
    start = 0
    for X, Y in blocks:
        if grams is None:
            grams = [Gram.empty(X.shape[1], Y.shape[1]) for _ in range(len(bounds) - 1)]
        stop = start + X.shape[0]
        for f, (a, b) in enumerate(itertools.pairwise(bounds)):
            lo, hi = max(a, start), min(b, stop)
            if lo < hi:
                grams[f].update(X[lo - start:hi - start], Y[lo - start:hi - start])
        start = stop
    if grams is None or start != n_rows:
        raise ParameterError(
            f"The data changed between passes: {start} rows now, {n_rows} before."
        )
    return _from_partition(grams)


def _complement(train: np.ndarray, test: np.ndarray, n: int) -> bool:
    """Whether ``train`` is exactly the rows outside ``test`` (O(n), no sorting)."""
    if train.size + test.size != n:
        return False
    mask = np.zeros(n, dtype=bool)
    mask[train] = True
    return int(mask.sum()) == train.size and not mask[test].any()


def _from_partition(test_grams: list[Gram]) -> FoldStatistics:
    """Training statistics of each fold: the merge of the other folds' (no second pass)."""
    total = _merge_all(test_grams, test_grams[0])
    train = [_merge_all(test_grams[:i] + test_grams[i + 1:], total)
             for i in range(len(test_grams))]
    return FoldStatistics(train=train, test=test_grams, total=total)


def validation_rss(gram: Gram, coefs: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Σ w (y − Xβ − b)² on a fold, from its statistics, for many models at once.

    ``coefs`` is (k, d, m) and ``intercepts`` (k, m); returns (k, m).
    """
    offset = gram.mean_y[:, None] - np.einsum("j,kjm->km", gram.mean_x, coefs) - intercepts
    quad = np.einsum("kim,ij,kjm->km", coefs, gram.sxx, coefs)
    cross = np.einsum("kjm,jk->km", coefs, gram.sxy)
    syy = np.diag(gram.syy)[:, None]
    return np.maximum(syy - 2.0 * cross + quad + gram.weight_sum * offset**2, 0.0)
