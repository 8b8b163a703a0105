"""Gradient descent on Dask collections: the one descent shell, its blocks Dask partitions.

One distributed pass computes the Gram statistics (standardization, start, ``lr="auto"`` and the
convergence diagnosis all read them, as for an in-memory or streamed fit). Then the partitions
are the blocks of :class:`linearlab.descent.blocks.BlockData` (:class:`PartitionBlocks`):

- **Full batch** (``batch_size=None``) with a squared loss (``mse``, ``sse``): every epoch's
  full-batch gradient is a function of the merged statistics, so the epochs run on a weighted
  table of 2·(d + k) rows with exactly those statistics. No epoch goes back to the cluster.
- **Full batch, mae/huber**: every epoch fetches the partitions in order and sums their
  gradients before one step (one step per epoch, as in memory).
- **Mini-batches** (``batch_size=B``): **batch order:** each epoch visits the partitions in
  order (``shuffle=False``) or in a random order drawn from ``random_state`` (``shuffle=True``,
  a new order every epoch); a partition is fetched from its worker (the next one is fetched
  while this one trains), its rows are shuffled within the partition when ``shuffle=True``,
  and cut into batches of B rows; rows left over at the end of a partition start the next
  partition's first batch, so with ``shuffle=False`` the batches are exactly those of an
  in-memory fit.
- **Early stopping** holds out the rows an in-memory fit holds out (by their position in the
  collection: one more pass finds the partitions' lengths), and keeps them on the client.
"""

from __future__ import annotations

import warnings

import numpy as np

from linearlab.descent.blocks import BlockData
from linearlab.descent.shell import run
from linearlab.descent.spec import DescentSpec
from linearlab.distributed.blocks import Partitions, validated
from linearlab.distributed.reduce import compute, compute_stats, map_combine
from linearlab.errors import ConvergenceWarning
from linearlab.state.fitted import FittedState


class PartitionBlocks:
    """Dask partitions as the blocks of a descent fit (order: see the module notes)."""

    def __init__(self, parts: Partitions):
        self.parts = parts
        self.starts: np.ndarray | None = None  # first row of each partition, once known

    def locate(self) -> None:
        """Find where each partition starts (a pass that counts the partitions' rows)."""
        if self.starts is None:
            lengths = map_combine(self.parts, _row_count, _concatenate, name="row-counts")
            self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)

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

    def blocks(self, rng: np.random.Generator | None = None):
        """``(first row, X, Y, w)`` of every partition: in order, or in a random order drawn
        from ``rng``; the next partition is fetched while the caller works on this one."""
        n = len(self.parts)
        order = rng.permutation(n) if rng is not None else np.arange(n)
        pending = self._fetch(int(order[0]))
        for position in range(n):
            X, Y, w = pending()
            if position + 1 < n:
                pending = self._fetch(int(order[position + 1]))
            start = -1 if self.starts is None else int(self.starts[order[position]])
            yield start, X, Y, w


def _row_count(X, Y, w):
    return [X.shape[0]]


def _concatenate(parts: list[list[int]]) -> list[int]:
    return [n for part in parts for n in part]


def _max_row_norm2(X, Y, w, shift, scale, fit_intercept):
    Xt = (X - shift) / scale
    top = float((Xt * Xt).sum(axis=1).max()) if X.shape[0] else 0.0
    return top + (1.0 if fit_intercept else 0.0)


class PartitionData(BlockData):
    """:class:`~linearlab.descent.blocks.BlockData` over Dask partitions: the steepest row is
    found on the cluster, and holding rows out first locates the partitions."""

    def __init__(self, parts: Partitions, gram):
        self.reader_parts = PartitionBlocks(parts)

        def row_norms(shift, scale, fit_intercept):
            return map_combine(parts, _max_row_norm2, max, shift, scale, fit_intercept,
                               name="row-norms")

        super().__init__(self.reader_parts, gram, row_norms=row_norms)

    def hold_out(self, spec: DescentSpec):
        self.reader_parts.locate()
        return super().hold_out(spec)


def fit_descent(estimator, parts: Partitions, weighted: bool):
    """Train ``estimator`` (solver="gd") on the partitions; sets its fitted state."""
    gram, log_w = compute_stats(parts)
    fit = run(DescentSpec.of(estimator), PartitionData(parts, gram),
              feature_names=parts.feature_names)
    if fit.diagnosis.message:
        warnings.warn(fit.diagnosis.message, ConvergenceWarning, stacklevel=4)
    return estimator.set_fitted_state(FittedState(
        coef=fit.coef, intercept=fit.intercept, single_target=parts.y_ndim == 1,
        training=fit.record(), gram=fit.gram, weighted=weighted, log_weight_sum=log_w,
        feature_names=parts.feature_names, features_named=parts.feature_names is not None,
        target_names=parts.target_names,
    ))
