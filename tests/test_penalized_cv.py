"""LassoCV, ElasticNetCV and RidgeCV: the same choices as scikit-learn, from fold Grams."""

import warnings

import numpy as np
import pytest
from sklearn import linear_model as sk
from sklearn.model_selection import KFold, TimeSeriesSplit
from sklearn.utils.estimator_checks import check_estimator

from linearlab import ElasticNetCV, LassoCV, RidgeCV, load
from linearlab.errors import DataError, ParameterError
from linearlab.exact.gram import Gram
from linearlab.penalized.folds import fold_statistics, validation_rss

TIGHT = {"tol": 1e-11, "max_iter": 100_000}


def _data(n=600, d=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + 1.0
    beta = np.zeros(d)
    beta[: d // 3] = rng.standard_normal(d // 3)
    y = X @ beta + 2.0 * rng.standard_normal(n) + 4.0
    return X, y, rng.uniform(0.2, 3.0, n)


def test_fold_statistics_are_exact():
    X, y, w = _data()
    Y = y[:, None]
    folds = fold_statistics(X, Y, w, None)
    assert len(folds.test) == 5
    for (train, test), tr, te in zip(KFold(5).split(X), folds.train, folds.test, strict=True):
        direct_tr = Gram.from_arrays(X[train], Y[train], w[train])
        direct_te = Gram.from_arrays(X[test], Y[test], w[test])
        np.testing.assert_allclose(tr.sxx, direct_tr.sxx, rtol=1e-11)
        np.testing.assert_allclose(te.sxy, direct_te.sxy, rtol=1e-11)
        coef = np.linspace(-1, 1, X.shape[1])
        rss = np.sum(w[test] * (y[test] - X[test] @ coef - 0.5) ** 2)
        got = validation_rss(te, coef[None, :, None], np.array([[0.5]]))
        assert got[0, 0] == pytest.approx(rss, rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lasso_cv_matches_sklearn(weighted, fit_intercept):
    X, y, w = _data(seed=1)
    sw = w if weighted else None
    params = dict(alphas=30, fit_intercept=fit_intercept, **TIGHT)
    ours = LassoCV(**params).fit(X, y, sample_weight=sw)
    theirs = sk.LassoCV(**params).fit(X, y, sample_weight=sw)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-12)
    assert ours.mse_path_.shape == theirs.mse_path_.shape == (30, 5)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-7)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-7)
    assert not hasattr(ours, "l1_ratio_")


def test_elastic_net_cv_l1_ratios_and_splitters():
    X, y, _ = _data(seed=2)
    params = dict(l1_ratio=[0.2, 0.9], alphas=15, cv=KFold(4, shuffle=True, random_state=0),
                  **TIGHT)
    ours, theirs = ElasticNetCV(**params).fit(X, y), sk.ElasticNetCV(**params).fit(X, y)
    assert (ours.alpha_, ours.l1_ratio_) == pytest.approx((theirs.alpha_, theirs.l1_ratio_))
    assert ours.mse_path_.shape == (2, 15, 4) and ours.alphas_.shape == (2, 15)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-7)
    # a splitter whose training rows are not the complement of the test rows
    series = dict(alphas=[1.0, 0.1, 0.01], cv=TimeSeriesSplit(3), **TIGHT)
    ours, theirs = ElasticNetCV(**series).fit(X, y), sk.ElasticNetCV(**series).fit(X, y)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-7)
    assert ours.alpha_ == theirs.alpha_


def test_cv_rejects_several_targets():
    X, y, _ = _data(seed=3)
    with pytest.raises(DataError, match="one target"):
        LassoCV().fit(X, np.c_[y, y])


ALPHAS = np.logspace(-3, 3, 13) * 10


