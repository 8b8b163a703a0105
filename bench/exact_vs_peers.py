"""Exact least squares on a tall dense problem: linearlab vs its peers, side by side.

Times linearlab's default solver, scikit-learn's LinearRegression, statsmodels' OLS and
numpy.linalg.lstsq on the same float64 matrix, and measures each one's extra peak memory
(tracemalloc: NumPy reports its buffers to it) relative to the size of X.

    python bench/exact_vs_peers.py                 # 1,000,000 x 100 (needs ~3 GB free)
    python bench/exact_vs_peers.py --rows 200000   # smaller

The row "one XᵀX pass (BLAS)" times ``X.T @ X`` alone: the least work any one-pass exact solver
does, so linearlab's time over it is the cost of everything else (centring, solve, checks).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np


def _linearlab(X, y):
    from linearlab import LinearRegression

    m = LinearRegression().fit(X, y)
    return np.r_[m.intercept_, m.coef_]


def _sklearn(X, y):
    from sklearn.linear_model import LinearRegression

    m = LinearRegression().fit(X, y)
    return np.r_[m.intercept_, m.coef_]


def _statsmodels(X, y):
    import statsmodels.api as sm

    res = sm.OLS(y, sm.add_constant(X, has_constant="add")).fit()
    return np.asarray(res.params)


def _lstsq(X, y):
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    return np.linalg.lstsq(A, y, rcond=None)[0]


def _gram_pass(X, y):
    """The floor: one BLAS pass that forms XᵀX (syrk); no centring, no solve."""
    G = X.T @ X
    return np.r_[np.nan, np.diag(G)[: X.shape[1]] * np.nan]


PEERS = {
    "linearlab (auto)": _linearlab,
    "one XᵀX pass (BLAS)": _gram_pass,
    "scikit-learn LinearRegression": _sklearn,
    "statsmodels OLS": _statsmodels,
    "numpy lstsq": _lstsq,
}


def measure(fn, X, y, repeats):
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        params = fn(X, y)
        times.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn(X, y)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return min(times), peak, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], help="peer names to skip (substring)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.cols))
    beta = rng.standard_normal(args.cols)
    y = X @ beta + 3.0 + rng.standard_normal(args.rows)
    size = X.nbytes
    print(f"X: {args.rows:,} x {args.cols} float64 = {size / 2**20:,.0f} MiB\n")

    # warm up: imports and first-call overheads are not what is being compared
    small_X, small_y = X[:1000], y[:1000]
    for fn in PEERS.values():
        fn(small_X, small_y)

    results = {}
    for name, fn in PEERS.items():
        if any(s.lower() in name.lower() for s in args.skip):
            continue
        seconds, peak, params = measure(fn, X, y, args.repeats)
        results[name] = (seconds, peak, params)
        print(f"  measured {name}: {seconds:.3f} s", flush=True)

    ours_t, ours_m, ours_p = results["linearlab (auto)"]
    header = (
        f"{'method':32} {'time s':>9} {'vs linearlab':>13} {'extra peak MiB':>15} "
        f"{'% of X':>7} {'max |Δparam|':>13}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for name, (seconds, peak, params) in results.items():
        diff = np.abs(params - ours_p).max() if np.all(np.isfinite(params)) else np.nan
        print(
            f"{name:32} {seconds:9.3f} {seconds / ours_t:12.1f}x {peak / 2**20:15.1f}"
            f" {100 * peak / size:6.1f}% {diff:13.2e}"
        )
    if "one XᵀX pass (BLAS)" in results:
        floor = results["one XᵀX pass (BLAS)"][0]
        print(f"\nlinearlab takes {ours_t / floor:.2f}x the time of one BLAS XᵀX pass "
              "(target: <= 1.25x).")
    if "scikit-learn LinearRegression" in results:
        ratio = results["scikit-learn LinearRegression"][0] / ours_t
        print(f"\nlinearlab is {ratio:.1f}x faster than scikit-learn (target: >= 10x); "
              f"extra memory {100 * ours_m / size:.1f}% of X (target: < 10%).")


if __name__ == "__main__":
    main()
