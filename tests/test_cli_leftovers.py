"""Leftovers of the third round: ``fit --solver lsqr``, ``plot`` of a model fitted on an
svmlight file (the figures that need no data), and the loss history of a thinned run drawn
against its epoch numbers."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
from cli_runner import run_cli

import linearlab as ll
from linearlab.data.datasets import load_dataset
from linearlab.models import persist
from linearlab.viz.diagnostics import history_epochs, plot_loss_history

matplotlib.use("Agg")


def _json(result) -> dict:
    assert result.status == 0, result.stderr
    return json.loads(result.stdout)


def _one_paragraph(result, *pieces: str) -> None:
    assert result.status == 2, (result.stdout, result.stderr)
    text = result.stderr.strip()
    assert "Traceback" not in text and "\n\n" not in text, text
    for piece in pieces:
        assert piece in " ".join(text.split()), text


# --------------------------------------------------------------------------- --solver lsqr
def test_fit_solver_lsqr_matches_the_python_api_on_a_table(tmp_path):
    data = load_dataset("diabetes")
    out = _json(run_cli(["fit", "diabetes", "--solver", "lsqr", "--json"], cwd=tmp_path))
    assert out["solver"] == "lsqr"
    ref = ll.LinearRegression(solver="lsqr").fit(data.X, data.y)
    coef = np.array([out["coef"][name] for name in data.feature_names])
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-10, atol=1e-10)
    assert out["intercept"] == pytest.approx(ref.intercept_, rel=1e-10)
    exact = ll.LinearRegression().fit(data.X, data.y)  # LSQR to its tol: the same line
    np.testing.assert_allclose(coef, exact.coef_, rtol=1e-6)


def test_fit_solver_lsqr_with_ridge_on_an_svmlight_file_matches_python(svm, tmp_path):
    path, X, y = svm
    model_path = tmp_path / "m.json"
    out = _json(run_cli(["fit", path, "--solver", "lsqr", "--alpha", "0.5", "-o", model_path,
                         "--json"], cwd=tmp_path))
    ref = ll.LinearRegression(solver="lsqr", alpha=0.5).fit(X, y)
    coef = np.array([out["coef"][f"x{j + 1}"] for j in range(30)])
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-10, atol=1e-12)
    assert out["solver"] == "lsqr"
    loaded = persist.load(model_path)
    np.testing.assert_allclose(loaded.predict(X), ref.predict(X), rtol=1e-10)


def test_fit_solver_lsqr_reaches_the_estimator(monkeypatch, tmp_path):
    from linearlab.models.linear import LinearModel  # what the command line fits

    seen = []
    original = LinearModel.fit

    def spy(self, *args, **kwargs):
        seen.append(self.solver)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LinearModel, "fit", spy)
    assert run_cli(["fit", "salary", "--solver", "lsqr"], cwd=tmp_path).status == 0
    assert seen == ["lsqr"]


def test_solver_lsqr_is_listed_and_a_summary_says_why_it_is_missing(tmp_path):
    assert "lsqr" in run_cli(["fit", "--help"], cwd=tmp_path).stdout
    result = run_cli(["fit", "salary", "--solver", "lsqr", "--summary"], cwd=tmp_path)
    assert result.status == 0
    assert "No statistical summary" in result.stdout and "LSQR" in result.stdout


@pytest.mark.parametrize("where, extra, piece", [
    ("a file read in chunks", ["--stream"], "is read in chunks. Use --solver auto or normal"),
    ("Dask", ["--workers", "1"], "on a Dask cluster is read in chunks"),
])
def test_fit_solver_lsqr_refuses_data_it_cannot_hold_whole(tmp_path, where, extra, piece):
    result = run_cli(["fit", "salary", "--solver", "lsqr", *extra], cwd=tmp_path)
    _one_paragraph(result, "--solver lsqr runs SciPy's LSQR", piece)


def test_fit_solver_lsqr_with_a_penalty_is_refused(tmp_path):
    result = run_cli(["fit", "salary", "--solver", "lsqr", "--penalty", "l1", "--alpha", "1"],
                     cwd=tmp_path)
    _one_paragraph(result, "--solver lsqr does not apply to --penalty l1")


# ---------------------------------------------------------------- plot of svmlight models
def test_plot_gd_model_of_an_svmlight_file_draws_its_history_from_the_model_alone(svm, tmp_path):
    path, _, _ = svm
    assert run_cli(["fit", path, "--solver", "gd", "--epochs", "30", "-o", "m.json"],
                   cwd=tmp_path).status == 0
    path.unlink()  # the model file alone: the data is never read
    out = _json(run_cli(["plot", "m.json", "-o", "figs", "--json"], cwd=tmp_path))
    assert [p.rsplit("/", 1)[-1] for p in out["plots"]] == ["loss-history.png"]
    assert out["rows_drawn"] == 0
    assert (tmp_path / "figs" / "loss-history.png").stat().st_size > 1000


def test_plot_cv_model_of_an_svmlight_file_draws_its_path(svm, tmp_path):
    path, _, _ = svm
    assert run_cli(["fit", path, "--penalty", "l1", "--alpha", "cv", "-o", "cv.json"],
                   cwd=tmp_path).status == 0
    out = _json(run_cli(["plot", "cv.json", "--kind", "path", "-o", "figs", "--json"],
                        cwd=tmp_path))
    assert [p.rsplit("/", 1)[-1] for p in out["plots"]] == ["path.png"]


@pytest.mark.parametrize("kind", ["residuals", "fit", "history,fit", "animation"])
def test_plot_kinds_that_need_rows_of_an_svmlight_file_are_refused(svm, tmp_path, kind):
    path, _, _ = svm
    assert run_cli(["fit", path, "--solver", "gd", "--epochs", "5", "-o", "m.json"],
                   cwd=tmp_path).status == 0
    result = run_cli(["plot", "m.json", "--kind", kind, "-o", "figs"], cwd=tmp_path)
    _one_paragraph(result, "'d.svm' is a LIBSVM/svmlight file", "Draw --kind history")
    assert not (tmp_path / "figs").exists()


def test_plot_exact_model_of_an_svmlight_file_says_there_is_nothing_to_draw(svm, tmp_path):
    path, _, _ = svm
    assert run_cli(["fit", path, "-o", "m.json"], cwd=tmp_path).status == 0
    result = run_cli(["plot", "m.json", "-o", "figs"], cwd=tmp_path)
    _one_paragraph(result, "'d.svm' is a LIBSVM/svmlight file",
                   "no figure drawn without data", "--data TABLE")
    other = run_cli(["plot", "m.json", "--kind", "history", "-o", "figs"], cwd=tmp_path)
    _one_paragraph(other, "needs a model trained with --solver gd")


def test_plot_of_svmlight_data_fits_then_draws_the_history(svm, tmp_path):
    path, _, _ = svm
    out = _json(run_cli(["plot", path, "--solver", "gd", "--epochs", "10", "-o", "figs",
                         "--json"], cwd=tmp_path))
    assert [p.rsplit("/", 1)[-1] for p in out["plots"]] == ["loss-history.png"]
    refused = run_cli(["plot", path, "--kind", "residuals", "-o", "figs"], cwd=tmp_path)
    _one_paragraph(refused, "'d.svm' is a LIBSVM/svmlight file")


def test_plot_table_model_history_needs_no_data_file(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n1,3\n2,5\n3,7.5\n4,8.8\n")
    assert run_cli(["fit", "t.csv", "--solver", "gd", "--epochs", "20", "-o", "m.json"],
                   cwd=tmp_path).status == 0
    with_data = run_cli(["plot", "m.json", "--kind", "history", "-o", "figs", "--json"],
                        cwd=tmp_path)  # the recorded data is there: the optimum's floor too
    assert json.loads(with_data.stdout)["rows_drawn"] == 4
    assert "Drawing on t.csv" in with_data.stderr
    (tmp_path / "t.csv").unlink()
    out = _json(run_cli(["plot", "m.json", "--kind", "history", "-o", "figs", "--json"],
                        cwd=tmp_path))
    assert out["rows_drawn"] == 0 and len(out["plots"]) == 1
    missing = run_cli(["plot", "m.json", "--kind", "fit", "-o", "figs"], cwd=tmp_path)
    _one_paragraph(missing, "which is not a regular file here")


# --------------------------------------------------------------------------- thinned history
EPOCHS = 250_003  # past the 100,000-epoch budget: stride 4, and the last epoch (250,002)


@pytest.fixture(scope="module")
def thinned():
    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 2.9, 5.2])
    model = ll.LinearRegression(solver="gd", lr=0.01, epochs=EPOCHS).fit(X, y)
    assert model.history_stride_ == 4 and len(model.history_) == 62_502
    return model, X, y


def _x_of_history_line(fig) -> np.ndarray:
    return np.asarray(fig.axes[0].lines[0].get_xdata())


def test_thinned_history_is_drawn_against_epoch_numbers(thinned):
    model, X, y = thinned
    fig = plot_loss_history(model, X, y)
    x = _x_of_history_line(fig)
    assert len(x) == len(model.history_)
    np.testing.assert_array_equal(x[:4], [0, 4, 8, 12])
    assert x[-2] == 250_000 and x[-1] == EPOCHS - 1
    assert f"{EPOCHS} epochs" in fig.axes[0].get_title()
    assert "1 in 4" in fig.axes[0].get_xlabel()


def test_thinned_history_loaded_from_a_model_file_keeps_its_epochs(thinned, tmp_path):
    model, _, _ = thinned
    persist.save(model, tmp_path / "m.json")
    loaded = persist.load(tmp_path / "m.json")  # the file stores n_iter, not the stride
    x = _x_of_history_line(plot_loss_history(loaded))
    np.testing.assert_array_equal(x[:3], [0, 4, 8])
    assert x[-1] == EPOCHS - 1


@pytest.mark.filterwarnings("ignore::linearlab.ConvergenceWarning")
def test_unthinned_history_is_one_point_per_epoch():
    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 2.9, 5.2])
    model = ll.LinearRegression(solver="gd", lr=0.05, epochs=37).fit(X, y)
    np.testing.assert_array_equal(_x_of_history_line(plot_loss_history(model)), np.arange(37))


@pytest.mark.parametrize("n_iter, stride", [(7, 1), (9, 2), (10, 2), (17, 4), (250_003, 4)])
def test_history_epochs_follow_the_record(n_iter, stride):
    from linearlab.descent.history import EpochRecord

    record = EpochRecord(np.zeros((2, 1)), budget=max(2, -(-n_iter // stride)))
    for epoch in range(n_iter):
        record.add(float(epoch), np.zeros((2, 1)))
    assert record.stride == stride
    expected = record.epoch_numbers()

    class Model:  # what a model file gives back: no history_stride_
        n_iter_ = n_iter

    got = history_epochs(Model(), len(record.losses()))
    np.testing.assert_array_equal(got, expected)
    Model.history_stride_ = stride
    np.testing.assert_array_equal(history_epochs(Model(), len(record.losses())), expected)


# --------------------------------------------------------------------------- svmlight fit report
def test_svmlight_fit_reports_warnings_as_the_table_fits_do_and_names_columns_x1(svm, tmp_path):
    path, _, _ = svm
    result = run_cli(["fit", path, "--solver", "gd", "--epochs", "5", "-o", "m.json"],
                     cwd=tmp_path, ignore_warnings=False)
    assert result.status == 0, result.stderr
    assert "Not converged" in result.stdout  # the diagnosis, once, in the report
    assert not result.warnings and "ConvergenceWarning" not in result.stderr
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["feature_names"][:2] == ["x1", "x2"]  # as the report and the reader name them
    assert run_cli(["predict", "m.json", path], cwd=tmp_path).status == 0


def test_plot_help_names_the_kinds_drawn_without_data_and_model_files_refuse_weights(tmp_path):
    text = " ".join(run_cli(["plot", "--help"], cwd=tmp_path).stdout.split())
    assert "history and path are drawn from the model file alone" in text
    assert "svmlight" in " ".join(run_cli(["fit", "--help"], cwd=tmp_path).stdout.split())
    assert run_cli(["fit", "salary", "-o", "m.json"], cwd=tmp_path).status == 0
    result = run_cli(["plot", "m.json", "--weights", "w", "-o", "figs"], cwd=tmp_path)
    _one_paragraph(result, "--weights is an option for fitting DATA")
