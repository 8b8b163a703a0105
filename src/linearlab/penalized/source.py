"""Penalized fits on data sources (files, datasets): read whole, or streamed in bounded memory.

A table that fits in memory is read whole and handed to the estimator unchanged. A larger one
is streamed: one pass accumulates the Gram statistics block by block (as
:mod:`linearlab.streaming` does for exact fits), and ``Lasso``/``ElasticNet`` solve from them
alone (``fit_gram``) — the same coefficients as in memory, with memory bounded by one block.
Cross-validation needs each row's fold, so ``--alpha cv`` reads the table whole.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import streaming
from ..data.sources import ChunkStream, Source, read_columns
from ..errors import ConvergenceWarning, UsageError
from ..gram import Gram
from .estimators import ElasticNet


def _gram_pass(source: Source, columns: list[str], d: int, progress) -> Gram:
    report = None if progress is None else (lambda done, total: progress("reading", done, total))
    gram = Gram.empty(d, len(columns) - d)
    for block in ChunkStream(source, columns, progress=report):
        gram.update(block[:, :d], block[:, d:])
    return gram


def fit_source(model, source: Source, features: list[str], targets: list[str], *,
               stream: bool = False, progress=None) -> streaming.FitOutcome:
    """Fit a penalized ``model`` on columns of ``source``; returns the command line's outcome.

    Parameters
    ----------
    model : Lasso, ElasticNet, LassoCV, ElasticNetCV or RidgeCV
    source : Source
    features, targets : list of str
    stream : bool
        Read in chunks even when the table fits in memory (``Lasso``/``ElasticNet`` only).
    progress : callable(task, done, total), optional
    """
    d = len(features)
    columns = [*features, *targets]
    streamed = streaming.should_stream(source, len(columns), stream)
    if streamed and not isinstance(model, ElasticNet):
        raise UsageError(
            f"{source.name!r} is read in chunks, but choosing alpha by cross-validation needs "
            "the rows in memory to split them into folds. Pass a fixed --alpha A to stream "
            "it, or fit a sample of the rows with --alpha cv first."
        )
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
            gram = _gram_pass(source, columns, d, progress)
            model.fit_gram(gram, y_ndim=1 if len(targets) == 1 else 2)
            coef = np.atleast_2d(model.coef_)
            rss = gram.residual_sum_of_squares(coef.T, np.atleast_1d(model.intercept_))
            metrics = streaming.metrics_from_sums(gram.weight_sum, rss,
                                                  np.diag(gram.syy).copy(), None)
            rows = gram.count
    model.feature_names_ = list(features)
    model.target_names_ = list(targets)
    for w in seen:
        if issubclass(w.category, ConvergenceWarning):
            caught.append(str(w.message))
    return streaming.FitOutcome(model, features, targets, metrics, streamed, rows, caught)
