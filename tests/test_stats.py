"""LinearRegression.summary() against statsmodels' OLS/WLS (and HC0-HC3), field by field."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sm = pytest.importorskip("statsmodels.api")

from linearlab import ConditioningWarning, LinearRegression  # noqa: E402
from linearlab.errors import DataError, ParameterError  # noqa: E402

RTOL = 1e-8
SCALARS = ["rsquared", "rsquared_adj", "fvalue", "llf", "aic", "bic", "df_model", "df_resid",
           "ssr", "scale"]
ARRAYS = ["params", "bse", "tvalues"]


def _dataset(name):
    if name == "longley":
        d = sm.datasets.longley.load_pandas()
        return d.exog, d.endog
    if name == "stackloss":
        d = sm.datasets.stackloss.load_pandas()
        return d.exog, d.endog
    if name == "macrodata":
        data = sm.datasets.macrodata.load_pandas().data
        return data[["realcons", "realinv", "realgovt", "unemp", "infl"]], data["realgdp"]
    if name == "fair":
        data = sm.datasets.fair.load_pandas().data
        return data.drop(columns="affairs"), data["affairs"]
    if name == "cpunish":
        d = sm.datasets.cpunish.load_pandas()
        return d.exog, d.endog
    if name == "polynomial":  # condition number 6e6: auto takes the refined QR path
        x = np.arange(21.0)
        X = pd.DataFrame({f"x^{k}": x**k for k in range(1, 6)})
        rng = np.random.default_rng(8)
        return X, pd.Series(1 + x + x**2 + x**3 + x**4 + x**5 + 100 * rng.standard_normal(21),
                            name="y")
    if name == "synthetic":
        rng = np.random.default_rng(0)
        X = pd.DataFrame(rng.standard_normal((150, 4)) * [1, 3, 0.5, 10] + [0, 5, -2, 100],
                         columns=["a", "b", "c", "d"])
        y = pd.Series(X.to_numpy() @ [1.0, -0.5, 2.0, 0.01] + 3 + rng.standard_normal(150),
                      name="target")
        return X, y
    raise KeyError(name)


DATASETS = ["longley", "stackloss", "macrodata", "fair", "cpunish", "synthetic", "polynomial"]


def _weights(n, seed=1):
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


class _Arrays:
    """A summary's per-parameter values as arrays (named data gives pandas objects)."""

    def __init__(self, summary):
        self._summary = summary

    def __getattr__(self, name):
        value = getattr(self._summary, name)
        if name in ("params", "bse", "tvalues", "pvalues"):
            return np.asarray(value, dtype=float)
        if name == "conf_int":
            return lambda *a, **k: np.asarray(value(*a, **k), dtype=float)
        return value


def _statsmodels(X, y, fit_intercept, w=None, cov_type="nonrobust"):
    exog = sm.add_constant(X, has_constant="add") if fit_intercept else X
    model = sm.OLS(y, exog) if w is None else sm.WLS(y, exog, weights=w)
    return model.fit(cov_type=cov_type)


