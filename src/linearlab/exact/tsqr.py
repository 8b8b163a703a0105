"""Householder QR of a tall matrix held as row blocks (one level of TSQR), Q kept implicit.

LAPACK's ``dgeqrf`` on a tall, narrow matrix is all panel work (its block width exceeds the
column count), each reflector a pass over the whole column: 100,000 x 21 factors at ~5 GFLOP/s
on one thread. Factoring blocks of :data:`BLOCK_ROWS` rows instead keeps each panel in cache
(2.3x faster), and the blocks' triangles stacked and factored again give the R of the whole
matrix (Demmel, Grigori, Hoemmen & Langou's TSQR, one level): the same backward stability
as Householder QR of the whole. Q is never formed: :meth:`BlockedQR.leading_qt` applies each
block's reflectors (``dormqr``) and then the top level's.

The blocks are the caller's buffers, factored in place: :func:`block_buffers` lays out one
copy of the matrix as Fortran-ordered row blocks.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

#: Rows per block: 2,048 x 21 columns is 344 KiB, in cache while its panel is factored.
BLOCK_ROWS = 2048
#: Wider matrices are factored whole: their panels are blocked (BLAS 3) work already.
MAX_COLUMNS = 64


def block_buffers(n: int, p: int, rows: int = BLOCK_ROWS) -> list[np.ndarray]:
    """Fortran-ordered (rows, p) buffers that together hold n rows: one copy of an n x p
    matrix. The last block takes the remainder too (fewer than 2·rows rows), so no block is
    shorter than ``rows``; small or wide matrices (p > :data:`MAX_COLUMNS`) are one block."""
    if n <= 2 * rows or p > MAX_COLUMNS:
        return [np.empty((n, p), order="F")]
    count = n // rows
    sizes = [rows] * count
    sizes[-1] += n - rows * count  # the tail joins the last full block
    return [np.empty((size, p), order="F") for size in sizes]


class BlockedQR:
    """R and the implicit Q of the matrix stacked from ``blocks`` (each factored in place).

    ``ok`` is False when LAPACK reports an error (the caller falls back)."""

    def __init__(self, blocks: list[np.ndarray]):
        p = blocks[0].shape[1]
        self.p = p
        self.factors = []
        triangles = []
        self.ok = True
        for block in blocks:
            qr, tau, _, info = sla.lapack.dgeqrf(block, overwrite_a=True)
            self.ok &= info == 0
            self.factors.append((qr, tau))
            triangles.append(np.triu(qr[:p]))  # (every block has at least p rows)
        if len(blocks) == 1:
            self.top = None
            self.R = triangles[0][:p]
            return
        top, tau, _, info = sla.lapack.dgeqrf(np.vstack(triangles), overwrite_a=True)
        self.ok &= info == 0
        self.top = (top, tau)
        self.R = np.triu(top[:p])

    def leading_qt(self, F: np.ndarray) -> np.ndarray:
        """The first p rows of Qᵀ F, F (n, k) in the blocks' row order."""
        k = F.shape[1]
        parts, start = [], 0
        for qr, tau in self.factors:
            stop = start + qr.shape[0]
            part = _apply_qt(qr, tau, F[start:stop], k)
            parts.append(part[:self.p])
            start = stop
        if self.top is None:
            return parts[0]
        return _apply_qt(*self.top, np.vstack(parts), k)[:self.p]


def _apply_qt(qr: np.ndarray, tau: np.ndarray, F: np.ndarray, k: int) -> np.ndarray:
    out, _, _ = sla.lapack.dormqr("L", "T", qr, tau, np.asfortranarray(F), max(1, 64 * k))
    return out
