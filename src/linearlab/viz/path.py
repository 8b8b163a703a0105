"""The regularization path of a penalized model: coefficients against alpha, the choice marked.

Drawn as scikit-learn's examples draw it (``plot_lasso_lasso_lars_elasticnet_path`` and
``plot_lasso_model_selection``): one line per coefficient against alpha on a log axis, a
dashed vertical line at the chosen alpha, and for ``LassoCV``/``ElasticNetCV`` a second panel
with each fold's validation error (dotted), their mean (bold) and the same marker. The model
recomputes its path from the Gram statistics it keeps (also in its model file) through its
``regularization_path()``: no data needed, and nothing here imports the estimators.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linearlab.errors import ParameterError
from linearlab.viz._common import compact_ticks, new_figure, style

_MAX_LABELLED = 10  # legend entries for at most this many features (the largest ones)


def has_path(model: Any) -> bool:
    """Whether ``model`` is a penalized estimator that can recompute its path."""
    return callable(getattr(model, "regularization_path", None))


def _labels(model: Any, d: int) -> list[str]:
    design = getattr(model, "design_", None)
    if design is not None and len(design.names) == d:  # text columns: their indicators
        return list(design.names)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_names_", None)
    if names is None or len(names) != d:
        return [f"x{j + 1}" for j in range(d)]
    return [str(n) for n in names]


def plot_path(model: Any, X: Any = None, y: Any = None, *, target: int = 0,
              feature_names: list[str] | None = None, n_alphas: int = 100,
              figsize: tuple[float, float] | None = None):
    """Coefficient paths against alpha with the chosen alpha marked.

    Parameters
    ----------
    model : Lasso, ElasticNet, LassoCV, ElasticNetCV or RidgeCV
        A fitted model (or one loaded from a model file with its statistics).
    X, y : ignored
        Accepted so that every figure kind has the same call; the path needs no data.
    target : int, default=0
        Target column of a multi-output model.
    feature_names : list of str, optional
        Legend labels (default: the model's feature names).
    n_alphas : int, default=100
        Points on the path (CV models use their own grid).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not has_path(model):
        raise ParameterError(
            f"A {type(model).__name__} has no regularization path: draw kind='path' for "
            "Lasso, ElasticNet, LassoCV, ElasticNetCV or RidgeCV."
        )
    alphas, coefs, chosen = model.regularization_path(n_alphas)
    scales = getattr(model, "column_scales", None)
    if scales is not None:  # standardize=True: the path on the original scale, as coef_
        coefs = np.asarray(coefs) / np.asarray(scales())[None, :, None]
    if not 0 <= target < coefs.shape[0]:
        raise ParameterError(f"target={target} is out of range: the model has "
                             f"{coefs.shape[0]} target(s).")
    names = feature_names or _labels(model, coefs.shape[1])
    errors = model.chosen_mse_path() if hasattr(model, "chosen_mse_path") else None
    panels = 1 if errors is None else 2
    with style():
        fig, axes = new_figure(*(figsize or (6.4 * panels, 4.6)), ncols=panels)
        ax = axes[0] if panels == 2 else axes
        paths = coefs[target]
        order = np.argsort(-np.abs(paths).max(axis=1))
        for rank, j in enumerate(order):
            ax.semilogx(alphas, paths[j], lw=1.4,
                        label=names[j] if rank < _MAX_LABELLED else None)
        ax.axhline(0.0, color="0.6", lw=0.8)
        marker = "CV estimate" if hasattr(model, "alpha_") else "fitted"
        ax.axvline(chosen, ls="--", color="black", label=f"alpha: {marker} ({chosen:.3g})")
        ax.set_xlabel("alpha")
        ax.set_ylabel("coefficients")
        ax.set_title(f"{type(model).__name__.removesuffix('CV')} path")
        ax.legend(fontsize="small", loc="best")
        compact_ticks(ax, x=False)
        if errors is not None:
            _draw_errors(axes[1], alphas, errors, chosen)
    return fig


def _draw_errors(ax, alphas: np.ndarray, mse: np.ndarray, chosen: float) -> None:
    """Each fold's validation MSE (dotted), the mean (bold), the chosen alpha (dashed)."""
    ax.semilogx(alphas, mse, ":", lw=1)
    ax.semilogx(alphas, mse.mean(axis=1), color="black", lw=2, label="mean over folds")
    ax.axvline(chosen, ls="--", color="black", label="alpha: CV estimate")
    ax.set_xlabel("alpha")
    ax.set_ylabel("mean squared error")
    ax.set_title("Validation error per fold")
    ax.legend(fontsize="small")
