"""Loss landscapes with the optimizer's real path: the 1-D loss curve over one parameter with the
gradient-descent iterates on it (seed 002's red dot), and 2-D contours over (w, b) — or over the
plane of the two leading directions of the paths when there are more parameters — with one or
several optimizers' trajectories.

Losses are the model's own (:func:`linearlab.descent.losses.get_loss`) evaluated on a grid; the
trajectories are ``params_history_``, the parameters recorded after every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from linearlab.errors import ParameterError
from linearlab.viz._common import (
    OPTIMUM_COLOR,
    PALETTE,
    PATH_COLOR,
    ModelView,
    PlotData,
    compact_ticks,
    fmt,
    least_squares_optimum,
    loss_at,
    model_view,
    new_figure,
    plot_data,
    require_dense,
    style,
)
from linearlab.viz.diagnostics import LOSS_LABELS, history_stride, path_epochs
from linearlab.viz.surface import (
    Plane,
    contour_levels,
    loss_grid,
    make_plane,
    parameter_names,
    plane_extent,
)
from linearlab.viz.surface import span as _span

__all__ = ["Plane", "draw_contour", "draw_path", "make_plane", "parameter_names",
           "plot_landscape", "plot_loss_curve"]

# Paths with more points than this are drawn as lines without a marker per epoch.
MARKER_LIMIT = 150


def _resolve_param(param: int | str, view: ModelView, data: PlotData) -> int:
    free = list(view.free())
    if isinstance(param, str):
        lookup = {name: j for j, name in enumerate(data.feature_names)}
        lookup.update({"w": 0} if view.n_features == 1 else {})
        lookup.update({"b": view.n_features, "intercept": view.n_features, "bias": view.n_features})
        if param not in lookup:
            raise ParameterError(
                f"Unknown parameter {param!r}; choose a feature name "
                f"({', '.join(data.feature_names)}), 'intercept', or an index."
            )
        param = lookup[param]
    if param not in free:
        raise ParameterError(
            f"param={param} is not a trained parameter: choose an index in 0..{free[-1]} "
            "(the last is the intercept when fit_intercept=True)."
        )
    return int(param)


# --------------------------------------------------------------------------- 1-D curve
def plot_loss_curve(
    model: Any,
    X: Any,
    y: Any,
    *,
    param: int | str = 0,
    target: int = 0,
    show_actual: bool | None = None,
    resolution: int = 400,
    feature_names: list[str] | None = None,
    figsize: tuple[float, float] = (6.4, 4.6),
):
    """The loss as a function of one parameter, the others held at their final values, with the
    gradient-descent iterates marked on the curve (seed 002's picture).

    Parameters
    ----------
    model : LinearRegression
        A fitted model; with ``solver="gd"`` its recorded iterates are marked.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    param : int or str, default=0
        The parameter along which to cut: a feature index or name, or ``"intercept"``.
    target : int, default=0
        Target column for multi-output models.
    show_actual : bool or None, default=None
        Also draw the loss the iterates really had (every parameter at its value at that
        epoch), which lies above the curve while the other parameters are still moving.
        None draws it for one-feature models, where only the intercept moves besides ``w``.
    resolution : int, default=400
        Points on the curve.
    feature_names : list of str, optional
    figsize : (float, float), default=(6.4, 4.6)

    Returns
    -------
    matplotlib.figure.Figure
        The iterates are one line (gid ``"iterates"``) with one point per recorded epoch.
    """
    view = model_view(model, target)
    data = plot_data(model, X, y, target=target, feature_names=feature_names)
    require_dense(data, "loss curve")
    p = _resolve_param(param, view, data)
    if show_actual is None:
        show_actual = view.n_features == 1
    names = parameter_names(view, data)
    final = view.theta
    path = view.path
    optimum = least_squares_optimum(view, data)
    marks = [final[p:p + 1]]
    if path is not None:
        marks.append(path[:, p])
    if optimum is not None:
        marks.append(optimum[p:p + 1])
    lo, hi = _span(np.concatenate(marks), 0.35, 1.0)
    grid = np.linspace(lo, hi, resolution)
    thetas = np.repeat(final[None, :], resolution, axis=0)
    thetas[:, p] = grid
    curve = loss_at(view, data, thetas)
    fixed = [f"{names[j].split(' (')[0]} = {fmt(final[j])}" for j in view.free() if j != p]
    with style():
        fig, ax = new_figure(*figsize)
        ax.plot(grid, curve, color="0.2", lw=1.8, label="loss along this cut", zorder=2)
        best = int(np.argmin(curve))
        ax.plot(grid[best], curve[best], marker="*", ms=14, color=OPTIMUM_COLOR, ls="none",
                label=f"minimum of the cut ({fmt(grid[best])})", zorder=4)
        if path is not None:
            on_curve = np.repeat(final[None, :], path.shape[0], axis=0)
            on_curve[:, p] = path[:, p]
            values = loss_at(view, data, on_curve)
            if show_actual:
                actual = loss_at(view, data, path)
                ax.plot(path[:, p], actual, color="0.55", lw=1.0, ls="--",
                        marker="o" if len(path) <= MARKER_LIMIT else None, ms=3, mfc="none",
                        label="actual loss at each epoch", zorder=2)
            ax.plot(path[:, p], values, color=PATH_COLOR, ls="none", marker="o", ms=5,
                    alpha=0.75, gid="iterates",
                    label=f"{epochs_label(view, len(path))} of GD ({view.label})", zorder=5)
            ax.plot(path[0, p], values[0], marker="o", ms=10, mfc="none", mec="black", mew=1.5,
                    ls="none", label=f"start ({fmt(path[0, p])})", zorder=6)
        ax.set_xlim(lo, hi)
        ax.set_xlabel(names[p])
        ax.set_ylabel(f"loss ({LOSS_LABELS.get(view.loss, view.loss)})")
        cut = f", {', '.join(fixed)}" if len(fixed) <= 2 else ", others at final values"
        ax.set_title(f"Loss along {names[p].split(' (')[0]}{cut}")
        compact_ticks(ax, y=False)
        ax.legend(loc="best", fontsize=9)
    return fig


# --------------------------------------------------------------------------- 2-D plane
def _extent(plane: Plane, views: Sequence[ModelView], optimum: np.ndarray | None,
            data: PlotData | None = None):
    """Axis limits of a landscape (see :func:`~linearlab.viz.surface.plane_extent`)."""
    if data is not None:
        return plane_extent(plane, views, data, optimum)
    points = [plane.project(vw.theta) for vw in views]
    points += [plane.project(vw.path) for vw in views if vw.path is not None]
    if optimum is not None:
        points.append(plane.project(optimum))
    pts = np.vstack(points)
    return _span(pts[:, 0], 0.15, 0.0), _span(pts[:, 1], 0.15, 0.0)


def _colormap():
    from matplotlib import colormaps

    return colormaps["Blues_r"]


def draw_contour(ax, plane: Plane, view: ModelView, data: PlotData, xlim, ylim,
                 resolution: int = 120, levels: int = 18, colorbar: bool = True):
    """Filled contours of the model's loss over the plane; returns the contour set.

    The grid and the levels are :mod:`linearlab.viz.surface`'s (shared with the playground):
    geometric above the grid's minimum, each band its own colour, colour-bar labels distinct.
    """
    from matplotlib.colors import BoundaryNorm

    A, C, Z = loss_grid(plane, view, data, xlim, ylim, resolution)
    lv = contour_levels(Z, levels)
    cmap = _colormap()
    norm = BoundaryNorm(lv.values, cmap.N)
    filled = ax.contourf(A, C, Z, levels=lv.values, cmap=cmap, norm=norm, alpha=0.9, zorder=1)
    ax.contour(A, C, Z, levels=lv.values[1:-1], colors="white", linewidths=0.6, alpha=0.6,
               zorder=1)
    if colorbar:
        cb = ax.figure.colorbar(filled, ax=ax, shrink=0.9)
        cb.set_ticks(lv.ticks)
        cb.set_ticklabels(lv.labels)
        cb.ax.minorticks_off()
        cb.set_label(lv.title(LOSS_LABELS.get(view.loss, view.loss)))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(plane.xlabel)
    ax.set_ylabel(plane.ylabel)
    return filled


def plot_landscape(
    models: Any,
    X: Any,
    y: Any,
    *,
    labels: Sequence[str] | None = None,
    target: int = 0,
    resolution: int = 120,
    feature_names: list[str] | None = None,
    figsize: tuple[float, float] = (7.2, 5.4),
):
    """Contours of the loss over (w, b) with each optimizer's recorded path.

    With more than two trained parameters the contours are drawn over the plane through the
    least-squares optimum spanned by the two leading directions of the paths; the path points
    are then projections onto it.

    Parameters
    ----------
    models : LinearRegression or sequence of LinearRegression
        Fitted models sharing the data and the loss (e.g. several optimizers); each one's
        ``params_history_`` is drawn when it has one.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    labels : sequence of str, optional
        Legend label per model (default: optimizer and learning rate).
    target : int, default=0
    resolution : int, default=120
        Grid points per axis.
    feature_names : list of str, optional
    figsize : (float, float), default=(7.2, 5.4)

    Returns
    -------
    matplotlib.figure.Figure
        Each path is one line (gid ``"trajectory:<label>"``) with a point per recorded epoch.
    """
    models = list(models) if isinstance(models, list | tuple) else [models]
    if not models:
        raise ParameterError("plot_landscape needs at least one fitted model.")
    if labels is not None and len(labels) != len(models):
        raise ParameterError(f"labels has {len(labels)} entries for {len(models)} models.")
    views = [model_view(m, target) for m in models]
    data = plot_data(models[0], X, y, target=target, feature_names=feature_names)
    require_dense(data, "loss landscape")
    for vw in views[1:]:
        if (vw.loss, vw.alpha, vw.fit_intercept, vw.n_features) != (
            views[0].loss, views[0].alpha, views[0].fit_intercept, views[0].n_features
        ):
            raise ParameterError(
                "Models drawn on one landscape must share the loss, alpha, fit_intercept and "
                "features; fit them on the same data with the same settings apart from the "
                "optimizer."
            )
    optimum = least_squares_optimum(views[0], data)
    plane = make_plane(views, data)
    xlim, ylim = _extent(plane, views, optimum, data)
    with style():
        fig, ax = new_figure(*figsize)
        draw_contour(ax, plane, views[0], data, xlim, ylim, resolution)
        exact_at_optimum = []
        for j, vw in enumerate(views):
            color = PALETTE[j % len(PALETTE)]
            label = labels[j] if labels is not None else vw.label
            if optimum is not None and vw.path is None and _same_point(vw.theta, optimum):
                exact_at_optimum.append(label)  # the star says it; no marker to hide it
                continue
            draw_path(ax, plane, vw, color, label)
        if any(vw.path is not None for vw in views):
            ax.plot([], [], marker="o", ms=8, mfc="none", mec="0.2", mew=1.6, ls="none",
                    label="start")
            ax.plot([], [], marker="s", ms=6, color="0.2", ls="none", label="end")
        if optimum is not None:
            opt = plane.project(optimum)[0]
            star = "least-squares optimum"
            if exact_at_optimum:
                star += f" ({', '.join(exact_at_optimum)})"
            ax.plot(*opt, marker="*", ms=17, color=OPTIMUM_COLOR, mec="white", mew=1.2,
                    ls="none", label=star, zorder=8)
        title = f"Loss landscape over {plane.title}"
        if len(views) > 1:
            title += f": {len(views)} optimizers"
        ax.set_title(title)
        handles, texts = ax.get_legend_handles_labels()
        # Below the axes, never over the paths.
        fig.legend(handles, texts, loc="outside lower center", ncols=min(3, len(texts)),
                   fontsize=9, frameon=False)
        compact_ticks(ax)
    return fig


def epochs_label(view: ModelView, rows: int) -> str:
    """``"40 epochs"`` for a path of ``rows`` snapshots; a thinned path (runs past 100,000
    epochs) says which epochs it shows: ``"200,000 epochs (1 in 4 drawn)"``."""
    epochs = int(path_epochs(view.model, rows)[-1])
    stride = history_stride(view.model)[0]
    return f"{epochs:,} epochs" + (f" (1 in {stride:,} drawn)" if stride > 1 else "")


def _same_point(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-7, atol=1e-9 * (np.abs(b).max() + 1.0)))


def draw_path(ax, plane: Plane, view: ModelView, color: str = PATH_COLOR,
              label: str | None = None):
    """One model's recorded trajectory (or only its solution) on a landscape axes: a line with
    a point per epoch, a hollow circle at the start and a square at the end."""
    final = plane.project(view.theta)[0]
    if view.path is None:
        ax.plot(*final, marker="X", ms=10, color=color, mec="white", ls="none",
                label=label or view.label, zorder=5)
        return None
    pts = plane.project(view.path)
    marker = "o" if len(pts) <= MARKER_LIMIT else None
    line, = ax.plot(pts[:, 0], pts[:, 1], color=color, lw=1.6, marker=marker, ms=3.2,
                    label=f"{label or view.label}: {epochs_label(view, len(pts))}", zorder=4,
                    gid=f"trajectory:{label or view.label}")
    ax.plot(*pts[0], marker="o", ms=9, mfc="none", mec=color, mew=1.8, ls="none", zorder=5)
    ax.plot(*pts[-1], marker="s", ms=6, color=color, mec="white", ls="none", zorder=5)
    return line
