"""The fitted model over its data: the line through the points (one feature) or predicted
against actual values (several features)."""

from __future__ import annotations

from typing import Any

import numpy as np

from linearlab.stats.metrics import r_squared
from linearlab.viz._common import (
    DATA_COLOR,
    OPTIMUM_COLOR,
    PATH_COLOR,
    compact_ticks,
    equation,
    fmt,
    least_squares_optimum,
    model_view,
    new_figure,
    plot_data,
    style,
)


def plot_fit(
    model: Any,
    X: Any,
    y: Any,
    *,
    target: int = 0,
    feature_names: list[str] | None = None,
    target_name: str | None = None,
    show_optimum: bool | None = None,
    figsize: tuple[float, float] = (6.4, 4.6),
):
    """Draw the data with the fitted model.

    With one feature: the points and the fitted line, its equation in the legend. With several:
    predicted against actual values around the diagonal of perfect predictions.

    Parameters
    ----------
    model : LinearRegression
        A fitted model.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    target : int, default=0
        Which target column to draw for multi-output models.
    feature_names, target_name : optional
        Axis labels; taken from DataFrame columns or ``feature_names_in_`` when not given.
    show_optimum : bool or None, default=None
        Also draw the exact least-squares fit. None draws it for one feature when gradient
        descent did not converge, so the gap is visible.
    figsize : (float, float), default=(6.4, 4.6)
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    view = model_view(model, target)
    data = plot_data(model, X, y, target=target, feature_names=feature_names,
                     target_name=target_name)
    if show_optimum is None:
        show_optimum = (view.solver == "gd" and view.n_features == 1
                        and not getattr(model, "converged_", True))
    optimum = least_squares_optimum(view, data) if show_optimum else None
    pred = data.X @ view.coef + view.intercept
    r2 = r_squared(data.y, pred)
    with style():
        fig, ax = new_figure(*figsize)
        if view.n_features == 1:
            _line_over_points(ax, view, data, optimum)
        else:
            _predicted_vs_actual(ax, view, data, pred, optimum)
        ax.set_title(
            f"{'Fitted line' if view.n_features == 1 else 'Predicted vs actual'} "
            f"({view.label}), R² = {fmt(r2, 4)}"
        )
        compact_ticks(ax)
    return fig


def _line_over_points(ax, view, data, optimum) -> None:
    x = data.X[:, 0]
    span = float(x.max() - x.min()) or 1.0
    grid = np.linspace(x.min() - 0.05 * span, x.max() + 0.05 * span, 200)
    ax.scatter(x, data.y, s=28, color=DATA_COLOR, alpha=0.8, zorder=3,
               label=f"data ({len(x)} points)")
    eq = equation(view.coef, view.intercept, data.feature_names, data.target_name,
                  view.fit_intercept)
    ax.plot(grid, view.coef[0] * grid + view.intercept, color=PATH_COLOR, lw=2.2, label=eq,
            zorder=4)
    if optimum is not None:
        eq_opt = equation(optimum[:1], optimum[1], data.feature_names, data.target_name,
                          view.fit_intercept)
        ax.plot(grid, optimum[0] * grid + optimum[1], color=OPTIMUM_COLOR, lw=1.6, ls="--",
                label=f"least squares: {eq_opt}", zorder=5)  # on top: the gap is small
    ax.set_xlabel(data.feature_names[0])
    ax.set_ylabel(data.target_name)
    ax.legend(loc="best")


def _predicted_vs_actual(ax, view, data, pred, optimum) -> None:
    lo = float(min(data.y.min(), pred.min()))
    hi = float(max(data.y.max(), pred.max()))
    pad = 0.04 * ((hi - lo) or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.4", lw=1.2, ls=":",
            label="perfect prediction", zorder=2)
    ax.scatter(data.y, pred, s=18, color=DATA_COLOR, alpha=0.6, zorder=3,
               label=f"{len(pred)} rows, {view.n_features} features")
    if optimum is not None:
        best = data.X @ optimum[:-1] + optimum[-1]
        ax.scatter(data.y, best, s=10, color=OPTIMUM_COLOR, alpha=0.5, marker="x", zorder=3,
                   label="least squares")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(f"actual {data.target_name}")
    ax.set_ylabel(f"predicted {data.target_name}")
    ax.legend(loc="upper left")
