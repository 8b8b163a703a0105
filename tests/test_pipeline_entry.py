"""One fit-over-source layer (issue 18, point 2): every command-line fit goes through
:func:`linearlab.pipeline.fit_source` exactly once, which picks the step (numbers, design,
penalized, sparse, Dask) itself; no module outside ``pipeline/`` both reads a source and fits."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

from linearlab import LinearRegression, pipeline
from linearlab.data import sources as io
from linearlab.pipeline import cluster_fit, penalized, source_fit, streaming, table_fit

SRC = Path(__file__).resolve().parents[1] / "src" / "linearlab"

#: (module, function) of every step of the entry, and its label below.
STEPS = {"numbers": (streaming, "fit_source"), "design": (table_fit, "fit_source"),
         "penalized": (penalized, "fit_source"), "sparse": (source_fit, "_fit_sparse"),
         "dask": (cluster_fit, "fit_partitions")}


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(7)
    n = 80
    a, b = rng.normal(size=n), rng.uniform(0.5, 3.0, size=n)
    g = rng.choice(["u", "v", "w"], size=n)
    y = 2 * a - b + (g == "v") * 1.5 + 3 + 0.1 * rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    rows = [f"{a[i]:.17g},{b[i]:.17g},{g[i]},{w[i]:.17g},{y[i]:.17g}" for i in range(n)]
    (tmp_path / "data.csv").write_text("a,b,g,w,y\n" + "\n".join(rows) + "\n")
    holes = list(rows)
    holes[5] = "," + rows[5].split(",", 1)[1]
    (tmp_path / "holes.csv").write_text("a,b,g,w,y\n" + "\n".join(holes) + "\n")
    from sklearn.datasets import dump_svmlight_file

    dump_svmlight_file(np.column_stack([a, b]), y, str(tmp_path / "d.svm"))
    return tmp_path


@pytest.fixture
def entry(monkeypatch):
    """Counts the calls of the one entry, and records which step ran, and whether inside it."""
    calls, steps, inside = [], [], []
    original = pipeline.fit_source

    def spy(*args, **kwargs):
        calls.append(args[1])
        inside.append(True)
        try:
            return original(*args, **kwargs)
        finally:
            inside.pop()

    def recorded(label, run):
        def step(*args, **kwargs):
            steps.append((label, bool(inside)))
            return run(*args, **kwargs)

        return step

    monkeypatch.setattr(pipeline, "fit_source", spy)
    for label, (module, name) in STEPS.items():
        monkeypatch.setattr(module, name, recorded(label, getattr(module, name)))
    return calls, steps


FLAVOURS = [
    ("plain", ["fit", "data.csv", "-x", "a,b", "-y", "y"], "numbers", False),
    ("stream", ["fit", "data.csv", "-x", "a,b", "-y", "y", "--stream"], "numbers", True),
    ("gd", ["fit", "data.csv", "-x", "a,b", "-y", "y", "--solver", "gd", "--epochs", "5"],
     "numbers", False),
    ("formula", ["fit", "data.csv", "--formula", "y ~ a + np.log(b) + C(g)"], "design", False),
    ("formula-stream", ["fit", "data.csv", "--formula", "y ~ a + b + C(g)", "--stream"],
     "design", True),
    ("text", ["fit", "data.csv", "-x", "a,b,g", "-y", "y"], "design", False),
    ("missing-drop", ["fit", "holes.csv", "-x", "a,b", "-y", "y", "--missing", "drop"],
     "design", False),
    ("weights", ["fit", "data.csv", "-x", "a,b", "-y", "y", "--weights", "w"], "design", False),
    ("l1-cv", ["fit", "data.csv", "-x", "a,b", "-y", "y", "--penalty", "l1", "--alpha", "cv"],
     "penalized", False),
    ("l1-stream", ["fit", "data.csv", "-x", "a,b", "-y", "y", "--penalty", "l1", "--alpha",
                   "0.1", "--stream"], "penalized", True),
    ("l1-formula", ["fit", "data.csv", "--formula", "y ~ a + b + C(g)", "--penalty", "l1",
                    "--alpha", "0.1"], "design", False),
    ("ridge-cv-text", ["fit", "data.csv", "-x", "a,g", "-y", "y", "--penalty", "l2", "--alpha",
                       "cv"], "design", False),
    ("svmlight", ["fit", "d.svm"], "sparse", False),
    ("svmlight-l1", ["fit", "d.svm", "--penalty", "l1", "--alpha", "0.1"], "sparse", False),
]


@pytest.mark.parametrize("name, argv, step, streamed", FLAVOURS, ids=[f[0] for f in FLAVOURS])
def test_every_command_line_fit_goes_through_the_one_entry_once(data, entry, name, argv, step,
                                                               streamed):
    calls, steps = entry
    result = run_cli([*argv, "--json"], cwd=data)
    assert result.status == 0, result.stderr
    assert len(calls) == 1
    assert steps == [(step, True)]  # one step, called by the entry
    out = json.loads(result.stdout)
    assert out["streamed"] is streamed
    assert out["rows"] == (79 if name == "missing-drop" else 80)


def test_plot_fits_through_the_one_entry(data, entry):
    calls, steps = entry
    result = run_cli(["plot", "data.csv", "-x", "a,b", "-y", "y", "-o", "figs", "--json"],
                     cwd=data)
    assert result.status == 0, result.stderr
    assert len(calls) == 1 and steps == [("numbers", True)]


def test_dask_fit_goes_through_the_one_entry(data, entry):
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    calls, steps = entry
    result = run_cli(["fit", "data.csv", "-x", "a,b", "-y", "y", "--workers", "1", "--json"],
                     cwd=data)
    assert result.status == 0, result.stderr
    assert len(calls) == 1 and steps == [("dask", True)]
    out = json.loads(result.stdout)
    table = np.genfromtxt(data / "data.csv", delimiter=",", names=True, dtype=None,
                          encoding="utf-8")
    X = np.column_stack([table["a"], table["b"]])
    reference = LinearRegression().fit(X, table["y"])
    np.testing.assert_allclose(list(out["coef"].values()), reference.coef_, rtol=1e-10)
    assert out["rows"] == 80 and out["streamed"] is True


@pytest.mark.parametrize("argv", [
    ["fit", "data.csv", "--formula", "y ~ a + np.log(b) + C(g)"],
    ["fit", "holes.csv", "-x", "a,b", "-y", "y", "--missing", "drop"],
    ["fit", "data.csv", "-x", "a,b", "-y", "y", "--penalty", "l1", "--alpha", "cv"],
    ["fit", "holes.csv", "--formula", "y ~ a + C(g)", "--penalty", "elasticnet",
     "--alpha", "0.05", "--missing", "drop"],
], ids=["formula", "missing-drop", "lasso-cv", "elasticnet-formula-drop"])
def test_dask_takes_formulas_missing_drop_and_penalties_through_the_entry(data, entry, argv):
    """Refused before the one entry (the Dask path was separate); now as in memory."""
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    calls, steps = entry
    cluster = run_cli([*argv, "--workers", "1", "--json"], cwd=data)
    assert cluster.status == 0, cluster.stderr
    assert len(calls) == 1 and steps == [("dask", True)]
    memory = json.loads(run_cli([*argv, "--json"], cwd=data).stdout)
    out = json.loads(cluster.stdout)
    assert out["features"] == memory["features"] and out["rows"] == memory["rows"]
    np.testing.assert_allclose(list(out["coef"].values()), list(memory["coef"].values()),
                               rtol=1e-9)
    assert out["metrics"]["r2"] == pytest.approx(memory["metrics"]["r2"], rel=1e-9)


def test_the_entry_fits_penalized_models_on_dask_partitions(data):
    """The entry takes penalized estimators on a cluster source too (as the command line's
    --penalty with --scheduler/--workers does)."""
    pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    from linearlab import ElasticNet, LassoCV
    from linearlab.distributed.cluster import connect, open_files

    memory = io.open_source(str(data / "holes.csv"))
    for make, kwargs in ((LassoCV, {"features": ["a", "b"], "targets": ["y"]}),
                         (ElasticNet, {"formula": "y ~ a + C(g)"})):
        params = {"alpha": 0.05} if make is ElasticNet else {}
        whole = pipeline.fit_source(make(missing="drop", **params), memory, **kwargs)
        with connect(None, 1):
            cluster = pipeline.fit_source(make(missing="drop", **params),
                                          open_files(str(data / "holes.csv")), **kwargs)
        assert cluster.streamed and cluster.features == whole.features
        assert cluster.rows == whole.rows == 79
        np.testing.assert_allclose(cluster.model.coef_, whole.model.coef_, rtol=1e-9)
        assert cluster.metrics["r2"] == pytest.approx(whole.metrics["r2"], rel=1e-9)


def test_a_text_column_on_a_cluster_is_refused_with_the_formula_that_fits_it(data):
    """Text columns are encoded without a formula only on one machine: on a cluster the
    refusal names the column's line and the formula that encodes it; a stray word in a column
    of numbers gets no such advice."""
    pytest.importorskip("distributed")
    result = run_cli(["fit", "data.csv", "-x", "a,g", "-y", "y", "--workers", "1"], cwd=data)
    assert result.status == 2 and "Traceback" not in result.stderr
    assert "column 'g'" in result.stderr and "line 2" in result.stderr
    assert "--formula 'TARGET ~ ... + C(g)'" in result.stderr
    text = (data / "data.csv").read_text().splitlines()
    text[3] = "oops," + text[3].split(",", 1)[1]
    (data / "typo.csv").write_text("\n".join(text) + "\n")
    typo = run_cli(["fit", "typo.csv", "-x", "a,b", "-y", "y", "--workers", "1"], cwd=data)
    assert typo.status == 2 and "line 4" in typo.stderr and "--formula" not in typo.stderr


def test_dask_still_names_the_line_of_a_bad_value_with_missing_drop(data):
    pytest.importorskip("distributed")
    text = (data / "holes.csv").read_text().splitlines()
    text[3] = "oops," + text[3].split(",", 1)[1]
    (data / "bad.csv").write_text("\n".join(text) + "\n")
    result = run_cli(["fit", "bad.csv", "-x", "a,b", "-y", "y", "--missing", "drop",
                      "--workers", "1"], cwd=data)
    assert result.status == 2
    assert "line 4" in result.stderr and "'oops'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_entry_chooses_how_to_read(data):
    source = io.open_source(str(data / "data.csv"))
    model = LinearRegression()
    assert not pipeline.reads_in_chunks(model, source, ["a", "b"], ["y"])
    assert pipeline.reads_in_chunks(model, source, ["a", "b"], ["y"], stream=True)
    assert pipeline.reads_in_chunks(model, source, formula="y ~ a", stream=True)
    whole = pipeline.fit_source(LinearRegression(), source, ["a", "b"], ["y"])
    chunks = pipeline.fit_source(LinearRegression(), source, ["a", "b"], ["y"], stream=True)
    assert not whole.streamed and chunks.streamed
    np.testing.assert_allclose(chunks.model.coef_, whole.model.coef_, rtol=1e-10)
    designed = pipeline.fit_source(LinearRegression(), source, ["a", "g"], ["y"])
    assert designed.features == ["a", "g[T.v]", "g[T.w]"]


# ---------------------------------------------------------------- no second source -> model path
#: Calls that read a source (a file, a dataset, Dask files) into rows.
READERS = {"open_source", "read_columns", "ChunkStream", "read_table", "read_frame",
           "open_files", "read_file", "source_frames", "table_batches", "iter_record_batches",
           "read_csv", "read_parquet", "load_svmlight_file", "svmlight.read"}
#: Functions outside pipeline/ allowed to read and fit, with the reason.
ALLOWED = {
    # `linearlab demo`: the built-in dataset's arrays fitted twice through the Python API
    # (exact and gradient descent side by side); it reads no file (load_dataset is not above)
}


def _called(function: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
                if isinstance(func.value, ast.Name):
                    names.add(f"{func.value.id}.{func.attr}")
    return names


#: Calls that fit a model (``from_formula`` fits on the frame it is given).
FITS = {"fit", "from_formula"}


def readers_that_fit(root: Path) -> list[str]:
    """``module:function`` of every function under ``root`` that calls a reader and fits."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = _called(node)
                if names & FITS and names & READERS:
                    found.append(f"{path.relative_to(root).as_posix()}:{node.name}")
    return found


def test_the_checker_finds_a_reader_that_fits(tmp_path):
    (tmp_path / "m.py").write_text(
        "def f(path, model):\n    X = read_columns(open_source(path), ['a'])\n"
        "    return model.fit(X, X[:, 0])\n"
        "def g(model, X):\n    return model.fit(X, X[:, 0])\n"
        "def h(cls, source):\n    return cls.from_formula('y ~ a', read_frame(source))\n")
    assert readers_that_fit(tmp_path) == ["m.py:f", "m.py:h"]


def test_only_the_pipeline_turns_a_source_into_a_model():
    found = readers_that_fit(SRC)
    outside = [f for f in found if not f.startswith("pipeline/") and f not in ALLOWED]
    assert outside == []
    assert "pipeline/source_fit.py:_fit_sparse" in found  # the checker sees the steps
