"""Command-line round trips of the analyst's toolkit: --formula, text columns, --missing,
predict --interval, against statsmodels and the Python API."""

from __future__ import annotations

import json

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("formulaic")
smf = pytest.importorskip("statsmodels.formula.api")

from linearlab import LinearRegression, load  # noqa: E402
from linearlab.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("analyst")
    rng = np.random.default_rng(5)
    n = 150
    df = pd.DataFrame({
        "id": [f"r{i}" for i in range(n)],
        "x": rng.normal(size=n).round(4), "z": rng.uniform(1, 3, n).round(4),
        "city": rng.choice(["rome", "oslo", "paris"], n),
    })
    df["y"] = (2 * df.x + (df.city == "rome") + np.log(df.z) + rng.normal(size=n)).round(5)
    df.to_csv(root / "train.csv", index=False)
    new = df.drop(columns="y").iloc[:8].copy()
    new.to_csv(root / "new.csv", index=False)
    holes = df.copy()
    holes.loc[[4, 11], "x"] = np.nan
    holes.loc[20, "city"] = np.nan
    holes.to_csv(root / "holes.csv", index=False)
    gaps = new.copy()
    gaps.loc[[1, 5], "x"] = np.nan
    gaps.to_csv(root / "gaps.csv", index=False)
    return root, df, new, holes


def run(*args) -> int:
    return main([str(a) for a in args])


def _read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def test_fit_formula_then_predict(files, capsys):
    root, df, new, _ = files
    formula = "y ~ x + C(city) + np.log(z) + x:C(city)"
    assert run("fit", root / "train.csv", "--formula", formula, "-o", root / "f.json",
               "--json") == 0
    out = json.loads(capsys.readouterr().out)
    ref = smf.ols(formula, df).fit()
    assert out["features"] == list(ref.params.index[1:])
    np.testing.assert_allclose(list(out["coef"].values()), ref.params.values[1:], rtol=1e-10)
    assert load(root / "f.json").design_.formula == formula
    assert run("predict", root / "f.json", root / "new.csv", "-o", root / "p.csv") == 0
    got = _read(root / "p.csv")
    np.testing.assert_allclose(got["prediction"], ref.predict(new).values, rtol=1e-12)
    assert list(got.columns[:-1]) == list(new.columns)


