"""linearlab.viz: every figure renders non-blank at the expected size with the expected
elements, trajectories are the recorded parameters, and GIFs have the requested frames."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy as np
import pytest

from linearlab import LinearRegression, load_dataset, viz
from linearlab.descent.losses import get_loss
from linearlab.errors import NotFittedError, ParameterError
from linearlab.viz._common import (
    direct_loss,
    fmt,
    loss_at,
    model_view,
    plot_data,
    quadratic_loss,
)
from linearlab.viz.animation import frame_epochs
from linearlab.viz.landscape import make_plane

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")
ImageSequence = pytest.importorskip("PIL.ImageSequence")


def _fit(name: str, **params) -> tuple[LinearRegression, object]:
    data = load_dataset(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(**params).fit(data.X, data.y)
    return model, data


@pytest.fixture(scope="module")
def three():
    return _fit("three-points", solver="gd", lr=0.01, epochs=200)


@pytest.fixture(scope="module")
def diabetes():
    return _fit("diabetes", solver="gd", standardize=True, epochs=120)


def render(fig, dpi: int = 100):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    return Image.open(buf)


def assert_non_blank(image) -> None:
    gray = np.asarray(image.convert("L"), dtype=float)
    assert gray.std() > 10.0, "the image is (nearly) one colour"
    assert (gray < 128).mean() > 0.005, "too few dark pixels: no text or lines were drawn"


def assert_png(fig, figsize) -> None:
    image = render(fig)
    assert image.size == (round(figsize[0] * 100), round(figsize[1] * 100))
    assert_non_blank(image)


def lines_by_gid(ax, prefix: str):
    return [line for line in ax.get_lines() if (line.get_gid() or "").startswith(prefix)]


# --------------------------------------------------------------------------- fit
def test_fit_one_feature_draws_points_line_and_equation(three):
    model, data = three
    fig = viz.plot_fit(model, data.X, data.y, feature_names=data.feature_names, figsize=(6, 4))
    assert_png(fig, (6, 4))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert ax.collections[0].get_offsets().shape == (3, 2)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"y = {fmt(model.coef_[0])}·x + {fmt(model.intercept_)}" in legend
    # 200 epochs at lr=0.01 is not converged, so the least-squares line is drawn beside it
    assert any(text.startswith("least squares: y = 2·x + 1") for text in legend)
    assert "R²" in ax.get_title()


def test_fit_several_features_is_predicted_vs_actual(diabetes):
    model, data = diabetes
    fig = model.plot(data.X, data.y, kind="fit", target_name="progression")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "actual progression"
    assert ax.get_ylabel() == "predicted progression"
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], model.predict(data.X))
    assert_non_blank(render(fig))


# --------------------------------------------------------------------------- diagnostics
def test_residuals_and_normal_qq(diabetes):
    model, data = diabetes
    fig = viz.plot_residuals(model, data.X, data.y, figsize=(10, 4))
    assert_png(fig, (10, 4))
    ax_r, ax_q = fig.axes
    assert ax_r.get_xlabel() == "fitted y" and "residual" in ax_r.get_ylabel()
    assert ax_q.get_xlabel() == "theoretical normal quantiles"
    resid = data.y - model.predict(data.X)
    np.testing.assert_allclose(ax_r.collections[0].get_offsets()[:, 1], resid)
    qq = ax_q.collections[0].get_offsets()
    np.testing.assert_allclose(qq[:, 1], np.sort(resid / resid.std(ddof=1)))
    assert np.all(np.diff(qq[:, 0]) > 0) and abs(qq[:, 0].mean()) < 1e-12


def test_residuals_of_an_exact_fit_say_so():
    model, data = _fit("three-points")
    fig = viz.plot_residuals(model, data.X, data.y)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("exact fit" in t for t in texts)
    assert_non_blank(render(fig))


def test_loss_history_has_one_point_per_epoch_and_log_scale(three):
    model, data = three
    fig = viz.plot_loss_history(model, data.X, data.y, figsize=(6, 4))
    assert_png(fig, (6, 4))
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    assert len(line.get_xdata()) == len(model.history_) == model.n_iter_ == 200
    np.testing.assert_array_equal(line.get_ydata(), model.history_)
    assert ax.get_yscale() == "log"  # 27.7 down to 5e-4 spans decades
    assert ax.get_xlabel() == "epoch" and "mean squared error" in ax.get_ylabel()
    assert "not converged" in ax.get_title()


def test_loss_history_stays_linear_when_it_spans_less_than_two_decades():
    model, data = _fit("noisy-line", solver="gd", lr=0.001, epochs=20, batch_size=10,
                       shuffle=False, init="uniform", random_state=0)
    fig = model.plot(data.X, data.y, kind="history")
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    assert len(ax.get_lines()[0].get_xdata()) == 20
    optimum = [line for line in ax.get_lines() if "optimum" in str(line.get_label())]
    exact = LinearRegression().fit(data.X, data.y)
    floor = np.mean((exact.predict(data.X) - data.y) ** 2)
    np.testing.assert_allclose(optimum[0].get_ydata()[0], floor, rtol=1e-9)


def test_history_needs_gradient_descent():
    model, data = _fit("three-points")
    with pytest.raises(ParameterError, match="solver='gd'"):
        model.plot(kind="history")


# --------------------------------------------------------------------------- landscapes
def test_loss_curve_marks_the_recorded_iterates_on_the_cut(three):
    model, data = three
    fig = viz.plot_loss_curve(model, data.X, data.y, figsize=(6, 4))
    assert_png(fig, (6, 4))
    ax = fig.axes[0]
    (iterates,) = lines_by_gid(ax, "iterates")
    path = model.params_history_
    assert path.shape == (model.n_iter_ + 1, 2, 1)
    np.testing.assert_array_equal(iterates.get_xdata(), path[:, 0, 0])
    x, y = data.X[:, 0], data.y
    expected = [np.mean((w * x + model.intercept_ - y) ** 2) for w in path[:, 0, 0]]
    np.testing.assert_allclose(iterates.get_ydata(), expected, rtol=1e-12)
    assert ax.get_xlabel() == "weight w (x)" and "loss" in ax.get_ylabel()
    assert f"b = {fmt(model.intercept_)}" in ax.get_title()


def test_loss_curve_along_the_intercept_by_name(three):
    model, data = three
    fig = model.plot(data.X, data.y, kind="loss-curve", param="intercept")
    (iterates,) = lines_by_gid(fig.axes[0], "iterates")
    np.testing.assert_array_equal(iterates.get_xdata(), model.params_history_[:, 1, 0])
    with pytest.raises(ParameterError, match="Unknown parameter"):
        model.plot(data.X, data.y, kind="loss-curve", param="nope")


def _three_optimizers():
    """seed 002's data and 80 epochs of SGD, momentum and Adam on it."""
    data = load_dataset("three-points")
    models = []
    for optimizer, lr in (("sgd", 0.05), ("momentum", 0.02), ("adam", 0.1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models.append(LinearRegression(solver="gd", optimizer=optimizer, lr=lr, epochs=80)
                          .fit(data.X, data.y))
    return data, models


def test_landscape_draws_several_optimizers_real_paths():
    data, models = _three_optimizers()
    fig = viz.plot_landscape(models, data.X, data.y, labels=["sgd", "momentum", "adam"],
                             figsize=(7, 5))
    assert_png(fig, (7, 5))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("weight w (x)", "intercept b")
    for model, label in zip(models, ["sgd", "momentum", "adam"], strict=True):
        (line,) = lines_by_gid(ax, f"trajectory:{label}")
        assert len(line.get_xdata()) == model.n_iter_ + 1 == 81
        np.testing.assert_array_equal(line.get_xdata(), model.params_history_[:, 0, 0])
        np.testing.assert_array_equal(line.get_ydata(), model.params_history_[:, 1, 0])
    assert len(fig.axes) == 2  # the landscape and its colour bar
    assert "loss" in fig.axes[1].get_ylabel()


def test_landscape_rejects_models_with_different_losses(three):
    model, data = three
    other, _ = _fit("three-points", solver="gd", loss="mae", lr=0.01, epochs=20)
    with pytest.raises(ParameterError, match="share the loss"):
        viz.plot_landscape([model, other], data.X, data.y)


def test_projected_landscape_for_several_features(diabetes):
    model, data = diabetes
    fig = model.plot(data.X, data.y, kind="landscape")
    assert_non_blank(render(fig))
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("direction 1") and ax.get_ylabel().startswith("direction 2")
    (line,) = lines_by_gid(ax, "trajectory:")
    assert len(line.get_xdata()) == model.n_iter_ + 1
    view = model_view(model)
    plane = make_plane([view], plot_data(model, data.X, data.y))
    assert abs(plane.u @ plane.v) < 1e-10
    np.testing.assert_allclose([plane.u @ plane.u, plane.v @ plane.v], 1.0)
    np.testing.assert_allclose(line.get_xdata(), (view.path - plane.origin) @ plane.u)


def test_loss_on_grid_is_the_models_own_loss():
    data = load_dataset("arange-line")
    for loss in ("mse", "sse", "mae", "huber"):
        model, _ = _fit("arange-line", solver="gd", loss=loss, lr=0.001, epochs=5, alpha=0.3)
        view = model_view(model)
        thetas = np.random.default_rng(0).normal(size=(7, 2))
        expected = [
            get_loss(loss).value(data.X * t[0] + t[1] - data.y[:, None]) +
            0.3 * t[0] ** 2 * (1.0 if loss == "sse" else 1.0 / len(data.y))
            for t in thetas
        ]
        np.testing.assert_allclose(loss_at(view, plot_data(model, data.X, data.y), thetas),
                                   expected, rtol=1e-12)


def test_big_grids_of_squared_losses_use_the_exact_quadratic_expansion(diabetes):
    model, data = diabetes
    pdata = plot_data(model, data.X, data.y)
    rng = np.random.default_rng(1)
    thetas = model.params_history_[:, :, 0][rng.integers(0, 121, 50)] + rng.normal(size=(50, 11))
    for loss, fit_intercept in (("mse", True), ("sse", True), ("mse", False)):
        fast = quadratic_loss(get_loss(loss), fit_intercept, pdata, thetas)
        slow = direct_loss(get_loss(loss), fit_intercept, pdata, thetas)
        np.testing.assert_allclose(fast, slow, rtol=1e-10)
    exact = LinearRegression().fit(data.X, data.y)
    optimum = np.append(exact.coef_, exact.intercept_)[None, :]
    floor = np.mean((exact.predict(data.X) - data.y) ** 2)
    near = quadratic_loss(get_loss("mse"), True, pdata, optimum + 1e-7)
    np.testing.assert_allclose(near, floor, rtol=1e-9)  # no cancellation at the valley floor


def test_one_parameter_models_have_no_2d_landscape():
    model, data = _fit("doubling", solver="gd", fit_intercept=False, lr=0.01, epochs=30)
    with pytest.raises(ParameterError, match="1-D loss curve"):
        model.plot(data.X, data.y, kind="landscape")
    assert_non_blank(render(model.plot(data.X, data.y, kind="loss-curve")))


# --------------------------------------------------------------------------- animation
def gif_frames(path) -> list:
    with Image.open(path) as image:
        return [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]


def test_gif_has_the_requested_number_of_frames(three, tmp_path):
    model, data = three
    out = model.animate(tmp_path / "gd.gif", data.X, data.y, frames=12, dpi=50, figsize=(8, 3))
    frames = gif_frames(out)
    assert len(frames) == 12
    assert frames[0].size == (400, 150)
    assert_non_blank(frames[0])
    first, last = (np.asarray(f, dtype=float) for f in (frames[0], frames[-1]))
    assert np.abs(first - last).mean() > 0.1  # the line and the point moved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gd.gif"]  # no temporary left


def test_gif_every_k_epochs_and_one_parameter_curve(tmp_path):
    model, data = _fit("doubling", solver="gd", fit_intercept=False, lr=0.01, epochs=30)
    out = viz.animate_training(model, data.X, data.y, tmp_path / "k.gif", every=10, dpi=40)
    assert len(gif_frames(out)) == 4  # epochs 0, 10, 20, 30


def test_frame_selection():
    np.testing.assert_array_equal(frame_epochs(201, frames=5, spacing="linear"),
                                  [0, 50, 100, 150, 200])
    np.testing.assert_array_equal(frame_epochs(11, every=4), [0, 4, 8, 10])
    log = frame_epochs(10002)  # default: 60 frames, dense early, sparse in the slow tail
    assert len(log) == 60 and log[:5].tolist() == [0, 1, 2, 3, 4] and log[-1] == 10001
    for n in range(2, 40):
        for frames in range(2, n + 1):
            for spacing in ("linear", "log"):
                idx = frame_epochs(n, frames=frames, spacing=spacing)
                assert len(idx) == frames and idx[0] == 0 and idx[-1] == n - 1
                assert np.all(np.diff(idx) > 0)
    with pytest.raises(ParameterError, match="snapshots"):
        frame_epochs(10, frames=11)
    with pytest.raises(ParameterError, match="not both"):
        frame_epochs(10, frames=3, every=2)
    with pytest.raises(ParameterError, match="spacing"):
        frame_epochs(10, spacing="cubic")


def test_animation_needs_a_recorded_path(tmp_path):
    model, data = _fit("three-points")
    with pytest.raises(ParameterError, match="solver='gd'"):
        model.animate(tmp_path / "x.gif", data.X, data.y)
    assert not (tmp_path / "x.gif").exists()


# --------------------------------------------------------------------------- files & wiring
def test_save_plots_writes_every_applicable_figure(three, tmp_path):
    model, data = three
    written = viz.save_plots(model, data.X, data.y, tmp_path / "gd", frames=10, dpi=60)
    names = sorted(p.name for p in written)
    assert names == ["fit.png", "landscape.png", "loss-curve.png", "loss-history.png",
                     "residuals.png", "training.gif"]
    for path in written:
        if path.suffix == ".png":
            with Image.open(path) as image:
                assert_non_blank(image)
    assert len(gif_frames(tmp_path / "gd" / "training.gif")) == 10

    exact, _ = _fit("three-points")
    names = sorted(p.name for p in viz.save_plots(exact, data.X, data.y, tmp_path / "ex"))
    assert names == ["fit.png", "landscape.png", "loss-curve.png", "residuals.png"]
    with pytest.raises(ParameterError, match="solver='gd'"):
        viz.save_plots(exact, data.X, data.y, tmp_path / "ex", kinds=["history"])


def test_bad_requests_are_clear_errors(three):
    model, data = three
    with pytest.raises(ParameterError, match="Unknown plot kind"):
        model.plot(data.X, data.y, kind="pie")
    with pytest.raises(ParameterError, match="needs the data"):
        model.plot(kind="fit")
    with pytest.raises(ParameterError, match="2 feature"):
        model.plot(np.ones((3, 2)), data.y)
    with pytest.raises(NotFittedError):
        LinearRegression().plot(data.X, data.y)


def test_importing_linearlab_or_its_cli_does_not_import_matplotlib():
    code = ("import sys, linearlab, linearlab.cli.main; linearlab.LinearRegression; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- command line
def _cli(argv, tmp_path, monkeypatch):
    from linearlab.cli.main import main

    monkeypatch.chdir(tmp_path)
    return main(argv)


def _pngs_and_gif(folder):
    pngs = sorted(folder.glob("*.png"))
    for path in pngs:
        with Image.open(path) as image:
            assert_non_blank(image)
    return pngs, gif_frames(folder / "training.gif")


def test_cli_fit_plots_writes_five_pngs_and_a_gif(tmp_path, monkeypatch, capsys):
    argv = ["fit", "three-points", "--solver", "gd", "--lr", "0.01", "--epochs", "200",
            "--plots", "out"]
    assert _cli(argv, tmp_path, monkeypatch) == 0
    assert "Plots written to" in capsys.readouterr().out
    pngs, frames = _pngs_and_gif(tmp_path / "out")
    assert len(pngs) >= 5 and len(frames) >= 10


def test_cli_plot_command_and_demo_folder(tmp_path, monkeypatch, capsys):
    argv = ["plot", "three-points", "--solver", "gd", "--lr", "0.05", "--epochs", "40",
            "--kind", "history,animation", "--frames", "12", "-o", "p", "--json"]
    assert _cli(argv, tmp_path, monkeypatch) == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["loss-history.png",
                                                                  "training.gif"]
    assert len(gif_frames(tmp_path / "p" / "training.gif")) == 12
    capsys.readouterr()

    assert _cli(["fit", "salary", "-o", "m.json"], tmp_path, monkeypatch) == 0
    assert _cli(["plot", "m.json", "--kind", "fit", "-o", "q"], tmp_path, monkeypatch) == 0
    assert [p.name for p in (tmp_path / "q").iterdir()] == ["fit.png"]
    assert _cli(["plot", "m.json", "--kind", "animation", "-o", "q"], tmp_path,
                monkeypatch) == 2
    assert "per-epoch parameters" in capsys.readouterr().err
    assert _cli(["plot", "salary", "--kind", "pie"], tmp_path, monkeypatch) == 2

    assert _cli(["demo", "three-points"], tmp_path, monkeypatch) == 0
    assert "linearlab-demo" in capsys.readouterr().out
    pngs, frames = _pngs_and_gif(tmp_path / "linearlab-demo")
    assert len(pngs) == 5 and len(frames) >= 10


# ------------------------------------------------------------- landscapes that read right
def _houses(seed: int = 0):
    """Four features on very different scales and a target in the hundreds of thousands: the
    data on which the landscape's colour bar once read 6.6e8 at every tick."""
    rng = np.random.default_rng(seed)
    n = 200
    X = np.column_stack([rng.normal(1800, 500, n), rng.integers(1, 6, n),
                         rng.uniform(0, 80, n), rng.uniform(1, 30, n)])
    y = X @ [150.0, 10000.0, -800.0, -3000.0] + 50000 + rng.normal(0, 25000, n)
    return X, y


def _colorbar_labels(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[1].get_yticklabels() if t.get_text()]


def test_exact_fit_landscape_has_distinct_ticks_and_visible_optimum():
    X, y = _houses()
    model = LinearRegression().fit(X, y)
    fig = viz.plot_landscape(model, X, y)
    ax = fig.axes[0]
    labels = _colorbar_labels(fig)
    assert len(labels) >= 4 and len(set(labels)) == len(labels), labels
    assert ax.get_xlabel() == "direction 1 (steepest curvature)"
    assert ax.get_ylabel() == "direction 2 (second-steepest curvature)"
    assert "path" not in ax.get_title()
    # No marker is drawn over the optimum's star: the exact solution is named in its label.
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(stars) == 1 and "exact" in stars[0].get_label()
    assert stars[0].get_zorder() == max(ln.get_zorder() for ln in ax.get_lines())
    # The valley is shown at a scale where the loss rises: the grid is not flat.
    (filled,) = [c for c in ax.collections if hasattr(c, "levels")][:1]
    assert filled.levels[-1] > 1.5 * filled.levels[0]


def test_projected_axis_labels_match_the_paths_movement():
    X, y = _houses()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(solver="gd", epochs=200).fit(X, y)
    fig = viz.plot_landscape(model, X, y)
    ax = fig.axes[0]
    (line,) = lines_by_gid(ax, "trajectory:")
    moves = [np.abs(np.diff(line.get_xdata())).sum(), np.abs(np.diff(line.get_ydata())).sum()]
    shares = [float(label.split("(")[1].split("%")[0]) for label in
              (ax.get_xlabel(), ax.get_ylabel())]
    assert "of the path's length" in ax.get_xlabel()
    length = np.linalg.norm(np.diff(model.params_history_[:, :, 0], axis=0), axis=1).sum()
    np.testing.assert_allclose(shares, 100 * np.array(moves) / length, atol=0.5)
    assert shares[1] > 4 * shares[0]  # the path runs along direction 2, and its label says so
    assert (shares[1] > shares[0]) == (moves[1] > moves[0])
    labels = _colorbar_labels(fig)
    assert len(set(labels)) == len(labels), labels


def test_distinct_labels_add_digits_until_ticks_differ():
    from linearlab.viz.surface import contour_levels, distinct_labels

    assert distinct_labels(np.array([6.6012e8, 6.6047e8, 6.61e8])) == ["6.601e8", "6.605e8",
                                                                       "6.61e8"]
    lv = contour_levels(6.6e8 + np.linspace(0.0, 1.0, 50).reshape(5, 10))
    assert len(set(lv.labels)) == len(lv.labels) and lv.labels[0] == "0"
    assert lv.title("mean squared error").startswith("loss \u2212 6.6e8")
    lv = contour_levels(1000.0 + np.linspace(0.0, 1.0, 50).reshape(5, 10))
    assert lv.offset == 0.0 and lv.title("mse") == "loss (mse)"
    # Geometric levels are evenly spaced in the page's contour coordinate.
    np.testing.assert_allclose(np.diff(lv.coordinate(lv.values[1:-1])), np.log10(
        lv.values[2] - lv.z_min) - np.log10(lv.values[1] - lv.z_min), rtol=1e-9)


def test_landscape_legend_leaves_the_paths_uncovered():
    data, models = _three_optimizers()
    fig = viz.plot_landscape(models, data.X, data.y)
    render(fig)  # lay the figure out
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    assert not box.overlaps(fig.axes[0].get_window_extent(renderer))
    assert not fig.axes[0].get_legend()


def test_history_with_a_plateau_after_a_drop_uses_a_log_axis():
    X, y = _houses()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(solver="gd", epochs=200).fit(X, y)
    assert max(model.history_) / min(model.history_) < 100  # under two decades
    fig = viz.plot_loss_history(model, X, y)
    assert fig.axes[0].get_yscale() == "log"
