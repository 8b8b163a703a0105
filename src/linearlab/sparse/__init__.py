"""Sparse input (``scipy.sparse`` matrices and arrays): statistics and solvers that never make X
dense.

- :mod:`.checks`: validation (NaN/inf stored values, shapes, dense-only options refused);
- :mod:`.gram`: the sparse Gram (XᵀWX as a sparse product, then d×d dense), for small d;
- :mod:`.lsqr`: least squares and ridge by SciPy's LSQR with implicit centring, for wide X;
- :mod:`.cd`: elastic-net coordinate descent over sparse columns (NumPy reference), with
  :mod:`.kernels` the same loop compiled by numba when it is installed;
- :mod:`.fit`: what the estimators call when X is sparse.

This ``__init__`` imports nothing heavy: :func:`is_sparse` runs on every ``fit``.
"""

from __future__ import annotations

from typing import Any

# Features up to this many: the sparse Gram (a d×d dense matrix) serves exact fits, penalized
# fits, summaries and gradient descent; beyond it, LSQR and coordinate descent over columns.
GRAM_MAX_FEATURES = 1000


def is_sparse(obj: Any) -> bool:
    """Whether ``obj`` is a scipy.sparse matrix or array (without importing scipy.sparse)."""
    return type(obj).__module__.startswith("scipy.sparse") and hasattr(obj, "tocsr")
