"""Lasso and ElasticNet: scikit-learn's answers from coordinate descent on the Gram."""

import warnings

import numpy as np
import pytest
from sklearn import linear_model as sk
from sklearn.utils.estimator_checks import check_estimator

from linearlab import ConvergenceWarning, ElasticNet, Lasso, load
from linearlab.errors import DataError, UsageError
from linearlab.penalized import alpha_grid, enet_path, lasso_path
from linearlab.penalized.cd import enet_gram

TIGHT = {"tol": 1e-12, "max_iter": 100_000}


def _data(n=400, d=20, rho=0.0, seed=0, offset=3.0):
    rng = np.random.default_rng(seed)
    cov = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    X = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T + offset
    beta = np.zeros(d)
    beta[rng.choice(d, d // 3, replace=False)] = rng.standard_normal(d // 3) * 2
    y = X @ beta + rng.standard_normal(n) + 5.0
    w = rng.uniform(0.2, 3.0, n)
    return X, y, w


CASES = [
    pytest.param(dict(alpha=0.05), {}, id="lasso"),
    pytest.param(dict(alpha=0.02, l1_ratio=0.3), {}, id="enet"),
    pytest.param(dict(alpha=0.05, fit_intercept=False), {}, id="lasso-no-intercept"),
    pytest.param(dict(alpha=0.01, l1_ratio=0.7), {"weights": True}, id="enet-weights"),
    pytest.param(dict(alpha=0.02), {"rho": 0.95}, id="lasso-correlated"),
    pytest.param(dict(alpha=0.005, l1_ratio=0.5), {"rho": 0.99, "weights": True},
                 id="enet-correlated-weights"),
    pytest.param(dict(alpha=0.03, positive=True), {}, id="lasso-positive"),
]


@pytest.mark.parametrize(("params", "data"), CASES)
def test_equal_to_sklearn_tight(params, data):
    X, y, w = _data(rho=data.get("rho", 0.0))
    sw = w if data.get("weights") else None
    l1 = params.pop("l1_ratio", None)
    ours_cls, theirs_cls = (Lasso, sk.Lasso) if l1 is None else (ElasticNet, sk.ElasticNet)
    extra = {} if l1 is None else {"l1_ratio": l1}
    ours = ours_cls(**params, **extra, **TIGHT).fit(X, y, sample_weight=sw)
    theirs = theirs_cls(**params, **extra, **TIGHT).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-7)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=1e-7)
    assert np.array_equal(ours.coef_ == 0, theirs.coef_ == 0)


def test_default_tolerance_close_to_sklearn():
    X, y, _ = _data(seed=3)
    ours, theirs = ElasticNet(alpha=0.02).fit(X, y), sk.ElasticNet(alpha=0.02).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-3)
    assert ours.dual_gap_ <= 1e-4 * np.var(y)


def test_multi_output_fits_each_target():
    X, y, _ = _data(seed=1)
    Y = np.c_[y, -2 * y + X[:, 0]]
    ours = Lasso(alpha=0.05, **TIGHT).fit(X, Y)
    theirs = sk.Lasso(alpha=0.05, **TIGHT).fit(X, Y)
    assert ours.coef_.shape == (2, X.shape[1]) and ours.intercept_.shape == (2,)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-7)
    assert isinstance(ours.n_iter_, list) and len(ours.n_iter_) == 2


def test_partial_fit_equals_fit_and_warm_start():
    X, y, w = _data(seed=2)
    whole = ElasticNet(alpha=0.01, **TIGHT).fit(X, y, sample_weight=w)
    streamed = ElasticNet(alpha=0.01, **TIGHT)
    for part in np.array_split(np.arange(len(y)), 4):
        streamed.partial_fit(X[part], y[part], sample_weight=w[part])
    np.testing.assert_allclose(streamed.coef_, whole.coef_, atol=1e-9)
    assert streamed.intercept_ == pytest.approx(whole.intercept_, abs=1e-9)
    warm = ElasticNet(alpha=0.011, warm_start=True, **TIGHT)
    warm.coef_ = whole.coef_.copy()
    cold = ElasticNet(alpha=0.011, **TIGHT).fit(X, y, sample_weight=w)
    assert warm.fit(X, y, sample_weight=w).n_iter_ <= cold.n_iter_
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-9)
    with pytest.raises(DataError, match="target"):
        streamed.partial_fit(X[:5], np.c_[y[:5], y[:5]])


