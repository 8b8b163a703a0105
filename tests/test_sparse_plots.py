"""``linearlab fit DATA.svm --plots DIR``: the figures of a fit on sparse LIBSVM/svmlight rows.

Small sparse rows are drawn as the dense ones are (every figure that applies); rows too wide to
make dense stay sparse (never densified): the fit, residuals and loss history are drawn from
their predictions, and the figures that evaluate the loss over a parameter grid are left out
with one line saying which and why.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

import linearlab as ll
import linearlab.viz._common as viz_common
import linearlab.viz.view as viz_view
from linearlab import viz
from linearlab.errors import ParameterError
from tests.cli_runner import run_cli

pytest.importorskip("matplotlib")
pytest.importorskip("PIL.Image")


@pytest.fixture
def wide(monkeypatch):
    """Make 200 x 30 "too wide to make dense", and fail on any dense copy of a CSR matrix."""
    monkeypatch.setattr(viz_common, "DENSE_PLOT_NUMBERS", 100)
    monkeypatch.setattr(viz_view, "DENSE_PLOT_NUMBERS", 100)

    def no_dense(self, *args, **kwargs):
        raise AssertionError("a sparse matrix was made dense")

    for cls in (sp.csr_matrix, sp.csr_array):
        monkeypatch.setattr(cls, "toarray", no_dense)
        monkeypatch.setattr(cls, "todense", no_dense)


def _names(payload) -> list[str]:
    return [p.rsplit("/", 1)[-1] for p in payload["plots"]]


def _fit(tmp_path, path, *options):
    result = run_cli(["fit", path, *options, "--plots", "figs", "--json"], cwd=tmp_path)
    assert result.status == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_fit_svmlight_plots_every_figure_that_applies(svm, tmp_path):
    path, _, _ = svm
    gd, _ = _fit(tmp_path, path, "--solver", "gd", "--epochs", "20")
    assert _names(gd) == ["fit.png", "residuals.png", "loss-history.png", "loss-curve.png",
                          "landscape.png", "training.gif"]
    exact, _ = _fit(tmp_path, path)
    assert _names(exact) == ["fit.png", "residuals.png", "loss-curve.png", "landscape.png"]
    lasso, _ = _fit(tmp_path, path, "--penalty", "l1", "--alpha", "0.01")
    assert _names(lasso) == ["fit.png", "residuals.png", "path.png"]
    for name in _names(gd):
        assert (tmp_path / "figs" / name).stat().st_size > 1000


def test_sparse_and_dense_rows_draw_the_same_points(svm):
    """Predicted vs actual and the residuals from sparse X are those from its dense copy."""
    _, X, y = svm
    model = ll.LinearRegression().fit(X, y)
    for figure in (viz.plot_fit, viz.plot_residuals):
        sparse_fig, dense_fig = figure(model, X, y), figure(model, X.toarray(), y)
        a = sparse_fig.axes[0].collections[0].get_offsets()
        b = dense_fig.axes[0].collections[0].get_offsets()
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_one_sparse_feature_is_drawn_as_points_and_line(tmp_path):
    rng = np.random.default_rng(1)
    x = sp.csr_matrix(rng.uniform(0, 5, size=(40, 1)))
    y = 2 * x.toarray()[:, 0] + 1 + 0.1 * rng.normal(size=40)
    dump_svmlight_file(x, y, str(tmp_path / "one.svm"), zero_based=False)
    payload, _ = _fit(tmp_path, tmp_path / "one.svm")
    assert "fit.png" in _names(payload)
    model = ll.LinearRegression().fit(x, y)
    ax = viz.plot_fit(model, x, y, feature_names=["x1"]).axes[0]
    assert ax.get_title().startswith("Fitted line") and ax.get_xlabel() == "x1"


def test_wide_sparse_rows_stay_sparse_and_say_what_is_not_drawn(svm, tmp_path, wide):
    path, _, _ = svm
    payload, err = _fit(tmp_path, path, "--solver", "gd", "--epochs", "20")
    assert _names(payload) == ["fit.png", "residuals.png", "loss-history.png"]
    lines = [line for line in err.splitlines() if line.startswith("Not drawn")]
    assert len(lines) == 1 and "loss-curve, landscape, animation" in lines[0]
    assert "200 rows x 30 sparse features" in lines[0]


def test_wide_sparse_rows_refuse_only_grid_figures(svm, tmp_path, wide):
    path, X, y = svm
    result = run_cli(["fit", path, "--plots", "figs", "--json"], cwd=tmp_path)  # exact fit
    assert result.status == 0, result.stderr
    assert _names(json.loads(result.stdout)) == ["fit.png", "residuals.png"]
    plot = run_cli(["fit", path, "--solver", "gd", "--epochs", "5", "--plots", "figs"],
                   cwd=tmp_path)
    assert plot.status == 0 and "Not drawn: loss-curve, landscape, animation" in plot.stderr
    model = ll.LinearRegression().fit(X, y)
    with pytest.raises(ParameterError, match="sparse 200 x 30 matrix"):
        viz.plot_landscape(model, X, y)
    with pytest.raises(ParameterError, match="loss curve"):
        viz.plot_loss_curve(model, X, y)


def test_wide_sparse_python_save_plots_draws_the_rest(svm, tmp_path, wide):
    _, X, y = svm
    with pytest.warns(ll.errors.ConvergenceWarning):
        model = ll.LinearRegression(solver="gd", epochs=5, lr=0.1).fit(X, y)
    written = viz.save_plots(model, X, y, tmp_path / "py")
    assert [p.name for p in written] == ["fit.png", "residuals.png", "loss-history.png"]
