"""A thinned training history (``history_stride_`` > 1) is shown and stored by epoch.

Runs past :data:`linearlab.descent.history.HISTORY_BUDGET` losses keep every 2nd, 4th...
epoch. The figures must label epochs, not history entries; model files must keep the stride so
a reloaded model's plots have the right epoch axis; the command line's epoch log and ``--json``
output must say which epochs they show. The budget is lowered here so that 45 epochs thin.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import linearlab
import linearlab.descent.driver as driver
from linearlab import LinearRegression, viz
from linearlab.descent.history import EpochRecord, kept_count, stride_of
from linearlab.errors import ModelFileError
from linearlab.viz.animation import frame_epochs
from linearlab.viz.diagnostics import history_epochs, path_epochs
from tests.cli_runner import run_cli

pytest.importorskip("matplotlib")
pytest.importorskip("PIL.Image")

EPOCHS = 45


@pytest.fixture
def small_budget(monkeypatch):
    """A history budget of 10 losses: 45 epochs thin to stride 8 (epochs 0, 8, ..., 40, 44)."""
    monkeypatch.setattr(driver, "HISTORY_BUDGET", 10)


def _data(features: int = 1):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, features))
    y = X @ np.arange(1.0, features + 1) + 0.5 + 0.1 * rng.normal(size=60)
    return X, y


@pytest.fixture
def thinned(small_budget):
    X, y = _data()
    with pytest.warns(linearlab.errors.ConvergenceWarning):
        model = LinearRegression(solver="gd", epochs=EPOCHS, lr=0.05).fit(X, y)
    assert model.history_stride_ == 8 and model.n_iter_ == EPOCHS
    return model, X, y


def test_record_stride_inference_matches_the_record():
    """stride_of recovers the stride an EpochRecord thinned to, from the counts alone."""
    for budget, epochs in [(10, 45), (10, 9), (4, 100), (50, 1000), (7, 64)]:
        record = EpochRecord(np.zeros((2, 1)), budget)
        for e in range(epochs):
            record.add(float(e), np.zeros((2, 1)))
        losses = record.losses()
        assert kept_count(epochs, record.stride) == len(losses)
        assert stride_of(len(losses), epochs) == record.stride


def test_epoch_numbers_of_history_and_path(thinned):
    model, _, _ = thinned
    np.testing.assert_array_equal(history_epochs(model, len(model.history_)),
                                  [0, 8, 16, 24, 32, 40, 44])
    np.testing.assert_array_equal(path_epochs(model, len(model.params_history_)),
                                  [0, 8, 16, 24, 32, 40, 45])


def _legend(ax) -> list[str]:
    legend = ax.get_legend() or ax.figure.legends[0]
    return [t.get_text() for t in legend.get_texts()]


def test_loss_curve_and_landscape_count_epochs_not_entries(thinned):
    model, X, y = thinned
    curve = viz.plot_loss_curve(model, X, y)
    assert any(f"{EPOCHS} epochs (1 in 8 drawn) of GD" in t for t in _legend(curve.axes[0]))
    land = viz.plot_landscape(model, X, y)
    labels = _legend(land.axes[0])
    assert any(f": {EPOCHS} epochs (1 in 8 drawn)" in t for t in labels), labels
    assert not any(": 6 epochs" in t for t in labels)


def test_loss_history_axis_is_in_epochs(thinned):
    model, _, _ = thinned
    ax = viz.plot_loss_history(model).axes[0]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 8, 16, 24, 32, 40, 44])
    assert "1 in 8" in ax.get_xlabel()
    assert f"{EPOCHS} epochs" in ax.get_title()


def test_animation_captions_and_every_are_in_epochs(thinned, tmp_path, monkeypatch):
    from matplotlib.text import Text

    model, X, y = thinned
    captions: list[str] = []
    original = Text.set_text

    def record(self, text):
        if str(text).startswith("Gradient descent"):
            captions.append(str(text))
        return original(self, text)

    monkeypatch.setattr(Text, "set_text", record)
    viz.animate_training(model, X, y, tmp_path / "a.gif", every=16, dpi=30)
    shown = sorted({c.split("epoch ")[1].split(",")[0] for c in captions},
                   key=lambda s: int(s.split()[0]))
    # every=16 epochs on a path kept every 8 epochs: epochs 0, 16, 32 and the last (45)
    assert shown == [f"{e} of {EPOCHS}" for e in (0, 16, 32, 45)]
    # the same selection, by snapshot index, without a model
    epochs = path_epochs(model, len(model.params_history_))
    np.testing.assert_array_equal(frame_epochs(len(epochs), every=16, epochs=epochs),
                                  [0, 2, 4, 6])


def test_model_file_keeps_the_stride(thinned, tmp_path):
    model, _, _ = thinned
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["fit"]["history_stride"] == 8
    loaded = linearlab.load(path)
    assert loaded.history_stride_ == 8
    np.testing.assert_array_equal(history_epochs(loaded, len(loaded.history_)),
                                  [0, 8, 16, 24, 32, 40, 44])
    ax = viz.plot_loss_history(loaded).axes[0]
    assert ax.get_lines()[0].get_xdata()[-1] == EPOCHS - 1
    np.testing.assert_array_equal(path_epochs(loaded, len(loaded.params_history_)),
                                  [0, 8, 16, 24, 32, 40, 45])


def test_old_model_files_without_the_stride(thinned, tmp_path):
    """Files written before the stride was stored: stride 1 for a whole history, else the
    stride the history's length implies; a stored stride that is not a count is refused."""
    model, X, y = thinned
    path = tmp_path / "old.json"
    model.save(path)
    doc = json.loads(path.read_text())
    del doc["fit"]["history_stride"]
    path.write_text(json.dumps(doc))
    assert linearlab.load(path).history_stride_ == 8
    with pytest.warns(linearlab.errors.ConvergenceWarning):
        whole = LinearRegression(solver="gd", epochs=5, lr=0.05).fit(X, y)
    whole.save(path)
    doc = json.loads(path.read_text())
    assert doc["fit"]["history_stride"] == 1
    del doc["fit"]["history_stride"]
    path.write_text(json.dumps(doc))
    assert linearlab.load(path).history_stride_ == 1
    for bad in (0, -2, 1.5, "8", True):
        doc["fit"]["history_stride"] = bad
        path.write_text(json.dumps(doc))
        with pytest.raises(ModelFileError, match="history_stride"):
            linearlab.load(path)


