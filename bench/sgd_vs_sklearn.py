"""Mini-batch SGD: linearlab against scikit-learn's SGDRegressor, side by side in one process.

Both fit the same standardized-scale data (n x d features from N(0, 1), y = Xw + b + noise of
variance 1) and are timed until their training MSE is within 1% of the optimal (least-squares)
MSE. Each is run with 1, 2, 3, ... epochs (a fresh fit each time, so the time printed is a whole
fit that reached the target, setup included):

- linearlab: ``LinearRegression(solver="gd", batch_size=1024, epochs=e)`` with everything else
  at its defaults (lr="auto", shuffled batches, Polyak-Ruppert averaging from ``average="auto"``);
  it runs the plain mini-batch loop (no fast path applies to averaged SGD);
- scikit-learn: ``SGDRegressor(max_iter=e, tol=None)`` at its defaults (invscaling step).

A second table times one epoch with one row per step (``batch_size=1``) against one epoch of
SGDRegressor (which always updates per row), on ``--per-row-rows`` rows.

Usage: python bench/sgd_vs_sklearn.py [--rows 1000000] [--features 100] [--per-row-rows 100000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.linear_model import SGDRegressor

from linearlab import LinearRegression

TARGET = 0.01  # excess MSE over the optimum, relative
MAX_EPOCHS = 30


def _problem(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    coef = rng.standard_normal(d)
    y = X @ coef + 3.0 + rng.standard_normal(n)
    return X, y


def _excess(model, X, y, optimal_mse: float) -> float:
    return float(np.mean((model.predict(X) - y) ** 2) / optimal_mse - 1.0)


def _time_to_target(make, X, y, optimal_mse: float):
    """(seconds, epochs, excess) of the first epoch count whose fit reaches TARGET."""
    excess = np.inf
    for epochs in range(1, MAX_EPOCHS + 1):
        model = make(epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - start
        excess = _excess(model, X, y, optimal_mse)
        if excess <= TARGET:
            return seconds, epochs, excess
    return np.nan, MAX_EPOCHS, excess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--per-row-rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()

    X, y = _problem(args.rows, args.features)
    exact = LinearRegression().fit(X, y)
    optimal = float(np.mean((exact.predict(X) - y) ** 2))
    print(f"{args.rows:,} rows x {args.features} features, optimal MSE {optimal:.6f}; target: "
          f"training MSE within {100 * TARGET:.0f}% of it\n")

    ours = _time_to_target(
        lambda e: LinearRegression(solver="gd", batch_size=args.batch_size, epochs=e,
                                   random_state=0), X, y, optimal)
    peer = _time_to_target(
        lambda e: SGDRegressor(max_iter=e, tol=None, random_state=0), X, y, optimal)
    print(f"{'':<42}{'seconds':>9}{'epochs':>8}{'excess MSE':>12}")
    print(f"{f'linearlab mini-batch GD (batch {args.batch_size})':<42}{ours[0]:>9.3f}"
          f"{ours[1]:>8}{100 * ours[2]:>11.3f}%")
    print(f"{'scikit-learn SGDRegressor':<42}{peer[0]:>9.3f}{peer[1]:>8}{100 * peer[2]:>11.3f}%")
    print(f"ratio (SGDRegressor time / linearlab time): {peer[0] / ours[0]:.1f}x\n")

    n = min(args.per_row_rows, args.rows)
    Xs, ys = X[:n], y[:n]
    row_model = LinearRegression(solver="gd", batch_size=1, epochs=1, random_state=0)
    sk_model = SGDRegressor(max_iter=1, tol=None, random_state=0)
    times = []
    for model in (row_model, sk_model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model.fit(Xs, ys)
            times.append(time.perf_counter() - start)
    print(f"one epoch, one row per step, {n:,} rows:")
    print(f"  linearlab batch_size=1 {times[0]:.3f} s, SGDRegressor {times[1]:.3f} s: "
          f"linearlab takes {times[0] / times[1]:.1f}x as long (a Python-level step per row; "
          "see docs/api.md)")


if __name__ == "__main__":
    main()
