"""Mini-batches of sparse X for the descent loop: the rows of a CSR matrix, kept sparse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scipy.sparse as sp


class SparseBatches:
    """A CSR table served batch by batch in the order of a
    :class:`~linearlab.descent.batches.BatchPlan` (the loop's ``X_b @ W`` and ``X_bᵀ g`` are
    then sparse products)."""

    def __init__(self, X: sp.spmatrix, Y, sample_weight, plan: Any):
        self.X, self.Y, self.w, self.plan = sp.csr_matrix(X), Y, sample_weight, plan

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        """``(X_b, Y_b, w_b)`` for every batch of the next epoch."""
        X, Y, w = self.X, self.Y, self.w
        for rows in self.plan.epoch():
            yield X[rows], Y[rows], None if w is None else w[rows]