def test_exact_models_store_no_stride(tmp_path):
    X, y = _data()
    path = tmp_path / "e.json"
    LinearRegression().fit(X, y).save(path)
    assert json.loads(path.read_text())["fit"]["history_stride"] is None
    assert not hasattr(linearlab.load(path), "history_stride_")


def _csv(tmp_path, features: int = 1):
    X, y = _data(features)
    path = tmp_path / "d.csv"
    header = ",".join([*(f"x{j + 1}" for j in range(features)), "y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    return path


def test_cli_epoch_log_and_json_say_which_epochs(small_budget, tmp_path):
    data = _csv(tmp_path)
    args = ["fit", data, "--solver", "gd", "--epochs", str(EPOCHS), "--lr", "0.05"]
    text = run_cli(args, cwd=tmp_path)
    assert text.status == 0, text.stderr
    assert "one epoch in every 8 is kept" in text.stdout
    cells = [line.replace("\u2502", " ").split() for line in text.stdout.splitlines()]
    rows = [c[0] for c in cells if len(c) == 2 and c[0].isdigit()]
    assert "44" in rows and "6" not in rows  # epochs, not entries
    out = run_cli([*args, "--json", "-o", tmp_path / "m.json"], cwd=tmp_path)
    payload = json.loads(out.stdout)
    assert payload["history_stride"] == 8 and len(payload["history"]) == 7
    assert payload["n_iter"] == EPOCHS  # history[-1] is epoch n_iter - 1, the others i * stride
    assert json.loads((tmp_path / "m.json").read_text())["fit"]["history_stride"] == 8


def test_cli_plots_of_a_reloaded_thinned_model(small_budget, tmp_path):
    data = _csv(tmp_path, features=2)
    fit = run_cli(["fit", data, "--solver", "gd", "--epochs", str(EPOCHS), "--lr", "0.05",
                   "-o", tmp_path / "m.json"], cwd=tmp_path)
    assert fit.status == 0, fit.stderr
    loaded = linearlab.load(tmp_path / "m.json")
    assert loaded.history_stride_ == 8
    out = run_cli(["plot", tmp_path / "m.json", "--kind", "history", "-o", tmp_path / "p"],
                  cwd=tmp_path)
    assert out.status == 0, out.stderr
    assert (tmp_path / "p" / "loss-history.png").stat().st_size > 0
