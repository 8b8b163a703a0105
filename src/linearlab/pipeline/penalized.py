"""Penalized fits on data sources (files, datasets): read whole, or streamed in bounded memory
(a step of :func:`linearlab.pipeline.fit_source`).

A table that fits in memory is read whole and handed to the estimator unchanged. A larger one
is streamed: one pass accumulates the Gram statistics block by block (as
:mod:`linearlab.pipeline.streaming` does for exact fits), and ``Lasso``/``ElasticNet`` solve
from them alone (``fit_gram``) — the same coefficients as in memory,
with memory bounded by one block.
Cross-validation streams too, with one more pass (see :func:`_fit_streamed`).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from numbers import Integral

import numpy as np

from linearlab.data.sources import ChunkStream, Source, read_columns
from linearlab.errors import ConvergenceWarning, GridEdgeWarning, UsageError
from linearlab.exact.gram import Gram
from linearlab.penalized.estimators import ElasticNet
from linearlab.penalized.folds import stream_fold_statistics
from linearlab.penalized.ridge_cv import RidgeCV
from linearlab.pipeline import streaming


def _blocks(source: Source, columns: list[str], d: int, progress, task: str):
    report = None if progress is None else (lambda done, total: progress(task, done, total))
    for block in ChunkStream(source, columns, progress=report):
        yield block[:, :d], block[:, d:]


def _fit_streamed(model, source: Source, columns: list[str], d: int, progress) -> Gram:
    """Fit ``model`` from passes over the chunk stream; returns every row's statistics.

    ``Lasso``/``ElasticNet``: one Gram pass. ``RidgeCV`` leave-one-out: the Gram pass, then a
    pass for the rows' leverages. k-fold CV (unshuffled ``KFold``, as scikit-learn's default):
    a pass to count the rows, then one that gathers every fold's statistics. With
    ``standardize`` the estimators standardize the statistics (and blocks) themselves.
    """
    y_ndim = 1 if len(columns) - d == 1 else 2
    if isinstance(model, ElasticNet):
        gram = streaming.gram_pass(source, columns, d, progress)
        model.fit_gram(gram, y_ndim=y_ndim)
        return gram
    if isinstance(model, RidgeCV) and model.cv is None:
        gram = streaming.gram_pass(source, columns, d, progress)
        blocks = ((X, Y, None) for X, Y in _blocks(source, columns, d, progress, "leverages"))
        model.fit_streamed(gram, blocks=blocks, y_ndim=y_ndim)
        return gram
    if model.cv is not None and not isinstance(model.cv, Integral):
        raise UsageError(
            f"{source.name!r} is read in chunks, where cross-validation uses contiguous "
            "folds (KFold without shuffling); pass cv as a number of folds."
        )
    rows = sum(X.shape[0] for X, _ in _blocks(source, columns, d, progress, "counting"))
    folds = stream_fold_statistics(_blocks(source, columns, d, progress, "folds"), rows,
                                   model.cv)
    if isinstance(model, RidgeCV):
        model.fit_streamed(folds.total, folds=folds, y_ndim=y_ndim)
    else:
        model.fit_folds(folds)
    return folds.total


def fit_source(model, source: Source, features: list[str], targets: list[str], *,
               stream: bool = False, progress=None) -> streaming.FitOutcome:
    """Fit a penalized ``model`` on numeric columns of ``source``: the step of
    :func:`linearlab.pipeline.fit_source` (which callers use) for penalized estimators on
    numbers without missing values or weights.

    Parameters
    ----------
    model : Lasso, ElasticNet, LassoCV, ElasticNetCV or RidgeCV
    source : Source
    features, targets : list of str
    stream : bool
        Read in chunks even when the table fits in memory.
    progress : callable(task, done, total), optional
    """
    d = len(features)
    columns = [*features, *targets]
    streamed = streaming.should_stream(source, len(columns), stream)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if not streamed:
            table = read_columns(source, columns)
            X, Y = table[:, :d], table[:, d:]
            y = Y[:, 0] if len(targets) == 1 else Y
            model.fit(X, y)
            metrics = streaming.regression_metrics(y, model.predict(X))
            rows = table.shape[0]
        else:
            gram = _fit_streamed(model, source, columns, d, progress)
            coef = np.atleast_2d(model.coef_)
            rss = gram.residual_sum_of_squares(coef.T, np.atleast_1d(model.intercept_))
            metrics = streaming.metrics_from_sums(gram.weight_sum, rss,
                                                  np.diag(gram.syy).copy(), None)
            rows = gram.count
    # the columns' names reach the model through its one public path (X was an array)
    model.set_fitted_state(replace(model.fitted_state(), feature_names=list(features),
                                   features_named=True, target_names=list(targets),
                                   metrics=metrics))
    for w in seen:
        if issubclass(w.category, (ConvergenceWarning, GridEdgeWarning)):
            caught.append(str(w.message))
    return streaming.FitOutcome(model, features, targets, metrics, streamed, rows, caught)
