"""LinearRegression on Dask collections, on a real ``dask.distributed`` cluster (in-process)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from linearlab import LinearRegression
from linearlab.errors import DataError, ParameterError

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def _problem(seed=0, n=3000, d=4, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(0.5, 3, d) + offset
    y = X @ np.arange(1.0, d + 1) - 2.0 + rng.normal(size=n) * (1 + np.abs(X[:, 0]))
    w = rng.uniform(0.2, 3.0, n)
    return X, y, w


def _frame(X, y, npartitions):
    columns = [f"f{j}" for j in range(X.shape[1])]
    return dd.from_pandas(pd.DataFrame(X, columns=columns).assign(target=y), npartitions)


def test_import_linearlab_does_not_import_dask():
    code = "import sys, linearlab; print(any(m.split('.')[0] == 'dask' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("chunks", [(3000,), (700, 1100, 1, 1199), (250,) * 12])
def test_exact_fit_equals_in_memory_fit_for_any_chunking(client, chunks):
    X, y, _ = _problem()
    model = LinearRegression().fit(da.from_array(X, chunks=(chunks, 2)), da.from_array(y, chunks))
    reference = LinearRegression().fit(X, y)
    assert model.solver_ == "normal"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-12)


def test_weighted_multi_output_dataframe_fit(client):
    X, y, w = _problem(1)
    Y = np.c_[y, 0.5 * y - X[:, 1]]
    columns = [f"f{j}" for j in range(X.shape[1])]
    table = pd.DataFrame(X, columns=columns).assign(target=y, second=Y[:, 1], weight=w)
    frame = dd.from_pandas(table, npartitions=5)
    features = columns
    model = LinearRegression().fit(
        frame[features], frame[["target", "second"]], sample_weight=frame["weight"]
    )
    reference = LinearRegression().fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-12)
    assert list(model.feature_names_in_) == features
    assert model.target_names_ == ["target", "second"]


def test_in_memory_target_and_weights_are_split_like_X(client):
    X, y, w = _problem(2)
    model = LinearRegression().fit(_frame(X, y, 3).drop(columns="target"), y, sample_weight=w)
    np.testing.assert_allclose(
        model.coef_, LinearRegression().fit(X, y, sample_weight=w).coef_, rtol=1e-12
    )


def test_ill_conditioned_auto_escalates_to_tsqr_with_refinement(client):
    X, y, w = _problem(3, offset=100.0)
    rng = np.random.default_rng(3)
    X[:, 1] = X[:, 0] + 1e-5 * rng.normal(size=X.shape[0])
    y = X @ np.arange(1.0, 5.0) + rng.normal(size=X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression().fit(
            da.from_array(X, chunks=500), da.from_array(y, chunks=500), sample_weight=w
        )
        reference = LinearRegression().fit(X, y, sample_weight=w)
    assert model.solver_ == "tsqr" and reference.solver_ == "qr"
    assert model.fitted_state_.solution.refined
    # refinement in double-double reaches the in-memory refined answer to the last digits
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-13)
    summary, expected = model.summary(), reference.summary()
    np.testing.assert_allclose(summary.bse, expected.bse, rtol=1e-9)


def test_svd_gives_minimum_norm_for_rank_deficient_data(client):
    X, y, _ = _problem(4)
    X = np.c_[X, X[:, 0] + X[:, 1]]
    with pytest.warns(UserWarning, match="rank-deficient"):
        model = LinearRegression().fit(da.from_array(X, chunks=800), da.from_array(y, 800))
    reference = np.linalg.lstsq(X - X.mean(0), y - y.mean(), rcond=None)[0]
    assert model.solver_ == "svd" and model.rank_ == X.shape[1] - 1
    np.testing.assert_allclose(model.coef_, reference, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "HC2", "HC3"])
def test_summary_from_distributed_statistics_equals_in_memory(client, cov_type):
    X, y, w = _problem(5)
    Xd, yd, wd = (da.from_array(v, chunks=600) for v in (X, y, w))
    model = LinearRegression().fit(Xd, yd, sample_weight=wd)
    got = model.summary(cov_type, X=Xd, y=yd, sample_weight=wd)
    expected = LinearRegression().fit(X, y, sample_weight=w).summary(cov_type, X, y, w)
    for name in ("params", "bse", "pvalues"):
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-10)
    for name in ("fvalue", "ssr", "rsquared", "llf"):
        assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-10)


def test_summary_refuses_other_data(client):
    X, y, _ = _problem(6)
    model = LinearRegression().fit(da.from_array(X, chunks=1000), da.from_array(y, chunks=1000))
    with pytest.raises(DataError, match="training data"):
        model.summary("HC1", X=da.from_array(X[:-5], 1000), y=da.from_array(y[:-5], 1000))


def test_predict_score_and_summary_predict_are_lazy_and_keep_divisions(client):
    X, y, _ = _problem(7)
    frame = _frame(X, y, 4)
    features = frame.columns[:-1].tolist()
    model = LinearRegression().fit(frame[features], frame["target"])
    reference = LinearRegression().fit(pd.DataFrame(X, columns=features), y)
    predicted = model.predict(frame[features])
    assert isinstance(predicted, dd.Series) and predicted.name == "target"
    assert predicted.divisions == frame.divisions
    np.testing.assert_allclose(predicted.compute().to_numpy(), reference.predict(
        pd.DataFrame(X, columns=features)), rtol=1e-12, atol=1e-12)
    score = model.score(frame[features], frame["target"])
    assert isinstance(score, da.Array)
    assert float(score) == pytest.approx(reference.score(pd.DataFrame(X, columns=features), y))
    interval = model.summary().predict(frame[features], interval="prediction")
    assert interval.upper.divisions == frame.divisions
    expected = reference.summary().predict(X, interval="prediction")
    np.testing.assert_allclose(
        interval.upper.compute().to_numpy(), expected.upper, rtol=1e-12, atol=1e-12
    )
    on_array = model.predict(da.from_array(X, chunks=1000))
    assert isinstance(on_array, da.Array) and on_array.chunks == ((1000, 1000, 1000),)


def test_multi_output_predict_on_frames_names_the_target_columns(client):
    X, y, _ = _problem(8)
    table = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    frame = dd.from_pandas(table.assign(target=y, other=2 * y), npartitions=3)
    features = frame.columns[:-2].tolist()
    model = LinearRegression().fit(frame[features], frame[["target", "other"]])
    predicted = model.predict(frame[features])
    assert list(predicted.columns) == ["target", "other"]
    np.testing.assert_allclose(predicted.compute().to_numpy()[:, 1], 2 * predicted.compute()[
        "target"].to_numpy(), rtol=1e-9)


def test_partial_fit_merges_statistics_from_futures(client):
    X, y, w = _problem(9)
    model = LinearRegression()
    for part in np.array_split(np.arange(X.shape[0]), 3):
        model.partial_fit(
            da.from_array(X[part], chunks=400), da.from_array(y[part], chunks=400),
            sample_weight=w[part],
        )
    reference = LinearRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    assert model.fitted_state_.gram.count == X.shape[0]


def test_bad_value_names_the_partition(client):
    X, y, _ = _problem(10)
    X[2500, 1] = np.nan
    with pytest.raises(DataError, match=r"partition 5 .*NaN at row 0"):
        LinearRegression().fit(da.from_array(X, chunks=500), da.from_array(y, chunks=500))


def test_misaligned_partitions_are_a_clear_error(client):
    X, y, _ = _problem(11)
    frame = _frame(X, y, 3)
    target = dd.from_pandas(pd.Series(y), npartitions=5).clear_divisions()
    with pytest.raises(DataError, match="partitions"):
        LinearRegression().fit(frame.drop(columns="target").clear_divisions(), target)
    with pytest.raises(ParameterError, match="torch"):
        LinearRegression(solver="gd", backend="torch").fit(
            da.from_array(X, chunks=1000), da.from_array(y, chunks=1000)
        )