def _assert_matches(ours, ref, rtol=RTOL):
    if hasattr(ours.params, "index") and hasattr(ref.params, "index"):  # named data: pandas
        for name in ARRAYS:
            assert list(getattr(ours, name).index) == list(getattr(ref, name).index), name
        assert list(ours.conf_int().index) == list(ref.conf_int().index)
    ours = _Arrays(ours)
    for name in ARRAYS:
        np.testing.assert_allclose(getattr(ours, name), np.asarray(getattr(ref, name)),
                                   rtol=rtol, atol=0, err_msg=name)
    for name in SCALARS:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=rtol, atol=0,
                                   err_msg=name)
    # A tail probability amplifies relative differences of its statistic: d log p / d log t is
    # about t² (and F·df for the F test), so p-values are held to what rtol on t and F implies.
    t = np.nan_to_num(np.asarray(ours.tvalues), nan=0.0)
    p_tol = rtol * np.maximum(1.0, t**2) * np.abs(ours.pvalues)
    np.testing.assert_array_less(np.abs(ours.pvalues - np.asarray(ref.pvalues)), p_tol + 1e-300,
                                 err_msg="pvalues")
    f_tol = rtol * max(1.0, ours.fvalue * ours.df_model) * ours.f_pvalue
    assert abs(ours.f_pvalue - ref.f_pvalue) <= f_tol + 1e-300, "f_pvalue"
    # an end point params ± q·bse near zero cancels: compare relative to the terms' size
    size = np.repeat((np.abs(ours.params) + 3 * ours.bse)[:, None], 2, axis=1)
    for alpha in (0.05, 0.1):
        np.testing.assert_array_less(
            np.abs(ours.conf_int(alpha) - np.asarray(ref.conf_int(alpha))), rtol * size + 1e-300,
            err_msg=f"conf_int({alpha})",
        )
    # statsmodels' own condition number carries ~cond·ε relative error
    np.testing.assert_allclose(ours.condition_number, ref.condition_number,
                               rtol=max(rtol, 1e-15 * ref.condition_number))
    assert ours.nobs == ref.nobs


