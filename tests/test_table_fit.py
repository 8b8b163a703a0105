"""The design step over a source's blocks (pipeline.table_fit, pipeline.growing): text columns,
missing values, weights and formulas, whole or streamed, equal to the in-memory DataFrame fit."""

from __future__ import annotations

import numpy as np
import pytest

from linearlab.data import sources as io
from linearlab.errors import DataError
from tests.problems import mixed_table


@pytest.fixture
def mixed_frame(rng):
    """Numbers, a text column whose reference level ('a') first appears late, missing cells."""
    return mixed_table(rng, 300, late=200)


@pytest.mark.parametrize("params", [
    {}, {"fit_intercept": False},
    {"solver": "gd", "lr": 0.05, "epochs": 20, "batch_size": 16, "shuffle": False},
    {"solver": "gd", "epochs": 30, "standardize": True},
    {"solver": "gd", "loss": "huber", "lr": 0.05, "epochs": 20},  # one step per epoch
    {"solver": "gd", "lr": 0.05, "epochs": 20, "batch_size": 16, "shuffle": False,
     "early_stopping": True, "n_iter_no_change": 3},  # the same held-out rows
])
@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_streamed_text_and_missing_drop_equal_in_memory(tmp_path, mixed_frame, params, weight):
    from linearlab import LinearRegression
    from linearlab.pipeline import table_fit

    path = tmp_path / "mixed.csv"
    mixed_frame.to_csv(path, index=False)
    features = ["x1", "g", "x2"]
    reference = LinearRegression(missing="drop", random_state=0, **params).fit(
        mixed_frame[features], mixed_frame["y"],
        sample_weight=None if weight is None else mixed_frame[weight])
    for stream in (False, True):
        source = io.open_source(str(path))
        source.block_bytes = 2048  # several blocks; level 'a' arrives in a late one
        model = LinearRegression(missing="drop", random_state=0, **params)
        outcome = table_fit.fit_source(model, source, features, ["y"], weight=weight,
                                       stream=stream)
        assert outcome.streamed is stream
        assert outcome.features == list(reference.design_.names)
        assert model.n_dropped_ == reference.n_dropped_ == 4
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-10)
        assert model.intercept_ == pytest.approx(reference.intercept_, abs=1e-10)
    complete = mixed_frame[features].dropna()[:5]
    np.testing.assert_allclose(model.predict(complete.to_numpy(dtype=object)),
                               reference.predict(complete), atol=1e-10)


def test_growing_gram_merge_aligns_levels(rng):
    from linearlab.design.growing import GrowingGram, TableSpec
    from linearlab.exact.gram import Gram

    spec = TableSpec(["x", "g"], ["y"], text=["g"])
    x, y = rng.normal(size=8), rng.normal(size=8)
    codes = np.array([0, 1, 0, 1, 0, 0, 1, 1])

    def part(rows, levels):
        growing = GrowingGram(spec)
        growing.absorb({"x": x[rows], "y": y[rows], "g": (codes[rows], levels)},
                       lambda c, r: AssertionError((c, r)))
        return growing

    merged = part(slice(0, 4), ["q", "p"]).merge(part(slice(4, 8), ["r", "q"]))
    design, gram = merged.finish()
    assert design.names == ["x", "g[T.q]", "g[T.r]"]
    names = ["q", "p", "q", "p", "r", "r", "q", "q"]
    X = np.column_stack([x, [n == "q" for n in names], [n == "r" for n in names]])
    exact = Gram.from_arrays(X, y)
    np.testing.assert_allclose(gram.sxx, exact.sxx, atol=1e-12)
    np.testing.assert_allclose(gram.sxy, exact.sxy, atol=1e-12)


def test_cli_stream_with_text_column_stays_streamed(tmp_path, mixed_frame, capsys):
    import json

    from linearlab import LinearRegression, cli

    path = tmp_path / "mixed.csv"
    mixed_frame.to_csv(path, index=False)
    argv = ["fit", str(path), "-y", "y", "-x", "x1,g,x2", "--json"]
    assert cli.main([*argv, "--missing", "drop", "--stream"]) == 0
    out = json.loads(capsys.readouterr().out)
    reference = LinearRegression(missing="drop").fit(mixed_frame[["x1", "g", "x2"]],
                                                     mixed_frame["y"])
    assert out["streamed"] is True and out["dropped"] == 4
    np.testing.assert_allclose(list(out["coef"].values()), reference.coef_, atol=1e-10)
    # without --missing drop the first missing cell is reported with its line
    assert cli.main([*argv, "--stream"]) == 2
    assert "line 5" in capsys.readouterr().err