def test_random_selection_is_seeded_and_converges():
    X, y, _ = _data(seed=4)
    a = Lasso(alpha=0.05, selection="random", random_state=0, **TIGHT).fit(X, y)
    b = Lasso(alpha=0.05, selection="random", random_state=0, **TIGHT).fit(X, y)
    c = Lasso(alpha=0.05, **TIGHT).fit(X, y)
    assert np.array_equal(a.coef_, b.coef_)
    np.testing.assert_allclose(a.coef_, c.coef_, atol=1e-8)


def test_non_convergence_warns():
    X, y, _ = _data(rho=0.999, seed=5)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        Lasso(alpha=1e-5, max_iter=1, tol=1e-14).fit(X, y)


def test_gram_solver_reaches_gap_and_handles_zero_alpha():
    X, y, _ = _data(seed=6)
    Xc, yc = X - X.mean(0), y - y.mean()
    Q, q, yy = Xc.T @ Xc / len(y), Xc.T @ yc / len(y), yc @ yc / len(y)
    r = enet_gram(Q, q, yy, 0.0, 0.0, tol=1e-12)
    np.testing.assert_allclose(r.coef, np.linalg.solve(Q, q), atol=1e-8)
    assert r.converged
    big = enet_gram(Q, q, yy, 1e6, 0.0)
    assert not big.coef.any() and big.n_iter == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zero = Lasso(alpha=0.0, **TIGHT).fit(X, y)
    np.testing.assert_allclose(zero.coef_, sk.LinearRegression().fit(X, y).coef_, atol=1e-7)


def test_paths_match_sklearn():
    X, y, _ = _data(seed=7, offset=0.0)
    X = X - X.mean(0)
    y = y - y.mean()
    a_ours, c_ours, _ = lasso_path(X, y, alphas=20, tol=1e-12, max_iter=100_000)
    a_sk, c_sk, _ = sk.lasso_path(X, y, alphas=20, tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(a_ours, a_sk, rtol=1e-12)
    np.testing.assert_allclose(c_ours, c_sk, atol=1e-7)
    grid = [0.5, 0.05, 0.1]
    a_ours, c_ours, _ = enet_path(X, y, l1_ratio=0.4, alphas=grid, tol=1e-12, max_iter=10**5)
    a_sk, c_sk, _ = sk.enet_path(X, y, l1_ratio=0.4, alphas=grid, tol=1e-12, max_iter=10**5)
    np.testing.assert_allclose(a_ours, [0.5, 0.1, 0.05])
    np.testing.assert_allclose(c_ours, c_sk, atol=1e-7)
    assert ElasticNet.path is enet_path


def test_alpha_grid_first_alpha_zeroes_everything():
    X, y, w = _data(seed=8)
    from linearlab.exact.gram import Gram

    grid = alpha_grid(Gram.from_arrays(X, y, w), l1_ratio=0.5, n_alphas=7)
    assert grid.shape == (7,) and grid[-1] == pytest.approx(grid[0] * 1e-3)
    at_max = ElasticNet(alpha=grid[0] * (1 + 1e-9), l1_ratio=0.5).fit(X, y, sample_weight=w)
    below = ElasticNet(alpha=grid[0] * 0.99, l1_ratio=0.5, **TIGHT).fit(X, y, sample_weight=w)
    assert not at_max.coef_.any() and below.coef_.any()


def test_summary_has_no_p_values_and_round_trips(tmp_path):
    X, y, _ = _data(seed=9)
    model = Lasso(alpha=0.1).fit(X, y)
    summary = model.summary()
    assert summary.df_model[0] == np.count_nonzero(model.coef_)
    assert 0 < summary.rsquared[0] < 1
    text = " ".join(str(summary).split())
    assert "p-values" in text and "are not reported for penalized fits" in text
    for name in ("pvalues", "bse", "tvalues"):
        with pytest.raises(UsageError, match="penalized"):
            getattr(summary, name)
    path = tmp_path / "lasso.json"
    model.save(path)
    again = load(path)
    assert type(again) is Lasso and again.get_params() == model.get_params()
    assert np.array_equal(again.predict(X), model.predict(X))
    assert str(again.summary()).splitlines()[3:] == str(summary).splitlines()[3:]


@pytest.mark.parametrize("estimator", [Lasso(), ElasticNet()], ids=["Lasso", "ElasticNet"])
def test_check_estimator(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator)


@pytest.mark.parametrize(("cls", "params"), [
    (Lasso, dict(alpha=0.05)),
    (Lasso, dict(alpha=0.05, positive=True, fit_intercept=False)),
    (ElasticNet, dict(alpha=0.02, l1_ratio=0.4)),
])
def test_proximal_gd_reaches_the_coordinate_descent_answer(cls, params):
    X, y, w = _data(seed=10, rho=0.5)
    cd = cls(**params, **TIGHT).fit(X, y, sample_weight=w)
    gd = cls(**params, solver="gd", tol=1e-12, max_iter=20_000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(gd.coef_, cd.coef_, atol=1e-7)
    assert gd.intercept_ == pytest.approx(cd.intercept_, abs=1e-6)
    assert np.array_equal(gd.coef_ == 0, cd.coef_ == 0)  # exact zeros, from the prox step
    assert gd.converged_ and gd.diagnosis_ is None
    np.testing.assert_allclose(gd.optimum_, cd.coef_, atol=1e-9)
    assert len(gd.history_) == gd.n_iter_ and gd.params_history_.shape[0] == gd.n_iter_ + 1
    assert gd.history_[-1] <= gd.history_[0]


def test_proximal_gd_diagnoses_the_penalized_optimum():
    X, y, _ = _data(seed=11, rho=0.9)
    with pytest.warns(ConvergenceWarning, match="penalized optimum"):
        gd = ElasticNet(alpha=0.01, solver="gd", max_iter=3, tol=1e-12).fit(X, np.c_[y, -y])
    assert not gd.converged_ and "solver='cd'" in gd.diagnosis_
    assert gd.optimum_.shape == gd.coef_.shape == (2, X.shape[1])


# --------------------------------------------------------------------------- text, missing, scale
def _houses(n=500, seed=3):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"area": rng.normal(100, 30, n), "age": rng.uniform(0, 50, n),
                       "region": rng.choice(["east", "north", "west"], n)})
    df["price"] = 3 * df.area - 0.5 * df.age + 40 * (df.region == "west") + rng.normal(0, 20, n)
    return df