def _fit(X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        return LinearRegression(**kwargs).fit(X, y, sample_weight=kwargs.pop("w", None))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ols_matches_statsmodels(name, fit_intercept):
    X, y = _dataset(name)
    model = _fit(X, y, fit_intercept=fit_intercept)
    _assert_matches(model.summary(), _statsmodels(X, y, fit_intercept))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_wls_matches_statsmodels(name, fit_intercept):
    X, y = _dataset(name)
    w = _weights(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        model = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    _assert_matches(model.summary(), _statsmodels(X, y, fit_intercept, w))


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
@pytest.mark.parametrize("name", ["longley", "stackloss", "fair", "synthetic", "polynomial"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_robust_covariances_match_statsmodels(cov_type, name, fit_intercept):
    X, y = _dataset(name)
    model = _fit(X, y, fit_intercept=fit_intercept)
    ours = model.summary(cov_type=cov_type, X=X, y=y)
    ref = _statsmodels(X, y, fit_intercept, cov_type=cov_type)
    assert ours.cov_type == cov_type and not ours.use_t
    _assert_matches(ours, ref)


@pytest.mark.parametrize("name", ["longley", "polynomial"])
def test_robust_f_statistic_against_mpmath(name):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    X, y = _dataset(name)
    A = mp.matrix([[1] + [mp.mpf(float(v)) for v in row] for row in X.to_numpy()])
    Y = mp.matrix([mp.mpf(float(v)) for v in y])
    C = mp.inverse(A.T * A)
    b = C * (A.T * Y)
    r = Y - A * b
    p = A.cols
    meat = mp.matrix(p, p)
    for i in range(A.rows):
        for a in range(p):
            for c in range(p):
                meat[a, c] += A[i, a] * A[i, c] * r[i] ** 2
    V = C * meat * C
    Vb = mp.matrix([[V[i, j] for j in range(1, p)] for i in range(1, p)])
    bb = mp.matrix([b[i] for i in range(1, p)])
    F = float((bb.T * mp.inverse(Vb) * bb)[0] / (p - 1))
    ours = _fit(X, y).summary("HC0", X=X, y=y)
    assert ours.fvalue == pytest.approx(F, rel=1e-10)
    np.testing.assert_allclose(ours.bse, [float(mp.sqrt(V[i, i])) for i in range(p)], rtol=1e-10)


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
@pytest.mark.parametrize("name", ["stackloss", "synthetic", "polynomial"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_weighted_robust_covariances_match_statsmodels(cov_type, name, fit_intercept):
    X, y = _dataset(name)
    w = _weights(len(y), seed=7)
    model = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    ours = model.summary(cov_type=cov_type, X=X, y=y, sample_weight=w)
    _assert_matches(ours, _statsmodels(X, y, fit_intercept, w, cov_type=cov_type))


@pytest.mark.parametrize("solver", ["normal", "qr", "svd", "auto"])
def test_every_exact_solver_gives_the_same_summary(solver):
    X, y = _dataset("synthetic")
    _assert_matches(_fit(X, y, solver=solver).summary(), _statsmodels(X, y, True))


@pytest.mark.parametrize("interval", ["confidence", "prediction"])
@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1"])
def test_intervals_match_statsmodels_get_prediction(interval, cov_type):
    X, y = _dataset("stackloss")
    new = X.iloc[:7] * 1.05
    ours = LinearRegression().fit(X, y).summary(cov_type, X=X, y=y)
    ref = _statsmodels(X, y, True, cov_type=cov_type)
    frame = ref.get_prediction(sm.add_constant(new, has_constant="add")).summary_frame(0.1)
    pred = ours.predict(new, interval=interval, alpha=0.1)
    key = "mean_ci" if interval == "confidence" else "obs_ci"
    np.testing.assert_allclose(pred.mean, frame["mean"], rtol=RTOL)
    np.testing.assert_allclose(pred.lower, frame[f"{key}_lower"], rtol=RTOL)
    np.testing.assert_allclose(pred.upper, frame[f"{key}_upper"], rtol=RTOL)
    np.testing.assert_allclose(ours.predict(new), frame["mean"], rtol=RTOL)


def test_streamed_fit_has_the_same_nonrobust_statistics():
    X, y = _dataset("macrodata")
    model = LinearRegression()
    for chunk in np.array_split(np.arange(len(y)), 5):
        model.partial_fit(X.iloc[chunk], y.iloc[chunk])
    _assert_matches(model.summary(), _statsmodels(X, y, True))


def test_streamed_weighted_fit_has_the_wls_log_likelihood():
    X, y = _dataset("stackloss")
    w = _weights(len(y), seed=3)
    model = LinearRegression()
    for chunk in np.array_split(np.arange(len(y)), 3):
        model.partial_fit(X.iloc[chunk], y.iloc[chunk], sample_weight=w[chunk])
    _assert_matches(model.summary(), _statsmodels(X, y, True, w))


def test_multi_output_gives_one_summary_per_target():
    X, _ = _dataset("synthetic")
    rng = np.random.default_rng(3)
    Y = pd.DataFrame(X.to_numpy() @ rng.standard_normal((4, 3)) + rng.standard_normal((150, 3)),
                     columns=["u", "v", "w"])
    summaries = LinearRegression().fit(X, Y).summary("HC2", X=X, y=Y)
    assert len(summaries) == 3
    for t, name in enumerate(["u", "v", "w"]):
        assert summaries[name] is summaries[t]
        assert summaries[t].target_name == name
        _assert_matches(summaries[t], _statsmodels(X, Y[name], True, cov_type="HC2"))
    assert "Dep. Variable:" in str(summaries) and str(summaries).count("OLS Regression") == 3
    assert [d["target"] for d in summaries.to_dict()["targets"]] == ["u", "v", "w"]
    with pytest.raises(KeyError, match="no target named"):
        summaries["nope"]


def test_table_is_laid_out_like_statsmodels():
    X, y = _dataset("longley")
    text = str(_fit(X, y).summary())
    lines = text.splitlines()
    assert lines[0].strip() == "OLS Regression Results"
    assert "Dep. Variable:" in lines[2] and "TOTEMP" in lines[2] and "R-squared:" in lines[2]
    for label in ["Adj. R-squared:", "F-statistic:", "Prob (F-statistic):", "Log-Likelihood:",
                  "AIC:", "BIC:", "No. Observations:", "Df Residuals:", "Df Model:",
                  "Covariance Type:", "Cond. No.", "P>|t|", "[0.025", "0.975]"]:
        assert label in text, label
    for name in ["const", "GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]:
        assert any(line.startswith(name + " ") for line in lines), name
    row = next(line for line in lines if line.startswith("YEAR "))
    assert "1829.1515" in row and "455.478" in row  # statsmodels prints the same
    assert "0.995" in lines[2] and "330.3" in text and "-109.62" in text
    assert max(len(line) for line in lines) <= 80


def test_weighted_and_uncentered_labels():
    X, y = _dataset("stackloss")
    text = str(LinearRegression(fit_intercept=False).fit(X, y, sample_weight=_weights(21))
               .summary())
    assert "WLS Regression Results" in text and "R-squared (uncentered):" in text


def test_to_dict_is_json_ready():
    X, y = _dataset("stackloss")
    summary = LinearRegression().fit(X, y).summary()
    data = json.loads(json.dumps(summary.to_dict(), allow_nan=False))
    assert data["target"] == "STACKLOSS" and data["cov_type"] == "nonrobust"
    assert [c["name"] for c in data["coefficients"]] == ["const", "AIRFLOW", "WATERTEMP",
                                                         "ACIDCONC"]
    assert data["coefficients"][1]["coef"] == pytest.approx(summary.params["AIRFLOW"],
                                                             rel=1e-15)
    assert data["rsquared"] == pytest.approx(summary.rsquared)


def test_gradient_descent_model_is_summarised_at_its_parameters():
    X, y = _dataset("synthetic")
    Xs = (X - X.mean()) / X.std()
    gd = LinearRegression(solver="gd", epochs=3000).fit(Xs, y)
    ref = _statsmodels(Xs, y, True)
    np.testing.assert_allclose(gd.summary().params, ref.params, rtol=1e-6)
    np.testing.assert_allclose(gd.summary().bse, ref.bse, rtol=1e-8)  # bse: from the Gram


def test_aliased_columns_are_na_like_r():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 60))
    X = pd.DataFrame({"a": a, "b": b, "a_plus_b": a + b, "two_a": 2 * a,
                      "c": rng.standard_normal(60)})
    y = 1 + 2 * a - b + 0.5 * X["c"] + 0.1 * rng.standard_normal(60)
    with pytest.warns(ConditioningWarning, match="rank-deficient"):
        model = LinearRegression().fit(X, y)
    summary = model.summary()
    assert summary.aliased == ["a_plus_b", "two_a"]
    aliased = ["a_plus_b", "two_a"]
    assert summary.params[aliased].isna().all() and summary.bse[aliased].isna().all()
    reduced = _statsmodels(X[["a", "b", "c"]], y, True)
    keep = ["const", "a", "b", "c"]
    for name in ["params", "bse", "tvalues", "pvalues"]:
        np.testing.assert_allclose(getattr(summary, name)[keep], getattr(reduced, name),
                                   rtol=1e-8)
    for name in ["rsquared", "ssr", "df_model", "df_resid", "fvalue", "llf", "aic"]:
        np.testing.assert_allclose(getattr(summary, name), getattr(reduced, name), rtol=1e-8)
    text = str(summary)
    row = next(line for line in text.splitlines() if line.startswith("two_a "))
    assert row.split()[1:] == ["NA"] * 6
    assert "not defined because of singularities" in text
    # same fitted values as the minimum-norm coefficients
    np.testing.assert_allclose(summary.predict(X), model.predict(X), rtol=1e-9)
    hc = model.summary("HC3", X=X, y=y)
    ref_hc = _statsmodels(X[["a", "b", "c"]], y, True, cov_type="HC3")
    np.testing.assert_allclose(hc.bse[keep], ref_hc.bse, rtol=1e-8)


def test_constant_column_is_aliased_with_the_intercept():
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.standard_normal(40), np.full(40, 3.0)])
    y = X[:, 0] + rng.standard_normal(40)
    with pytest.warns(ConditioningWarning):
        summary = LinearRegression().fit(X, y).summary()
    assert summary.aliased == ["x2"] and summary.names == ["const", "x1", "x2"]
    np.testing.assert_allclose(summary.params[:2], _statsmodels(X[:, :1], y, True).params)


def test_robust_without_data_explains_what_to_pass():
    X, y = _dataset("stackloss")
    model = LinearRegression().fit(X, y)
    with pytest.raises(ParameterError, match=r"pass the training data.*X=X, y=y"):
        model.summary(cov_type="HC1")
    with pytest.raises(ParameterError, match="cov_type='HC4' is not supported"):
        model.summary(cov_type="HC4")


def test_other_data_than_the_training_data_is_rejected():
    X, y = _dataset("stackloss")
    model = LinearRegression().fit(X, y)
    with pytest.raises(DataError, match="not the data the model was fitted on"):
        model.summary("HC0", X=X * 2, y=y)
    with pytest.raises(DataError, match="rows"):
        model.summary("HC0", X=X.iloc[:10], y=y.iloc[:10])
    with pytest.raises(DataError, match="both X and y"):
        model.summary(X=X)


def test_ridge_and_unfitted_models_have_no_summary():
    X, y = _dataset("stackloss")
    with pytest.raises(ParameterError, match="alpha=0"):
        LinearRegression(alpha=1.0).fit(X, y).summary()
    with pytest.raises(Exception, match="not fitted"):
        LinearRegression().summary()


def test_bad_interval_arguments():
    X, y = _dataset("stackloss")
    summary = LinearRegression().fit(X, y).summary()
    with pytest.raises(ParameterError, match="interval"):
        summary.predict(X, interval="credible")
    with pytest.raises(ParameterError, match="alpha"):
        summary.conf_int(alpha=1.5)
    with pytest.raises(DataError, match="features"):
        summary.predict(np.ones((2, 5)))


@pytest.mark.parametrize("stream", [False, True])
def test_summary_of_a_file_fitted_in_memory_or_streamed(tmp_path, stream):
    from linearlab.data import sources as io
    from linearlab.pipeline import streaming

    X, y = _dataset("longley")
    path = tmp_path / "longley.csv"
    pd.concat([X, y], axis=1).to_csv(path, index=False)
    model = LinearRegression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        streaming.fit_source(model, io.open_source(str(path)), list(X.columns), ["TOTEMP"],
                             stream=stream)
    summary = model.summary()
    assert summary.target_name == "TOTEMP" and not summary.weighted
    _assert_matches(summary, _statsmodels(X, y, True))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), chunks=st.integers(1, 6), weighted=st.booleans(),
       fit_intercept=st.booleans())
def test_summary_does_not_depend_on_how_the_rows_arrived(seed, chunks, weighted, fit_intercept):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(30, 120)), int(rng.integers(1, 5))
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-50, 50, d)
    y = X @ rng.standard_normal(d) + rng.standard_normal(n)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    whole = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w).summary()
    streamed = LinearRegression(fit_intercept=fit_intercept)
    for part in np.array_split(np.arange(n), chunks):
        streamed.partial_fit(X[part], y[part], sample_weight=None if w is None else w[part])
    _assert_matches(streamed.summary(), whole, rtol=1e-7)


