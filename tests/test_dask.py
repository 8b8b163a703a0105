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
    expected = reference.summary().predict(pd.DataFrame(X, columns=features), interval="prediction")
    np.testing.assert_allclose(
        interval.upper.compute().to_numpy(), expected.upper, rtol=1e-12, atol=1e-12
    )
    with pytest.warns(UserWarning, match="feature names"):  # scikit-learn's convention
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
    with pytest.raises(ParameterError, match="call fit on the whole"):
        LinearRegression(missing="drop").partial_fit(da.from_array(X, chunks=1000),
                                                     da.from_array(y, chunks=1000))
    with pytest.raises(ParameterError, match="torch"):
        LinearRegression(solver="gd", backend="torch").fit(
            da.from_array(X, chunks=1000), da.from_array(y, chunks=1000)
        )


# --------------------------------------------------------------------------- faults
def test_killed_worker_mid_fit_still_gives_the_exact_answer():
    """A worker process dies while partitions are being reduced: Dask recomputes its tasks,
    and the fixed reduction tree gives the same bits as an undisturbed fit."""
    import os
    import signal
    import threading
    import time

    X, y, w = _problem(20, n=4000)

    def slow(block):  # pickled by value: the worker processes need not import this file
        time.sleep(0.15)
        return block

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=50,
    ) as cluster, distributed.Client(cluster) as client:
        Xd = da.from_array(X, chunks=250).map_blocks(slow)
        yd, wd = da.from_array(y, chunks=250), da.from_array(w, chunks=250)
        undisturbed = LinearRegression().fit(Xd, yd, sample_weight=wd)
        result = {}
        fitting = threading.Thread(target=lambda: result.setdefault(
            "model", LinearRegression().fit(Xd, yd, sample_weight=wd)))
        fitting.start()
        time.sleep(0.8)
        assert fitting.is_alive()  # the kill happens in the middle of the fit
        victim = next(iter(cluster.workers.values()))
        os.kill(victim.process.pid, signal.SIGKILL)
        fitting.join(120)
        assert not fitting.is_alive()
        assert client.run_on_scheduler(lambda dask_scheduler: True)  # the cluster lives on
    model = result["model"]
    np.testing.assert_array_equal(model.coef_, undisturbed.coef_)
    assert model.intercept_ == undisturbed.intercept_
    reference = LinearRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)


# --------------------------------------------------------------------------- command line
@pytest.fixture
def parquet_dir(tmp_path):
    rng = np.random.default_rng(30)
    folder = tmp_path / "data"
    folder.mkdir()
    parts = []
    for k in range(4):
        X = rng.normal(size=(300, 3))
        y = X @ [1.0, -2.0, 0.5] + 4.0 + 0.1 * rng.normal(size=300)
        frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(key=np.arange(300) + 300 * k, y=y)
        frame.to_parquet(folder / f"part-{k}.parquet")
        parts.append(frame)
    return folder, pd.concat(parts, ignore_index=True)


