"""The landscape the page draws: :mod:`linearlab.viz.surface`'s plane, extent, grid and levels
(the same code as the PNGs), turned into JSON for a contour plot with evenly spaced levels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from linearlab.descent.losses import get_loss
from linearlab.viz.diagnostics import LOSS_LABELS
from linearlab.viz.surface import (
    CONTOUR_LEVELS,
    contour_levels,
    loss_grid,
    make_plane,
    plane_extent,
)
from linearlab.viz.view import ModelView, PlotData, least_squares_optimum, model_view

#: Grid points per axis of the page's contour (the PNGs use 120; the page redraws often).
RESOLUTION = 90
# A diverging path counts for the extent only while it stays within this many times the
# start's distance from the optimum (the rest runs off the plot, as it should).
DIVERGED_REACH = 4.0


def base_view(settings: Any, n_features: int, data: PlotData | None = None) -> ModelView:
    """A view with the run settings' loss, before any run: the landscape of the data alone,
    centred on the least-squares parameters (the optimum itself for squared losses)."""
    coef, intercept = np.zeros(n_features), 0.0
    if data is not None:
        A = np.hstack([data.X, np.ones((data.X.shape[0], 1))])
        theta = np.linalg.lstsq(A, data.y, rcond=None)[0]
        coef, intercept = theta[:-1], float(theta[-1])
    return ModelView(
        coef=coef, intercept=intercept, path=None, history=[], loss=settings.loss,
        alpha=settings.alpha, fit_intercept=True, standardize=settings.standardize,
        solver="gd", label="", model=None,
    )


def run_view(model: Any, record: dict, settings: Any, n_features: int) -> ModelView:
    """A run as the figures see it; runs that diverged at once have only their start."""
    if model is not None:
        view = model_view(model)
        view.path = np.asarray(record["path"], dtype=np.float64)
        return view
    view = base_view(settings, n_features)
    view.path = np.asarray(record["path"], dtype=np.float64)
    view.coef, view.intercept = view.path[-1, :-1].copy(), float(view.path[-1, -1])
    return view


def loss_optimum(X: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """``[coef..., intercept]`` minimising a loss with no closed form (mae, huber), numerically:
    L-BFGS on the engine's own loss and gradient, from the least-squares solution (both losses
    are convex, so this is the optimum, to about 1e-9 of the loss)."""
    from scipy.optimize import minimize

    A = np.hstack([X, np.ones((X.shape[0], 1))])
    fn = get_loss(loss)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        residual = (A @ theta - y).reshape(-1, 1)
        return float(fn.value(residual)), (A.T @ fn.gradient(residual))[:, 0]

    start = np.linalg.lstsq(A, y, rcond=None)[0]
    result = minimize(objective, start, jac=True, method="L-BFGS-B",
                      options={"maxiter": 2000, "gtol": 1e-12, "ftol": 1e-15})
    return result.x if objective(result.x)[0] <= objective(start)[0] else start


def optimum_of(view: ModelView, data: PlotData) -> tuple[np.ndarray | None, str]:
    """The optimum to mark and how it is known: ``exact`` (squared losses), ``numerical``
    (mae and huber without a penalty) or a sentence saying why none is marked."""
    optimum = least_squares_optimum(view, data)
    if optimum is not None:
        return optimum, "exact"
    if view.alpha:
        return None, (f"no optimum marked: {view.loss} with alpha > 0 has no solver here "
                      "to check it against")
    return loss_optimum(data.X, data.y, view.loss), "numerical"


def _within_reach(path: np.ndarray, centre: np.ndarray) -> np.ndarray:
    distance = np.linalg.norm(path - centre, axis=1)
    reach = DIVERGED_REACH * max(float(distance[0]), 1e-12)
    keep = np.cumprod(distance <= reach).astype(bool)  # stop at the first point beyond reach
    keep[:2] = True
    return path[keep]


def landscape(views: Sequence[ModelView], data: PlotData, starts: Sequence[Sequence[float]],
              resolution: int = RESOLUTION) -> dict:
    """The contour grid over (w, b) (one feature) or a slice through the optimum (several),
    the optimum, and each view's path projected onto the plane."""
    first = views[0]
    optimum, known = optimum_of(first, data)
    centre = optimum if optimum is not None else first.theta
    framed = []
    for view in views:
        copy = ModelView(**view.__dict__)
        if view.path is not None and view.path.shape[0] >= 2:
            copy.path = _within_reach(view.path, centre)
            copy.coef, copy.intercept = copy.path[-1, :-1], float(copy.path[-1, -1])
        framed.append(copy)
    plane = make_plane(framed, data)
    extra = np.asarray(starts, dtype=np.float64).reshape(-1, first.n_features + 1)
    xlim, ylim = plane_extent(plane, framed, data, optimum, extra)
    a, c, Z = loss_grid(plane, first, data, xlim, ylim, resolution)
    lv = contour_levels(Z, CONTOUR_LEVELS)
    lo, hi = float(np.log10(lv.floor)), float(np.log10(lv.values[-1] - lv.z_min))
    return {
        "plane": {"origin": plane.origin.tolist(), "u": plane.u.tolist(), "v": plane.v.tolist(),
                  "projected": plane.projected},
        "xlabel": plane.xlabel,
        "ylabel": plane.ylabel,
        "title": f"Loss landscape over {plane.title}",
        "a": a.tolist(),
        "c": c.tolist(),
        "z": lv.coordinate(Z).tolist(),
        "contours": {"start": lo, "end": hi, "size": (hi - lo) / (CONTOUR_LEVELS - 2)},
        "ticks": {"values": lv.coordinate(lv.ticks).tolist(), "labels": lv.labels},
        "colorbar": lv.title(LOSS_LABELS.get(first.loss, first.loss)),
        "xlim": list(xlim),
        "ylim": list(ylim),
        "optimum": None if optimum is None else plane.project(optimum)[0].tolist(),
        "optimum_theta": None if optimum is None else optimum.tolist(),
        "optimum_kind": known,
        "paths": [plane.project(v.path).tolist() if v.path is not None else [] for v in views],
        "starts": plane.project(extra).tolist() if extra.size else [],
    }
