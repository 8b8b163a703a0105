"""Sparse X (scipy.sparse): every estimator fits it without densifying, as scikit-learn does.

Exact fits and ridge are compared with scikit-learn on the dense copy, penalized fits with
scikit-learn's own sparse coordinate descent; the compiled kernels (numba) with the NumPy
reference they replace.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as skl

import linearlab as ll
from linearlab.errors import DataError, ParameterError, UsageError
from linearlab.sparse import GRAM_MAX_FEATURES, is_sparse


def problem(n=600, d=25, density=0.15, targets=1, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed + 1)
    coef = rng.normal(size=(d, targets))
    Y = X @ coef + 3.0 + 0.1 * rng.normal(size=(n, targets))
    w = rng.uniform(0.5, 2.0, n)
    return X, (Y[:, 0] if targets == 1 else Y), w


def densify(X) -> np.ndarray:
    """A dense copy made here, by hand (the fixture below forbids toarray)."""
    coo = sp.coo_matrix(X)
    dense = np.zeros(X.shape)
    np.add.at(dense, (coo.row, coo.col), coo.data)
    return dense


@pytest.fixture
def no_dense_rows(monkeypatch):
    """Fail if anything makes a dense copy of an n-row sparse X (d×d products may be dense)."""
    original = sp.csr_matrix.toarray

    def toarray(self, *args, **kwargs):
        assert self.shape[0] < 100, f"densified a sparse matrix of shape {self.shape}"
        return original(self, *args, **kwargs)

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array):
        monkeypatch.setattr(cls, "toarray", toarray)
        monkeypatch.setattr(cls, "todense", toarray)


# --------------------------------------------------------------------------- LinearRegression
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array", "coo_array"])
@pytest.mark.parametrize("solver", ["auto", "normal", "lsqr"])
def test_linear_regression_formats_match_sklearn(fmt, solver, no_dense_rows):
    X, y, _ = problem()
    ref = skl.LinearRegression().fit(densify(X), y)
    Xf = getattr(sp, fmt)(X) if fmt.endswith("array") else X.asformat(fmt)
    model = ll.LinearRegression(solver=solver).fit(Xf, y)
    assert is_sparse(Xf)
    tol = 1e-12 if solver != "lsqr" else 1e-8
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=tol)
    assert abs(model.intercept_ - ref.intercept_) < tol
    assert (model.solver_ == "lsqr") == (solver == "lsqr")


@pytest.mark.parametrize("solver", ["auto", "lsqr"])
def test_weights_targets_no_intercept_and_ridge(solver):
    X, Y, w = problem(targets=2)
    dense = X.toarray()
    for alpha, fit_intercept in ((0.0, True), (2.5, True), (0.7, False)):
        ref = skl.Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(
            dense, Y, sample_weight=w)
        model = ll.LinearRegression(solver=solver, alpha=alpha,
                                    fit_intercept=fit_intercept).fit(X, Y, sample_weight=w)
        np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)
        np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=1e-8)


def test_wide_sparse_auto_is_lsqr_and_matches_sklearn(no_dense_rows):
    X, y, _ = problem(n=4000, d=GRAM_MAX_FEATURES + 100, density=0.01)
    model = ll.LinearRegression().fit(X, y)
    assert model.solver_ == "lsqr"
    ref = skl.Ridge(alpha=1e-3, solver="lsqr", tol=1e-12).fit(X, y)
    ours = ll.LinearRegression(alpha=1e-3, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8)
    with pytest.raises(UsageError, match="d×d covariance"):
        model.summary()


def test_predict_score_summary_partial_fit(no_dense_rows):
    X, y, w = problem()
    model = ll.LinearRegression().fit(X, y, sample_weight=w)
    dense = densify(X)
    ref = skl.LinearRegression().fit(dense, y, sample_weight=w)
    np.testing.assert_allclose(model.predict(X), ref.predict(dense), atol=1e-10)
    assert model.score(X, y, sample_weight=w) == pytest.approx(
        ref.score(dense, y, sample_weight=w), abs=1e-12)
    table = model.summary()
    assert table.params.shape == (X.shape[1] + 1,) and np.all(table.bse > 0)
    chunked = ll.LinearRegression()
    for start in range(0, X.shape[0], 200):
        rows = slice(start, start + 200)
        chunked.partial_fit(X[rows], y[rows], sample_weight=w[rows])
    np.testing.assert_allclose(chunked.coef_, model.coef_, atol=1e-10)


def test_dense_lsqr_matches_sparse_lsqr():
    X, y, _ = problem()
    a = ll.LinearRegression(solver="lsqr").fit(X.toarray(), y)
    b = ll.LinearRegression(solver="lsqr").fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)


# --------------------------------------------------------------------------- gradient descent
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kw", [dict(batch_size=None, epochs=50),
                                dict(batch_size=16, epochs=3, alpha=0.5),
                                dict(batch_size=200, epochs=3, loss="huber")])
def test_sparse_descent_matches_dense_loop(kw):
    X, y, w = problem(d=10)
    params = dict(solver="gd", lr=0.05, random_state=3, engine="loop") | kw
    dense = ll.LinearRegression(**params).fit(X.toarray(), y, sample_weight=w)
    sparse = ll.LinearRegression(**params).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-12)
    np.testing.assert_allclose(sparse.history_, dense.history_, rtol=1e-12)


# --------------------------------------------------------------------------- penalized
@pytest.mark.parametrize("d", [20, GRAM_MAX_FEATURES + 50])  # the Gram route, then columns
@pytest.mark.parametrize("name,kw", [("Lasso", dict(alpha=2e-3)),
                                     ("ElasticNet", dict(alpha=3e-3, l1_ratio=0.4)),
                                     ("Lasso", dict(alpha=1e-3, positive=True))])
def test_lasso_elastic_net_match_sklearn(d, name, kw, no_dense_rows):
    X, y, w = problem(n=1500, d=d, density=0.3 if d < 100 else 0.01)
    ours = getattr(ll, name)(tol=1e-12, max_iter=100_000, **kw).fit(X, y, sample_weight=w)
    ref = getattr(skl, name)(tol=1e-12, max_iter=100_000, **kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8)
    assert abs(ours.intercept_ - ref.intercept_) < 1e-8
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-7)
    if d > GRAM_MAX_FEATURES:
        with pytest.raises(UsageError, match="coordinate descent over the columns"):
            ours.summary()
    else:
        assert "Lasso" in str(ours.summary()) or "Elastic" in str(ours.summary())


def test_penalized_partial_fit_and_descent_partial_fit(no_dense_rows):
    X, y, _ = problem()
    chunked = ll.ElasticNet(alpha=1e-3, tol=1e-12)
    for start in range(0, X.shape[0], 200):
        chunked.partial_fit(X[start:start + 200], y[start:start + 200])
    whole = ll.ElasticNet(alpha=1e-3, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(chunked.coef_, whole.coef_, atol=1e-10)
    params = dict(solver="gd", batch_size=10, lr=0.05, random_state=0, engine="loop")
    sparse, dense = ll.LinearRegression(**params), ll.LinearRegression(**params)
    for start in range(0, X.shape[0], 200):
        rows = slice(start, start + 200)
        sparse.partial_fit(X[rows], y[rows])
        dense.partial_fit(densify(X[rows]), y[rows])
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-12)


def test_cv_estimators_match_dense(no_dense_rows):
    X, y, _ = problem(n=900, d=15, density=0.3)
    dense = densify(X)
    for cls, kw in ((ll.LassoCV, dict(cv=3, tol=1e-10)),
                    (ll.ElasticNetCV, dict(cv=4, l1_ratio=[0.3, 0.9], tol=1e-10)),
                    (ll.RidgeCV, dict(alphas=[0.01, 0.3, 10.0])),
                    (ll.RidgeCV, dict(alphas=[0.01, 0.3, 10.0], cv=4))):
        a, b = cls(**kw).fit(X, y), cls(**kw).fit(dense, y)
        assert a.alpha_ == pytest.approx(b.alpha_, rel=1e-12)
        np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)


def test_ridge_cv_rank_deficient_sparse_is_the_minimum_norm_limit():
    # fewer rows than columns: the Gram is singular; alpha -> 0 gives the minimum-norm fit
    X, y, _ = problem(n=40, d=60, density=0.3)
    dense = densify(X)
    centred = dense - dense.mean(axis=0)
    expected = np.linalg.pinv(centred) @ (y - y.mean())
    with pytest.warns(FutureWarning, match="'svd' mode is not supported for sparse X"):
        ll.RidgeCV(alphas=[1e-16], gcv_mode="svd").fit(X, y)
    model = ll.RidgeCV(alphas=[1e-16]).fit(X, y)
    np.testing.assert_allclose(model.coef_, expected, atol=1e-8)


def test_wide_cv_says_why_not():
    X, y, _ = problem(n=300, d=GRAM_MAX_FEATURES + 1, density=0.01)
    for model in (ll.LassoCV(), ll.RidgeCV()):
        with pytest.raises(UsageError, match="d×d statistics"):
            model.fit(X, y)


# --------------------------------------------------------------------------- kernels
def test_sparse_cd_kernel_matches_reference():
    pytest.importorskip("numba")
    from linearlab.sparse.cd import enet_sparse

    X, Y, w = problem(n=800, d=60, density=0.1, targets=2)
    for kw in (dict(alpha=1e-3, l1_ratio=1.0), dict(alpha=1e-2, l1_ratio=0.5, positive=True)):
        ref = enet_sparse(X, Y, w, tol=1e-6, compiled=False, **kw)
        fast = enet_sparse(X, Y, w, tol=1e-6, compiled=True, **kw)
        np.testing.assert_allclose(fast.coef, ref.coef, atol=1e-12)
        np.testing.assert_array_equal(fast.n_iter, ref.n_iter)


def test_without_numba_the_numpy_reference_runs(monkeypatch):
    from linearlab.descent import kernels as sgd_kernels
    from linearlab.sparse import kernels as cd_kernels

    X, y, _ = problem(n=500, d=GRAM_MAX_FEATURES + 20, density=0.01)
    params = dict(solver="gd", batch_size=1, epochs=2, lr=0.01, shuffle=False, average=False)
    compiled = ll.LinearRegression(**params).fit(X, y), ll.Lasso(alpha=1e-3).fit(X, y)
    monkeypatch.setattr(cd_kernels, "available", lambda: False)
    monkeypatch.setattr(sgd_kernels, "available", lambda: False)
    monkeypatch.setattr(sgd_kernels, "_epoch_csr", None)  # the compiled epoch must not run
    reference = ll.LinearRegression(**params).fit(X, y), ll.Lasso(alpha=1e-3).fit(X, y)
    for a, b in zip(compiled, reference, strict=True):
        np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-12)


@pytest.mark.parametrize("sparse_x", [False, True])
@pytest.mark.parametrize("kw", [dict(batch_size=1), dict(batch_size=7, alpha=0.3),
                                dict(batch_size=5, loss="sse", alpha=0.1, lr=0.002),
                                dict(batch_size=3, shuffle=False, fit_intercept=False)])
def test_sgd_kernel_matches_loop(sparse_x, kw):
    pytest.importorskip("numba")
    from linearlab.descent import kernels, loop
    from linearlab.descent.batches import BatchPlan
    from linearlab.descent.config import DescentConfig

    X, Y, w = problem(n=300, d=12, density=0.3, targets=2)
    X = X if sparse_x else X.toarray()
    for weights in (None, w):
        config = DescentConfig(lr=kw.get("lr", 0.01), loss=kw.get("loss", "mse"),
                               optimizer="sgd", epochs=4, tol=None, alpha=kw.get("alpha", 0.0),
                               fit_intercept=kw.get("fit_intercept", True))
        init = (np.full((12, 2), 0.1), np.zeros(2))
        runs = []
        for engine in ("loop", "kernel"):
            plan = BatchPlan(300, kw["batch_size"], kw.get("shuffle", True),
                             np.random.default_rng(5))
            if engine == "loop":
                runs.append(loop.train(X, Y, weights, init, plan, config, engine="loop"))
            else:
                assert kernels.kernel_path(X, Y, plan, config) is not None
                runs.append(kernels.train_kernel(X, Y, weights, init, plan, config))
        np.testing.assert_allclose(runs[1].coef, runs[0].coef, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(runs[1].intercept, runs[0].intercept, atol=1e-12)
        np.testing.assert_allclose(runs[1].history, runs[0].history, rtol=1e-12)


def test_wide_sparse_descent_with_a_given_step():
    X, y, _ = problem(n=3000, d=GRAM_MAX_FEATURES + 200, density=0.005)
    with pytest.raises(ParameterError, match="automatic step size needs"):
        ll.LinearRegression(solver="gd").fit(X, y)
    params = dict(solver="gd", batch_size=1, epochs=2, lr=0.01, shuffle=False, average=False)
    model = ll.LinearRegression(**params).fit(X, y)
    loop = ll.LinearRegression(engine="loop", **params).fit(X, y)
    np.testing.assert_allclose(model.coef_, loop.coef_, atol=1e-12)
    with pytest.raises(UsageError, match="d×d statistics"):
        model.diagnosis_  # noqa: B018 (computed when read: it needs the Gram)


def test_per_sample_sgd_is_sklearns_update_rule():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 8))
    y = X @ rng.normal(size=8) + 0.5
    ours = ll.LinearRegression(solver="gd", batch_size=1, epochs=1, lr=0.005, shuffle=False,
                               average=False).fit(X, y)
    ref = skl.SGDRegressor(max_iter=1, learning_rate="constant", eta0=0.01, penalty=None,
                           shuffle=False, tol=None).fit(X, y)  # ½(p-y)² at twice the step
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-10)
    assert abs(ours.intercept_ - ref.intercept_[0]) < 1e-10
    sparse = ll.LinearRegression(solver="gd", batch_size=1, epochs=1, lr=0.005, shuffle=False,
                                 average=False).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, ours.coef_, atol=1e-12)


# --------------------------------------------------------------------------- bad input
def test_bad_sparse_input_gets_one_paragraph():
    X, y, _ = problem()
    bad = X.copy()
    bad.data[5] = np.nan
    row = int(np.searchsorted(bad.indptr, 5, side="right") - 1)
    with pytest.raises(DataError, match=f"stored NaN at row {row}, column {bad.indices[5]}"):
        ll.LinearRegression().fit(bad, y)
    bad.data[5] = np.inf
    with pytest.raises(DataError, match="stored inf"):
        ll.Lasso().fit(bad.tocsc(), y)
    model = ll.LinearRegression().fit(X, y)
    wider = sp.hstack([X, X[:, :3]]).tocsr()
    with pytest.raises(DataError, match="has 28 columns, more than the 25"):
        model.predict(wider)
    with pytest.raises(DataError, match="more than the 25"):
        ll.Lasso().fit(X, y).predict(wider)
    with pytest.raises(ParameterError, match="solver='qr'.*does not accept sparse X"):
        ll.LinearRegression(solver="qr").fit(X, y)
    with pytest.raises(ParameterError, match="standardize=True"):
        ll.LinearRegression(solver="gd", standardize=True).fit(X, y)
    with pytest.raises(ParameterError, match="backend='torch'"):
        ll.LinearRegression(backend="torch").fit(X, y)
