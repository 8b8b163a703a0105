"""The loss surface behind every landscape: the plane through parameter space, its extent, the
loss on a grid over it, and contour levels whose labels read right.

One implementation serves the static figures (:mod:`linearlab.viz.landscape`, the animation) and
the browser playground (:mod:`linearlab.playground`), so the page and the PNGs agree. Nothing here
imports matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from linearlab.descent.losses import get_loss
from linearlab.errors import ParameterError
from linearlab.viz._common import (
    GRID_BUDGET_NUMBERS,
    ModelView,
    PlotData,
    fmt,
    least_squares_optimum,
    loss_at,
)

# Singular values of the stacked paths below this fraction of the largest span no direction.
FLAT_DIRECTION = 1e-9
# Filled contour bands; levels are spaced geometrically above the grid's minimum.
CONTOUR_LEVELS = 18
# The first level above the minimum, as a fraction of the grid's loss range.
LEVEL_FLOOR = 1e-4
ORDINALS = ("steepest", "second-steepest")


def parameter_names(view: ModelView, data: PlotData) -> list[str]:
    """Display names of ``[coef..., intercept]``."""
    if view.n_features == 1:
        return [f"weight w ({data.feature_names[0]})", "intercept b"]
    return [f"w[{name}]" for name in data.feature_names] + ["intercept b"]


def span(values: np.ndarray, pad: float, fallback: float) -> tuple[float, float]:
    """``[min, max]`` of ``values`` widened by ``pad`` of the width (by ``fallback`` or the
    magnitude, when the values are all equal)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    width = hi - lo
    if width <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        width = fallback or max(abs(lo), 1.0)
        return lo - width, hi + width
    return lo - pad * width, hi + pad * width


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
    """(w, b) — the two trained parameters — or, for more, a slice through the least-squares
    optimum: along the two leading directions of the recorded paths' offsets from it, completed
    by the directions of steepest curvature when the paths span fewer than two (or there are
    none).

    Axis labels say what each direction is; for path directions, the share of the paths' length
    travelled along it (:func:`movement_shares`), so the label matches what is seen.
    """
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
    paths = [vw.path for vw in views if vw.path is not None and vw.path.shape[0] >= 2]
    deltas = (np.vstack(paths) - origin)[:, free] if paths else np.zeros((0, free.size))
    directions: list[np.ndarray] = []
    from_path: list[bool] = []
    if deltas.shape[0] >= 2:
        _, s, vt = np.linalg.svd(deltas, full_matrices=False)
        for j in range(min(2, s.size)):
            if s[j] > FLAT_DIRECTION * s[0]:
                directions.append(vt[j])
                from_path.append(True)
    curvature = _curvature_directions(data, first.fit_intercept)
    for vec in curvature:
        if len(directions) == 2:
            break
        for d in directions:
            vec = vec - (vec @ d) * d
        norm = np.linalg.norm(vec)
        if norm > 1e-8:
            directions.append(vec / norm)
            from_path.append(False)
    u, v = (np.zeros(size) for _ in range(2))
    u[free], v[free] = directions[0], directions[1]
    shares = movement_shares(paths, [u, v])
    labels, rank = [], 0
    for j, on_path in enumerate(from_path):
        if on_path:
            labels.append(f"direction {j + 1} ({shares[j]:.0f}% of the path's length)")
        else:
            labels.append(f"direction {j + 1} ({ORDINALS[rank]} curvature)")
            rank += 1
    where = "optimum" if optimum is not None else "fitted parameters"
    if all(from_path):
        title = "the path's two leading directions"
    elif any(from_path):
        title = "the path's direction and the steepest curvature"
    else:
        title = f"a slice through the {where} (steepest directions)"
    return Plane(origin, u, v, labels[0], labels[1], projected=True, title=title)


def movement_shares(paths: Sequence[np.ndarray], directions: Sequence[np.ndarray]) -> list[float]:
    """Percent of the paths' length travelled along each unit direction: Σ|step·d| / Σ‖step‖.

    Each share is what the eye sees along that axis relative to the whole path (both can be
    large for a diagonal path; a direction the path never moves along gets 0%).
    """
    steps = [np.diff(p, axis=0) for p in paths if p.shape[0] >= 2]
    if not steps:
        return [0.0 for _ in directions]
    stacked = np.vstack(steps)
    total = float(np.linalg.norm(stacked, axis=1).sum()) or 1.0
    return [100.0 * float(np.abs(stacked @ d).sum()) / total for d in directions]


def _curvature_directions(data: PlotData, fit_intercept: bool) -> list[np.ndarray]:
    A = np.hstack([data.X, np.ones((data.X.shape[0], 1))]) if fit_intercept else data.X
    _, vecs = np.linalg.eigh(A.T @ A)
    return [vecs[:, -1 - j] for j in range(vecs.shape[1])]


