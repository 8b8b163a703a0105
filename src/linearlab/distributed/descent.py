"""Gradient descent on Dask collections: the in-memory setup, loop and diagnosis, fed by Dask.

One distributed pass computes the Gram statistics (standardization, start, ``lr="auto"`` and the
convergence diagnosis all read them, as for an in-memory or streamed fit). Then:

- **Full batch** (``batch_size=None``) with a squared loss (``mse``, ``sse``): the loss and its
  gradient at any parameters are functions of the merged statistics alone, so every epoch's
  full-batch gradient is the distributed gradient Σ over partitions — computed once, in that
  pass, as the statistics — and the epochs run on a weighted table of 2·(d + k) rows with
  exactly those statistics (the loop, or its fast paths, as for in-memory data). No epoch goes
  back to the cluster.
- **Mini-batches** (``batch_size=B``), or the ``mae``/``huber`` losses: the partitions are the
  batch source of the one training loop (:class:`PartitionBatches`). **Batch order:** each epoch
  visits the partitions in order (``shuffle=False``) or in a random order drawn from
  ``random_state`` (``shuffle=True``, a new order every epoch); a partition is fetched from its
  worker (the next one is fetched while this one trains), its rows are shuffled within the
  partition when ``shuffle=True``, and cut into batches of B rows; rows left over at the end of
  a partition start the next partition's first batch, so with ``shuffle=False`` the batches are
  exactly those of an in-memory fit. With ``batch_size=None`` (mae/huber) each partition is one
  batch.
"""

from __future__ import annotations

import warnings

import numpy as np

from linearlab.descent import fit as descent_fit
from linearlab.descent.batches import BatchPlan, random_streams
from linearlab.descent.loop import train, train_loop
from linearlab.descent.losses import get_loss
from linearlab.distributed.blocks import Partitions, validated
from linearlab.distributed.reduce import compute, compute_stats, map_combine
from linearlab.errors import ConvergenceWarning
from linearlab.exact.gram import equivalent_design
from linearlab.models.fitted import FittedState


class PartitionBatches:
    """Dask partitions as a batch source for the training loop (order: see the module notes)."""

    def __init__(self, parts: Partitions, setup, batch_size: int | None, shuffle: bool,
                 rng: np.random.Generator, standardize: bool):
        self.parts, self.batch_size, self.shuffle, self.rng = parts, batch_size, shuffle, rng
        self.shift, self.scale, self.standardize = setup.shift, setup.scale, standardize

    def _fetch(self, index: int):
        from dask import delayed

        parts = self.parts
        xb = parts.X[index]
        yb = None if parts.Y is None else parts.Y[index]
        wb = None if parts.w is None else parts.w[index]
        task = delayed(validated, name="linearlab-batch")(xb, yb, wb, index)
        try:
            from distributed import get_client

            return get_client().compute(task).result  # fetched while the previous one trains
        except (ImportError, ValueError):
            return lambda: compute(task)

    def _rows(self, fetched):
        X, Y, w = fetched()
        if self.standardize:
            X = (X - self.shift) / self.scale
        return X, Y, w

    def epoch(self):
        n = len(self.parts)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        size = self.batch_size
        pending = self._fetch(int(order[0]))
        carry = None
        for position in range(n):
            X, Y, w = self._rows(pending)
            if position + 1 < n:
                pending = self._fetch(int(order[position + 1]))
            if carry is not None:
                X, Y = np.vstack([carry[0], X]), np.vstack([carry[1], Y])
                w = None if w is None else np.concatenate([carry[2], w])
                carry = None
            if size is None:
                if X.shape[0]:
                    yield X, Y, w
                continue
            if self.shuffle:
                perm = self.rng.permutation(X.shape[0])
                X, Y, w = X[perm], Y[perm], None if w is None else w[perm]
            full = X.shape[0] // size * size
            for start in range(0, full, size):
                stop = start + size
                yield X[start:stop], Y[start:stop], None if w is None else w[start:stop]
            if full < X.shape[0]:
                carry = (X[full:], Y[full:], None if w is None else w[full:])
        if carry is not None:
            yield carry


def _max_row_norm2(X, Y, w, shift, scale, fit_intercept):
    Xt = (X - shift) / scale
    top = float((Xt * Xt).sum(axis=1).max()) if X.shape[0] else 0.0
    return top + (1.0 if fit_intercept else 0.0)


def fit_descent(estimator, parts: Partitions, weighted: bool):
    """Train ``estimator`` (solver="gd") on the partitions; sets its fitted state."""
    model = estimator
    gram, log_w = compute_stats(parts)
    init_rng, batch_rng = random_streams(model.random_state)
    shift, scale = (gram.feature_scaling(model.fit_intercept) if model.standardize
                    else (np.zeros(gram.n_features), np.ones(gram.n_features)))
    row_norm2 = None
    if model.batch_size:
        row_norm2 = map_combine(parts, _max_row_norm2, max, shift, scale, model.fit_intercept,
                                name="row-norms")
    setup = descent_fit.prepare(model, gram, init_rng=init_rng, dtype=np.float64,
                                max_row_norm2=row_norm2, feature_names=parts.feature_names)
    if model.batch_size is None and get_loss(model.loss).quadratic:
        Xe, Ye, we = equivalent_design(setup.train_gram)  # already on the training scale
        plan = BatchPlan(Xe.shape[0], None, False, batch_rng)
        result = train(Xe, Ye, we, setup.init, plan, setup.config, engine=model.engine)
    else:
        batches = PartitionBatches(parts, setup, model.batch_size, model.shuffle, batch_rng,
                                   model.standardize)
        result = train_loop(batches, setup.init, setup.config, total_weight=gram.weight_sum)
    fit = descent_fit.finish(model, setup, gram, result, None, parts.feature_names)
    if fit.diagnosis.message:
        warnings.warn(fit.diagnosis.message, ConvergenceWarning, stacklevel=4)
    return estimator.set_fitted_state(FittedState(
        coef=fit.coef, intercept=fit.intercept, single_target=parts.y_ndim == 1,
        training=fit.record(), gram=gram, weighted=weighted, log_weight_sum=log_w,
        feature_names=parts.feature_names, features_named=parts.feature_names is not None,
        target_names=parts.target_names,
    ))