def _dummies(df):
    return np.column_stack([df.area, df.age, df.region == "north",
                            df.region == "west"]).astype(float)


def _penalized(name):
    from linearlab import ElasticNetCV, LassoCV, RidgeCV

    return {"Lasso": (Lasso(alpha=0.5, tol=1e-12), sk.Lasso(alpha=0.5, tol=1e-12)),
            "ElasticNet": (ElasticNet(alpha=0.5, tol=1e-12), sk.ElasticNet(alpha=0.5, tol=1e-12)),
            "LassoCV": (LassoCV(tol=1e-12), sk.LassoCV(tol=1e-12)),
            "ElasticNetCV": (ElasticNetCV(l1_ratio=[0.3, 0.8], tol=1e-12),
                             sk.ElasticNetCV(l1_ratio=[0.3, 0.8], tol=1e-12)),
            "RidgeCV": (RidgeCV(alphas=[0.1, 1.0, 10.0]), sk.RidgeCV(alphas=[0.1, 1.0, 10.0]))
            }[name]


ESTIMATORS = ["Lasso", "ElasticNet", "LassoCV", "ElasticNetCV", "RidgeCV"]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_text_columns_are_encoded_as_linear_regression_does(name):
    df = _houses()
    ours, ref = _penalized(name)
    ours.fit(df[["area", "age", "region"]], df["price"])
    ref.fit(_dummies(df), df["price"])
    assert ours.design_.names == ["area", "age", "region[T.north]", "region[T.west]"]
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.predict(df.iloc[:5][["area", "age", "region"]]),
                               ref.predict(_dummies(df.iloc[:5])), rtol=1e-6)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_missing_drop_fits_the_complete_rows(name):
    df = _houses()
    df.loc[[3, 8], "area"] = np.nan
    df.loc[11, "region"] = None
    ours, ref = _penalized(name)
    with pytest.raises(DataError, match="missing='drop'"):
        ours.fit(df[["area", "age", "region"]], df["price"])
    ours.set_params(missing="drop").fit(df[["area", "age", "region"]], df["price"])
    clean = df.dropna()
    ref.fit(_dummies(clean), clean["price"])
    assert ours.n_dropped_ == 3
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    pred = ours.predict(df[["area", "age", "region"]].iloc[:12])
    assert np.isnan(pred[[3, 8, 11]]).all() and np.isfinite(np.delete(pred, [3, 8, 11])).all()


