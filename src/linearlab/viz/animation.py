"""A GIF of training: the fitted line moving over the data beside the point descending the loss
landscape, one frame per epoch or per k epochs. Frames are rendered with Agg and assembled with
Pillow, so no ffmpeg (and no display) is needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from linearlab.errors import ParameterError
from linearlab.viz._common import (
    DATA_COLOR,
    PATH_COLOR,
    atomic_write,
    check_kind,
    compact_ticks,
    equation,
    fmt,
    least_squares_optimum,
    loss_at,
    model_view,
    new_figure,
    plot_data,
    require_dense,
    require_path,
    style,
)
from linearlab.viz.diagnostics import LOSS_LABELS, path_epochs
from linearlab.viz.landscape import _extent, _span, draw_contour, make_plane, parameter_names

DEFAULT_FRAMES = 60
# At most this many points move in the predicted-vs-actual panel.
MOVING_POINTS = 2000


def frame_epochs(n_snapshots: int, frames: int | None = None, every: int | None = None,
                 spacing: str = "auto", epochs: np.ndarray | None = None) -> np.ndarray:
    """Indices of the recorded snapshots to draw.

    ``every=k``: epochs 0, k, 2k, ... and the last; ``epochs`` (the epoch count behind each
    snapshot, :func:`~linearlab.viz.diagnostics.path_epochs`) maps them onto a thinned path,
    each to the first snapshot at or after it. Otherwise exactly ``frames`` distinct
    snapshots (default: all of them, at most :data:`DEFAULT_FRAMES`), from the start to the
    end, spaced evenly (``spacing="linear"``) or geometrically (``"log"``: dense while the loss
    falls fast, sparse in the slow tail); ``"auto"`` is ``"log"`` when there are more than four
    snapshots per frame.
    """
    check_kind("spacing", spacing, ("auto", "linear", "log"))
    if frames is not None and every is not None:
        raise ParameterError("Pass frames or every, not both.")
    if every is not None:
        if int(every) < 1:
            raise ParameterError(f"every must be a positive number of epochs, got {every}.")
        if epochs is not None and len(epochs) == n_snapshots:
            wanted = np.append(np.arange(0, epochs[-1], int(every)), epochs[-1])
            return np.unique(np.searchsorted(epochs, wanted))
        idx = np.arange(0, n_snapshots, int(every))
        return idx if idx[-1] == n_snapshots - 1 else np.append(idx, n_snapshots - 1)
    if frames is None:
        frames = min(DEFAULT_FRAMES, n_snapshots)
    frames = int(frames)
    if not 2 <= frames <= n_snapshots:
        raise ParameterError(
            f"frames={frames} is not possible: the model recorded {n_snapshots} parameter "
            f"snapshots (the start and {n_snapshots - 1} more); ask for 2 to {n_snapshots} "
            "frames, or use every=k."
        )
    if spacing == "auto":
        spacing = "log" if n_snapshots > 4 * frames else "linear"
    if spacing == "linear":
        # floor(x + 0.5), not round(): strictly increasing whenever frames <= n_snapshots
        return np.floor(np.linspace(0, n_snapshots - 1, frames) + 0.5).astype(int)
    raw = np.floor(np.geomspace(1, n_snapshots, frames) - 0.5).astype(int)
    idx = np.maximum.accumulate(np.maximum(raw, np.arange(frames)))
    for j in range(1, frames):  # make the indices distinct ...
        idx[j] = max(idx[j], idx[j - 1] + 1)
    # ... while leaving room for the ones after (both bounds rise by one per frame)
    return np.minimum(idx, n_snapshots - frames + np.arange(frames))


def animate_training(
    model: Any,
    X: Any,
    y: Any,
    path: str | os.PathLike,
    *,
    frames: int | None = None,
    every: int | None = None,
    spacing: str = "auto",
    fps: float = 10.0,
    hold: float = 1.5,
    target: int = 0,
    feature_names: list[str] | None = None,
    target_name: str | None = None,
    dpi: int = 80,
    figsize: tuple[float, float] = (11.0, 4.4),
) -> Path:
    """Write a GIF of gradient descent from the model's recorded parameters.

    The left panel shows the model over the data (the line for one feature, predicted against
    actual values for several); the right panel the loss landscape (over (w, b), the plane of
    the path's leading directions, or the loss curve when there is one parameter) with the
    path so far and the current point.

    Parameters
    ----------
    model : LinearRegression
        Fitted with ``solver="gd"`` (``params_history_`` is drawn, not re-simulated).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    path : str or path-like
        Where to write the GIF (atomically).
    frames : int, optional
        Number of frames over the recorded epochs (default: all epochs, at most 60).
    every : int, optional
        Instead of ``frames``: one frame every ``every`` epochs, plus the last.
    spacing : {"auto", "linear", "log"}, default="auto"
        How ``frames`` are spread over the epochs (see :func:`frame_epochs`).
    fps : float, default=10
        Frames per second.
    hold : float, default=1.5
        Seconds the last frame stays before the GIF loops.
    target : int, default=0
    feature_names, target_name : optional
    dpi : int, default=80
    figsize : (float, float), default=(11.0, 4.4)

    Returns
    -------
    pathlib.Path
        The GIF written, with exactly one image per selected snapshot.
    """
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - exercised only without the plot extra
        from linearlab.errors import BackendUnavailableError

        raise BackendUnavailableError(
            "Animations need Pillow; install it with `pip install 'linearlab[plot]'`."
        ) from None
    if fps <= 0:
        raise ParameterError(f"fps must be positive, got {fps}.")
    view = model_view(model, target)
    snapshots = require_path(view, "animation")
    data = plot_data(model, X, y, target=target, feature_names=feature_names,
                     target_name=target_name)
    require_dense(data, "animation")
    done = path_epochs(model, snapshots.shape[0])  # epochs behind each snapshot (thinned)
    idx = frame_epochs(snapshots.shape[0], frames, every, spacing, epochs=done)
    thetas = snapshots[idx]
    losses = loss_at(view, data, thetas)
    images = []
    with style():
        fig, (ax_fit, ax_loss) = new_figure(*figsize, ncols=2, dpi=dpi)
        update_fit, moving_fit = _fit_panel(ax_fit, view, data, thetas)
        update_loss, moving_loss = _loss_panel(ax_loss, view, data, snapshots, idx)
        total = int(done[-1])
        captions = [f"Gradient descent ({view.label}): epoch {int(done[t]):,} of {total:,}, "
                    f"loss {fmt(loss, 5)}" for t, loss in zip(idx, losses, strict=True)]
        title = fig.suptitle(max(captions, key=len), fontsize=13)
        update_fit(len(idx) - 1)
        update_loss(len(idx) - 1)
        # Lay out once with the moving parts in place, freeze the layout, then draw the static
        # background once and only the moving artists per frame (blitting).
        fig.canvas.draw()
        fig.set_layout_engine("none")
        moving = [title, *moving_fit, *moving_loss]
        for artist in moving:
            artist.set_animated(True)
        fig.canvas.draw()
        background = fig.canvas.copy_from_bbox(fig.bbox)
        palette = None
        for j in (len(idx) - 1, *range(len(idx))):
            fig.canvas.restore_region(background)
            update_fit(j)
            update_loss(j)
            title.set_text(captions[j])
            for artist in moving:
                fig.draw_artist(artist)
            rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
            if palette is None:  # one palette, from the last frame, for every frame
                palette = rgb.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
                continue
            images.append(rgb.quantize(palette=palette, dither=Image.Dither.NONE))
    frame_ms = int(round(1000.0 / fps))
    durations = [frame_ms] * (len(images) - 1) + [max(frame_ms, int(1000 * hold))]

    def write(tmp: str) -> None:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations, loop=0, disposal=1)

    return atomic_write(path, write)


def _fit_panel(ax, view, data, thetas):
    """Draw the static part of the left panel; return ``update(j)`` and the moving artists."""
    d = view.n_features
    if d == 1:
        x = data.X[:, 0]
        x_lo, x_hi = _span(x, 0.05, 1.0)
        grid = np.array([x_lo, x_hi])
        lines = thetas[:, :1] * grid[None, :] + thetas[:, 1:2]
        y_lo, y_hi = _span(data.y, 0.1, 1.0)
        reach = 1.5 * (y_hi - y_lo)
        ax.set_ylim(max(y_lo - reach, min(y_lo, lines.min())),
                    min(y_hi + reach, max(y_hi, lines.max())))
        ax.set_xlim(x_lo, x_hi)
        ax.scatter(x, data.y, s=26, color=DATA_COLOR, alpha=0.8, zorder=3, label="data")
        line, = ax.plot(grid, lines[0], color=PATH_COLOR, lw=2.2, zorder=4)
        legend = ax.legend([line], [""], loc="upper left")
        ax.set_xlabel(data.feature_names[0])
        ax.set_ylabel(data.target_name)
        ax.set_title("Model over the data")
        compact_ticks(ax)

        def update(j: int) -> None:
            line.set_ydata(lines[j])
            text = equation(thetas[j, :1], thetas[j, 1], data.feature_names[:1],
                            data.target_name, fit_intercept=view.fit_intercept)
            legend.get_texts()[0].set_text(text)

        return update, [line, legend]
    n = data.X.shape[0]
    # The moving points are redrawn every frame: show a fixed random subset of big data.
    rows = np.sort(np.random.default_rng(0).choice(n, MOVING_POINTS, replace=False)) \
        if n > MOVING_POINTS else np.arange(n)
    X, y = data.X[rows], data.y[rows]
    preds = thetas[:, :d] @ X.T + (thetas[:, d:] if view.fit_intercept else 0.0)
    lo = float(min(y.min(), np.percentile(preds, 1)))
    hi = float(max(y.max(), np.percentile(preds, 99)))
    pad = 0.05 * ((hi - lo) or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.4", ls=":", lw=1.2)
    points = ax.scatter(y, preds[0], s=14, color=DATA_COLOR, alpha=0.6, zorder=3)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(f"actual {data.target_name}")
    ax.set_ylabel(f"predicted {data.target_name}")
    shown = "" if rows.size == n else f" ({rows.size} of {n} rows)"
    ax.set_title(f"Predicted vs actual{shown}")
    compact_ticks(ax)

    def update_points(j: int) -> None:
        points.set_offsets(np.column_stack([y, preds[j]]))

    return update_points, [points]


def _loss_panel(ax, view, data, snapshots, idx):
    """Draw the landscape (or the 1-D curve); return ``update(j)`` and the moving artists."""
    if view.free().size < 2:
        names = parameter_names(view, data)
        lo, hi = _span(snapshots[:, 0], 0.35, 1.0)
        grid = np.linspace(lo, hi, 300)
        thetas = np.zeros((grid.size, snapshots.shape[1]))
        thetas[:, 0] = grid
        ax.plot(grid, loss_at(view, data, thetas), color="0.2", lw=1.8)
        ax.set_xlabel(names[0])
        ax.set_ylabel(f"loss ({LOSS_LABELS.get(view.loss, view.loss)})")
        ax.set_title("Loss curve")
        full = np.column_stack([snapshots[:, 0], loss_at(view, data, snapshots)])
    else:
        plane = make_plane([view], data)
        optimum = least_squares_optimum(view, data)
        xlim, ylim = _extent(plane, [view], optimum)
        draw_contour(ax, plane, view, data, xlim, ylim, resolution=80)
        if optimum is not None:
            ax.plot(*plane.project(optimum)[0], marker="*", ms=15, color="#2ca02c",
                    mec="white", ls="none", zorder=6)
        ax.set_title("Loss landscape" + (" (projected)" if plane.projected else ""))
        compact_ticks(ax)
        full = plane.project(snapshots)
    trail, = ax.plot([], [], color=PATH_COLOR, lw=1.4, alpha=0.8, zorder=4)
    dot, = ax.plot([], [], "o", color=PATH_COLOR, ms=9, mec="white", zorder=7)

    def update(j: int) -> None:  # the trail follows every recorded epoch up to this frame
        t = idx[j]
        trail.set_data(full[:t + 1, 0], full[:t + 1, 1])
        dot.set_data(full[t:t + 1, 0], full[t:t + 1, 1])

    return update, [trail, dot]
