"""Lasso, elastic net and cross-validated penalties: linearlab vs scikit-learn, side by side.

Part 1 (accuracy): both run with tol=1e-12 on small problems with and without an intercept, with
weights and with correlated features; prints the largest coefficient difference (target 1e-7).

Part 2 (speed, memory): on an n x 100 float64 matrix with 30% non-zero coefficients, times
ElasticNet(alpha=0.01, l1_ratio=0.5), Lasso(alpha=0.01), LassoCV(cv=5) and
RidgeCV(alphas=logspace(-3, 3, 13)) in both libraries, with the extra peak memory of each fit
(tracemalloc: NumPy reports its buffers to it) relative to the size of X, and checks that the
CV estimators choose the same alpha_.

    python bench/penalized_vs_sklearn.py                  # 1,000,000 x 100 (needs ~3 GB free)
    python bench/penalized_vs_sklearn.py --rows 100000    # smaller
    OPENBLAS_NUM_THREADS=1 python bench/penalized_vs_sklearn.py   # on a busy shared machine
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import warnings

import numpy as np
from sklearn import linear_model as sk

import linearlab as ll

TIGHT = {"tol": 1e-12, "max_iter": 100_000}


def _problem(n, d, rho, seed, offset=2.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if rho:
        X = X @ np.linalg.cholesky(rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))).T
    X += offset
    beta = np.zeros(d)
    nz = rng.choice(d, int(0.3 * d), replace=False)
    beta[nz] = rng.standard_normal(nz.size)
    y = X @ beta + rng.standard_normal(n) + 1.0
    return X, y, rng.uniform(0.1, 3.0, n)


def accuracy() -> float:
    print("Accuracy, tol=1e-12 (max |coef difference|, |intercept difference|):")
    worst = 0.0
    cases = [
        ("Lasso", dict(alpha=0.02), dict()),
        ("Lasso", dict(alpha=0.02, fit_intercept=False), dict()),
        ("Lasso", dict(alpha=0.01), dict(weights=True)),
        ("Lasso", dict(alpha=0.005), dict(rho=0.95)),
        ("ElasticNet", dict(alpha=0.02, l1_ratio=0.5), dict()),
        ("ElasticNet", dict(alpha=0.02, l1_ratio=0.5, fit_intercept=False), dict()),
        ("ElasticNet", dict(alpha=0.01, l1_ratio=0.3), dict(weights=True)),
        ("ElasticNet", dict(alpha=0.002, l1_ratio=0.7), dict(rho=0.99, weights=True)),
    ]
    for name, params, data in cases:
        X, y, w = _problem(2000, 50, data.get("rho", 0.0), seed=len(params))
        sw = w if data.get("weights") else None
        ours = getattr(ll, name)(**params, **TIGHT).fit(X, y, sample_weight=sw)
        theirs = getattr(sk, name)(**params, **TIGHT).fit(X, y, sample_weight=sw)
        dc = float(np.max(np.abs(ours.coef_ - theirs.coef_)))
        di = abs(float(ours.intercept_) - float(theirs.intercept_))
        worst = max(worst, dc, di)
        label = f"{name}({', '.join(f'{k}={v}' for k, v in params.items())}) {data or ''}"
        print(f"  {label:<62} {dc:9.2e} {di:9.2e}")
    print(f"  worst: {worst:.2e}  (target <= 1e-7: {'met' if worst <= 1e-7 else 'MISSED'})\n")
    return worst


def _measure(fit, repeat: int):
    """(model, best wall seconds, best CPU seconds, peak traced bytes) over ``repeat`` runs.

    The best of several runs, and CPU time beside wall time, keep the ratios meaningful on a
    machine shared with other work.
    """
    walls, cpus, peak = [], [], 0
    for _ in range(repeat):
        gc.collect()
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return model, min(walls), min(cpus), peak


def speed(n: int, d: int, repeat: int, layout: str = "C") -> list[tuple[str, float]]:
    X, y, _ = _problem(n, d, 0.0, seed=42)
    if layout == "F":
        X = np.asfortranarray(X)  # scikit-learn's preferred layout: no conversion copy for it
    x_bytes = X.nbytes
    print(f"Speed and memory, {n:,} x {d} float64, {layout}-ordered "
          f"(X = {x_bytes / 2**20:.0f} MiB):")
    print(f"  best of {repeat}; wall seconds (CPU seconds)")
    print(f"  {'estimator':<31}{'linearlab':>16}{'sklearn':>16}{'speed-up':>14}"
          f"{'ll mem/X':>9}{'sk mem/X':>9}  same alpha_")
    rows = [
        ("ElasticNet(0.01, l1_ratio=0.5)", lambda m: m.ElasticNet(alpha=0.01, l1_ratio=0.5)),
        ("Lasso(0.01)", lambda m: m.Lasso(alpha=0.01)),
        ("LassoCV(cv=5)", lambda m: m.LassoCV(cv=5)),
        ("RidgeCV(logspace(-3, 3, 13))", lambda m: m.RidgeCV(alphas=np.logspace(-3, 3, 13))),
    ]
    ratios = []
    for label, make in rows:
        ours, t_ours, c_ours, m_ours = _measure(lambda make=make: make(ll).fit(X, y), repeat)
        theirs, t_sk, c_sk, m_sk = _measure(lambda make=make: make(sk).fit(X, y), repeat)
        same = ""
        if hasattr(ours, "alpha_"):
            same = "yes" if np.isclose(ours.alpha_, theirs.alpha_, rtol=1e-9) else (
                f"NO ({ours.alpha_:.4g} vs {theirs.alpha_:.4g})")
        diff = float(np.max(np.abs(ours.coef_ - theirs.coef_)))
        print(f"  {label:<31}{t_ours:7.2f}s ({c_ours:5.2f}){t_sk:7.2f}s ({c_sk:5.2f})"
              f"{t_sk / t_ours:6.1f}x ({c_sk / c_ours:4.1f}x){m_ours / x_bytes:8.1%}"
              f"{m_sk / x_bytes:9.1%}  {same}  (max |Δcoef| {diff:.1e})")
        ratios.append((label, t_sk / t_ours))
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs per estimator (best kept)")
    parser.add_argument("--layout", choices=["C", "F"], default="C",
                        help="memory layout of X: C (NumPy's default) or F (scikit-learn's)")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    if not args.skip_accuracy:
        accuracy()
    speed(args.rows, args.features, args.repeat, args.layout)


if __name__ == "__main__":
    main()
