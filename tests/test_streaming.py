"""Streaming fits: the equivalent design, chunked exact and GD fits, metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from linearlab import LinearRegression
from linearlab.data import sources as io
from linearlab.exact.gram import Gram
from linearlab.pipeline import streaming


@pytest.fixture
def csv_source(tmp_path, rng):
    X = rng.normal(size=(4000, 3)) * [1.0, 10.0, 0.1] + [5.0, -3.0, 100.0]
    y = X @ [2.0, -0.5, 30.0] + 1.0 + rng.normal(size=4000)
    lines = ["a,b,c,y"] + [",".join(repr(v) for v in row) for row in np.column_stack([X, y])
                           .tolist()]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    return io.open_source(str(path)), X, y


def test_equivalent_design_has_the_same_statistics(rng):
    X, Y = rng.normal(size=(500, 4)) + 3.0, rng.normal(size=(500, 2))
    gram = Gram.from_arrays(X, Y)
    Xe, Ye, we = streaming.equivalent_design(gram)
    again = Gram.from_arrays(Xe, Ye, we)
    assert Xe.shape == (12, 4) and we.sum() == pytest.approx(500)
    for name in ("mean_x", "mean_y", "sxx", "sxy", "syy"):
        np.testing.assert_allclose(getattr(again, name), getattr(gram, name), atol=1e-9)


@pytest.mark.parametrize(
    "params, rtol",
    [({}, 1e-9), ({"solver": "normal", "alpha": 2.0}, 1e-9), ({"solver": "qr"}, 1e-9),
     ({"fit_intercept": False}, 1e-9), ({"solver": "gd", "epochs": 300, "standardize": True}, 1e-9),
     # Adam divides by √v: rounding differences of the statistics are amplified along the path
     ({"solver": "gd", "epochs": 200, "optimizer": "adam", "lr": 0.05, "standardize": True,
       "random_state": 0}, 1e-6)],
)
def test_streamed_fit_equals_in_memory_fit(csv_source, params, rtol):
    source, X, y = csv_source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = LinearRegression(**params).fit(X, y)
        outcome = streaming.fit_source(LinearRegression(**params), source, ["a", "b", "c"],
                                       ["y"], stream=True)
    model = outcome.model
    assert outcome.streamed and outcome.rows == 4000
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=1e-9)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=rtol, abs=1e-9)
    np.testing.assert_allclose(model.history_, reference.history_, rtol=rtol)
    assert model.converged_ == reference.converged_
    assert model.fitted_state_.gram.count == 4000
    assert outcome.metrics["r2"] == pytest.approx(reference.score(X, y), rel=1e-12)
    assert outcome.metrics["mae"] is None  # needs a second pass


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_minibatch_stream_in_one_block_matches_api(csv_source, fit_intercept):
    source, X, y = csv_source
    params = dict(solver="gd", epochs=4, batch_size=64, shuffle=False, lr=1e-4, random_state=1,
                  optimizer="momentum", init="uniform", fit_intercept=fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = LinearRegression(**params).fit(X, y)
        model = streaming.fit_source(LinearRegression(**params), source, ["a", "b", "c"], ["y"],
                                     stream=True).model
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.history_, reference.history_, rtol=1e-10)


@pytest.mark.parametrize("optimizer, alpha", [("sgd", 0.0), ("momentum", 0.5), ("adam", 0.0)])
def test_minibatch_stream_over_many_blocks_equals_in_memory_gd(csv_source, monkeypatch,
                                                               optimizer, alpha):
    # ~100 rows per block and batches of 32 that straddle block boundaries: the chunk stream
    # is a batch source for the same loop, so the iterates are the in-memory loop's
    source, X, y = csv_source
    monkeypatch.setattr(io, "CSV_BLOCK_BYTES", 2**13)
    monkeypatch.setattr(io.ChunkStream.__init__, "__defaults__", (None, 2**13))
    assert len(list(io.ChunkStream(source, ["a", "b", "c", "y"]))) > 20
    params = dict(solver="gd", epochs=5, batch_size=32, shuffle=False, lr=2e-5, alpha=alpha,
                  optimizer=optimizer, random_state=0, init="uniform", engine="loop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = LinearRegression(**params).fit(X, y)
        model = streaming.fit_source(LinearRegression(**params), source, ["a", "b", "c"],
                                     ["y"], stream=True).model
    np.testing.assert_allclose(model.history_, reference.history_, rtol=1e-10)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-10, abs=1e-12)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_minibatch_stream_with_automatic_settings_converges(csv_source, monkeypatch):
    source, X, y = csv_source
    monkeypatch.setattr(io, "CSV_BLOCK_BYTES", 2**13)
    monkeypatch.setattr(io.ChunkStream.__init__, "__defaults__", (None, 2**13))
    model = streaming.fit_source(
        LinearRegression(solver="gd", epochs=10, batch_size=32, standardize=True,
                         random_state=0),
        source, ["a", "b", "c"], ["y"], stream=True,
    ).model
    exact = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, exact.coef_, rtol=0.02)  # averaged iterates
    assert model.score(X, y) > exact.score(X, y) - 1e-3
    assert len(model.history_) == 10


def test_metrics_match_scikit_learn(csv_source, rng):
    source, X, y = csv_source
    model = LinearRegression().fit(X[:100], y[:100])
    pred = model.predict(X)
    metrics = streaming.evaluate_source(model, source, ["a", "b", "c"], ["y"])
    assert metrics["rows"] == 4000
    assert metrics["r2"] == pytest.approx(r2_score(y, pred), rel=1e-12)
    assert metrics["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, pred)), rel=1e-12)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y, pred), rel=1e-12)
    Y = np.column_stack([y, 2 * y])
    P = np.column_stack([pred, 2 * pred + 1])
    multi = streaming.regression_metrics(Y, P)
    assert multi["r2"] == pytest.approx(r2_score(Y, P), rel=1e-12)
    assert multi["mae"] == pytest.approx(mean_absolute_error(Y, P), rel=1e-12)


# --------------------------------------------------------------------------- one descent shell
@pytest.fixture
def small_blocks(monkeypatch):
    """~100 rows per CSV block: a streamed fit reads many blocks."""
    monkeypatch.setattr(io, "CSV_BLOCK_BYTES", 2**13)
    monkeypatch.setattr(io.ChunkStream.__init__, "__defaults__", (None, 2**13))


def _fit_both(params, X, y, source, names=("a", "b", "c")):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = LinearRegression(**params).fit(X, y)
        streamed = streaming.fit_source(LinearRegression(**params), source, list(names), ["y"],
                                        stream=True).model
    return reference, streamed


def _assert_same_run(model, reference, rtol=1e-10):
    assert model.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(model.history_, reference.history_, rtol=rtol)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=rtol, atol=1e-12)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=rtol, abs=1e-12)


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_streamed_full_batch_mae_huber_takes_one_step_per_epoch(tmp_path, rng, small_blocks,
                                                                loss):
    # issue 18: 2,000 x 3 rows, 8 KiB blocks, lr=0.01, 50 epochs gave [1.00, 2.00, 3.00]
    # streamed (a step per block) against [0.12, 0.20, 0.31] in memory
    X = rng.normal(size=(2000, 3))
    y = X @ [1.0, 2.0, 3.0] + 0.5 + rng.normal(size=2000)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="")
    source = io.open_source(str(path))
    assert len(list(io.ChunkStream(source, ["a", "b", "c", "y"]))) > 10
    reference, model = _fit_both(dict(solver="gd", loss=loss, lr=0.01, epochs=50), X, y, source)
    assert np.all(np.abs(reference.coef_) < 0.4)
    _assert_same_run(model, reference)
    # early stopping: every block read every epoch, the in-memory fit's rows held out
    params = dict(solver="gd", loss=loss, lr=0.5, epochs=300, early_stopping=True, tol=1e-3,
                  random_state=0)
    reference, model = _fit_both(params, X, y, source)
    assert reference.stopped_by_ == "early_stopping" and reference.n_iter_ < 300
    _assert_same_run(model, reference)


@pytest.mark.parametrize("params, rtol", [
    (dict(epochs=400, lr=0.02, tol=1e-4, n_iter_no_change=3), 1e-9),  # the equivalent design
    # momentum amplifies the rounding differences of the statistics (block merges vs one pass)
    (dict(epochs=400, lr=0.05, random_state=3, optimizer="momentum"), 1e-7),
    (dict(epochs=40, lr=0.002, batch_size=64, shuffle=False, n_iter_no_change=2), 1e-9),
])
def test_streamed_early_stopping_holds_out_the_in_memory_rows(csv_source, small_blocks, params,
                                                              rtol):
    source, X, y = csv_source
    params = dict(solver="gd", early_stopping=True, standardize=True, **params)
    params.setdefault("random_state", 0)  # seeds the held-out rows (None: fresh entropy)
    reference, model = _fit_both(params, X, y, source)
    stopped = getattr(reference, "stopped_by_", None)
    assert stopped == "early_stopping" or reference.n_iter_ == params["epochs"]
    _assert_same_run(model, reference, rtol=rtol)
    assert model.fitted_state_.gram.count == reference.fitted_state_.gram.count == 3600


def test_streamed_early_stopping_stops_where_in_memory_stops(csv_source, small_blocks):
    source, X, y = csv_source
    params = dict(solver="gd", early_stopping=True, epochs=2000, standardize=True, tol=1e-3,
                  random_state=0)
    reference, model = _fit_both(params, X, y, source)
    assert reference.stopped_by_ == "early_stopping" and reference.n_iter_ < 2000
    _assert_same_run(model, reference, rtol=1e-9)


def test_dask_early_stopping_and_full_batch_mae_equal_in_memory(rng):
    da = pytest.importorskip("dask.array")
    X = rng.normal(size=(1500, 3)) * [1.0, 3.0, 0.5]
    y = X @ [1.0, -2.0, 3.0] + 1.0 + rng.normal(size=1500)
    w = rng.uniform(0.5, 2.0, 1500)
    Xd, yd, wd = (da.from_array(v, chunks=400) for v in (X, y, w))
    for params in (dict(early_stopping=True, epochs=300, lr=0.1, tol=1e-3, random_state=1),
                   dict(early_stopping=True, epochs=30, lr=1e-3, batch_size=50, shuffle=False,
                        random_state=2),
                   dict(loss="mae", epochs=40, lr=0.05),
                   dict(loss="huber", early_stopping=True, epochs=60, lr=0.05, random_state=3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = LinearRegression(solver="gd", **params).fit(X, y, sample_weight=w)
            model = LinearRegression(solver="gd", **params).fit(Xd, yd, sample_weight=wd)
        _assert_same_run(model, reference, rtol=1e-9)
        if "tol" in params:  # the validation score did stop it (at 76 of 300 epochs)
            assert model.converged_ and model.n_iter_ < params["epochs"]


def test_streamed_early_stopping_refuses_held_out_rows_past_the_memory_budget(csv_source,
                                                                               monkeypatch):
    from linearlab.descent import blocks
    from linearlab.errors import DataError

    source, _, _ = csv_source
    monkeypatch.setattr(blocks, "VALIDATION_BYTES", 1024)
    model = LinearRegression(solver="gd", early_stopping=True, random_state=0)
    with pytest.raises(DataError, match=r"holds out 400 rows .* validation_fraction"):
        streaming.fit_source(model, source, ["a", "b", "c"], ["y"], stream=True)
