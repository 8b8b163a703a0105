"""Sparse X and per-sample SGD: linearlab vs scikit-learn, side by side in one process.

Part 1, on a CSR matrix of ``--rows`` x ``--cols`` with ``--nnz`` non-zeros per row
(200,000 x 20,000 x 20 by default: 4 million non-zeros, the matrix of issue 20):

- ridge (alpha=1) and OLS: ``LinearRegression(alpha=...)`` (LSQR with implicit centring, chosen
  by ``solver="auto"`` for wide sparse X) against scikit-learn's sparse solvers
  (``Ridge(solver="lsqr")``, ``Ridge(solver="sparse_cg")``, ``LinearRegression()``), all at the
  same tolerance, the ratio taken to the fastest; scikit-learn at its default tolerance too;
- ``Lasso(alpha=1e-4)``: coordinate descent over the sparse columns against scikit-learn's;
- largest coefficient difference and the extra peak memory of each fit (tracemalloc; X excluded).

Part 2: ``batch_size=1``, one epoch over a dense ``--sgd-rows`` x ``--sgd-cols`` matrix, against
``SGDRegressor(max_iter=1)`` with the same update rule (constant step, no penalty, rows in
order; scikit-learn's ½(p−y)² at twice linearlab's step is the same update), and the compiled
kernel against the NumPy loop (``engine="loop"``).

    python bench/sparse.py                                   # the full sizes (a few minutes)
    python bench/sparse.py --rows 20000 --cols 2000          # quick
    python bench/sparse.py --only sgd
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
import warnings

# This file is bench/sparse.py: keep its folder off the import path, where it would shadow the
# `sparse` package numba's extension entry points look for.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(
    os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn import linear_model as sk  # noqa: E402

import linearlab as ll  # noqa: E402

TOL = 1e-10  # LSQR's atol/btol for both libraries: coefficients to about 1e-8
REPEAT = 2  # timings are the best of this many runs (--repeat)


def sparse_problem(n: int, d: int, nnz: int, seed: int = 0):
    """CSR X with ``nnz`` distinct random columns per row; y from a sparse coefficient vector."""
    rng = np.random.default_rng(seed)
    cols = np.empty((n, nnz), dtype=np.int32)
    for start in range(0, n, 50_000):  # distinct columns per row, in bounded memory
        stop = min(n, start + 50_000)
        cols[start:stop] = np.argsort(rng.random((stop - start, d)), axis=1)[:, :nnz] \
            if d <= 2_000 else _distinct(rng, stop - start, d, nnz)
    X = sp.csr_matrix((rng.standard_normal(n * nnz), cols.ravel(), np.arange(0, n * nnz + 1,
                      nnz)), shape=(n, d))
    X.sort_indices()
    beta = rng.standard_normal(d) * (rng.random(d) < 0.3)
    y = X @ beta + 0.5 * rng.standard_normal(n) + 1.0
    return X, y


def _distinct(rng, rows: int, d: int, k: int) -> np.ndarray:
    out = rng.integers(0, d, size=(rows, k))
    while True:  # redraw the rows that drew a column twice
        s = np.sort(out, axis=1)
        dup = np.any(s[:, 1:] == s[:, :-1], axis=1)
        if not dup.any():
            return out
        out[dup] = rng.integers(0, d, size=(int(dup.sum()), k))


def measure(fit, memory: bool = True, repeat: int = 1):
    """(seconds, extra peak MB, fitted model) of ``fit()``: the best of ``repeat`` runs timed
    without tracemalloc (it slows Python-level code), then one run under it for the peak memory
    (NaN when ``memory`` is False)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds = float("inf")
        for _ in range(repeat):
            model = None
            gc.collect()
            start = time.perf_counter()
            model = fit()
            seconds = min(seconds, time.perf_counter() - start)
        peak = float("nan")
        if memory:
            del model
            gc.collect()
            tracemalloc.start()
            model = fit()
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    return seconds, peak, model


def row(name, seconds, mb, note=""):
    print(f"  {name:<54} {seconds:8.3f} s {mb:9.1f} MB  {note}")


def exact_section(X, y) -> None:
    for label, alpha in (("ridge alpha=1", 1.0), ("OLS", 0.0)):
        print(f"\n{label} (tol={TOL:g} for both):")
        peers = {
            "sklearn Ridge(solver='lsqr')": lambda a=alpha: sk.Ridge(
                alpha=a, solver="lsqr", tol=TOL).fit(X, y),
            "sklearn Ridge(solver='sparse_cg')": lambda a=alpha: sk.Ridge(
                alpha=a, solver="sparse_cg", tol=TOL, max_iter=10_000).fit(X, y),
        }
        if alpha == 0.0:
            peers = {"sklearn LinearRegression()": lambda: sk.LinearRegression(tol=TOL).fit(X, y),
                     **peers}
        results = {}
        for name, fit in peers.items():
            results[name] = measure(fit, repeat=REPEAT)
            row(name, results[name][0], results[name][1])
        ours = measure(lambda a=alpha: ll.LinearRegression(alpha=a, tol=TOL).fit(X, y),
                       repeat=REPEAT)
        best = min(results, key=lambda k: results[k][0])
        t, mb, ref = results[best]
        diff = float(np.abs(ours[2].coef_ - ref.coef_).max())
        row(f"linearlab LinearRegression(alpha={alpha:g})", ours[0], ours[1],
            f"solver_={ours[2].solver_}")
        print(f"  -> time ratio to the fastest ({best}): {ours[0] / t:.2f}x; peak memory "
              f"ratio: {ours[1] / max(mb, 1e-9):.2f}x; max |coef diff| {diff:.2e}")
        default = measure(lambda a=alpha: sk.Ridge(alpha=a, solver="lsqr").fit(X, y),
                          repeat=REPEAT)
        row("sklearn Ridge(solver='lsqr') at its default tol", default[0], default[1])


