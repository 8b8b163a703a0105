"""End to end: fit → predict → evaluate equal the Python API.

The command runs in this process (:func:`cli_runner.run_cli`: its own stdout/stderr files and
folder), except where the process itself is under test (Ctrl-C).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from cli_runner import run_cli

from linearlab import LinearRegression, cli, load, load_dataset


def run(*args, check=True, cwd=None):
    result = run_cli(args, cwd=cwd)
    if check:
        assert result.status == 0, result.stderr
    return result


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


# --------------------------------------------------------------------------- the CLI as a teacher
def test_epoch_log_shows_w_and_b_for_a_few_features(capsys):
    args = ["--solver", "gd", "--lr", "0.01", "--epochs", "40", "--init", "0.5,-0.5"]
    assert cli.main(["fit", "three-points", *args]) == 0
    text = capsys.readouterr().out
    log = text[text.index("Epoch log"):]
    header = next(line for line in log.splitlines() if "epoch" in line and "loss" in line)
    assert header.split("┃")[1:-1] and [c.strip() for c in header.split("┃")[1:-1]] == [
        "epoch", "loss", "x", "b"]
    # each row: the loss of that epoch and the parameters after it, as log_every prints them
    model = LinearRegression(solver="gd", lr=0.01, epochs=40, init=([0.5], [-0.5]))
    with pytest.warns(Warning):
        model.fit(load_dataset("three-points").X, load_dataset("three-points").y)
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in log.splitlines()
            if line.startswith("│")]
    cells = next(row for row in rows if row[0] == "39")
    assert cells == ["39", f"{model.history_[39]:.8g}", f"{model.coef_[0]:.8g}",
                     f"{model.intercept_:.8g}"]
    assert cli.main(["fit", "diabetes", "--solver", "gd", "--epochs", "20"]) == 0
    wide = capsys.readouterr().out  # 10 features: the loss only
    header = next(line for line in wide[wide.index("Epoch log"):].splitlines() if "loss" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]] == ["epoch", "loss"]


@pytest.mark.parametrize("optimizer, lr, data", [
    ("sgd", "0.19", "three-points"), ("momentum", "0.345", "three-points"),
    ("nesterov", "0.13", "three-points"), ("adam", "1000", "three-points"),
    ("adam", "1e6", "salary"),  # Adam's bounded steps never explode: it used to exit 0
    ("sgd", "1e6", "salary"),  # explodes at once
    ("adam", "1e6", "salary --stream"),  # the epochs read the data in chunks
    pytest.param("adam", "1e6", "salary --backend torch", marks=pytest.mark.skipif(
        importlib.util.find_spec("torch") is None, reason="needs torch")),
])
def test_a_run_that_ends_above_its_start_exits_1_naming_the_learning_rate(
        tmp_path, capsys, optimizer, lr, data):
    argv = ["fit", *data.split(), "--solver", "gd", "--optimizer", optimizer, "--lr", lr,
            "--epochs", "50", "-o", str(tmp_path / "m.json")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert f"--lr {float(lr):.6g}" in err and "Traceback" not in err
    assert "lower the learning rate" in err or "--lr auto" in err
    assert not (tmp_path / "m.json").exists()


def test_a_stop_by_tol_above_the_start_is_refused_too(capsys):
    argv = ["fit", "salary", "--solver", "gd", "--optimizer", "adam", "--lr", "1e6",
            "--epochs", "50", "--tol", "1"]
    assert cli.main(argv) == 1
    assert "rose from" in capsys.readouterr().err


def test_a_long_run_says_its_history_is_thinned(capsys):
    argv = ["fit", "three-points", "--solver", "gd", "--lr", "1e-5", "--epochs", "300000"]
    assert cli.main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["history_stride"] == 4 and len(payload["history"]) <= 100_001
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "one epoch in every 4 is kept, plus the last" in text and "│ 299999 │" in text


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bytes_read(pid: int) -> int | None:
    """The bytes process ``pid`` has read so far (``rchar``), or None where we may not look."""
    try:
        with open(f"/proc/{pid}/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("rchar"))
    except (OSError, StopIteration, ValueError):
        return None


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
def test_ctrl_c_during_fit_says_the_epoch_exits_130_and_saves_nothing(tmp_path):
    argv = [sys.executable, "-m", "linearlab", "fit", "noisy-line", "--solver", "gd",
            "--engine", "loop", "--lr", "0.001", "--epochs", "1000000000",
            "-o", str(tmp_path / "m.json")]
    # a child of a background job may inherit SIGINT ignored: restore Python's handler
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # until it has trained a while: the imports read a file every few ms (no stretch of
        # 0.1 s of CPU without one), training reads none, so 1 s of CPU with no read is training
        # (where /proc/PID/io is closed to us: 5 s of CPU, the imports taking about 3)
        deadline, last_read, read_at = time.monotonic() + 120, None, 0.0
        while proc.poll() is None and time.monotonic() < deadline:
            cpu, read = _cpu_seconds(proc.pid), _bytes_read(proc.pid)
            if read != last_read:
                last_read, read_at = read, cpu
            if (cpu - read_at >= 1.0) if read is not None else (cpu > 5):
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert re.fullmatch(r"interrupted at epoch (\d+), after \1 finished epoch\(s\); nothing "
                        r"was saved\n", err), err
    assert int(re.search(r"\d+", err).group()) > 0
    assert not (tmp_path / "m.json").exists() and list(tmp_path.iterdir()) == []


def test_the_rise_rule_spares_noise_at_the_optimum_and_mini_batch_wobble():
    from types import SimpleNamespace

    from linearlab.cli.output import check_descent
    from linearlab.errors import DivergenceError

    def run(history, converged=False, stopped_by=None, batch_size=None):
        return SimpleNamespace(solver_="gd", history_=history, converged_=converged,
                               stopped_by_=stopped_by, batch_size=batch_size, n_iter_=3,
                               learning_rate_=0.5, loss="mse", optimizer="sgd")

    check_descent(run([0.0, 1e-31, 2e-31], converged=True))  # rounding at the optimum
    check_descent(run([4.0, 1.0, 4.4], batch_size=10))  # noisy epoch means: +10%
    check_descent(run([4.0, 1.0, 4.0]))  # no rise
    for rising in (run([4.0, 1.0, 4.1]), run([4.0, 9.0, 6.0], batch_size=10),
                   run([4.0, 1.0, 4.1], converged=True, stopped_by="tol")):  # a tol stop
        with pytest.raises(DivergenceError, match="--lr 0.5.*try --lr 0.05"):
            check_descent(rising)
