"""Residual diagnostics (residuals against fitted values, normal Q-Q) and the loss history."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from linearlab.descent.history import kept_count, stride_of
from linearlab.viz._common import (
    DATA_COLOR,
    OPTIMUM_COLOR,
    PATH_COLOR,
    compact_ticks,
    fmt,
    least_squares_optimum,
    loss_at,
    model_view,
    new_figure,
    plot_data,
    style,
)

# Residuals below this fraction of the target's spread count as an exact fit.
EXACT_FIT_RATIO = 1e-9
# A history whose largest and smallest positive values differ by this factor (a decade) is
# drawn on a logarithmic axis: a plateau after a steep first drop stays visible.
LOG_SCALE_RATIO = 10.0
LOSS_LABELS = {
    "mse": "mean squared error",
    "sse": "sum of squared errors",
    "mae": "mean absolute error",
    "huber": "Huber loss",
}


def plot_residuals(
    model: Any,
    X: Any,
    y: Any,
    *,
    target: int = 0,
    target_name: str | None = None,
    figsize: tuple[float, float] = (10.0, 4.2),
):
    """Residuals against fitted values, beside a normal Q-Q plot of the standardized residuals.

    Parameters
    ----------
    model : LinearRegression
        A fitted model.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    target : int, default=0
        Which target column to draw for multi-output models.
    target_name : str, optional
        Name of the target for the axis labels.
    figsize : (float, float), default=(10.0, 4.2)

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: residuals vs fitted, and sample vs theoretical normal quantiles.
    """
    view = model_view(model, target)
    data = plot_data(model, X, y, target=target, target_name=target_name)
    fitted = data.X @ view.coef + view.intercept
    resid = data.y - fitted
    spread = float(np.abs(data.y - data.y.mean()).max()) or 1.0
    exact_fit = float(np.abs(resid).max()) <= EXACT_FIT_RATIO * spread
    with style():
        fig, (ax_r, ax_q) = new_figure(*figsize, ncols=2)
        ax_r.axhline(0.0, color="0.35", lw=1.2, ls="--", zorder=2)
        ax_r.scatter(fitted, resid, s=24, color=DATA_COLOR, alpha=0.75, zorder=3)
        ax_r.set_xlabel(f"fitted {data.target_name}")
        ax_r.set_ylabel(f"residual ({data.target_name} − fitted)")
        ax_r.set_title("Residuals vs fitted")
        if exact_fit:
            ax_r.text(0.5, 0.9, "residuals are zero to machine precision: an exact fit",
                      transform=ax_r.transAxes, ha="center", fontsize=9.5, color="0.3")
        _qq(ax_q, resid, exact_fit)
        compact_ticks(ax_r)
        rmse = float(np.sqrt(np.mean(resid**2)))
        fig.suptitle(f"Residual diagnostics ({view.label}): RMSE = {fmt(rmse)}, "
                     f"{len(resid)} rows")
    return fig


def _qq(ax, resid: np.ndarray, exact_fit: bool) -> None:
    n = resid.shape[0]
    sd = float(resid.std(ddof=1)) if n > 1 else 0.0
    standardized = resid / sd if sd > 0 and not exact_fit else resid
    sample = np.sort(standardized)
    # Blom's plotting positions, as scipy.stats.probplot and statsmodels' qqplot use.
    theoretical = stats.norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))
    ax.scatter(theoretical, sample, s=24, color=DATA_COLOR, alpha=0.75, zorder=3)
    if sd > 0 and not exact_fit:
        lim = float(max(np.abs(theoretical).max(), np.abs(sample).max())) * 1.05
        ax.plot([-lim, lim], [-lim, lim], color=PATH_COLOR, lw=1.4, label="normal (y = x)",
                zorder=2)
        ax.legend(loc="upper left")
        ax.set_ylabel("standardized residual quantiles")
    else:
        ax.set_ylabel("residual quantiles")
    ax.set_xlabel("theoretical normal quantiles")
    ax.set_title("Normal Q-Q")


def history_stride(model: Any, n: int | None = None) -> tuple[int, int]:
    """``(stride, epochs)``: every how many epochs ``model.history_`` (and ``params_history_``)
    kept one, and how many epochs ran (``n_iter_``).

    The stride is ``history_stride_`` when the model has it (every fit by gradient descent and
    model files written since it was stored); otherwise it is the power of two that leaves the
    ``n`` (default: ``len(history_)``) entries the history has over ``n_iter_`` epochs, as
    :class:`linearlab.descent.history.EpochRecord` thins."""
    if n is None:
        n = len(getattr(model, "history_", None) or [])
    n_iter = getattr(model, "n_iter_", None)
    try:
        epochs = int(np.max(n_iter)) if n_iter is not None else n
    except (TypeError, ValueError):
        epochs = n
    stride = getattr(model, "history_stride_", None)
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        stride = stride_of(n, epochs)  # the stride whose thinning leaves n entries
    return int(stride), epochs


def history_epochs(model: Any, n: int) -> np.ndarray:
    """The epoch (0-based) of each of the ``n`` entries of ``model.history_``.

    ``history_[i]`` is epoch ``i * history_stride_`` and the last entry the last epoch
    (``n_iter_ - 1``), as :class:`linearlab.descent.history.EpochRecord` keeps them (the stride
    as :func:`history_stride` finds it). Without ``n_iter_`` (or when the counts disagree)
    entry ``i`` is drawn at ``i * stride``."""
    stride, epochs = history_stride(model, n)
    if kept_count(epochs, stride) != n:
        return np.arange(n) * stride
    kept = np.arange(0, epochs, stride)
    if (epochs - 1) % stride:
        kept = np.append(kept, epochs - 1)
    return kept


def path_epochs(model: Any, rows: int) -> np.ndarray:
    """The number of finished epochs behind each of the ``rows`` snapshots of
    ``model.params_history_``: row ``i`` is θ after ``i * history_stride_`` epochs (row 0 the
    start) and the last row θ after all ``n_iter_`` epochs. When the counts disagree (a path
    recorded otherwise) row ``i`` counts ``i * stride`` epochs."""
    stride, epochs = history_stride(model)
    kept = np.arange(0, epochs + 1, stride)
    if epochs % stride:
        kept = np.append(kept, epochs)
    return kept if kept.size == rows else np.arange(rows) * stride


def plot_loss_history(
    model: Any,
    X: Any = None,
    y: Any = None,
    *,
    target: int = 0,
    log: bool | None = None,
    figsize: tuple[float, float] = (6.4, 4.4),
):
    """The training loss per epoch (``model.history_``).

    Parameters
    ----------
    model : LinearRegression
        A model fitted with ``solver="gd"``.
    X, y : array-like, optional
        The training data; when given (and the loss is quadratic) the least-squares optimum's
        loss is drawn as the floor the history approaches, and on a log axis also the excess
        loss over it (which shows the rate of convergence).
    target : int, default=0
        Target column used for the optimum of multi-output models.
    log : bool or None, default=None
        Logarithmic loss axis; None chooses it when the history spans a decade or more.
    figsize : (float, float), default=(6.4, 4.4)

    Returns
    -------
    matplotlib.figure.Figure
        One line with one point per recorded epoch, at its epoch number (0-based): a thinned
        history (``history_stride_`` > 1, runs past 100,000 epochs) keeps every
        ``history_stride_``-th epoch and the last (:func:`history_epochs`).
    """
    view = model_view(model, target)
    history = np.asarray(view.history, dtype=float)
    if history.size == 0:
        from linearlab.errors import ParameterError

        raise ParameterError(
            "This model has no loss history: only gradient descent records one. Fit with "
            "solver='gd' to plot it."
        )
    floor = None
    if X is not None and y is not None and np.ndim(model.coef_) == 1:
        data = plot_data(model, X, y, target=target)
        optimum = least_squares_optimum(view, data)
        if optimum is not None:
            floor = float(loss_at(view, data, optimum[None])[0])
    positive = history[history > 0]
    if log is None:
        log = positive.size == history.size and positive.max() >= LOG_SCALE_RATIO * positive.min()
    epochs = history_epochs(model, history.size)
    stride = int(epochs[1] - epochs[0]) if history.size > 2 else 1
    from matplotlib.ticker import MaxNLocator

    with style():
        fig, ax = new_figure(*figsize)
        marker = "o" if history.size <= 60 else None
        ax.plot(epochs, history, color=PATH_COLOR, lw=1.8, marker=marker, ms=3.5,
                label=f"training loss ({view.label})", zorder=3)
        if floor is not None and (not log or floor >= EXACT_FIT_RATIO * history.max()):
            ax.axhline(floor, color=OPTIMUM_COLOR, lw=1.3, ls="--", zorder=2,
                       label=f"least-squares optimum: {fmt(floor, 6)}")
            excess = history - floor
            if log and floor > 0 and np.all(excess > 0):  # how far from the optimum, per epoch
                ax.plot(epochs, excess, color="#7b2d8e", lw=1.3, ls=":",
                        label="loss − optimum", zorder=3)
        elif floor is not None:  # a zero floor has no place on a log axis: say it instead
            ax.plot([], [], color=OPTIMUM_COLOR, lw=1.3, ls="--",
                    label=f"least-squares optimum: {fmt(floor, 3)} (exact fit)")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("epoch" if stride == 1 else f"epoch (1 in {stride:,} kept, and the last)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if epochs[-1] >= 1e4:  # 250k, not 250000 crowded on the axis
            compact_ticks(ax, y=False)
        loss_name = LOSS_LABELS.get(view.loss, view.loss)
        ax.set_ylabel(f"loss ({loss_name}{', log scale' if log else ''})")
        converged = getattr(model, "converged_", None)
        status = "" if converged is None else (" — converged" if converged else
                                                " — not converged")
        ax.set_title(f"Loss history: {int(epochs[-1]) + 1} epochs, final {fmt(history[-1], 5)}"
                     f"{status}")
        ax.legend(loc="upper right")
    return fig
