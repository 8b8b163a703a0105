"""Ill-conditioned least-squares problems and their 50-digit mpmath reference answers.

Shared by tests/test_accuracy.py and bench/accuracy.py. The data are exact doubles; the
reference is the exact least-squares solution of those doubles (normal equations solved in
50-digit arithmetic: with condition numbers up to ~1e15 that still leaves ~20 digits; harder
problems pass a larger ``dps``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Problem:
    name: str
    description: str
    X: np.ndarray
    y: np.ndarray
    fit_intercept: bool = True


def _filip_like() -> Problem:
    rng = np.random.default_rng(10)
    x = np.sort(rng.uniform(-8.78, -3.13, 82))
    y = 0.85 + 0.02 * np.sin(2.0 * x) + 0.005 * x + 0.003 * rng.standard_normal(82)
    X = np.vander(x, 11, increasing=True)[:, 1:]
    return Problem("degree-10 polynomial", "raw powers x..x^10, x in [-9, -3] (like NIST Filip)",
                   X, y)


def _wampler_like() -> Problem:
    x = np.arange(21.0)
    wiggle = np.array([1, -1, 2, -2, 1, 0, -1, 2, 1, -2, 0, 1, -1, -2, 2, 1, 0, -1, 1, -2, 1.0])
    y = 1 + x + x**2 + x**3 + x**4 + x**5 + 100.0 * wiggle
    return Problem("degree-5 polynomial", "raw powers x..x^5, x = 0..20 (like NIST Wampler)",
                   np.vander(x, 6, increasing=True)[:, 1:], y)


def _large_offsets() -> Problem:
    rng = np.random.default_rng(11)
    X = 1e6 + rng.uniform(0, 1, (60, 3)) + np.arange(3)
    y = 2.5 * (X[:, 0] - 1e6) - 1.25 * (X[:, 1] - 1e6) + 0.5 * X[:, 2] + 0.01 * (
        rng.standard_normal(60))
    return Problem("large offsets", "three predictors 1e6 + U(0, 1): spread 1e-6 of the value",
                   X, y)


def _nearly_collinear() -> Problem:
    rng = np.random.default_rng(12)
    a = rng.standard_normal(100)
    X = np.column_stack([a, a + 1e-7 * rng.standard_normal(100), rng.standard_normal(100)])
    y = 1.0 + X[:, 0] + 2.0 * X[:, 1] - X[:, 2] + 0.1 * rng.standard_normal(100)
    return Problem("nearly collinear", "x2 = x1 + 1e-7·noise", X, y)


def _longley() -> Problem:
    import statsmodels.api as sm

    d = sm.datasets.longley.load_pandas()
    return Problem("Longley", "NIST Longley (statsmodels' copy)", d.exog.to_numpy(),
                   d.endog.to_numpy())


def _shifted_polynomial(degree: int, low: float, high: float, n: int, seed: int) -> Problem:
    """Raw powers x..x^degree of x drawn in [low, high], a range away from zero."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(low, high, n))
    y = np.cos(x / 3) + 0.01 * x + 0.003 * rng.standard_normal(n)
    X = np.vander(x, degree + 1, increasing=True)[:, 1:]
    return Problem(f"degree-{degree} polynomial, x in [{low:g}, {high:g}]",
                   f"raw powers x..x^{degree} of {n} points x in [{low:g}, {high:g}]", X, y)


