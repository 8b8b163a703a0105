"""A table read block by block — a file's chunks, Dask partitions — as data of the one shell.

A :class:`BlockReader` yields the table's blocks ``(first row, X, Y, w)``, once per call, in
order (or, when it can and is given a generator, in a shuffled block order).
:class:`BlockData` implements :class:`~.spec.DescentData` over it, so a streamed or Dask fit is
the in-memory fit's shell with other batches:

- **Full batch, squared loss** (``mse``, ``sse``): the objective, its gradient and minimiser are
  functions of the Gram statistics alone, so the epochs run on the 2·(d + k)-row
  :func:`~linearlab.exact.gram.equivalent_design` of the training rows' statistics (the loop or
  its fast paths); no epoch reads the blocks again.
- **Full batch, other losses** (``mae``, ``huber``): :class:`FullBatchBlocks` reads every block,
  sums its share of the loss and gradient (each divided by the whole table's Σw), then takes one
  step: one step per epoch, as in memory.
- **Mini-batches**: :class:`BlockBatches` cuts the blocks into batches of B rows; rows left over
  at the end of a block start the next block's first batch, so with ``shuffle=False`` the
  batches are exactly an in-memory fit's. With ``shuffle`` each block's rows are shuffled
  within the block (and Dask partitions visited in a random order).
- **Early stopping** holds out the very rows an in-memory fit holds out
  (:func:`~.spec.held_out_rows`, by their position in the table): one more pass computes the
  training rows' statistics and keeps the held-out rows in memory (refused, with the reason,
  when they would not fit in :data:`VALIDATION_BYTES`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np

from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentResult
from linearlab.descent.loop import train, train_loop
from linearlab.descent.losses import get_loss
from linearlab.descent.shell import validation_loss
from linearlab.descent.spec import DescentSetup, DescentSpec, held_out_rows
from linearlab.errors import DataError
from linearlab.exact.gram import Gram, equivalent_design

# Early stopping keeps the held-out rows of a streamed or Dask fit in memory up to this size.
VALIDATION_BYTES = 256 * 2**20


class BlockReader(Protocol):
    """The blocks of a table: ``(first row, X (m, d), Y (m, k), w (m,) or None)``."""

    def blocks(self, rng: np.random.Generator | None = None
               ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
        """Every block once; a reader that can visit its blocks in any order does so in a
        random order when given ``rng``."""


class BlockData:
    """A table read block by block as the shell's data (see the module notes).

    Parameters
    ----------
    reader : BlockReader
    gram : Gram
        Statistics of all the rows (the first pass, made by the caller).
    row_norms : callable (shift, scale, fit_intercept) -> float, optional
        max‖[x, 1]‖² computed where the blocks live (Dask: on the cluster). Without it, a
        streamed mini-batch fit estimates the steepest row from the statistics (no extra pass).
    """

    dtype = np.float64

    def __init__(self, reader: BlockReader, gram: Gram,
                 row_norms: Callable[[np.ndarray, np.ndarray, bool], float] | None = None):
        self.reader, self.statistics, self.row_norms = reader, gram, row_norms
        self.held: np.ndarray | None = None  # True for the rows early stopping holds out
        self.shift = self.scale = None

    @property
    def n_rows(self) -> int:
        return self.statistics.count

    @property
    def n_features(self) -> int:
        return self.statistics.n_features

    @property
    def n_targets(self) -> int:
        return self.statistics.n_targets

    def rows(self, rng: np.random.Generator | None = None):
        """The training rows block by block, on the training scale."""
        for start, X, Y, w in self.reader.blocks(rng):
            if self.held is not None:
                keep = ~self.held[start : start + X.shape[0]]
                X, Y, w = X[keep], Y[keep], None if w is None else w[keep]
            if X.shape[0] == 0:
                continue
            if self.scale is not None:
                X = (X - self.shift) / self.scale
            yield X, Y, w

    def hold_out(self, spec: DescentSpec):
        n, d, k = self.n_rows, self.n_features, self.n_targets
        held = np.zeros(n, dtype=bool)
        held[held_out_rows(n, spec)] = True
        size = int(held.sum()) * (d + k + 1) * 8
        if size > VALIDATION_BYTES:
            raise DataError(
                f"early_stopping holds out {int(held.sum())} rows ({size / 2**20:.0f} MiB), "
                f"more than the {VALIDATION_BYTES // 2**20} MiB a streamed or Dask fit keeps in "
                "memory to evaluate them every epoch. Use a smaller validation_fraction, or "
                "early_stopping=False with tol."
            )
        gram = Gram.empty(d, k)
        pieces: list[tuple] = []
        for start, X, Y, w in self.reader.blocks(None):
            mask = held[start : start + X.shape[0]]
            pieces.append((X[mask], Y[mask], None if w is None else w[mask]))
            if not mask.all():
                keep = ~mask
                gram.update(X[keep], Y[keep], None if w is None else w[keep])
        self.held, self.statistics = held, gram
        Xv, Yv = (np.vstack([p[i] for p in pieces]) for i in (0, 1))
        wv = None if pieces[0][2] is None else np.concatenate([p[2] for p in pieces])
        return Xv, Yv, wv

    def gram(self, eager: bool) -> Gram:
        return self.statistics  # made by the first pass already

    def total_weight(self) -> float:
        return self.statistics.weight_sum

    def standardize(self, shift: np.ndarray, scale: np.ndarray) -> None:
        self.shift, self.scale = shift, scale

    def max_row_norm2(self, spec: DescentSpec) -> float | None:
        if self.row_norms is None or self.held is not None:
            return None  # estimated from the statistics: no pass for it
        d = self.n_features
        shift = np.zeros(d) if self.shift is None else self.shift
        scale = np.ones(d) if self.scale is None else self.scale
        return self.row_norms(shift, scale, spec.fit_intercept)

    def validation(self, spec: DescentSpec, setup: DescentSetup, held):
        return validation_loss(spec, setup, *held)

    def train(self, spec: DescentSpec, setup: DescentSetup, batch_rng: np.random.Generator,
              validation: Callable | None) -> DescentResult:
        if spec.batch_size is None and get_loss(spec.loss).quadratic:
            Xe, Ye, we = equivalent_design(setup.train_gram)  # already on the training scale
            plan = BatchPlan(Xe.shape[0], None, False, batch_rng)
            return train(Xe, Ye, we, setup.init, plan, setup.config, engine=spec.engine,
                         validation=validation)
        if spec.batch_size is None or spec.batch_size >= self.n_rows:
            source: Any = FullBatchBlocks(self.rows, self.n_rows, self.n_features,
                                          self.total_weight())
        else:
            source = BlockBatches(self, spec.batch_size, spec.shuffle, batch_rng)
        return train_loop(source, setup.init, setup.config, total_weight=self.total_weight(),
                          validation=validation)

    def objective(self, spec: DescentSpec, setup: DescentSetup) -> None:
        return None  # from the statistics: the rows are not read again

    def exact_rows(self, spec: DescentSpec) -> None:
        return None


class _Table:
    """Stands for the whole table as the loop's one batch of an epoch (its shape only)."""

    def __init__(self, n_rows: int, n_features: int):
        self.shape = (n_rows, n_features)


