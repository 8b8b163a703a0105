"""Penalized estimators (``Lasso``, ``ElasticNet``, ``LassoCV``, ``ElasticNetCV``, ``RidgeCV``) on
Dask collections: they solve from Gram statistics, which the partitions compute where they live.

- ``Lasso`` / ``ElasticNet``: one distributed pass (the design step's, with text columns,
  ``missing="drop"`` or a formula), then ``fit_gram`` on the client.
- ``RidgeCV`` leave-one-out (``cv=None``): the Gram pass, then the partitions' rows for the
  leverages, fetched one at a time (bounded memory on the client).
- k-fold (``LassoCV``, ``ElasticNetCV``, ``RidgeCV(cv=k)``; unshuffled ``KFold`` as
  scikit-learn's default): the Gram pass gives the row count, hence the fold boundaries; one more
  pass counts each partition's rows, one more splits every partition at the boundaries where it
  lives and returns a (weighted) Gram per fold, summed in the tree. Other splitters are
  refused.

With ``standardize=True`` the estimators scale these statistics themselves (on the whole
table's scale, as in memory). The estimator calls :func:`fit` when its input is a Dask
collection.
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral

import numpy as np

from linearlab.distributed.blocks import partitions, validated
from linearlab.distributed.design import designed, needs_design
from linearlab.distributed.reduce import compute, compute_stats, tree_reduce
from linearlab.errors import ParameterError
from linearlab.exact.gram import Gram
from linearlab.penalized.blocks import folds_from_tests, kfold_bounds


def _rows(xb, yb, wb, index):
    return validated(xb, yb, wb, index)[0].shape[0]


def _fold_grams(xb, yb, wb, index: int, start: int, bounds: np.ndarray) -> list[Gram]:
    """The Gram of this partition's rows in every fold (rows ``start``... of the table)."""
    X, Y, w = validated(xb, yb, wb, index)
    grams = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        lo, hi = max(int(a) - start, 0), min(int(b) - start, X.shape[0])
        gram = Gram.empty(X.shape[1], Y.shape[1])
        if lo < hi:
            gram.update(X[lo:hi], Y[lo:hi], None if w is None else w[lo:hi])
        grams.append(gram)
    return grams


def _merge_folds(parts: list[list[Gram]]) -> list[Gram]:
    out = parts[0]
    for grams in parts[1:]:
        out = [a.merge(b) for a, b in zip(out, grams, strict=True)]
    return out


def fold_statistics(parts, gram: Gram, cv):
    """Fold statistics of unshuffled ``KFold(cv)`` over the partitions (see the notes)."""
    from dask import delayed

    if cv is not None and not isinstance(cv, Integral):
        raise ParameterError("On Dask collections cross-validation uses contiguous folds "
                             "(KFold without shuffling); pass cv as a number of folds.")
    bounds = kfold_bounds(gram.count, cv)
    counts = compute([delayed(_rows)(xb, yb, wb, i) for i, xb, yb, wb in parts.blocks()])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    leaves = [delayed(_fold_grams, name="linearlab-folds")(xb, yb, wb, i, int(starts[i]),
                                                            bounds)
              for i, xb, yb, wb in parts.blocks()]
    return folds_from_tests(compute(tree_reduce(leaves, _merge_folds)), gram)


def _blocks(parts):
    """Every partition's rows on the client, one at a time: ``(X, Y, w)``."""
    from dask import delayed

    for i, xb, yb, wb in parts.blocks():
        yield compute(delayed(validated)(xb, yb, wb, i))


def _cross_validated(estimator, parts, gram: Gram, y_ndim: int) -> None:
    """RidgeCV leave-one-out, or k-fold from the partitions' fold statistics (the estimators
    apply ``standardize`` to them themselves, on the whole table's scale)."""
    cv = getattr(estimator, "cv", None)
    if cv is None and hasattr(estimator, "fit_streamed"):
        estimator.fit_streamed(gram, blocks=_blocks(parts), y_ndim=y_ndim)
    elif hasattr(estimator, "fit_streamed"):
        estimator.fit_streamed(gram, folds=fold_statistics(parts, gram, cv), y_ndim=y_ndim)
    else:
        estimator.fit_folds(fold_statistics(parts, gram, cv))


def fit(estimator, X, y=None, sample_weight=None):
    """Fit the penalized ``estimator`` on Dask collections; returns it."""
    plan = designed(estimator, X, y, sample_weight) if needs_design(estimator, X, y) else None
    parts = plan.parts if plan is not None else partitions(X, y, sample_weight)
    stats = plan.stats if plan is not None and plan.stats is not None else None
    gram, log_w = stats if stats is not None else compute_stats(parts)
    if hasattr(estimator, "fit_gram"):  # Lasso, ElasticNet: standardize themselves
        estimator.fit_gram(gram, y_ndim=parts.y_ndim)
    else:
        _cross_validated(estimator, parts, gram, parts.y_ndim)
    names = plan.input_names if plan is not None else parts.feature_names
    if plan is not None and plan.design is not None and plan.design.kind == "formula":
        names = list(plan.design.input_names)
    dropped = 0 if plan is None else (plan.n_dropped if plan.n_dropped is not None
                                      else plan.rows - gram.count)
    state = estimator.fitted_state()
    return estimator.set_fitted_state(replace(
        state, feature_names=names if names is not None else state.feature_names,
        features_named=names is not None, target_names=list(parts.target_names),
        design=None if plan is None else plan.design, n_dropped=dropped, gram=gram,
        weighted=sample_weight is not None, log_weight_sum=log_w))
