"""Ridge (alpha > 0): exact solvers and gradient descent against scikit-learn's Ridge.

Tolerances: exact solvers 1e-10 relative. Gradient descent (full batch, standardize=False, the
automatic step size) is run long enough to converge and is held to 1e-8 relative: its error
shrinks geometrically with the epochs, so this is a statement about enough epochs, not a limit.
"""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from linearlab import ConditioningWarning, ConvergenceWarning, LinearRegression

EXACT = 1e-10
GD = 1e-8


def _problem(seed, n=120, d=5, k=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + rng.uniform(-2, 2, d)
    coef = rng.standard_normal(d if k is None else (d, k))
    y = X @ coef + 1.5 + rng.standard_normal(n if k is None else (n, k))
    return X, y, rng.uniform(0.3, 3.0, n)


def _assert_close(model, ref, rtol):
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=rtol,
                               atol=rtol * np.abs(ref.coef_).max())
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=rtol,
                               atol=rtol * max(1.0, np.abs(ref.intercept_).max()))


@pytest.mark.parametrize("solver", ["auto", "normal", "qr", "svd"])
@pytest.mark.parametrize("alpha", [1e-3, 0.5, 10.0, 1e3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_exact_ridge_matches_scikit_learn(solver, alpha, fit_intercept, weighted):
    X, y, w = _problem(0)
    w = w if weighted else None
    ref = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="cholesky").fit(
        X, y, sample_weight=w)
    model = LinearRegression(solver=solver, alpha=alpha, fit_intercept=fit_intercept).fit(
        X, y, sample_weight=w)
    _assert_close(model, ref, EXACT)


@pytest.mark.parametrize("solver", ["auto", "qr", "svd"])
def test_exact_ridge_multi_output(solver):
    X, Y, _ = _problem(1, k=3)
    ref = Ridge(alpha=2.0, solver="svd").fit(X, Y)
    _assert_close(LinearRegression(solver=solver, alpha=2.0).fit(X, Y), ref, EXACT)


def test_ridge_makes_rank_deficient_and_wide_problems_unique():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(40)
    X = np.column_stack([a, a, rng.standard_normal(40), np.full(40, 2.0)])
    y = a + rng.standard_normal(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConditioningWarning)  # no rank warning with alpha > 0
        model = LinearRegression(alpha=0.7).fit(X, y)
    _assert_close(model, Ridge(alpha=0.7, solver="svd").fit(X, y), EXACT)
    assert model.coef_[0] == pytest.approx(model.coef_[1], rel=1e-12)  # split evenly
    Xw, yw = rng.standard_normal((8, 20)), rng.standard_normal(8)
    _assert_close(LinearRegression(alpha=0.3).fit(Xw, yw), Ridge(alpha=0.3, solver="svd")
                  .fit(Xw, yw), EXACT)


def test_ridge_on_ill_conditioned_data_matches_an_exact_reference():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 60
    x = np.linspace(-9, -3, 50)
    X = np.vander(x, 8, increasing=True)[:, 1:]
    y = np.sin(x)
    alpha = 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        model = LinearRegression(alpha=alpha).fit(X, y)
    Xm = mp.matrix([[mp.mpf(float(v)) for v in row] for row in X])
    ym = mp.matrix([mp.mpf(float(v)) for v in y])
    n, d = X.shape
    mx = [mp.fsum(Xm[i, j] for i in range(n)) / n for j in range(d)]
    my = mp.fsum(ym) / n
    Xc = mp.matrix([[Xm[i, j] - mx[j] for j in range(d)] for i in range(n)])
    yc = mp.matrix([ym[i] - my for i in range(n)])
    beta = mp.lu_solve(Xc.T * Xc + alpha * mp.eye(d), Xc.T * yc)
    ref = np.array([float(b) for b in beta])
    np.testing.assert_allclose(model.coef_, ref, rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.1, 1.0, 50.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_descent_ridge_matches_scikit_learn(alpha, weighted):
    X, y, w = _problem(3)
    w = w if weighted else None
    ref = Ridge(alpha=alpha, solver="cholesky").fit(X, y, sample_weight=w)
    model = LinearRegression(solver="gd", alpha=alpha, epochs=20000, standardize=False).fit(
        X, y, sample_weight=w)
    assert model.converged_
    _assert_close(model, ref, GD)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov", "adam"])
def test_gradient_descent_ridge_other_optimizers(optimizer):
    X, y, _ = _problem(4, n=80, d=3)
    ref = Ridge(alpha=1.0).fit(X, y)
    # momentum methods converge like plain descent; Adam's fixed step leaves a limit cycle of
    # about lr around the optimum, which cosine annealing (lr -> 0) shrinks away
    lr, schedule = (0.01, "cosine") if optimizer == "adam" else ("auto", "constant")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearRegression(solver="gd", optimizer=optimizer, alpha=1.0, lr=lr,
                                 lr_schedule=schedule, epochs=20000).fit(X, y)
    _assert_close(model, ref, 1e-5 if optimizer == "adam" else GD)


def test_gradient_descent_ridge_multi_output():
    X, Y, _ = _problem(5, k=2)
    ref = Ridge(alpha=3.0).fit(X, Y)
    _assert_close(LinearRegression(solver="gd", alpha=3.0, epochs=20000).fit(X, Y), ref, GD)