def lasso_section(X, y, alpha: float) -> None:
    print(f"\nLasso(alpha={alpha:g}), tol=1e-4 (scikit-learn's default) for both:")
    warm = measure(lambda: ll.Lasso(alpha=alpha).fit(X[:200], y[:200]), memory=False)[0]
    print(f"  (linearlab's first call compiles or loads the numba kernel: {warm:.2f} s)")
    ref = measure(lambda: sk.Lasso(alpha=alpha).fit(X, y), repeat=REPEAT)
    row("sklearn Lasso", ref[0], ref[1], f"n_iter_={ref[2].n_iter_}")
    ours = measure(lambda: ll.Lasso(alpha=alpha).fit(X, y), repeat=REPEAT)
    row("linearlab Lasso (CD over sparse columns)", ours[0], ours[1], f"n_iter_={ours[2].n_iter_}")
    diff = float(np.abs(ours[2].coef_ - ref[2].coef_).max())
    print(f"  -> time ratio {ours[0] / ref[0]:.2f}x; peak memory ratio "
          f"{ours[1] / max(ref[1], 1e-9):.2f}x; max |coef diff| {diff:.2e}; non-zero "
          f"{int(np.count_nonzero(ours[2].coef_))} vs {int(np.count_nonzero(ref[2].coef_))}")


def sgd_section(n: int, d: int, check_loop: bool) -> None:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5
    lr = 0.0005
    print(f"\nbatch_size=1, one epoch over {n:,} x {d} (dense), lr={lr:g} "
          f"(SGDRegressor eta0={2 * lr:g}):")

    def ours_fit(engine="auto"):
        return ll.LinearRegression(solver="gd", batch_size=1, epochs=1, lr=lr, shuffle=False,
                                   average=False, engine=engine).fit(X, y)

    def peer_fit():
        return sk.SGDRegressor(max_iter=1, learning_rate="constant", eta0=2 * lr, penalty=None,
                               shuffle=False, tol=None).fit(X, y)

    ours_fit()  # compile (or load the cached kernel) outside the timing
    best_ours = measure(ours_fit, repeat=3)
    best_peer = measure(peer_fit, repeat=3)
    row("sklearn SGDRegressor(max_iter=1)", best_peer[0], best_peer[1])
    row("linearlab LinearRegression(solver='gd', batch_size=1)", best_ours[0], best_ours[1])
    diff = float(np.abs(best_ours[2].coef_ - best_peer[2].coef_).max())
    print(f"  -> time ratio {best_ours[0] / best_peer[0]:.2f}x; max |coef diff| vs "
          f"SGDRegressor {diff:.2e}")
    if check_loop:
        loop = measure(lambda: ours_fit("loop"), memory=False)
        row("linearlab, engine='loop' (the NumPy reference)", loop[0], loop[1])
        print(f"  -> compiled kernel vs NumPy loop: max |coef diff| "
              f"{float(np.abs(loop[2].coef_ - best_ours[2].coef_).max()):.2e}, speed-up "
              f"{loop[0] / best_ours[0]:.1f}x")


def main() -> None:
    global REPEAT
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=20_000)
    parser.add_argument("--nnz", type=int, default=20)
    parser.add_argument("--lasso-alpha", type=float, default=1e-4)
    parser.add_argument("--sgd-rows", type=int, default=100_000)
    parser.add_argument("--sgd-cols", type=int, default=100)
    parser.add_argument("--no-loop", action="store_true", help="skip the NumPy loop run")
    parser.add_argument("--only", choices=["exact", "lasso", "sgd"], action="append")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()
    REPEAT = args.repeat
    only = set(args.only or ["exact", "lasso", "sgd"])
    if only & {"exact", "lasso"}:
        start = time.perf_counter()
        X, y = sparse_problem(args.rows, args.cols, args.nnz)
        print(f"X: {X.shape[0]:,} x {X.shape[1]:,} CSR, {X.nnz:,} non-zeros "
              f"({time.perf_counter() - start:.1f} s to build)")
        if "exact" in only:
            exact_section(X, y)
        if "lasso" in only:
            lasso_section(X, y, args.lasso_alpha)
    if "sgd" in only:
        sgd_section(args.sgd_rows, args.sgd_cols, not args.no_loop)


if __name__ == "__main__":
    main()