def test_cli_fit_summary_table_and_json(capsys, tmp_path):
    from linearlab.cli.main import main

    assert main(["fit", "salary", "--summary"]) == 0
    out = capsys.readouterr().out
    assert "OLS Regression Results" in out and "experience" in out and "P>|t|" in out
    assert main(["fit", "salary", "--summary", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    names = [c["name"] for c in payload["summary"]["coefficients"]]
    assert names == ["const", "experience"] and payload["summary"]["nobs"] == 7
    model_file = tmp_path / "m.json"
    # ridge has no OLS summary: the model is still saved, and a one-line note says why
    assert main(["fit", "salary", "--summary", "--alpha", "1", "-o", str(model_file)]) == 0
    assert "refit with --alpha 0 for a summary" in capsys.readouterr().out
    assert model_file.exists()


# --------------------------------------------------------------------------- named data
def _formula_frame(n=240, seed=11):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.uniform(1, 3, n),
                       "g": rng.choice(["a", "b", "c"], n)})
    df["y"] = 2 * df.x + (df.g == "b") + np.log(df.z) + rng.normal(size=n) * (1 + df.z)
    return df


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC3"])
def test_formula_summary_is_pandas_and_robust_like_smf_ols(cov_type):
    smf = pytest.importorskip("statsmodels.formula.api")
    pytest.importorskip("formulaic")
    df = _formula_frame()
    formula = "y ~ x + C(g) + np.log(z)"
    model = LinearRegression.from_formula(formula, df)
    ours = (model.summary() if cov_type == "nonrobust"
            else model.summary(cov_type=cov_type, X=df))  # y from the formula
    ref = smf.ols(formula, df).fit(cov_type=cov_type)
    assert isinstance(ours.params, pd.Series) and isinstance(ours.conf_int(), pd.DataFrame)
    assert ours.params["x"] == pytest.approx(ref.params["x"], rel=1e-10)
    _assert_matches(ours, ref, rtol=1e-8)  # also checks the indexes equal statsmodels'
    np.testing.assert_allclose(ours.conf_int(0.1).loc["C(g)[T.b]"],
                               ref.conf_int(0.1).loc["C(g)[T.b]"], rtol=1e-8)
    assert list(ours.cov_params().columns) == list(ref.params.index)


