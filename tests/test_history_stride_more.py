"""More places that must read a thinned history (``history_stride_`` > 1) by epoch.

The history budget is lowered (as in ``tests/test_history_stride.py``) so that 45 epochs thin
to stride 8: entries are epochs 0, 8, ..., 40 and the last, 44. Covered here: the convergence
diagnosis (epoch count of the plateau message, the "about N more epochs" estimate), penalized
gradient descent (``Lasso(solver="gd")``: ``history_stride_`` and the command line's epoch
log), the ``demo`` command's epoch log, and the early-stopping validation history, thinned
with the training history.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import linearlab.descent.driver as driver
from linearlab import ElasticNet, Lasso, LinearRegression
from linearlab.descent.config import DescentConfig
from linearlab.descent.diagnosis import diagnose_plateau, diagnose_quadratic
from linearlab.descent.history import EpochRecord
from tests.cli_runner import run_cli

EPOCHS = 45
KEPT = [0, 8, 16, 24, 32, 40, 44]


@pytest.fixture
def small_budget(monkeypatch):
    """A history budget of 10 losses: 45 epochs thin to stride 8."""
    monkeypatch.setattr(driver, "HISTORY_BUDGET", 10)


def _data(features: int = 1, correlated: bool = False):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, features))
    if correlated:
        X[:, 1] = X[:, 0] + 0.05 * X[:, 1]
    y = X @ np.arange(1.0, features + 1) + 0.5 + 0.1 * rng.normal(size=60)
    return X, y


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def _more_epochs(message: str) -> int:
    match = re.search(r"about (\d+) more epochs", message)
    assert match, message
    return int(match.group(1))


# ------------------------------------------------------------------------------ diagnosis
@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_plateau_message_counts_epochs(small_budget, loss):
    X, y = _data()
    model = _fit(LinearRegression(solver="gd", loss=loss, epochs=EPOCHS, lr=0.01), X, y)
    assert model.history_stride_ == 8 and len(model.history_) == 7
    assert not model.converged_
    assert f"still changing after {EPOCHS} epochs" in model.diagnosis_
    assert "after 7 epochs" not in model.diagnosis_


def test_more_epochs_estimate_is_per_epoch_when_thinned(monkeypatch):
    X, y = _data()
    whole = _fit(LinearRegression(solver="gd", epochs=EPOCHS, lr=0.01), X, y)
    monkeypatch.setattr(driver, "HISTORY_BUDGET", 10)
    thinned = _fit(LinearRegression(solver="gd", epochs=EPOCHS, lr=0.01), X, y)
    assert getattr(whole, "history_stride_", 1) == 1 and thinned.history_stride_ == 8
    expected, got = _more_epochs(whole.diagnosis_), _more_epochs(thinned.diagnosis_)
    assert abs(got - expected) <= 0.02 * expected, (got, expected)  # was 40 against 448


def _geometric(epochs: int, rate: float, stride: int) -> list[float]:
    """Losses 1 + rate**e of a record thinned to ``stride`` (the last epoch appended)."""
    numbers = list(range(0, epochs, stride))
    if (epochs - 1) % stride:
        numbers.append(epochs - 1)
    return [1.0 + rate**e for e in numbers]


@pytest.mark.parametrize("epochs, stride", [(45, 8), (41, 8), (100, 16), (100, 1)])
def test_rate_estimate_from_a_thinned_history(epochs, stride):
    """On an exactly geometric curve the estimate equals the unthinned one, whether or not the
    last epoch falls on the stride."""

    def estimate(history, history_stride):
        diagnosis = diagnose_quadratic(
            history=history, final_loss=history[-1], optimal_loss=1.0,
            optimum=(np.ones((1, 1)), np.zeros(1)), lr=0.1, epochs_run=epochs,
            stopped_by_tol=False, suggested_lr=None, history_stride=history_stride)
        assert f"after {epochs} epochs" in diagnosis.message
        return _more_epochs(diagnosis.message)

    whole = estimate(_geometric(epochs, 0.9, 1), 1)
    assert abs(estimate(_geometric(epochs, 0.9, stride), stride) - whole) <= 1


def test_plateau_change_is_measured_per_epoch():
    """Two entries 8 epochs apart that differ by 4e-8 (relative) changed 5e-9 per epoch: a
    plateau; the same change between consecutive epochs is not."""
    history = [2.0] * 6 + [2.0 * (1 - 4e-8)]
    assert diagnose_plateau(history, False, epochs_run=49, history_stride=8).converged
    assert not diagnose_plateau(history, False).converged
    short = diagnose_plateau([3.0, 2.0, 1.0], False, epochs_run=17, history_stride=8)
    assert not short.converged and "after 17 epochs" in short.message


# ------------------------------------------------------------------------------ penalized
@pytest.mark.parametrize("make", [lambda: Lasso(alpha=0.01, solver="gd", max_iter=EPOCHS),
                                  lambda: ElasticNet(alpha=0.01, l1_ratio=0.5, solver="gd",
                                                     max_iter=EPOCHS)])
def test_penalized_gd_sets_the_stride(small_budget, make):
    X, y = _data(3, correlated=True)
    model = _fit(make(), X, y)
    assert model.n_iter_ == EPOCHS and len(model.history_) == len(KEPT)
    assert model.history_stride_ == 8


def test_penalized_gd_unthinned_stride_is_one():
    X, y = _data(3, correlated=True)
    model = _fit(Lasso(alpha=0.01, solver="gd", max_iter=EPOCHS), X, y)
    assert model.history_stride_ == 1 and len(model.history_) == EPOCHS


def _epoch_rows(stdout: str) -> list[str]:
    cells = [line.replace("\u2502", " ").split() for line in stdout.splitlines()]
    return [c[0] for c in cells if len(c) == 2 and c[0].isdigit()]


def test_cli_penalized_gd_epoch_log_counts_epochs(small_budget, tmp_path):
    X, y = _data(3, correlated=True)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="x1,x2,x3,y",
               comments="")
    out = run_cli(["fit", path, "--penalty", "l1", "--alpha", "0.01", "--solver", "gd",
                   "--epochs", str(EPOCHS)], cwd=tmp_path)
    assert out.status == 0, out.stderr
    assert _epoch_rows(out.stdout) == [str(e) for e in KEPT], out.stdout
    assert "one epoch in every 8 is kept" in out.stdout


def test_cli_demo_epoch_log_counts_epochs(small_budget, tmp_path):
    out = run_cli(["demo", "three-points", "--no-plots"], cwd=tmp_path)  # 100 epochs
    assert out.status == 0, out.stderr
    rows = _epoch_rows(out.stdout)
    assert rows[-1] == "99" and rows[1] == "16", out.stdout  # stride 16 past a budget of 10
    assert "one epoch in every 16 is kept" in out.stdout


# ------------------------------------------------------------------------------ validation
def _run_with_validation(epochs: int, budget: int, monkeypatch) -> tuple:
    monkeypatch.setattr(driver, "HISTORY_BUDGET", budget)
    W, b = np.zeros((1, 1)), np.zeros(1)
    config = DescentConfig(lr=0.1, epochs=epochs, tol=None, progress=False)
    run = driver.EpochDriver(config, W, b, validation=lambda W, b: 1000.0 - float(W[0, 0]))
    with run:
        while run.running:
            e = run.epoch
            run.end_epoch(float(e), W + e, b)  # training loss e, validation 1000 - e
    return run.result(), run.record


@pytest.mark.parametrize("epochs", [45, 41, 9, 1])
def test_validation_history_is_thinned_with_the_training_history(epochs, monkeypatch):
    result, record = _run_with_validation(epochs, 10, monkeypatch)
    kept = record.epoch_numbers()
    assert result.history == [float(e) for e in kept]
    assert result.validation_history == [1000.0 - e for e in kept]
    if epochs == EPOCHS:
        assert result.history_stride == 8 and list(kept) == KEPT


def test_validation_history_unthinned_keeps_every_epoch(monkeypatch):
    result, _ = _run_with_validation(30, 100, monkeypatch)
    assert result.validation_history == [1000.0 - e for e in range(30)]


def test_series_follows_its_record():
    """A series added after every epoch of a record stays on the record's epochs."""
    record = EpochRecord(np.zeros((2, 1)), budget=6)
    series = record.series()
    for e in range(37):
        record.add(float(e), np.zeros((2, 1)))
        series.add(-float(e))
    assert series.values() == [-v for v in record.losses()]
    assert record.stride == 8