@pytest.mark.parametrize("cv", [None, 5, KFold(3, shuffle=True, random_state=1)],
                         ids=["loo", "kfold", "shuffled"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("targets", [1, 2])
def test_ridge_cv_matches_sklearn(cv, weighted, targets):
    X, y, w = _data(seed=4)
    Y = y if targets == 1 else np.c_[y, X[:, 0] + np.random.default_rng(0).normal(size=len(y))]
    sw = w if weighted else None
    ours = RidgeCV(alphas=ALPHAS, cv=cv).fit(X, Y, sample_weight=sw)
    theirs = sk.RidgeCV(alphas=ALPHAS, cv=cv).fit(X, Y, sample_weight=sw)
    assert ours.alpha_ == theirs.alpha_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-10)


def test_ridge_cv_loo_options():
    X, y, w = _data(seed=5)
    Y = np.c_[y, 3 * X[:, 1] + 10 * np.random.default_rng(1).normal(size=len(y))]
    params = dict(alphas=ALPHAS, alpha_per_target=True, store_cv_results=True,
                  fit_intercept=False)
    ours = RidgeCV(**params).fit(X, Y, sample_weight=w)
    theirs = sk.RidgeCV(**params).fit(X, Y, sample_weight=w)
    np.testing.assert_array_equal(ours.alpha_, theirs.alpha_)
    np.testing.assert_allclose(ours.cv_results_, theirs.cv_results_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    with pytest.raises(ParameterError, match="positive"):
        RidgeCV(alphas=[0.0, 1.0]).fit(X, y)
    with pytest.raises(ParameterError, match="incompatible"):
        RidgeCV(cv=3, store_cv_results=True).fit(X, y)


def test_cv_models_round_trip(tmp_path):
    X, y, _ = _data(seed=6)
    for model in (LassoCV(alphas=10), ElasticNetCV(l1_ratio=[0.3, 0.7], alphas=5),
                  RidgeCV(cv=4)):
        model.fit(X, y)
        path = tmp_path / "m.json"
        model.save(path)
        again = load(path)
        assert type(again) is type(model) and again.alpha_ == model.alpha_
        assert np.array_equal(again.predict(X), model.predict(X))
        if hasattr(model, "mse_path_"):
            np.testing.assert_array_equal(again.mse_path_, model.mse_path_)


@pytest.mark.parametrize("estimator", [LassoCV(), ElasticNetCV(), RidgeCV()],
                         ids=["LassoCV", "ElasticNetCV", "RidgeCV"])
def test_check_estimator(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator)


def test_path_figure_marks_the_chosen_alpha():
    pytest.importorskip("matplotlib")
    X, y, _ = _data(seed=7)
    model = LassoCV(alphas=20).fit(X, y)
    fig = model.plot(kind="path")
    path_ax, error_ax = fig.axes[:2]
    dashed = [ln for ln in path_ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_xdata()[0] == pytest.approx(model.alpha_)
    assert len(path_ax.get_lines()) == X.shape[1] + 2  # a line per feature, zero, chosen alpha
    assert error_ax.get_ylabel() == "mean squared error"
    ridge = RidgeCV(alphas=ALPHAS).fit(X, y).plot(kind="path")
    assert len(ridge.axes) == 1


def test_bad_alphas_and_grids_are_parameter_errors():
    from linearlab.penalized import ElasticNetCV as ENCV
    from linearlab.penalized import enet_path

    X, y, _ = _data(seed=8)
    with pytest.raises(ParameterError, match="alphas"):
        enet_path(X, y, alphas=[0.1, -1.0])
    with pytest.raises(ParameterError, match="l1_ratio=0"):
        ENCV(l1_ratio=0.0).fit(X, y)


# --------------------------------------------------------------------------- issue 19 numerics
@pytest.mark.parametrize("alpha", [1e-9, 1e-16])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_ridgecv_with_more_features_than_rows_is_exact(alpha, fit_intercept, weighted):
    """Leave-one-out through the SVD of the smaller side: the Gram's eigen route divided its
    null space's rounding by alpha (error ~1.8e-12/alpha: 440 at 1e-16)."""
    from sklearn.datasets import make_regression

    X, y = make_regression(50, 100, random_state=0, noise=1.0)
    w = np.random.default_rng(1).uniform(0.5, 2.0, 50) if weighted else None
    ours = RidgeCV(alphas=[alpha], fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    theirs = sk.RidgeCV(alphas=[alpha], fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    scale = np.abs(theirs.coef_).max()
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-10 * scale)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=1e-9 * scale)


def test_ridgecv_wide_leave_one_out_scores_match_scikit_learn():
    from sklearn.datasets import make_regression

    X, y = make_regression(40, 90, random_state=3, noise=5.0)
    alphas = [1e-3, 1.0, 10.0, 1e3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = RidgeCV(alphas=alphas, store_cv_results=True).fit(X, y)
        theirs = sk.RidgeCV(alphas=alphas, store_cv_results=True).fit(X, y)
    assert ours.alpha_ == theirs.alpha_
    np.testing.assert_allclose(ours.cv_results_, theirs.cv_results_, rtol=1e-8)
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-10)


@pytest.mark.parametrize("make", [
    lambda: __import__("linearlab").Lasso(), lambda: __import__("linearlab").ElasticNet(),
    lambda: RidgeCV(), lambda: LassoCV(cv=3), lambda: ElasticNetCV(cv=3),
], ids=["Lasso", "ElasticNet", "RidgeCV", "LassoCV", "ElasticNetCV"])
def test_values_near_the_float64_maximum_are_a_numerical_error(make):
    """As LinearRegression: a NumericalError naming the place, never a model of NaNs."""
    from linearlab import LinearRegression, NumericalError

    rng = np.random.default_rng(0)
    X = np.finfo(float).max * rng.uniform(size=(30, 3))
    y = rng.standard_normal(30)
    with pytest.raises(NumericalError, match="too large"):
        LinearRegression().fit(X, y)
    with pytest.raises(NumericalError, match="too large"):
        make().fit(X, y)


@pytest.mark.parametrize("effective_rank", [None, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_elasticnet_with_alpha_zero_converges_to_ols(effective_rank, seed):
    """scikit-learn's test_enet_ols_consistency: it stopped about n times too early (8.5e-6)."""
    from sklearn.datasets import make_regression

    from linearlab import ElasticNet

    rng = np.random.RandomState(seed)
    X, y = make_regression(n_samples=300, n_features=100, effective_rank=effective_rank,
                           n_informative=50, random_state=rng)
    sw = rng.uniform(low=0.01, high=10, size=X.shape[0])
    ols = sk.LinearRegression().fit(X, y, sample_weight=sw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "with alpha=0 ... LinearRegression"
        warnings.simplefilter("error", sk_convergence_warning())
        enet = ElasticNet(alpha=0, tol=1e-15).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(enet.predict(X), ols.predict(X), rtol=1e-10)
    np.testing.assert_allclose(enet.coef_, ols.coef_, atol=1e-9)


def test_the_ols_criterion_counts_the_rows_as_scikit_learn():
    """‖Xᵀr‖² ≤ tol·‖y‖² in scikit-learn's sums is n·‖g‖² ≤ tol·yy per unit weight."""
    from linearlab.penalized.cd import duality_gap

    rng = np.random.default_rng(0)
    Q = np.cov(rng.standard_normal((5, 200)))
    q, w = rng.standard_normal(5), rng.standard_normal(5)
    per_unit = duality_gap(Q, q, 1.0, w, Q @ w, 0.0, 0.0, False)
    assert duality_gap(Q, q, 1.0, w, Q @ w, 0.0, 0.0, False, 200.0) == pytest.approx(
        200 * per_unit)


def sk_convergence_warning():
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


@pytest.mark.parametrize("make", [
    lambda: __import__("linearlab").Lasso(alpha=0.01, tol=0, max_iter=3),
    lambda: __import__("linearlab").ElasticNet(alpha=0.01, tol=0, max_iter=3),
], ids=["Lasso", "ElasticNet"])
def test_tol_zero_that_reaches_max_iter_warns_a_scikit_learn_convergence_warning(make):
    import linearlab

    X, y, _ = _data(n=200, d=30, seed=4)
    X[:, 1] = X[:, 0] + 0.01 * X[:, 1]  # correlated: not solved in three sweeps
    assert issubclass(linearlab.ConvergenceWarning, sk_convergence_warning())
    with pytest.warns(sk_convergence_warning(), match="did not converge"):
        make().fit(X, y)
    with warnings.catch_warnings():  # the filter users write for scikit-learn silences it
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", sk_convergence_warning())
        make().fit(X, y)


def test_elasticnetcv_alphas_shape_is_scikit_learn_s():
    X, y, _ = _data()
    for alphas in ([0.01, 0.1, 1.0], 7):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = ElasticNetCV(alphas=alphas, l1_ratio=[0.5, 0.7], cv=3).fit(X, y)
            theirs = sk.ElasticNetCV(alphas=alphas, l1_ratio=[0.5, 0.7], cv=3).fit(X, y)
        assert np.shape(ours.alphas_) == np.shape(theirs.alphas_)
        np.testing.assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-10)


def test_a_penalty_chosen_at_the_edge_of_its_grid_warns():
    """Issue 18: on raw-scale data LassoCV picked the smallest alpha of its grid silently."""
    from linearlab.errors import GridEdgeWarning

    X, y, _ = _data()
    noise = np.random.default_rng(5).standard_normal(len(y))  # unrelated to X: shrink all
    with pytest.warns(GridEdgeWarning, match="smallest of the 3 values"):
        LassoCV(alphas=[1.0, 2.0, 4.0], cv=3).fit(X, y)
    with pytest.warns(GridEdgeWarning, match="largest of the 3 values"):
        ElasticNetCV(alphas=[1e-8, 1e-7, 1e-6], cv=3).fit(X, noise)
    with pytest.warns(GridEdgeWarning, match="RidgeCV chose alpha=1e-06, the smallest"):
        RidgeCV(alphas=[1e-6, 1e6, 1e8]).fit(X, y)
    with pytest.warns(GridEdgeWarning, match="the largest"):
        RidgeCV(alphas=[1e-3, 1e-2, 1e-1]).fit(X, noise)
    with warnings.catch_warnings():  # inside the grid: no warning; and the class filters
        warnings.simplefilter("error")
        LassoCV(cv=3).fit(X, y)
        warnings.simplefilter("ignore", GridEdgeWarning)
        RidgeCV(alphas=[1e-6, 1e6, 1e8]).fit(X, y)