def test_cli_fits_a_directory_of_parquet_files_on_the_cluster(client, parquet_dir, tmp_path,
                                                             capsys):
    import json

    from linearlab import load
    from linearlab.cli import main

    folder, table = parquet_dir
    scheduler = client.scheduler.address
    model_file = tmp_path / "model.json"
    code = main(["fit", str(folder), "-x", "a,b,c", "-y", "y", "--scheduler", scheduler,
                 "-o", str(model_file), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    reference = LinearRegression().fit(table[["a", "b", "c"]], table["y"])
    np.testing.assert_allclose(list(payload["coef"].values()), reference.coef_, rtol=1e-12)
    assert payload["rows"] == 1200 and payload["metrics"]["r2"] == pytest.approx(
        reference.score(table[["a", "b", "c"]], table["y"]))
    np.testing.assert_allclose(load(model_file).coef_, reference.coef_, rtol=1e-12)

    out = tmp_path / "predictions.parquet"
    glob = str(folder / "*.parquet")
    assert main(["predict", str(model_file), glob, "--scheduler", scheduler, "-o", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 4  # one file per input partition
    predictions = pd.read_parquet(out).sort_values("key")
    np.testing.assert_allclose(predictions["prediction"].to_numpy(),
                               reference.predict(table[["a", "b", "c"]]), rtol=1e-12)


def test_cli_names_the_file_and_line_of_a_bad_value(client, tmp_path, capsys):
    from linearlab.cli import main

    rng = np.random.default_rng(31)
    for k in range(3):
        frame = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "y"])
        frame.to_csv(tmp_path / f"p{k}.csv", index=False)
    lines = (tmp_path / "p2.csv").read_text().splitlines()
    lines[9] = "0.5,oops,1.0"
    (tmp_path / "p2.csv").write_text("\n".join(lines) + "\n")
    code = main(["fit", str(tmp_path / "*.csv"), "--scheduler", client.scheduler.address])
    err = capsys.readouterr().err
    assert code == 2
    assert "p2.csv" in err and "line 10" in err and "'b'" in err and "Traceback" not in err


def test_cli_unreachable_scheduler_is_a_clear_error(monkeypatch, tmp_path, capsys):
    from linearlab.cli import main
    from linearlab.distributed import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    code = main(["fit", str(tmp_path / "*.csv"), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Cannot reach the Dask scheduler" in err and "Traceback" not in err


def test_interrupted_predict_leaves_nothing_half_written(client, parquet_dir, tmp_path,
                                                        monkeypatch):
    from linearlab.cli import distributed as commands
    from linearlab.cli import main

    folder, table = parquet_dir
    model_file = tmp_path / "model.json"
    scheduler = client.scheduler.address
    assert main(["fit", str(folder), "-y", "y", "--scheduler", scheduler, "-o",
                 str(model_file), "--json"]) == 0
    real_write = commands._write

    def interrupted(frame, directory, fmt):
        real_write(frame.partitions[:2], directory, fmt)  # two files are on disk...
        raise KeyboardInterrupt  # ...when the user presses Ctrl-C

    monkeypatch.setattr(commands, "_write", interrupted)
    out = tmp_path / "out.parquet"
    assert main(["predict", str(model_file), str(folder), "--scheduler", scheduler,
                 "-o", str(out)]) == 130
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


# --------------------------------------------------------------------------- gradient descent
@pytest.mark.parametrize("settings", [dict(epochs=150), dict(epochs=150, standardize=True,
                                                               optimizer="adam", lr=0.05)])
def test_full_batch_gradient_descent_equals_in_memory(client, settings):
    X, y, w = _problem(40, n=1500, d=3)
    Xd, yd, wd = (da.from_array(v, chunks=400) for v in (X, y, w))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(solver="gd", **settings).fit(Xd, yd, sample_weight=wd)
        reference = LinearRegression(solver="gd", **settings).fit(X, y, sample_weight=w)
    assert model.solver_ == "gd" and model.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(model.history_, reference.history_, rtol=1e-10)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-10)


def test_mini_batches_over_partitions_in_order_equal_in_memory_batches(client):
    X, y, _ = _problem(41, n=1000, d=3)
    settings = dict(solver="gd", epochs=3, batch_size=64, shuffle=False, lr=0.005)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # partitions of 300 rows: batches straddle partition boundaries (rows carried over)
        model = LinearRegression(**settings).fit(da.from_array(X, chunks=300),
                                                 da.from_array(y, chunks=300))
        reference = LinearRegression(**settings).fit(X, y)
    np.testing.assert_allclose(model.history_, reference.history_, rtol=1e-12)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)


def test_shuffled_mini_batches_are_reproducible_and_train(client):
    X, y, _ = _problem(42, n=1200, d=3)
    Xd, yd = da.from_array(X, chunks=300), da.from_array(y, chunks=300)
    settings = dict(solver="gd", epochs=8, batch_size=50, random_state=7, standardize=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = LinearRegression(**settings).fit(Xd, yd)
        second = LinearRegression(**settings).fit(Xd, yd)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    exact = LinearRegression().fit(X, y)
    np.testing.assert_allclose(first.coef_, exact.coef_, rtol=0.05)


def test_offsets_that_cost_the_gram_digits_are_refined_on_the_cluster(client):
    X, y, _ = _problem(43, n=4000, d=4, offset=0.0)
    X = X * 1e-3 + 50.0  # columns far from zero next to their spread: centring cancels
    y = X @ [1.0, -2.0, 3.0, 0.5] * 1e3 + np.random.default_rng(43).normal(size=X.shape[0])
    model = LinearRegression().fit(da.from_array(X, chunks=1000), da.from_array(y, chunks=1000))
    reference = LinearRegression().fit(X, y)
    assert reference.solver_ != "normal"  # in memory, "auto" refines here (passes or QR)...
    assert model.solver_.startswith("normal, ")  # ...and on Dask the Gram's answer is refined
    assert "refinement pass" in model.solver_
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-13)


def test_cli_csv_glob_fit_and_partitioned_csv_predictions(client, tmp_path, capsys):
    from linearlab.cli import main

    rng = np.random.default_rng(32)
    frames = []
    for k in range(3):
        frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
        frame["y"] = 3 * frame["a"] - frame["b"] + 1
        frame.to_csv(tmp_path / f"p{k}.csv", index=False)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    scheduler = client.scheduler.address
    model_file = tmp_path / "model.json"
    assert main(["fit", str(tmp_path / "p*.csv"), "--scheduler", scheduler, "-o",
                 str(model_file)]) == 0
    assert "120 rows" in capsys.readouterr().out
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(model_file), str(tmp_path / "p*.csv"), "--scheduler", scheduler,
                 "-o", str(out)]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    written = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    np.testing.assert_allclose(written["prediction"], table["y"], rtol=1e-10, atol=1e-10)