def test_streamed_formula_equals_in_memory_and_refuses_stateful_transforms(tmp_path,
                                                                          mixed_frame):
    from linearlab import LinearRegression
    from linearlab.errors import ParameterError
    from linearlab.pipeline import table_fit

    frame = mixed_frame.assign(x2=mixed_frame.x2.abs() + 0.5)
    path = tmp_path / "formula.csv"
    frame.to_csv(path, index=False)
    formula = "y ~ C(g) + x1:x2 + np.log(x2)"
    reference = LinearRegression.from_formula(formula, frame, missing="drop")
    source = io.open_source(str(path))
    source.block_bytes = 2048
    outcome = table_fit.fit_source(LinearRegression(missing="drop"), source, formula=formula,
                                   stream=True)
    assert outcome.streamed and outcome.features == reference.design_.names
    assert outcome.model.n_dropped_ == reference.n_dropped_
    np.testing.assert_allclose(outcome.model.coef_, reference.coef_, rtol=0, atol=1e-10)
    with pytest.raises(ParameterError, match="stateful transforms"):
        table_fit.fit_source(LinearRegression(missing="drop"), source,
                             formula="y ~ center(x1) + g", stream=True)


def test_growing_gram_encodes_in_bounded_pieces_and_caps_its_width(monkeypatch, rng):
    from linearlab.design import growing
    from linearlab.exact.gram import Gram

    monkeypatch.setattr(growing, "ENCODE_CELLS", 12)  # pieces of 3 rows
    spec = growing.TableSpec(["x", "g"], ["y"], text=["g"])
    x, y, codes = rng.normal(size=50), rng.normal(size=50), rng.integers(0, 3, 50)
    block = {"x": x, "y": y, "g": (codes, ["r", "p", "q"])}
    state = growing.GrowingGram(spec)
    state.absorb(block, lambda c, r: AssertionError((c, r)))
    design, gram = state.finish()
    assert design.names == ["x", "g[T.q]", "g[T.r]"]
    names = np.array(["r", "p", "q"])[codes]
    exact = Gram.from_arrays(np.column_stack([x, names == "q", names == "r"]), y)
    np.testing.assert_allclose(gram.sxx, exact.sxx, atol=1e-12)
    monkeypatch.setattr(growing, "MAX_COLUMNS", 3)
    with pytest.raises(DataError, match="'g' brings the design past 3 columns"):
        growing.GrowingGram(spec).absorb(block, lambda c, r: AssertionError((c, r)))


@pytest.mark.parametrize("make", [
    lambda: __import__("linearlab").LassoCV(cv=4, missing="drop", standardize=True),
    lambda: __import__("linearlab").RidgeCV(alphas=np.logspace(-3, 3, 13), missing="drop"),
    lambda: __import__("linearlab").RidgeCV(alphas=np.logspace(-3, 3, 13), cv=3,
                                            missing="drop", standardize=True),
])
def test_streamed_cross_validation_with_text_missing_and_weights(tmp_path, mixed_frame, make):
    from linearlab.pipeline import table_fit

    path = tmp_path / "mixed.csv"
    mixed_frame.to_csv(path, index=False)
    features = ["x1", "g", "x2"]
    reference = make().fit(mixed_frame[features], mixed_frame["y"],
                           sample_weight=mixed_frame["w"])
    source = io.open_source(str(path))
    source.block_bytes = 2048  # the folds cut across blocks
    outcome = table_fit.fit_source(make(), source, features, ["y"], weight="w", stream=True)
    assert outcome.streamed
    np.testing.assert_allclose(outcome.model.coef_, reference.coef_, rtol=0, atol=1e-10)
    assert outcome.model.alpha_ == reference.alpha_