def test_fit_with_a_text_column_then_predict(files, capsys):
    root, df, new, _ = files
    assert run("fit", root / "train.csv", "-x", "x,city", "-o", root / "c.json", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["features"] == ["x", "city[T.paris]", "city[T.rome]"]
    doc = json.loads((root / "c.json").read_text())
    assert doc["design"]["levels"] == {"city": ["oslo", "paris", "rome"]}
    ref = smf.ols("y ~ x + city", df).fit()
    np.testing.assert_allclose(out["coef"]["city[T.rome]"], ref.params["city[T.rome]"],
                               rtol=1e-10)
    assert run("predict", root / "c.json", root / "new.csv", "-o", root / "pc.csv") == 0
    np.testing.assert_allclose(_read(root / "pc.csv")["prediction"], ref.predict(new).values,
                               rtol=1e-12)
    capsys.readouterr()
    assert run("evaluate", root / "c.json", root / "train.csv", "--json") == 0
    assert json.loads(capsys.readouterr().out)["r2"] == pytest.approx(ref.rsquared, rel=1e-10)


def test_without_x_text_columns_are_encoded_but_identifiers_are_not(files, capsys):
    root, df, _, _ = files
    assert run("fit", root / "train.csv", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["features"] == ["x", "z", "city[T.paris]", "city[T.rome]"]


@pytest.mark.parametrize("kind", ["prediction", "confidence"])
def test_predict_interval_matches_statsmodels(files, kind):
    root, df, new, _ = files
    formula = "y ~ x + C(city) + np.log(z)"
    assert run("fit", root / "train.csv", "--formula", formula, "-o", root / "i.json") == 0
    assert run("predict", root / "i.json", root / "new.csv", "--interval", kind, "--level",
               "0.9", "-o", root / f"i-{kind}.csv") == 0
    got = _read(root / f"i-{kind}.csv")
    frame = smf.ols(formula, df).fit().get_prediction(new).summary_frame(alpha=0.1)
    prefix = "obs_ci" if kind == "prediction" else "mean_ci"
    np.testing.assert_allclose(got["lower"], frame[f"{prefix}_lower"], rtol=1e-8)
    np.testing.assert_allclose(got["upper"], frame[f"{prefix}_upper"], rtol=1e-8)


def test_interval_needs_statistics(files, capsys):
    root, df, _, _ = files
    model = LinearRegression(alpha=1.0).fit(df[["x", "z"]], df["y"])
    model.save(root / "ridge.json")
    assert run("predict", root / "ridge.json", root / "new.csv", "--interval",
               "prediction") == 2
    assert "--interval needs a model file that carries the training statistics" in \
        capsys.readouterr().err


def test_missing_drop_and_keep(files, capsys):
    root, _, _, holes = files
    assert run("fit", root / "holes.csv", "-x", "x,city,z") == 2
    err = capsys.readouterr().err
    assert "missing value(s) in that column in all" in " ".join(err.split())
    assert "at line 6" in err  # row 4 below the header
    assert run("fit", root / "holes.csv", "-x", "x,city,z", "--missing", "drop",
               "-o", root / "d.json") == 0
    assert "Dropped 3 row(s) with missing values" in capsys.readouterr().out
    ref = smf.ols("y ~ x + city + z", holes, missing="drop").fit()
    model = load(root / "d.json")
    assert model.design_.names == ["x", "city[T.paris]", "city[T.rome]", "z"]
    np.testing.assert_allclose(model.coef_, ref.params[model.design_.names].values, rtol=1e-10)
    assert run("predict", root / "d.json", root / "gaps.csv") == 2
    assert "predict --missing keep" in capsys.readouterr().err
    assert run("predict", root / "d.json", root / "gaps.csv", "--missing", "keep",
               "--interval", "confidence", "-o", root / "kept.csv") == 0
    got = _read(root / "kept.csv")
    assert got["prediction"].isna().tolist() == [False, True, False, False, False, True,
                                                 False, False]
    assert got["lower"].isna().sum() == 2


def test_formula_with_missing_drop_reports_dropped(files, capsys):
    root, _, _, holes = files
    assert run("fit", root / "holes.csv", "--formula", "y ~ x + C(city)", "--missing", "drop",
               "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dropped"] == 3 and out["rows"] == len(holes) - 3


def test_unseen_level_and_usage_errors(files, capsys):
    root, _, new, _ = files
    run("fit", root / "train.csv", "-x", "x,city", "-o", root / "u.json")
    new.assign(city=["lima"] * len(new)).to_csv(root / "lima.csv", index=False)
    capsys.readouterr()
    assert run("predict", root / "u.json", root / "lima.csv") == 2
    assert "'lima' at line 2" in capsys.readouterr().err
    assert run("fit", root / "train.csv", "--formula", "y ~ x", "-x", "x") == 2
    assert run("fit", root / "train.csv", "--formula", "y ~ x", "--no-intercept") == 2
    assert "- 1" in capsys.readouterr().err


@pytest.mark.parametrize("options", [
    ["-x", "x,city,z", "--missing", "drop"],
    ["--formula", "y ~ x + C(city) + np.log(z)", "--missing", "drop"],
])
def test_figures_of_designed_and_missing_drop_fits(files, capsys, options):
    root, _, _, _ = files
    figs = root / f"figs-{len(options[1])}"
    assert run("fit", root / "holes.csv", *options, "--plots", figs, "-o", root / "pm.json",
               "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert {p.rsplit("/", 1)[-1] for p in out["plots"]} >= {"fit.png", "residuals.png",
                                                            "landscape.png"}
    assert (root / "pm.json").exists()
    for kind in ("fit", "residuals", "loss-curve", "landscape"):  # from the model file
        assert run("plot", root / "pm.json", "--data", root / "holes.csv", "--kind", kind,
                   "-o", figs / "again", "--json") == 0
        assert json.loads(capsys.readouterr().out)["plots"]


def test_plot_fits_data_with_a_formula_by_gradient_descent(files, capsys):
    root, _, _, _ = files
    assert run("plot", root / "holes.csv", "--formula", "y ~ x + C(city)", "--missing", "drop",
               "--solver", "gd", "-o", root / "gdfigs", "--json") == 0
    names = {p.rsplit("/", 1)[-1] for p in json.loads(capsys.readouterr().out)["plots"]}
    assert {"loss-history.png", "landscape.png", "training.gif"} <= names


def test_python_plots_of_a_formula_model_read_y_from_the_table(files):
    _, df, _, holes = files
    pytest.importorskip("matplotlib")
    model = LinearRegression.from_formula("y ~ x + C(city)", holes, missing="drop")
    for kind in ("fit", "residuals", "loss-curve", "landscape"):
        fig = model.plot(holes, kind=kind)
        assert fig.axes
    fit = LinearRegression(missing="drop").fit(holes[["x", "city"]], holes["y"])
    assert fit.plot(holes[["x", "city"]], holes["y"], kind="residuals").axes


def test_a_bare_formula_gets_a_hint(files, capsys):
    root, _, _, _ = files
    assert run("fit", root / "train.csv", "y ~ x") == 2
    assert 'fit DATA --formula "y ~ x"' in capsys.readouterr().err


def test_evaluate_missing_error_names_the_file_line_and_evaluate_flag(files, capsys):
    root, df, _, holes = files
    for options, name in ((["-x", "x,city,z"], "ce.json"),
                          (["--formula", "y ~ x + C(city)"], "fe.json"),
                          (["-x", "x,z"], "ne.json")):
        assert run("fit", root / "train.csv", *options, "-o", root / name) == 0
        capsys.readouterr()
        assert run("evaluate", root / name, root / "holes.csv") == 2
        err = capsys.readouterr().err
        assert "holes.csv" in err and "line 6" in err, err  # data row 4: line 6 of the file
        assert "predict" not in err
        if name != "ne.json":  # the numeric path reads the file in chunks
            assert "--missing drop" in err


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_evaluate_missing_drop_scores_the_complete_rows(files, capsys, policy):
    root, df, _, holes = files
    for options in (["-x", "x,city,z"], ["--formula", "y ~ x + C(city) + z"], ["-x", "x,z"]):
        assert run("fit", root / "train.csv", *options, "-o", root / "ev.json") == 0
        capsys.readouterr()
        assert run("evaluate", root / "ev.json", root / "holes.csv", "--missing", policy,
                   "--json") == 0
        out = json.loads(capsys.readouterr().out)
        model = load(root / "ev.json")
        used = holes.dropna(subset=["x", "z", "city"] if "city" in str(options) else ["x", "z"])
        pred = model.predict(used if "--formula" in options
                             else used[list(model.feature_names_)])
        resid = used["y"].to_numpy() - pred
        assert out["rows"] == len(used) and out["dropped"] == len(holes) - len(used)
        assert out["rmse"] == pytest.approx(np.sqrt(np.mean(resid**2)), rel=1e-12)


def test_figures_of_a_designed_model_read_only_the_first_rows(files, capsys, monkeypatch):
    from linearlab.cli import plots

    root, _, _, _ = files
    assert run("fit", root / "holes.csv", "-x", "x,city", "--missing", "drop",
               "-o", root / "head.json") == 0
    monkeypatch.setattr(plots, "MAX_PLOT_ROWS", 40)
    capsys.readouterr()
    assert run("plot", root / "head.json", "--data", root / "holes.csv", "--kind", "fit",
               "-o", root / "headfigs", "--json") == 0
    assert json.loads(capsys.readouterr().out)["rows_drawn"] == 40
