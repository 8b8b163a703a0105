"""Loss landscapes with the optimizer's real path: the 1-D loss curve over one parameter with the
gradient-descent iterates on it (seed 002's red dot), and 2-D contours over (w, b) — or over the
plane of the two leading directions of the paths when there are more parameters — with one or
several optimizers' trajectories.

Losses are the model's own (:func:`linearlab.descent.losses.get_loss`) evaluated on a grid; the
trajectories are ``params_history_``, the parameters recorded after every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..descent.losses import get_loss
from ..errors import ParameterError
from ._common import (
    GRID_BUDGET_NUMBERS,
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
    style,
)
from .diagnostics import LOSS_LABELS

# Paths with more points than this are drawn as lines without a marker per epoch.
MARKER_LIMIT = 150
# Singular values of the stacked paths below this fraction of the largest span no direction.
FLAT_DIRECTION = 1e-9


def parameter_names(view: ModelView, data: PlotData) -> list[str]:
    """Display names of ``[coef..., intercept]``."""
    if view.n_features == 1:
        return [f"weight w ({data.feature_names[0]})", "intercept b"]
    return [f"w[{name}]" for name in data.feature_names] + ["intercept b"]


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


def _span(values: np.ndarray, pad: float, fallback: float) -> tuple[float, float]:
    lo, hi = float(np.min(values)), float(np.max(values))
    width = hi - lo
    if width <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        width = fallback or max(abs(lo), 1.0)
        return lo - width, hi + width
    return lo - pad * width, hi + pad * width


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
                    label=f"{len(path) - 1} epochs of GD ({view.label})", zorder=5)
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
@dataclass
class Plane:
    """An affine plane θ = origin + a·u + c·v in parameter space ``[coef..., intercept]``."""

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    xlabel: str
    ylabel: str
    projected: bool  # True when the plane is a 2-D view of more parameters
    title: str = "(w, b)"

    def project(self, thetas: np.ndarray) -> np.ndarray:
        delta = np.atleast_2d(thetas) - self.origin
        return np.column_stack([delta @ self.u, delta @ self.v])

    def lift(self, a: np.ndarray, c: np.ndarray) -> np.ndarray:
        return self.origin + np.multiply.outer(a, self.u) + np.multiply.outer(c, self.v)


def make_plane(views: Sequence[ModelView], data: PlotData) -> Plane:
    """(w, b) — the two trained parameters — or, for more, the two leading directions of the
    recorded paths (principal components around the optimum), completed by the direction of
    largest curvature when the paths span fewer than two."""
    first = views[0]
    free = first.free()
    size = first.n_features + 1
    names = parameter_names(first, data)
    if free.size < 2:
        raise ParameterError(
            "A 2-D loss landscape needs two trained parameters, but this model has one "
            "(one feature and no intercept); draw the 1-D loss curve instead."
        )
    if free.size == 2:
        u, v = np.eye(size)[free[0]], np.eye(size)[free[1]]
        short = ["w" if first.n_features == 1 else names[0], "b"] if first.fit_intercept else names
        title = f"({short[free[0]].split(' (')[0]}, {short[free[1]].split(' (')[0]})"
        return Plane(np.zeros(size), u, v, names[free[0]], names[free[1]], projected=False,
                     title=title)
    optimum = least_squares_optimum(first, data)
    origin = optimum if optimum is not None else first.theta
    paths = [vw.path for vw in views if vw.path is not None]
    deltas = (np.vstack(paths) - origin)[:, free] if paths else np.zeros((0, free.size))
    directions: list[np.ndarray] = []
    shares = []
    if deltas.shape[0] >= 2:
        _, s, vt = np.linalg.svd(deltas, full_matrices=False)
        total = float((s**2).sum())
        for j in range(min(2, s.size)):
            if s[j] > FLAT_DIRECTION * s[0]:
                directions.append(vt[j])
                shares.append(100.0 * s[j] ** 2 / total)
    curvature = _curvature_directions(data, first.fit_intercept)
    for vec in curvature:
        if len(directions) == 2:
            break
        for d in directions:
            vec = vec - (vec @ d) * d
        norm = np.linalg.norm(vec)
        if norm > 1e-8:
            directions.append(vec / norm)
            shares.append(None)
    u, v = (np.zeros(size) for _ in range(2))
    u[free], v[free] = directions[0], directions[1]
    labels = [
        f"direction {j + 1} ({share:.0f}% of the path)" if share is not None
        else f"direction {j + 1} (steepest curvature)"
        for j, share in enumerate(shares)
    ]
    return Plane(origin, u, v, labels[0], labels[1], projected=True,
                 title="the path's two leading directions")


def _curvature_directions(data: PlotData, fit_intercept: bool) -> list[np.ndarray]:
    A = np.hstack([data.X, np.ones((data.X.shape[0], 1))]) if fit_intercept else data.X
    _, vecs = np.linalg.eigh(A.T @ A)
    return [vecs[:, -1 - j] for j in range(vecs.shape[1])]


def _extent(plane: Plane, views: Sequence[ModelView], optimum: np.ndarray | None):
    points = [plane.project(vw.theta) for vw in views]
    points += [plane.project(vw.path) for vw in views if vw.path is not None]
    if optimum is not None:
        points.append(plane.project(optimum))
    pts = np.vstack(points)
    x_lo, x_hi = _span(pts[:, 0], 0.15, 0.0)
    y_lo, y_hi = _span(pts[:, 1], 0.15, 0.0)
    return (x_lo, x_hi), (y_lo, y_hi)


def _colormap():
    from matplotlib import colormaps

    return colormaps["Blues_r"]


def draw_contour(ax, plane: Plane, view: ModelView, data: PlotData, xlim, ylim,
                 resolution: int = 120, levels: int = 18, colorbar: bool = True):
    """Filled contours of the model's loss over the plane; returns the contour set.

    Levels are spaced geometrically above the grid's minimum, so the valley floor stays
    resolved when the loss spans decades; each band gets its own colour.
    """
    from matplotlib.colors import BoundaryNorm

    if not get_loss(view.loss).quadratic:  # residual by residual: keep big data affordable
        affordable = int(np.sqrt(GRID_BUDGET_NUMBERS / max(data.X.shape[0], 1)))
        resolution = max(30, min(resolution, affordable))
    a = np.linspace(*xlim, resolution)
    c = np.linspace(*ylim, resolution)
    A, C = np.meshgrid(a, c)
    Z = loss_at(view, data, plane.lift(A.ravel(), C.ravel())).reshape(A.shape)
    z_min, z_max = float(Z.min()), float(Z.max())
    span = (z_max - z_min) or 1.0
    lv = z_min + np.concatenate([[0.0], np.geomspace(span * 1e-4, span, levels - 1)])
    lv[-1] = z_max + 1e-12 * abs(z_max)
    cmap = _colormap()
    norm = BoundaryNorm(lv, cmap.N)
    filled = ax.contourf(A, C, Z, levels=lv, cmap=cmap, norm=norm, alpha=0.9, zorder=1)
    ax.contour(A, C, Z, levels=lv[1:-1], colors="white", linewidths=0.6, alpha=0.6, zorder=1)
    if colorbar:
        cb = ax.figure.colorbar(filled, ax=ax, shrink=0.9)
        cb.set_ticks(lv[::3])
        cb.set_ticklabels([fmt(v, 3) for v in lv[::3]])
        cb.set_label(f"loss ({LOSS_LABELS.get(view.loss, view.loss)})")
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
    xlim, ylim = _extent(plane, views, optimum)
    with style():
        fig, ax = new_figure(*figsize)
        draw_contour(ax, plane, views[0], data, xlim, ylim, resolution)
        for j, vw in enumerate(views):
            color = PALETTE[j % len(PALETTE)]
            label = labels[j] if labels is not None else vw.label
            draw_path(ax, plane, vw, color, label)
        if optimum is not None:
            opt = plane.project(optimum)[0]
            ax.plot(*opt, marker="*", ms=16, color=OPTIMUM_COLOR, mec="white", ls="none",
                    label="least-squares optimum", zorder=6)
        title = f"Loss landscape over {plane.title}"
        if len(views) > 1:
            title += f": {len(views)} optimizers"
        ax.set_title(title)
        ax.legend(loc="best", framealpha=0.9)
        compact_ticks(ax)
    return fig


def draw_path(ax, plane: Plane, view: ModelView, color: str = PATH_COLOR,
              label: str | None = None):
    """One model's recorded trajectory (or only its solution) on a landscape axes."""
    final = plane.project(view.theta)[0]
    if view.path is None:
        ax.plot(*final, marker="X", ms=10, color=color, mec="white", ls="none",
                label=label or view.label, zorder=5)
        return None
    pts = plane.project(view.path)
    marker = "o" if len(pts) <= MARKER_LIMIT else None
    line, = ax.plot(pts[:, 0], pts[:, 1], color=color, lw=1.6, marker=marker, ms=3.2,
                    label=f"{label or view.label}: {len(pts) - 1} epochs", zorder=4,
                    gid=f"trajectory:{label or view.label}")
    ax.plot(*pts[0], marker="o", ms=9, mfc="none", mec=color, mew=1.8, ls="none", zorder=5)
    ax.plot(*pts[-1], marker="s", ms=6, color=color, mec="white", ls="none", zorder=5)
    return line
