"""Helpers of the blockwise passes over X (the Gram pass, the residual pass)."""

from __future__ import annotations

import numpy as np


def row_tasks(n: int, step: int, blocks_per_task: int) -> list[tuple[int, int]]:
    """Row ranges of the parallel passes, ``blocks_per_task`` blocks of ``step`` rows each. They
    depend on n and ``step`` only, never on the CPU count: the sums, added in task order, are
    the same numbers on every machine."""
    span = step * blocks_per_task
    return [(start, min(n, start + span)) for start in range(0, n, span)]


class Shifter:
    """Subtracts a row ``shift`` from blocks of at most ``rows`` rows into one reused buffer.

    For C-ordered blocks it subtracts a tiled copy of the shift from the flat block: the same
    numbers as broadcasting, 3.5x faster when there are few columns."""

    def __init__(self, shift: np.ndarray, rows: int):
        self.shift = shift
        self.buffer = np.empty((rows, shift.shape[0]))
        self.tiled = np.tile(shift, rows)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        rows, d = block.shape
        out = self.buffer[:rows]
        if block.flags.c_contiguous:
            np.subtract(block.reshape(-1), self.tiled[:rows * d], out=out.reshape(-1))
        else:
            np.subtract(block, self.shift, out=out)
        return out
