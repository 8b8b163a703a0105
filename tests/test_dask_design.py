"""The design step on Dask collections: text and category columns, missing='drop', formulas,
score/predict through the design, penalized estimators from partition statistics."""

from __future__ import annotations

import numpy as np
import pytest

from linearlab import LinearRegression
from linearlab.errors import DataError, ParameterError
from tests.problems import mixed_table

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")


def _mixed(seed=12, n=600):
    """Numbers, a text column whose reference level ('a') first appears in the last
    partition, missing cells in X and y, weights."""
    return mixed_table(np.random.default_rng(seed), n, late=550, positive_x2=True)


@pytest.mark.parametrize("params", [{}, {"fit_intercept": False}, {"solver": "qr"}])
def test_text_columns_and_missing_drop_equal_in_memory(client, params):
    df = _mixed()
    ddf = dd.from_pandas(df, npartitions=4)
    features = ["x1", "g", "x2"]
    reference = LinearRegression(missing="drop", **params).fit(df[features], df.y,
                                                                 sample_weight=df.w)
    model = LinearRegression(missing="drop", **params).fit(ddf[features], ddf.y,
                                                             sample_weight=ddf.w)
    assert model.design_.names == reference.design_.names
    assert model.n_dropped_ == reference.n_dropped_ == 4
    assert list(model.feature_names_in_) == features
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    assert model.intercept_ == pytest.approx(reference.intercept_, abs=1e-10)
    predicted = model.predict(ddf[features]).compute()  # NaN where a feature is missing
    np.testing.assert_allclose(predicted.to_numpy(), reference.predict(df[features]),
                               atol=1e-10)
    assert np.isnan(predicted.to_numpy()[[3, 10, 77]]).all()


def test_formula_on_dask_equals_in_memory(client):
    df = _mixed(13)
    ddf = dd.from_pandas(df, npartitions=3)
    formula = "y ~ C(g) + x1:x2 + np.log(x2)"
    reference = LinearRegression.from_formula(formula, df, missing="drop")
    model = LinearRegression.from_formula(formula, ddf, missing="drop")
    assert model.design_.names == reference.design_.names
    assert model.n_dropped_ == reference.n_dropped_
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    predicted = model.predict(ddf).compute().to_numpy()
    np.testing.assert_allclose(predicted, reference.predict(df), atol=1e-10)
    with pytest.raises(ParameterError, match="stateful transforms"):
        LinearRegression.from_formula("y ~ center(x1) + g", ddf, missing="drop")
    # R² through the design on the cluster, as in memory; a model fitted in memory predicts
    assert float(model.score(ddf)) == pytest.approx(reference.score(df), abs=1e-12)
    np.testing.assert_allclose(reference.predict(ddf).compute().to_numpy(),
                               reference.predict(df), atol=1e-12)


def test_score_through_the_design_and_unseen_levels(client):
    df = _mixed(15)
    ddf = dd.from_pandas(df, npartitions=3)
    features = ["x1", "g", "x2"]
    model = LinearRegression(missing="drop").fit(ddf[features], ddf.y)
    reference = LinearRegression(missing="drop").fit(df[features], df.y)
    assert float(model.score(ddf[features], ddf.y)) == pytest.approx(
        reference.score(df[features], df.y), abs=1e-12)
    other = df.assign(g=df.g.replace({"d": "z"}))
    with pytest.raises(DataError, match="partition .*level 'z'"):
        float(model.score(dd.from_pandas(other, npartitions=3)[features],
                          dd.from_pandas(other, npartitions=3).y))


def test_missing_value_on_dask_says_where_and_missing_drop_fits(client):
    df = _mixed(14)
    ddf = dd.from_pandas(df, npartitions=3)
    with pytest.raises(DataError, match=r"partition 0 .*'x2' is missing a value .* at row 3"
                                        r".*missing='drop'"):
        LinearRegression().fit(ddf[["x1", "g", "x2"]], ddf.y)
    X = df[["x1", "x2"]].to_numpy()
    model = LinearRegression(missing="drop").fit(da.from_array(X, chunks=200),
                                                 da.from_array(df.y.to_numpy(), chunks=200))
    reference = LinearRegression(missing="drop").fit(X, df.y.to_numpy())
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-10)


@pytest.mark.parametrize("make", [
    lambda: __import__("linearlab").Lasso(alpha=0.05),
    lambda: __import__("linearlab").ElasticNet(alpha=0.05, standardize=True),
    lambda: __import__("linearlab").LassoCV(cv=4, standardize=True),
    lambda: __import__("linearlab").RidgeCV(alphas=np.logspace(-3, 3, 13)),
    lambda: __import__("linearlab").RidgeCV(alphas=np.logspace(-3, 3, 13), cv=3),
])
def test_penalized_estimators_fit_from_partition_statistics(client, make):
    from linearlab.penalized import dask as penalized

    df = _mixed(16)
    ddf = dd.from_pandas(df, npartitions=4)
    features = ["x1", "g", "x2"]
    reference = make().set_params(missing="drop").fit(df[features], df.y)
    model = penalized.fit(make().set_params(missing="drop"), ddf[features], ddf.y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
    assert model.intercept_ == pytest.approx(reference.intercept_, abs=1e-10)
    assert model.design_.names == reference.design_.names
    assert model.n_dropped_ == reference.n_dropped_ == 4
    for name in ("alpha_",):  # the grid comes from the Gram: equal up to its rounding
        if hasattr(reference, name):
            assert getattr(model, name) == pytest.approx(getattr(reference, name), rel=1e-12)
