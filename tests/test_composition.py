"""The composition table (issue 18): every feature on every path, for every estimator.

Rows are features (a formula with ``C()``, an interaction and ``np.log``; a text column without a
formula; ``missing="drop"``; ``sample_weight``; two targets; ``standardize=True``), columns are
estimators × paths (NumPy, DataFrame, CSV read whole, CSV streamed in small blocks, Dask, the
command line in-process). Every cell equals the in-memory DataFrame fit (coefficients and
intercept to 1e-10; the mini-batch runs visit the batches in the same order), or refuses in one
paragraph whose words ``docs/errors.md`` lists (:data:`REFUSALS`). Cells that fail because of work
still pending elsewhere are strict xfails (:data:`PENDING`): they turn into failures once fixed,
and are then removed from the list.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pytest

from linearlab import ElasticNet, Lasso, LassoCV, LinearRegression, RidgeCV, cli, load
from linearlab.data.sources import open_source
from linearlab.errors import LinearLabError
from linearlab.pipeline import table_fit

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")

DOCS = (Path(__file__).resolve().parent.parent / "docs" / "errors.md").read_text()
RIDGE_ALPHAS = np.logspace(-3, 3, 13)  # the command line's RidgeCV candidates
FORMULA = "y ~ C(g) + x1:x2 + np.log(x2)"

#: name: (class, parameters, command-line options)
ESTIMATORS = {
    "OLS": (LinearRegression, {}, []),
    "ridge": (LinearRegression, {"alpha": 0.5}, ["--alpha", "0.5"]),
    "Lasso": (Lasso, {"alpha": 0.05}, ["--penalty", "l1", "--alpha", "0.05"]),
    "ElasticNet": (ElasticNet, {"alpha": 0.05, "l1_ratio": 0.5},
                   ["--penalty", "elasticnet", "--alpha", "0.05"]),
    "LassoCV": (LassoCV, {}, ["--penalty", "l1", "--alpha", "cv"]),
    "RidgeCV": (RidgeCV, {"alphas": RIDGE_ALPHAS}, ["--penalty", "l2", "--alpha", "cv"]),
    "GD full batch": (LinearRegression, {"solver": "gd", "lr": 0.05, "epochs": 30,
                                         "random_state": 0},
                      ["--solver", "gd", "--lr", "0.05", "--epochs", "30", "--seed", "0"]),
    # the command line shuffles (seeded): its reference shuffles too (same batch order)
    "GD mini-batch": (LinearRegression, {"solver": "gd", "lr": 0.02, "epochs": 3,
                                         "batch_size": 8, "shuffle": False, "random_state": 0},
                      ["--solver", "gd", "--lr", "0.02", "--epochs", "3", "--batch-size", "8",
                       "--seed", "0"]),
}

#: name: what the fit reads and how
FEATURES = {
    "formula": {"formula": FORMULA},
    "text column": {"x": ["x1", "g", "x2"]},
    "missing drop": {"x": ["x1", "x2"], "missing": True},
    "sample_weight": {"x": ["x1", "x2"], "weights": True},
    "two targets": {"x": ["x1", "x2"], "y": ["y", "y2"]},
    "standardize": {"x": ["x1", "x2"], "params": {"standardize": True}},
}
PATHS = ["numpy", "dataframe", "csv", "csv streamed", "dask", "cli"]

#: (estimator, feature, path) -> words of the refusal (its message and docs/errors.md hold them)
REFUSALS: dict[tuple[str, str, str], str] = {
    # as scikit-learn's: one target per cross-validated lasso (MultiTaskLassoCV is another model)
    **{("LassoCV", "two targets", path): "LassoCV fits one target" for path in PATHS},
}

#: (estimator, feature, path) -> why the cell fails today (work pending elsewhere)
PENDING: dict[tuple[str, str, str], str] = {}


# --------------------------------------------------------------------------- the data
@functools.cache
def frame(missing: bool = False):
    """60 rows: x1, x2 > 0, a text column g whose reference level 'a' first appears late, two
    targets, weights; with ``missing`` a few empty cells in x2 and y."""
    rng = np.random.default_rng(18)
    n = 60
    df = pd.DataFrame({"x1": rng.normal(size=n), "g": rng.choice(["b", "c", "d"], n),
                       "x2": rng.uniform(1.0, 3.0, n)})
    df.loc[45, "g"] = "a"
    df["y"] = 1 + 2 * df.x1 - df.x2 + 0.5 * (df.g == "c") + rng.normal(scale=0.3, size=n)
    df["y2"] = -1 + df.x1 + 0.3 * df.x2 + rng.normal(scale=0.3, size=n)
    df["w"] = rng.uniform(0.5, 2.0, n)
    if missing:
        df.loc[[5, 17], "x2"] = np.nan
        df.loc[30, "y"] = np.nan
    return df


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("composition")
    paths = {}
    for missing in (False, True):
        paths[missing] = folder / f"table{'-gaps' if missing else ''}.csv"
        frame(missing).to_csv(paths[missing], index=False)
    return folder, paths


def _model(estimator: str, feature: str, cli_reference: bool = False):
    cls, params, _ = ESTIMATORS[estimator]
    spec = FEATURES[feature]
    params = {**params, **spec.get("params", {})}
    if spec.get("missing"):
        params["missing"] = "drop"
    if cli_reference and "shuffle" in params:
        params.pop("shuffle")
    return cls, params


def _result(model) -> tuple[np.ndarray, np.ndarray]:
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=float))
    return np.asarray(model.coef_, dtype=float).reshape(len(intercept), -1), intercept


# --------------------------------------------------------------------------- the paths
def fit_frame(estimator: str, feature: str, columns=None, cli_reference: bool = False):
    """The DataFrame fit (the reference); ``columns`` maps the frame to another container."""
    cls, params = _model(estimator, feature, cli_reference)
    spec = FEATURES[feature]
    df = frame(spec.get("missing", False))
    convert = columns or (lambda a: a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "formula" in spec:
            data = convert(df) if columns is None else {c: df[c].to_numpy() for c in df}
            return _result(cls.from_formula(spec["formula"], data, **params))
        targets = spec.get("y", ["y"])
        y = df[targets[0]] if len(targets) == 1 else df[targets]
        w = df["w"] if spec.get("weights") else None
        model = cls(**params).fit(convert(df[spec["x"]]), convert(y),
                                  **({} if w is None else {"sample_weight": convert(w)}))
    return _result(model)


def fit_numpy(estimator, feature, files):
    return fit_frame(estimator, feature, columns=lambda a: a.to_numpy())


def fit_csv(estimator, feature, files, stream=False):
    cls, params = _model(estimator, feature)
    spec = FEATURES[feature]
    source = open_source(str(files[1][spec.get("missing", False)]))
    if stream:
        source.block_bytes = 1024  # several blocks of a dozen rows each
    model = cls(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if cls is LinearRegression or table_fit.needs_design(
                source, spec.get("x", []), params.get("missing", "error"),
                "w" if spec.get("weights") else None) or "formula" in spec:
            outcome = table_fit.fit_source(
                model, source, spec.get("x"), spec.get("y", ["y"]),
                weight="w" if spec.get("weights") else None, formula=spec.get("formula"),
                stream=stream)
        else:
            from linearlab.pipeline.penalized import fit_source

            outcome = fit_source(model, source, spec["x"], spec.get("y", ["y"]), stream=stream)
    assert outcome.streamed is stream
    return _result(outcome.model)


def fit_dask(estimator, feature, files):
    cls, params = _model(estimator, feature)
    spec = FEATURES[feature]
    ddf = dd.from_pandas(frame(spec.get("missing", False)), npartitions=3)
    with warnings.catch_warnings(), dask.config.set(scheduler="synchronous"):
        warnings.simplefilter("ignore")
        if "formula" in spec:
            return _result(cls.from_formula(spec["formula"], ddf, **params))
        targets = spec.get("y", ["y"])
        y = ddf[targets[0]] if len(targets) == 1 else ddf[targets]
        w = {"sample_weight": ddf["w"]} if spec.get("weights") else {}
        return _result(cls(**params).fit(ddf[spec["x"]], y, **w))


def fit_cli(estimator, feature, files, capsys=None):
    spec = FEATURES[feature]
    out = files[0] / f"{estimator}-{feature}.json".replace(" ", "_")
    argv = ["fit", str(files[1][spec.get("missing", False)]), "-o", str(out), "--force",
            "--json", *ESTIMATORS[estimator][2]]
    if "formula" in spec:
        argv += ["--formula", spec["formula"]]
    else:
        argv += ["-x", ",".join(spec["x"]), "-y", ",".join(spec.get("y", ["y"]))]
    argv += ["--missing", "drop"] if spec.get("missing") else []
    argv += ["--standardize"] if spec.get("params", {}).get("standardize") else []
    if spec.get("weights"):
        argv += ["--weights", "w"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = cli.main(argv)
    if status != 0:
        raise CommandFailed(status)
    return _result(load(out))


class CommandFailed(AssertionError):
    """``linearlab fit`` ended with a non-zero status (its message is on stderr)."""


RUNNERS = {
    "numpy": fit_numpy, "dataframe": lambda e, f, files: fit_frame(e, f),
    "csv": fit_csv, "csv streamed": functools.partial(fit_csv, stream=True),
    "dask": fit_dask, "cli": fit_cli,
}


@functools.cache
def reference(estimator: str, feature: str, cli_reference: bool):
    """The DataFrame fit, or the LinearLabError it raises."""
    try:
        return fit_frame(estimator, feature, cli_reference=cli_reference)
    except LinearLabError as exc:
        return exc


def _cells():
    for feature in FEATURES:
        for estimator in ESTIMATORS:
            for path in PATHS:
                key = (estimator, feature, path)
                marks = [pytest.mark.xfail(strict=True, reason=PENDING[key])] \
                    if key in PENDING else []
                yield pytest.param(estimator, feature, path, marks=marks,
                                   id=f"{feature}|{estimator}|{path}".replace(" ", "_"))


@pytest.mark.parametrize(("estimator", "feature", "path"), list(_cells()))
def test_cell(estimator, feature, path, files, capsys):
    key = (estimator, feature, path)
    expected = reference(estimator, feature, path == "cli")
    if key in REFUSALS:
        words = REFUSALS[key]
        assert words in DOCS, f"docs/errors.md does not list the refusal {words!r}"
        with pytest.raises((LinearLabError, CommandFailed)) as caught:
            RUNNERS[path](estimator, feature, files)
        message = capsys.readouterr().err if caught.type is CommandFailed else str(caught.value)
        assert words in message and "\n\n" not in message.strip()
        return
    assert not isinstance(expected, Exception), f"the DataFrame fit refused: {expected}"
    coef, intercept = RUNNERS[path](estimator, feature, files)
    np.testing.assert_allclose(coef, expected[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(intercept, expected[1], rtol=0, atol=1e-10)


def test_few_cells_refuse():
    cells = len(FEATURES) * len(ESTIMATORS) * len(PATHS)
    assert len(REFUSALS) <= 0.10 * cells
    assert all(key[2] in PATHS and key[1] in FEATURES and key[0] in ESTIMATORS
               for key in [*REFUSALS, *PENDING])
