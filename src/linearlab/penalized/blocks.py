"""Penalized estimators over a table read in blocks through its design (text columns, dropped
rows, weights, a formula): they solve from Gram statistics, gathered block by block.

- ``Lasso`` / ``ElasticNet``: ``fit_gram`` on the statistics of the one pass already made.
- ``RidgeCV`` leave-one-out (``cv=None``): one more pass over the blocks for the leverages.
- k-fold (``LassoCV``, ``ElasticNetCV``, ``RidgeCV(cv=k)``; unshuffled ``KFold``, as
  scikit-learn's default): the row count (after dropping) fixes the fold boundaries, and one
  more pass splits every block at them into a (weighted) Gram per fold.

The estimators are used through their public statistics methods only (``fit_gram``,
``fit_streamed``, ``fit_folds``; they apply ``standardize=True`` themselves, on the whole
table's scale), so this layer does not import them.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from linearlab.errors import ParameterError, UsageError
from linearlab.exact.gram import Gram


@dataclass
class Folds:
    """Per split: training and validation statistics; ``total`` is every row's (the fields
    the estimators' ``fit_folds`` / ``fit_streamed(folds=...)`` read)."""

    train: list[Gram]
    test: list[Gram]
    total: Gram


def kfold_bounds(n: int, cv) -> np.ndarray:
    """Row boundaries of scikit-learn's unshuffled ``KFold(cv)`` (None: 5) over ``n`` rows."""
    k = 5 if cv is None else int(cv)
    if not 2 <= k <= n:
        raise ParameterError(f"k-fold cross-validation needs between 2 and {n} folds (the "
                             f"rows), got cv={cv!r}.")
    return np.cumsum([0] + [n // k + (1 if i < n % k else 0) for i in range(k)])


def folds_from_tests(test: list[Gram], total: Gram) -> Folds:
    """The folds whose validation statistics are ``test`` (each training set: the others)."""
    train = []
    for f in range(len(test)):
        others = Gram.empty(total.n_features, total.n_targets)
        for j, g in enumerate(test):
            if j != f:
                others = others.merge(g)
        train.append(others)
    return Folds(train, test, total)


def kfold_statistics(blocks, gram: Gram, cv) -> Folds:
    """Fold statistics of unshuffled ``KFold(cv)`` (None: 5) from ``(first row, X, Y, w)``
    blocks in row order; ``gram`` holds every row's statistics (its count fixes the folds)."""
    bounds = kfold_bounds(gram.count, cv)
    k = len(bounds) - 1
    test = [Gram.empty(gram.n_features, gram.n_targets) for _ in range(k)]
    for start, X, Y, w in blocks:
        for f in range(k):
            lo, hi = max(int(bounds[f]) - start, 0), min(int(bounds[f + 1]) - start, len(X))
            if lo < hi:
                test[f].update(X[lo:hi], Y[lo:hi], None if w is None else w[lo:hi])
    return folds_from_tests(test, gram)


def solve_penalized(model, gram: Gram, reader, where: str) -> None:
    """Fit the penalized ``model`` from ``gram`` and, for cross-validation, the blocks of
    ``reader`` (``DesignBlocks``); ``where`` names the data in messages."""
    y_ndim = 1 if gram.n_targets == 1 else 2
    if hasattr(model, "fit_gram"):  # Lasso, ElasticNet: standardize their statistics
        model.fit_gram(gram, y_ndim=y_ndim)
        return
    cv = getattr(model, "cv", None)
    if cv is not None and not isinstance(cv, Integral):
        raise UsageError(
            f"{where} is read in chunks, where cross-validation uses contiguous folds (KFold "
            "without shuffling); pass cv as a number of folds."
        )
    if cv is None and hasattr(model, "fit_streamed"):  # RidgeCV's leave-one-out
        blocks = ((X, Y, w) for _, X, Y, w in reader.blocks())
        model.fit_streamed(gram, blocks=blocks, y_ndim=y_ndim)
    elif hasattr(model, "fit_streamed"):
        model.fit_streamed(gram, folds=kfold_statistics(reader.blocks(), gram, cv),
                           y_ndim=y_ndim)
    else:
        model.fit_folds(kfold_statistics(reader.blocks(), gram, cv))