@pytest.mark.parametrize("name", ESTIMATORS)
def test_standardize_penalizes_standardized_columns_reports_original_scale(name, tmp_path):
    from sklearn.preprocessing import StandardScaler

    df = _houses()
    X = _dummies(df)
    ours, ref = _penalized(name)
    ours.set_params(standardize=True).fit(X, df["price"])
    scaler = StandardScaler().fit(X)
    ref.fit(scaler.transform(X), df["price"])
    coef = ref.coef_ / scaler.scale_
    np.testing.assert_allclose(ours.coef_, coef, rtol=1e-6, atol=1e-8)
    assert ours.intercept_ == pytest.approx(ref.intercept_ - coef @ scaler.mean_, rel=1e-6)
    np.testing.assert_allclose(ours.predict(X), ref.predict(scaler.transform(X)), rtol=1e-7)
    if hasattr(ref, "alpha_"):
        assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-10)
    ours.save(tmp_path / "m.json")  # the statistics are the original columns'
    again = load(tmp_path / "m.json")
    np.testing.assert_allclose(again.predict(X), ours.predict(X), rtol=1e-12)
    summary = again.summary()
    assert summary.rsquared == pytest.approx(ours.score(X, df["price"]), rel=1e-9)


def test_standardized_path_and_refusals():
    from scipy import sparse

    df = _houses()
    X = _dummies(df)
    model = Lasso(alpha=0.5, standardize=True).fit(X, df["price"])
    alphas, coefs, chosen = model.regularization_path(40)
    assert chosen == 0.5 and coefs.shape == (1, 4, 40)
    np.testing.assert_allclose(model.column_scales(), X.std(axis=0), rtol=1e-12)
    with pytest.raises(Exception, match="partial_fit never sees"):
        Lasso(alpha=0.5, standardize=True).partial_fit(X[:200], df["price"][:200]) \
            .partial_fit(X[200:], df["price"][200:])
    with pytest.raises(Exception, match="making it dense"):
        Lasso(alpha=0.5, standardize=True).fit(sparse.csr_matrix(X), df["price"])
    with pytest.raises(Exception, match="solver='cd'"):
        Lasso(alpha=0.5, standardize=True, solver="gd").fit(X, df["price"])


def test_text_and_missing_drop_survive_the_model_file(tmp_path):
    from linearlab import LassoCV

    df = _houses()
    df.loc[4, "area"] = np.nan
    model = LassoCV(missing="drop").fit(df[["area", "age", "region"]], df["price"])
    model.save(tmp_path / "m.json")
    again = load(tmp_path / "m.json")
    assert again.design_.names == model.design_.names and again.missing == "drop"
    np.testing.assert_allclose(again.predict(df[["area", "age", "region"]]),
                               model.predict(df[["area", "age", "region"]]), equal_nan=True)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_from_formula_fits_the_smf_design_with_the_penalty(name, tmp_path):
    pytest.importorskip("formulaic")
    smf = pytest.importorskip("statsmodels.formula.api")
    df = _houses()
    df.loc[[6, 9], "age"] = np.nan
    formula = "price ~ area + np.log(age + 1) + C(region) + area:age"
    ours, ref = _penalized(name)
    params = {k: v for k, v in ours.get_params().items() if k != "fit_intercept"}
    model = type(ours).from_formula(formula, df, **{**params, "missing": "drop",
                                                    "standardize": True})
    design = smf.ols(formula, df, missing="drop")
    assert model.design_.names == design.exog_names[1:] and model.n_dropped_ == 2
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(design.exog[:, 1:])
    ref.fit(scaler.transform(design.exog[:, 1:]), design.endog)
    np.testing.assert_allclose(model.coef_, ref.coef_ / scaler.scale_, rtol=1e-6, atol=1e-8)
    pred = model.predict(df.iloc[:10])
    assert np.isnan(pred[[6, 9]]).all()
    model.save(tmp_path / "f.json")
    np.testing.assert_allclose(load(tmp_path / "f.json").predict(df), model.predict(df),
                               equal_nan=True, rtol=1e-12)
    with pytest.raises(Exception, match="takes the intercept from the formula"):
        type(ours).from_formula(formula, df, fit_intercept=False)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_dask_collections_are_fitted_on_the_cluster(name):
    dd = pytest.importorskip("dask.dataframe")
    dask = pytest.importorskip("dask")
    df = _houses()
    df.loc[[3, 8], "area"] = np.nan
    ours, _ = _penalized(name)
    ours.set_params(missing="drop", standardize=True)
    memory = type(ours)(**ours.get_params()).fit(df[["area", "age", "region"]], df["price"])
    ddf = dd.from_pandas(df, npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        ours.fit(ddf[["area", "age", "region"]], ddf["price"])
    assert ours.design_.names == memory.design_.names and ours.n_dropped_ == 2
    np.testing.assert_allclose(ours.coef_, memory.coef_, rtol=1e-8, atol=1e-10)