def test_robust_summary_of_a_formula_with_missing_drop():
    smf = pytest.importorskip("statsmodels.formula.api")
    pytest.importorskip("formulaic")
    df = _formula_frame()
    df.loc[[3, 50], "x"] = np.nan
    df.loc[7, "g"] = None
    model = LinearRegression.from_formula("y ~ x + C(g)", df, missing="drop")
    ours = model.summary(cov_type="HC3", X=df)
    ref = smf.ols("y ~ x + C(g)", df, missing="drop").fit(cov_type="HC3")
    np.testing.assert_allclose(ours.bse, ref.bse[ours.bse.index], rtol=1e-8)


def test_formula_summary_errors_say_what_to_pass():
    pytest.importorskip("formulaic")
    df = _formula_frame()
    model = LinearRegression.from_formula("y ~ x + C(g)", df)
    with pytest.raises(ParameterError, match=r"X=data\) \(the formula reads y"):
        model.summary(cov_type="HC3")
    with pytest.raises(DataError, match="pass the training table alone"):
        model.summary(cov_type="HC3", X=df, y=df["y"])


def test_dataframe_and_file_fits_give_series_arrays_stay_arrays(tmp_path):
    from linearlab import load
    from linearlab.cli import main

    df = _formula_frame()
    named = LinearRegression().fit(df[["x", "z"]], df["y"]).summary()
    assert list(named.params.index) == ["const", "x", "z"] and named.bse["z"] > 0
    assert list(named.conf_int().index) == ["const", "x", "z"]
    plain = LinearRegression().fit(df[["x", "z"]].to_numpy(), df["y"].to_numpy()).summary()
    assert type(plain.params) is np.ndarray and type(plain.conf_int()) is np.ndarray
    np.testing.assert_allclose(plain.bse, named.bse.to_numpy(), rtol=1e-13)
    df.to_csv(tmp_path / "d.csv", index=False)
    assert main(["fit", str(tmp_path / "d.csv"), "-x", "x,g", "-o", str(tmp_path / "m.json"),
                 "--json"]) == 0
    from_file = load(tmp_path / "m.json").summary()
    assert list(from_file.params.index) == ["const", "x", "g[T.b]", "g[T.c]"]


def test_robust_summary_of_text_columns_with_missing_drop_like_statsmodels():
    smf = pytest.importorskip("statsmodels.formula.api")
    df = _formula_frame()
    df.loc[[2, 30], "x"] = np.nan
    df.loc[9, "g"] = None
    model = LinearRegression(missing="drop").fit(df[["x", "g"]], df["y"])
    ours = model.summary(cov_type="HC3", X=df[["x", "g"]], y=df["y"])
    ref = smf.ols("y ~ x + g", df, missing="drop").fit(cov_type="HC3")
    assert list(ours.params.index) == ["const", "x", "g[T.b]", "g[T.c]"]
    expected = ref.bse.rename({"Intercept": "const"})[ours.bse.index]  # smf: C() terms first
    np.testing.assert_allclose(ours.bse.to_numpy(), expected.to_numpy(), rtol=1e-8)
    assert ours.nobs == ref.nobs == len(df) - 3
