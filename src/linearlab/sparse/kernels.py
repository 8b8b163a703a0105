"""numba-compiled coordinate descent over sparse columns (the optional ``linearlab[numba]``).

:func:`sweep` is :func:`linearlab.sparse.cd.sweep_reference` written as plain loops and
compiled; it gives the reference's numbers to rounding (tested to 1e-12). Without numba,
:func:`use_kernel` says so and the NumPy reference runs instead.
"""

from __future__ import annotations

import importlib.util

from linearlab.errors import BackendUnavailableError

_sweep = None


def available() -> bool:
    """Whether numba is installed."""
    return importlib.util.find_spec("numba") is not None


def use_kernel(compiled: bool | None) -> bool:
    """Whether to run the compiled kernel: ``None`` when numba is installed, ``True`` always
    (an error without numba), ``False`` never."""
    if compiled is False:
        return False
    if available():
        return True
    if compiled:
        raise BackendUnavailableError(
            "The compiled kernels need numba: pip install 'linearlab[numba]'. Without it the "
            "NumPy reference gives the same numbers, more slowly."
        )
    return False


def _sweep_loops(order, indptr, indices, data, wdata, mean_x, norms, u, c, beta, l1, l2,
                 positive):
    d_w_max = 0.0
    w_max = 0.0
    for jj in range(order.shape[0]):
        j = order[jj]
        nj = norms[j]
        if nj == 0.0:
            continue
        start, stop = indptr[j], indptr[j + 1]
        rho = 0.0
        for p in range(start, stop):
            rho += wdata[p] * (u[indices[p]] + c)
        old = beta[j]
        tmp = rho + nj * old
        if positive and tmp < 0.0:
            new = 0.0
        elif tmp > l1:
            new = (tmp - l1) / (nj + l2)
        elif tmp < -l1:
            new = (tmp + l1) / (nj + l2)
        else:
            new = 0.0
        if new != old:
            delta = new - old
            for p in range(start, stop):
                u[indices[p]] -= delta * data[p]
            c += delta * mean_x[j]
            beta[j] = new
            if abs(delta) > d_w_max:
                d_w_max = abs(delta)
        if abs(new) > w_max:
            w_max = abs(new)
    return d_w_max, w_max, c


def sweep(order, indptr, indices, data, wdata, mean_x, norms, u, c, beta, l1, l2, positive):
    """The compiled sweep (compiled on first use, cached on disk)."""
    global _sweep
    if _sweep is None:
        import numba

        _sweep = numba.njit(cache=True, nogil=True)(_sweep_loops)
    return _sweep(order, indptr, indices, data, wdata, mean_x, norms, u, float(c), beta,
                  float(l1), float(l2), bool(positive))
