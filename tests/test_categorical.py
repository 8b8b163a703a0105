"""Categorical columns without a formula: one-hot encoding as statsmodels' formulas name it."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
smf = pytest.importorskip("statsmodels.formula.api")

from linearlab import LinearRegression, load  # noqa: E402
from linearlab.data.categorical import CategoricalDesign  # noqa: E402
from linearlab.errors import DataError, ModelFileError  # noqa: E402


def _frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x": rng.normal(size=n),
        "city": rng.choice(["rome", "oslo", "paris"], n),
        "size": pd.Categorical(rng.choice(["small", "big"], n), categories=["small", "big"]),
    })
    y = 2 * df.x + (df.city == "rome") - (df["size"] == "big") + rng.normal(size=n)
    return df, pd.Series(y, name="y")


def test_encoding_names_and_levels():
    df, y = _frame()
    model = LinearRegression().fit(df, y)
    assert list(model.feature_names_in_) == ["x", "city", "size"]
    assert model.n_features_in_ == 3
    assert model.design_.names == ["x", "city[T.paris]", "city[T.rome]", "size[T.big]"]
    assert model.design_.levels == {"city": ["oslo", "paris", "rome"], "size": ["small", "big"]}
    assert model.coef_.shape == (4,)


def test_same_numbers_as_the_formula_api():
    df, y = _frame()
    ref = smf.ols("y ~ x + city + size", df.assign(y=y)).fit()
    s = LinearRegression().fit(df, y).summary()
    order = ["const", "x", "city[T.paris]", "city[T.rome]", "size[T.big]"]
    assert s.names == order
    ref_params = ref.params.rename({"Intercept": "const"})[order]
    np.testing.assert_allclose(s.params, ref_params.values, rtol=1e-10)
    np.testing.assert_allclose(s.bse, ref.bse.rename({"Intercept": "const"})[order].values,
                               rtol=1e-8)


def test_without_intercept_first_categorical_keeps_every_level():
    df, y = _frame()
    model = LinearRegression(fit_intercept=False).fit(df, y)
    assert model.design_.names == ["x", "city[oslo]", "city[paris]", "city[rome]", "size[T.big]"]
    ref = smf.ols("y ~ city + x + size - 1", df.assign(y=y)).fit()
    assert model.coef_[1] == pytest.approx(ref.params["city[oslo]"], rel=1e-10)
    assert model.summary().rsquared == pytest.approx(ref.rsquared, rel=1e-10)


def test_predict_applies_levels_and_refuses_unseen_ones():
    df, y = _frame()
    model = LinearRegression().fit(df, y)
    new = df.iloc[:3].copy()
    expected = model.design_.transform(new) @ model.coef_ + model.intercept_
    np.testing.assert_allclose(model.predict(new), expected)
    new.loc[new.index[1], "city"] = "lima"
    with pytest.raises(DataError, match=r"'city'.*'lima' at row 1"):
        model.predict(new)


def test_object_array_with_names_from_the_command_line():
    X = np.array([[1.0, "a"], [2.0, "b"], [3.0, "a"], [4.0, "c"], [5.0, "b"]], dtype=object)
    design = CategoricalDesign.detect(X, ["v", "grp"])
    assert design.names == ["v", "grp[T.b]", "grp[T.c]"]
    np.testing.assert_array_equal(design.transform(X)[:, 1:], [[0, 0], [1, 0], [0, 0], [0, 1],
                                                              [1, 0]])


def test_text_in_a_numeric_column_is_located():
    X = np.array([[1.0, "a"], ["oops", "b"], [3.0, "a"]], dtype=object)
    with pytest.raises(DataError, match="row 1"):
        LinearRegression().fit(X, [1.0, 2.0, 3.0])


def test_model_file_keeps_levels(tmp_path):
    df, y = _frame()
    model = LinearRegression().fit(df, y)
    path = tmp_path / "m.json"
    model.save(path)
    loaded = load(path)
    assert loaded.design_.levels == model.design_.levels
    assert list(loaded.feature_names_in_) == ["x", "city", "size"]
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    with pytest.raises(ModelFileError):
        CategoricalDesign.from_dict({"kind": "categorical", "input_names": ["a"],
                                     "levels": {"b": ["x"]}})


def test_numeric_frames_are_unchanged():
    df, y = _frame()
    model = LinearRegression().fit(df[["x"]], y)
    assert model.design_ is None
    assert model.n_features_in_ == 1


def test_implicit_constant_counts_as_statsmodels_k_constant():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(40) * 2.0, rng.normal(size=40)])
    y = 1 + X[:, 1] + rng.normal(size=40)
    ref = sm.OLS(y, X).fit()
    s = LinearRegression(fit_intercept=False).fit(X, y).summary()
    assert ref.k_constant == 1 and s.k_constant == 1
    for name in ("rsquared", "rsquared_adj", "fvalue", "df_model", "aic"):
        assert getattr(s, name) == pytest.approx(getattr(ref, name), rel=1e-10)
    plain = sm.OLS(y, X[:, 1:]).fit()
    s1 = LinearRegression(fit_intercept=False).fit(X[:, 1:], y).summary()
    assert s1.k_constant == 0 and s1.rsquared == pytest.approx(plain.rsquared, rel=1e-10)


def test_partial_fit_takes_levels_from_the_first_chunk():
    df, y = _frame(90)
    full = LinearRegression().fit(df, y)
    cats = df.assign(city=pd.Categorical(df.city, categories=["oslo", "paris", "rome"]))
    chunked = LinearRegression()
    for start in range(0, 90, 30):
        chunked.partial_fit(cats.iloc[start:start + 30], y.iloc[start:start + 30])
    np.testing.assert_allclose(chunked.coef_, full.coef_, rtol=1e-10)
    first = df[df.city != "rome"].iloc[:20]
    model = LinearRegression().partial_fit(first, y.loc[first.index])
    with pytest.raises(DataError, match="'rome'"):
        model.partial_fit(df, y)


def test_fit_feature_names_name_an_unnamed_arrays_columns():
    import warnings

    df, y = _frame(60)
    df = df[["x", "city"]]
    X = df.to_numpy(dtype=object)  # the same table without its names
    model = LinearRegression().fit(X, y.to_numpy(), feature_names=list(df.columns))
    reference = LinearRegression().fit(df, y)
    assert model.design_.names == reference.design_.names  # "city[T.paris]", not "x1[T.paris]"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    assert model.feature_names_ == list(df.columns)
    assert not hasattr(model, "feature_names_in_")  # X had no names: arrays predict silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X[:3])
    X[4, 0] = np.nan
    with pytest.raises(DataError, match=f"column '{df.columns[0]}'"):
        LinearRegression().fit(X, y.to_numpy(), feature_names=list(df.columns))
