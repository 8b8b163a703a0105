"""The blocked (TSQR) Householder QR of the tall accurate path."""

import numpy as np
import pytest

from linearlab.exact.tsqr import BLOCK_ROWS, BlockedQR, block_buffers


@pytest.mark.parametrize("n, p", [(100, 7), (3 * BLOCK_ROWS + 517, 21), (5 * BLOCK_ROWS, 3),
                                  (2 * BLOCK_ROWS + 1, 80)])
def test_blocked_qr_is_the_qr_of_the_stacked_matrix(rng, n, p):
    """R is numpy's R up to the signs of its rows, and Q₁ᵀF is numpy's, block by block."""
    A = rng.standard_normal((n, p)) * np.logspace(0, 3, p)
    blocks = block_buffers(n, p)
    assert sum(b.shape[0] for b in blocks) == n
    assert all(b.flags.f_contiguous and b.shape[0] >= p for b in blocks)
    if p > 64 or n <= 2 * BLOCK_ROWS:
        assert len(blocks) == 1
    start = 0
    for block in blocks:
        block[:] = A[start:start + block.shape[0]]
        start += block.shape[0]
    qr = BlockedQR(blocks)
    assert qr.ok
    Q, R = np.linalg.qr(A)
    signs = np.sign(np.diag(qr.R)) * np.sign(np.diag(R))
    np.testing.assert_allclose(qr.R, R * signs[:, None], rtol=1e-11, atol=1e-11 * abs(R).max())
    F = rng.standard_normal((n, 2))
    np.testing.assert_allclose(qr.leading_qt(F), (Q.T @ F) * signs[:, None], atol=1e-11)