def _offsets_tight_fit() -> Problem:
    rng = np.random.default_rng(13)
    X = 1e4 + rng.uniform(0, 1, (80, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 1e-3 * rng.standard_normal(80)
    return Problem("offsets 1e4, tight fit",
                   "three predictors 1e4 + U(0, 1), y = Xb + 1e-3·noise (small intercept)", X, y)


def _offsets_correlated() -> Problem:
    rng = np.random.default_rng(14)
    d = 4
    C = 0.999 * np.ones((d, d)) + 0.001 * np.eye(d)
    Z = rng.standard_normal((120, d)) @ np.linalg.cholesky(C).T
    X = Z * np.array([0.5, 2.0, 10.0, 0.1]) + np.array([-3e3, 500.0, 2e3, 1e3])
    y = 1e5 + X @ np.array([1.0, -0.5, 0.25, 3.0]) + 0.05 * rng.standard_normal(120)
    return Problem("offsets, correlated",
                   "four predictors with offsets ±1e3 and pairwise correlation 0.999; y ~ 1e5",
                   X, y)


def _offsets_mixed_scales() -> Problem:
    rng = np.random.default_rng(15)
    n = 90
    X = np.column_stack([
        1e6 + rng.uniform(0, 10, n),     # large offset
        1e-6 * rng.standard_normal(n),   # tiny scale
        2e3 + 1e-2 * rng.standard_normal(n),
    ])
    y = 3.0 * (X[:, 0] - 1e6) + 2e5 * X[:, 1] - 40.0 * (X[:, 2] - 2e3) + rng.standard_normal(n)
    return Problem("offsets, mixed scales",
                   "1e6 + U(0, 10), 1e-6·N(0, 1) and 2e3 + 1e-2·N(0, 1) side by side", X, y)


def problems() -> list[Problem]:
    """The original five, then polynomials on shifted ranges and data with large offsets."""
    return [
        _filip_like(), _wampler_like(), _large_offsets(), _nearly_collinear(), _longley(),
        _shifted_polynomial(10, -9, -3, 100, 20),
        _shifted_polynomial(3, -9, -3, 60, 21),
        _shifted_polynomial(6, 3, 9, 80, 22),
        _shifted_polynomial(2, 100, 110, 60, 23),
        _shifted_polynomial(4, 100, 110, 60, 24),
        _offsets_tight_fit(), _offsets_correlated(), _offsets_mixed_scales(),
    ]


@dataclass
class Reference:
    params: np.ndarray  # intercept first
    bse: np.ndarray
    resid_sd: float
    rsquared: float


def reference(problem: Problem, weights=None, dps: int = 50) -> Reference:
    """The exact (weighted) least-squares answer for the problem's doubles, to ``dps`` digits."""
    import mpmath as mp

    mp.mp.dps = dps
    X, y = problem.X, problem.y
    n = X.shape[0]
    w = [mp.mpf(1)] * n if weights is None else [mp.mpf(float(v)) for v in weights]
    cols = ([[mp.mpf(1)] * n] if problem.fit_intercept else []) + [
        [mp.mpf(float(v)) for v in X[:, j]] for j in range(X.shape[1])
    ]
    yy = [mp.mpf(float(v)) for v in y]
    p = len(cols)
    G = mp.matrix(p, p)
    b = mp.matrix(p, 1)
    for i in range(p):
        for j in range(i, p):
            G[i, j] = G[j, i] = mp.fsum(w[k] * cols[i][k] * cols[j][k] for k in range(n))
        b[i] = mp.fsum(w[k] * cols[i][k] * yy[k] for k in range(n))
    Ginv = mp.inverse(G)
    beta = Ginv * b
    resid = [yy[k] - mp.fsum(cols[i][k] * beta[i] for i in range(p)) for k in range(n)]
    ssr = mp.fsum(w[k] * resid[k] ** 2 for k in range(n))
    mean = mp.fsum(w[k] * yy[k] for k in range(n)) / mp.fsum(w)
    tss = mp.fsum(w[k] * (yy[k] - mean * problem.fit_intercept) ** 2 for k in range(n))
    s2 = ssr / (n - p)
    return Reference(
        params=np.array([float(beta[i]) for i in range(p)]),
        bse=np.array([float(mp.sqrt(s2 * Ginv[i, i])) for i in range(p)]),
        resid_sd=float(mp.sqrt(s2)),
        rsquared=float(1 - ssr / tss),
    )


def correct_digits(value, ref) -> float:
    """Fewest correct significant digits over the entries (capped at 16)."""
    value, ref = np.atleast_1d(np.asarray(value, float)), np.atleast_1d(np.asarray(ref, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(value - ref) / np.abs(ref)
    err = np.where(np.isfinite(err), err, 1.0)
    return float(np.clip(-np.log10(np.maximum(err, 1e-16)), 0, 16).min())