class FullBatchBlocks:
    """The whole table as one batch, read block by block: :meth:`forward_backward` sums every
    block's share of the loss and of the gradient, so the loop takes one step per epoch."""

    def __init__(self, rows: Callable[[], Any], n_rows: int, n_features: int,
                 total_weight: float):
        self.rows, self.total = rows, total_weight
        self.table = _Table(n_rows, n_features)

    def epoch(self):
        yield self.table, None, None

    def forward_backward(self, W, b, _X, _Y, _w, loss_fn, penalty: float, fit_intercept: bool):
        """The full batch's loss and gradients [dW, db] (or [dW]), as
        :func:`linearlab.descent.loop.forward_backward` gives them for the whole table."""
        total = self.total
        loss, grad_W, grad_b = 0.0, np.zeros_like(W), np.zeros(W.shape[1])
        for Xb, Yb, wb in self.rows():
            residual = Xb @ W + b - Yb
            loss += loss_fn.value(residual, wb, total=total)
            grad_pred = loss_fn.gradient(residual, wb, total=total)
            grad_W += Xb.T @ grad_pred
            grad_b += grad_pred.sum(axis=0)
        loss += penalty * float((W * W).sum())
        grad_W += (2.0 * penalty) * W
        return loss, ([grad_W, grad_b] if fit_intercept else [grad_W])


class BlockBatches:
    """Mini-batches of B rows cut from the blocks (order: see the module notes)."""

    def __init__(self, data: BlockData, batch_size: int, shuffle: bool,
                 rng: np.random.Generator):
        self.data, self.size, self.shuffle, self.rng = data, batch_size, shuffle, rng

    def epoch(self):
        size, carry = self.size, None
        for X, Y, w in self.data.rows(self.rng if self.shuffle else None):
            if self.shuffle:
                order = self.rng.permutation(X.shape[0])
                X, Y, w = X[order], Y[order], None if w is None else w[order]
            if carry is not None:
                X, Y = np.vstack([carry[0], X]), np.vstack([carry[1], Y])
                w = None if w is None else np.concatenate([carry[2], w])
                carry = None
            full = X.shape[0] // size * size
            for start in range(0, full, size):
                stop = start + size
                yield X[start:stop], Y[start:stop], None if w is None else w[start:stop]
            if full < X.shape[0]:
                carry = (X[full:], Y[full:], None if w is None else w[full:])
        if carry is not None:
            yield carry
