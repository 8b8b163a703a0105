"""``linearlab fit --penalty ... --alpha A|cv`` and ``linearlab plot MODEL --kind path``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from linearlab import ElasticNetCV, Lasso, LassoCV, RidgeCV, load
from linearlab.cli.main import main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(3000, 6)) + [0, 5, 0, 0, -3, 0]
    y = X @ [2.0, 0.0, -1.5, 0.0, 0.0, 0.7] + 3.0 + rng.normal(size=3000)
    path = tmp_path_factory.mktemp("pen") / "data.csv"
    header = ",".join([f"f{j}" for j in range(6)] + ["target"])
    np.savetxt(path, np.c_[X, y], delimiter=",", header=header, comments="", fmt="%.17g")
    return path, X, y


def _fit_json(capsys, *args) -> dict:
    assert main(["fit", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_lasso_fit_streamed_equals_in_memory_and_api(table, capsys, tmp_path):
    path, X, y = table
    whole = _fit_json(capsys, path, "--penalty", "l1", "--alpha", "0.05", "--tol", "1e-10")
    streamed = _fit_json(capsys, path, "--penalty", "l1", "--alpha", "0.05", "--tol", "1e-10",
                         "--stream", "-o", tmp_path / "m.json")
    assert not whole["streamed"] and streamed["streamed"]
    api = Lasso(alpha=0.05, tol=1e-10).fit(X, y)
    for result in (whole, streamed):
        np.testing.assert_allclose(list(result["coef"].values()), api.coef_, atol=1e-9)
        assert result["intercept"] == pytest.approx(api.intercept_, abs=1e-9)
        assert result["nonzero"] == [f"f{j}" for j in np.flatnonzero(api.coef_)]
    assert streamed["metrics"]["r2"] == pytest.approx(whole["metrics"]["r2"], rel=1e-9)
    model = load(tmp_path / "m.json")
    assert isinstance(model, Lasso) and model.feature_names_ == [f"f{j}" for j in range(6)]
    np.testing.assert_allclose(model.predict(X), api.predict(X), atol=1e-8)


@pytest.mark.parametrize(("flags", "cls"), [
    (["--penalty", "l1"], LassoCV),
    (["--penalty", "elasticnet", "--l1-ratio", "0.3"], ElasticNetCV),
    (["--penalty", "l2"], RidgeCV),
    ([], RidgeCV),
])
def test_alpha_cv_chooses_like_the_api(table, capsys, tmp_path, flags, cls):
    path, X, y = table
    out = tmp_path / "cv.json"
    result = _fit_json(capsys, path, *flags, "--alpha", "cv", "-o", out)
    kwargs = {"alphas": np.logspace(-3, 3, 13)} if cls is RidgeCV else {}
    if cls is ElasticNetCV:
        kwargs["l1_ratio"] = 0.3
    api = cls(**kwargs).fit(X, y)
    assert result["estimator"] == cls.__name__
    assert result["alpha"] == pytest.approx(api.alpha_, rel=1e-9)
    assert isinstance(load(out), cls)


def test_table_shows_chosen_alpha_and_nonzero(table, capsys):
    path, _, _ = table
    assert main(["fit", str(path), "--penalty", "l1", "--alpha", "cv"]) == 0
    text = capsys.readouterr().out
    assert "chosen by cross-validation" in text and "Non-zero coefficients" in text
    assert "f0" in text and "Exactly zero" in text


@pytest.mark.parametrize(("flags", "message"), [
    (["--penalty", "l1"], "needs a penalty strength"),
    (["--l1-ratio", "0.5", "--alpha", "1"], "--penalty elasticnet"),
    (["--penalty", "l1", "--alpha", "1", "--solver", "qr"], "does not apply"),
    (["--penalty", "l1", "--alpha", "1", "--standardize", "--solver", "gd"],
     "drop --solver gd, or drop --standardize"),
])
def test_bad_combinations_are_usage_errors(table, capsys, flags, message):
    path, _, _ = table
    assert main(["fit", str(path), *flags]) == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_plot_path_from_model_file(table, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path, _, _ = table
    model = tmp_path / "lasso.json"
    assert main(["fit", str(path), "--penalty", "l1", "--alpha", "cv", "-o", str(model)]) == 0
    assert main(["plot", str(model), "--kind", "path", "-o", str(tmp_path / "figs")]) == 0
    png = tmp_path / "figs" / "path.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_solver_gd_uses_proximal_steps(table, capsys):
    path, X, y = table
    result = _fit_json(capsys, path, "--penalty", "elasticnet", "--alpha", "0.02",
                       "--solver", "gd", "--epochs", "5000", "--tol", "1e-12")
    cd = _fit_json(capsys, path, "--penalty", "elasticnet", "--alpha", "0.02", "--tol", "1e-12")
    np.testing.assert_allclose(list(result["coef"].values()), list(cd["coef"].values()),
                               atol=1e-7)
    assert main(["fit", str(path), "--penalty", "l1", "--alpha", "cv", "--solver", "gd"]) == 2
    assert "--solver gd" in capsys.readouterr().err


def test_predict_and_evaluate_with_a_penalized_model(table, capsys, tmp_path):
    path, X, y = table
    model = tmp_path / "enet.json"
    assert main(["fit", str(path), "--penalty", "elasticnet", "--alpha", "0.01",
                 "-o", str(model)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(path), "--json"]) == 0
    r2 = json.loads(capsys.readouterr().out)["r2"]
    assert r2 == pytest.approx(load(model).score(X, y), rel=1e-9)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(path), "-o", str(out)]) == 0
    predicted = np.loadtxt(out, delimiter=",", skiprows=1)[:, -1]
    np.testing.assert_allclose(predicted, load(model).predict(X), rtol=1e-12)
    capsys.readouterr()
    assert main(["predict", str(model), str(path), "--interval", "prediction"]) == 2
    assert "not available" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--penalty", "l1"], ["--penalty", "elasticnet"],
                                   ["--penalty", "l2"]], ids=["lasso", "enet", "ridge-loo"])
def test_alpha_cv_streams_with_the_same_answer(table, capsys, flags):
    path, _, _ = table
    whole = _fit_json(capsys, path, *flags, "--alpha", "cv", "--tol", "1e-10")
    streamed = _fit_json(capsys, path, *flags, "--alpha", "cv", "--tol", "1e-10", "--stream")
    assert streamed["streamed"] and not whole["streamed"]
    assert streamed["alpha"] == pytest.approx(whole["alpha"], rel=1e-12)
    np.testing.assert_allclose(list(streamed["coef"].values()), list(whole["coef"].values()),
                               atol=1e-9)


def test_streamed_folds_equal_in_memory_folds(table):
    from linearlab.penalized.folds import fold_statistics, stream_fold_statistics

    _, X, y = table
    Y = y[:, None]
    blocks = ((X[i:i + 700], Y[i:i + 700]) for i in range(0, len(y), 700))
    streamed = stream_fold_statistics(blocks, len(y), 4)
    whole = fold_statistics(X, Y, None, 4)
    for a, b in zip(streamed.train + streamed.test, whole.train + whole.test, strict=True):
        assert a.count == b.count
        np.testing.assert_allclose(a.sxx, b.sxx, rtol=1e-10)
        np.testing.assert_allclose(a.sxy, b.sxy, rtol=1e-10)


# --------------------------------------------------------------------------- text, missing, scale
@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(21)
    n = 600
    df = pd.DataFrame({"area": rng.normal(100, 30, n).round(3), "age": rng.uniform(0, 50, n),
                       "region": rng.choice(["east", "north", "west"], n)})
    df["price"] = (3 * df.area - 0.5 * df.age + 40 * (df.region == "west")
                   + rng.normal(0, 20, n))
    df.loc[[5, 17, 40], "area"] = np.nan
    df.loc[9, "region"] = None
    path = tmp_path_factory.mktemp("houses") / "houses.csv"
    df.to_csv(path, index=False)
    return path, df


@pytest.mark.parametrize("penalty", [["--penalty", "l1", "--alpha", "cv"],
                                     ["--penalty", "elasticnet", "--alpha", "0.5"],
                                     ["--penalty", "l2", "--alpha", "cv"]])
def test_penalties_encode_text_drop_missing_and_standardize(houses, capsys, tmp_path, penalty):
    from linearlab import ElasticNet

    path, df = houses
    model_file = tmp_path / "p.json"
    out = _fit_json(capsys, path, *penalty, "--missing", "drop", "--standardize",
                    "-o", model_file)
    assert out["features"] == ["area", "age", "region[T.north]", "region[T.west]"]
    assert out["dropped"] == 4 and out["rows"] == len(df) - 4
    api = {"l1": LassoCV(), "elasticnet": ElasticNet(alpha=0.5),
           "l2": RidgeCV(alphas=np.logspace(-3, 3, 13))}[penalty[1]]
    api.set_params(missing="drop", standardize=True).fit(df[["area", "age", "region"]],
                                                          df["price"])
    model = load(model_file)
    np.testing.assert_allclose(model.coef_, api.coef_, rtol=1e-10)
    assert model.intercept_ == pytest.approx(api.intercept_, rel=1e-10)
    assert model.design_.names == out["features"] and model.get_params()["standardize"]
    assert main(["evaluate", str(model_file), str(path), "--missing", "drop", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == len(df) - 4


def test_penalty_with_missing_values_advises_what_it_accepts(houses, capsys):
    path, _ = houses
    assert main(["fit", str(path), "--penalty", "l1", "--alpha", "cv"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--missing drop" in err and "houses.csv" in err and "line 7" in err
    assert main(["fit", str(path), "--penalty", "l1", "--alpha", "cv", "--missing", "drop",
                 "--plots", str(path.parent / "figs")]) == 0
    assert "path.png" in capsys.readouterr().out


def test_streamed_standardized_cv_equals_in_memory(table, capsys):
    path, _, _ = table
    for penalty in (["--penalty", "l1"], ["--penalty", "l2"]):
        whole = _fit_json(capsys, path, *penalty, "--alpha", "cv", "--standardize")
        streamed = _fit_json(capsys, path, *penalty, "--alpha", "cv", "--standardize",
                             "--stream")
        assert streamed["streamed"] and whole["alpha"] == pytest.approx(streamed["alpha"])
        np.testing.assert_allclose(list(streamed["coef"].values()),
                                   list(whole["coef"].values()), rtol=1e-7, atol=1e-9)


def test_raw_scale_lasso_cv_warns_and_standardize_recovers_the_effects(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(18)
    n = 2000
    df = pd.DataFrame({"area": rng.normal(120, 40, n), "rooms": rng.integers(1, 7, n) * 1.0,
                       "dist_m": rng.uniform(100, 30000, n),
                       "region": rng.choice(["east", "north", "west"], n)})
    df["price"] = (2000 * df.area + 15000 * df.rooms - 3 * df.dist_m
                   + 30000 * (df.region == "west") + rng.normal(0, 20000, n))
    df.to_csv(tmp_path / "h.csv", index=False)
    raw = _fit_json(capsys, tmp_path / "h.csv", "--penalty", "l1", "--alpha", "cv")
    assert any("smallest of the 100 values" in w for w in raw["warnings"])
    scaled = _fit_json(capsys, tmp_path / "h.csv", "--penalty", "l1", "--alpha", "cv",
                       "--standardize")
    ols = _fit_json(capsys, tmp_path / "h.csv")
    assert scaled["coef"]["region[T.west]"] == pytest.approx(30000, rel=0.1)
    assert scaled["metrics"]["r2"] == pytest.approx(ols["metrics"]["r2"], abs=1e-3)
    assert raw["metrics"]["r2"] < scaled["metrics"]["r2"] - 0.01


def test_formula_with_a_penalty_equals_from_formula(houses, capsys, tmp_path):
    pytest.importorskip("formulaic")
    path, df = houses
    formula = "price ~ area + np.log(age + 1) + C(region)"
    out = _fit_json(capsys, path, "--formula", formula, "--penalty", "l1", "--alpha", "cv",
                    "--missing", "drop", "--standardize", "-o", tmp_path / "f.json")
    api = LassoCV.from_formula(formula, df, missing="drop", standardize=True)
    assert out["features"] == api.design_.names and out["targets"] == ["price"]
    np.testing.assert_allclose(list(out["coef"].values()), api.coef_, rtol=1e-10)
    assert main(["plot", str(tmp_path / "f.json"), "--data", str(path), "-o",
                 str(tmp_path / "figs"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["plots"]) == 3  # fit, residuals, path


@pytest.mark.parametrize("penalty", [["--penalty", "l2", "--alpha", "cv"],
                                     ["--penalty", "l1", "--alpha", "0.5"]])
def test_streamed_text_columns_standardized_equal_whole(houses, capsys, penalty):
    path, _ = houses
    args = [path, *penalty, "-y", "price", "-x", "area,age,region", "--missing", "drop",
            "--standardize"]
    whole = _fit_json(capsys, *args)
    streamed = _fit_json(capsys, *args, "--stream")
    assert streamed["streamed"] and not whole["streamed"]
    np.testing.assert_allclose(list(streamed["coef"].values()), list(whole["coef"].values()),
                               rtol=1e-9)
    assert streamed["intercept"] == pytest.approx(whole["intercept"], rel=1e-9)
