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


def test_normal_equations_with_a_tiny_penalty_on_wide_data_warn():
    """50 × 100 with alpha=1e-16: the eigen route of the singular Gram is off by ~1e4; it now
    says so (solver='auto' escalates to QR and matches scikit-learn)."""
    from sklearn.datasets import make_regression

    X, y = make_regression(50, 100, random_state=0, noise=1.0)
    theirs = Ridge(alpha=1e-16, solver="svd").fit(X, y)
    with pytest.warns(ConditioningWarning, match="solver 'normal'"):
        LinearRegression(alpha=1e-16, solver="normal").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        auto = LinearRegression(alpha=1e-16).fit(X, y)
    np.testing.assert_allclose(auto.coef_, theirs.coef_, atol=1e-9 * np.abs(theirs.coef_).max())


def test_robust_f_test_with_an_implicit_constant_is_statsmodels_one():
    """Every dummy of a category and no intercept: the constant is implicit. statsmodels then
    reports no robust F-test (NaN) — it was 104.8 here, testing the constant too."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(0)
    g = rng.integers(0, 3, 300)
    x = rng.standard_normal(300)
    X = np.column_stack([np.eye(3)[g], x])
    y = 1 + 0.5 * g + 0.05 * x + rng.standard_normal(300) * (1 + g)
    ours = LinearRegression(fit_intercept=False).fit(X, y).summary(cov_type="HC3", X=X, y=y)
    theirs = sm.OLS(y, X).fit(cov_type="HC3")
    assert np.isnan(theirs.fvalue) and np.isnan(ours.fvalue) and np.isnan(ours.f_pvalue)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-10)
    # the same model with an explicit constant: the robust F-test of the slopes, as statsmodels
    Xc = np.column_stack([np.eye(3)[g][:, 1:], x])
    ours = LinearRegression().fit(Xc, y).summary(cov_type="HC3", X=Xc, y=y)
    theirs = sm.OLS(y, sm.add_constant(Xc)).fit(cov_type="HC3")
    assert ours.fvalue == pytest.approx(float(theirs.fvalue), rel=1e-10)
    # non-robust: statsmodels' F-test with k_constant = 1
    ours = LinearRegression(fit_intercept=False).fit(X, y).summary()
    assert ours.fvalue == pytest.approx(float(sm.OLS(y, X).fit().fvalue), rel=1e-10)