def plane_extent(plane: Plane, views: Sequence[ModelView], data: PlotData,
                 optimum: np.ndarray | None, extra: np.ndarray | None = None):
    """Axis limits holding the solutions, the paths, the optimum and ``extra`` points.

    Along a direction where these do not spread (an exact fit has a single point), the range is
    chosen so the loss at its edges rises by about the optimum's own loss: the valley is shown
    at a scale where the contours mean something.
    """
    points = [plane.project(vw.theta) for vw in views]
    points += [plane.project(vw.path) for vw in views if vw.path is not None]
    if optimum is not None:
        points.append(plane.project(optimum))
    if extra is not None and len(extra):
        points.append(plane.project(extra))
    pts = np.vstack(points)
    centre = optimum if optimum is not None else views[0].theta
    limits = []
    for axis, direction in ((0, plane.u), (1, plane.v)):
        lo, hi = float(pts[:, axis].min()), float(pts[:, axis].max())
        if hi - lo > 1e-9 * max(abs(lo), abs(hi), 1e-300):
            limits.append(span(pts[:, axis], 0.15, 0.0))
            continue
        half = _valley_half_width(views[0], data, centre, direction)
        mid = float(plane.project(centre)[0, axis])
        limits.append((min(lo, mid - half), max(hi, mid + half)))
    return limits[0], limits[1]


def _valley_half_width(view: ModelView, data: PlotData, centre: np.ndarray,
                       direction: np.ndarray) -> float:
    base = float(loss_at(view, data, centre[None])[0])
    start = float(loss_at(view, data, np.zeros_like(centre)[None])[0])
    rise = base if base > 0 else (start if start > 0 else 1.0)
    unit = float(loss_at(view, data, (centre + direction)[None])[0]) - base
    if not np.isfinite(unit) or unit <= 0:
        return 1.0
    if get_loss(view.loss).quadratic:
        return float(np.sqrt(rise / unit))
    return float(rise / unit)  # piecewise-linear losses grow about linearly far out


# --------------------------------------------------------------------------- grid and levels
@dataclass
class ContourLevels:
    """Contour levels ``values`` (geometric above the minimum), the colour-bar ticks (every
    third level) and their labels, which are distinct. When the loss varies by less than a
    thousandth of its size over the grid, the labels give the excess over ``offset`` (the
    minimum) instead, and :meth:`title` says so."""

    values: np.ndarray
    ticks: np.ndarray
    labels: list[str]
    z_min: float
    floor: float  # first level above the minimum, as an excess over it
    offset: float = 0.0

    def title(self, loss_name: str) -> str:
        """The colour bar's label: ``loss (mean squared error)`` or ``loss − 6.6e8 (...)``."""
        if self.offset:
            return f"loss \u2212 {fmt(self.offset, 6)} ({loss_name})"
        return f"loss ({loss_name})"

    def coordinate(self, Z: np.ndarray) -> np.ndarray:
        """log10 of the excess over the minimum: the levels become evenly spaced (the page's
        contour plots need even spacing)."""
        return np.log10(np.maximum(np.asarray(Z) - self.z_min, self.floor))


def contour_levels(Z: np.ndarray, levels: int = CONTOUR_LEVELS) -> ContourLevels:
    """Levels spaced geometrically above the grid's minimum, so the valley floor stays resolved
    when the loss spans decades, and tick labels with as many digits as it takes to tell them
    apart (a landscape whose ticks all read ``6.6e8`` says nothing)."""
    z_min, z_max = float(np.min(Z)), float(np.max(Z))
    spread = (z_max - z_min) or max(abs(z_max), 1.0) * 1e-6
    lv = z_min + np.concatenate([[0.0], np.geomspace(spread * LEVEL_FLOOR, spread, levels - 1)])
    lv[-1] = max(lv[-1], z_max + 1e-12 * abs(z_max))
    ticks = lv[::3]
    offset = z_min if spread < 1e-3 * abs(z_min) else 0.0
    labels = distinct_labels(ticks - offset)
    return ContourLevels(lv, ticks, labels, z_min, spread * LEVEL_FLOOR, offset)


def distinct_labels(values: np.ndarray, digits: int = 3, most: int = 12) -> list[str]:
    """:func:`fmt` labels of increasing precision until no two distinct values read alike."""
    for n in range(digits, most + 1):
        labels = [fmt(v, n) for v in values]
        if len(set(labels)) == len(set(np.asarray(values).tolist())):
            return labels
    return labels


def loss_grid(plane: Plane, view: ModelView, data: PlotData, xlim, ylim,
              resolution: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, c, Z)``: grid coordinates along the plane's axes and the model's loss on the grid,
    ``Z[i, j]`` at ``(a[j], c[i])``. Losses that are not quadratic get a coarser grid on big
    data (they are evaluated residual by residual)."""
    if not get_loss(view.loss).quadratic:
        affordable = int(np.sqrt(GRID_BUDGET_NUMBERS / max(data.X.shape[0], 1)))
        resolution = max(30, min(resolution, affordable))
    a = np.linspace(*xlim, resolution)
    c = np.linspace(*ylim, resolution)
    A, C = np.meshgrid(a, c)
    Z = loss_at(view, data, plane.lift(A.ravel(), C.ravel())).reshape(A.shape)
    return a, c, Z
