"""End to end through a subprocess: fit → predict → evaluate equal the Python API."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from linearlab import LinearRegression, cli, load


def run(*args, check=True, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "linearlab", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def dataset():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(500, 3)) * [1.0, 50.0, 0.01] + [0.0, 1000.0, 1.0]
    y = X @ [3.0, -0.02, 400.0] - 7.0 + rng.normal(size=500)
    return X, y


def write(path, X, y):
    table = pa.table({"name": [f"row{i}" for i in range(len(y))], "a": X[:, 0], "b": X[:, 1],
                      "c": X[:, 2], "target": y})
    if str(path).endswith(".parquet"):
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path


@pytest.mark.parametrize("suffix, extra", [(".csv", []), (".parquet", []), (".csv", ["--stream"])])
def test_fit_predict_evaluate_equal_python_api(tmp_path, dataset, suffix, extra):
    X, y = dataset
    data = write(tmp_path / f"data{suffix}", X, y)
    model_path = tmp_path / "model.json"
    fitted = json.loads(run("fit", data, "-o", model_path, "--json", *extra).stdout)
    reference = LinearRegression().fit(X, y)
    assert fitted["features"] == ["a", "b", "c"] and fitted["targets"] == ["target"]
    assert fitted["streamed"] == bool(extra)
    np.testing.assert_allclose(list(fitted["coef"].values()), reference.coef_, rtol=1e-9)
    assert fitted["intercept"] == pytest.approx(reference.intercept_, rel=1e-9)
    assert fitted["metrics"]["r2"] == pytest.approx(reference.score(X, y), rel=1e-9)

    out = tmp_path / "pred.csv"
    run("predict", model_path, data, "-o", out)
    predicted = pacsv.read_csv(out)
    assert predicted.column_names == ["name", "a", "b", "c", "target", "prediction"]
    assert predicted.column("name")[3].as_py() == "row3"
    np.testing.assert_allclose(predicted.column("prediction").to_numpy(), reference.predict(X),
                               rtol=1e-9, atol=1e-9)

    scored = json.loads(run("evaluate", model_path, data, "--json").stdout)
    assert scored["rows"] == 500
    assert scored["r2"] == pytest.approx(reference.score(X, y), rel=1e-9)
    residual = reference.predict(X) - y
    assert scored["mae"] == pytest.approx(np.abs(residual).mean(), rel=1e-9)
    assert scored["rmse"] == pytest.approx(np.sqrt((residual**2).mean()), rel=1e-9)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_gradient_descent_and_parquet_output(tmp_path, dataset):
    X, y = dataset
    data = write(tmp_path / "d.csv", X, y)
    options = ["--solver", "gd", "--epochs", "300", "--standardize", "-x", "a,b,c", "-y", "target"]
    fitted = json.loads(run("fit", data, *options, "-o", tmp_path / "m.json", "--json").stdout)
    reference = LinearRegression(solver="gd", epochs=300, standardize=True).fit(X, y)
    np.testing.assert_allclose(list(fitted["coef"].values()), reference.coef_, rtol=1e-9)
    np.testing.assert_allclose(fitted["history"], reference.history_, rtol=1e-9)
    assert fitted["n_iter"] == 300 and fitted["solver"] == "gd"
    run("predict", tmp_path / "m.json", data, "-o", tmp_path / "p.parquet")
    pred = pq.read_table(tmp_path / "p.parquet").column("prediction").to_numpy()
    assert np.array_equal(pred, load(tmp_path / "m.json").predict(X))


def test_human_output_and_predict_to_stdout(tmp_path, dataset):
    X, y = dataset
    data = write(tmp_path / "d.csv", X, y)
    text = run("fit", data, "--solver", "gd", "--epochs", "50", "--standardize",
               "-o", tmp_path / "m.json").stdout
    for piece in ("Fitted equation", "Coefficients", "R²", "RMSE", "MAE", "Epoch log",
                  "gradient descent", "Not used: name", "Model saved"):
        assert piece in text
    lines = run("predict", tmp_path / "m.json", data).stdout.splitlines()
    assert len(lines) == 501 and lines[0].endswith('"prediction"')


def test_multi_output(tmp_path, dataset):
    X, y = dataset
    data = tmp_path / "multi.csv"
    pacsv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "u": y, "v": 2 * y - X[:, 0]}), data)
    fitted = json.loads(run("fit", data, "-y", "u,v", "-o", tmp_path / "m.json", "--json")
                        .stdout)
    reference = LinearRegression().fit(X[:, :2], np.column_stack([y, 2 * y - X[:, 0]]))
    np.testing.assert_allclose(fitted["coef"], reference.coef_, rtol=1e-9, atol=1e-12)
    run("predict", tmp_path / "m.json", data, "-o", tmp_path / "p.csv")
    assert pacsv.read_csv(tmp_path / "p.csv").column_names[-2:] == ["prediction_u", "prediction_v"]


def test_demo_datasets_and_help(tmp_path, capsys):
    demo = run("demo", "noisy-line", "--no-plots", "-o", tmp_path / "demo.json", cwd=tmp_path)
    assert "Exact vs gradient descent" in demo.stdout
    assert load(tmp_path / "demo.json").feature_names_ == ["x"]
    # the rest in-process (cli.main returns the exit status): the same code, no start-up cost
    assert cli.main(["datasets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["datasets"]
    assert {"salary", "noisy-line", "diabetes"} <= {d["name"] for d in listed}
    assert cli.main(["fit", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out
    assert cli.main(["fit", "salary", "--json"]) == 0
    salary = json.loads(capsys.readouterr().out)
    assert salary["coef"]["experience"] == pytest.approx(25642.857142857, rel=1e-9)
