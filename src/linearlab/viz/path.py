"""The regularization path of a penalized model: coefficients against alpha, the choice marked.

Drawn as scikit-learn's examples draw it (``plot_lasso_lasso_lars_elasticnet_path`` and
``plot_lasso_model_selection``): one line per coefficient against alpha on a log axis, a
dashed vertical line at the chosen alpha, and for ``LassoCV``/``ElasticNetCV`` a second panel
with each fold's validation error (dotted), their mean (bold) and the same marker. The path is
recomputed from the Gram statistics the model keeps (also in its model file): no data needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParameterError
from ..penalized.base import PenalizedBase
from ..penalized.path import alpha_grid, gram_path
from ..penalized.ridge_cv import RidgeCV, ridge_coefficients
from ._common import compact_ticks, new_figure, style

_MAX_LABELLED = 10  # legend entries for at most this many features (the largest ones)


def has_path(model: Any) -> bool:
    """Whether ``model`` is a fitted penalized estimator with the statistics for its path."""
    return isinstance(model, PenalizedBase) and getattr(model, "_gram", None) is not None


def path_of(model: Any, n_alphas: int = 100) -> tuple[np.ndarray, np.ndarray, float]:
    """``(alphas, coefs (k, d, n_alphas), chosen alpha)`` recomputed from the model's Gram."""
    if not has_path(model):
        raise ParameterError(
            "The regularization path needs a fitted penalized model with its training "
            "statistics (Lasso, ElasticNet, LassoCV, ElasticNetCV or RidgeCV, fitted or loaded "
            "from a model file that kept them); refit the model to draw it."
        )
    gram = model._gram
    chosen = float(np.max(np.atleast_1d(getattr(model, "alpha_", getattr(model, "alpha", 1.0)))))
    if isinstance(model, RidgeCV):
        candidates = np.atleast_1d(np.asarray(model.alphas, dtype=np.float64))
        low = max(float(candidates.min()), chosen * 1e-3, 1e-12)
        high = max(float(candidates.max()), chosen * 1e3)
        alphas = np.geomspace(high * 10, low / 10, n_alphas)
        coefs = ridge_coefficients(gram, alphas, model.fit_intercept).transpose(1, 0, 2)
        return alphas, coefs, chosen
    l1_ratio = float(getattr(model, "l1_ratio_", getattr(model, "l1_ratio", 1.0)))
    cv_alphas = getattr(model, "alphas_", None)
    if cv_alphas is not None:
        alphas = np.asarray(cv_alphas, dtype=np.float64)
        alphas = alphas if alphas.ndim == 1 else alphas[list(np.atleast_1d(
            model.l1_ratio)).index(l1_ratio)]
    else:
        alphas = alpha_grid(gram, l1_ratio=l1_ratio, n_alphas=n_alphas, eps=1e-3,
                            fit_intercept=model.fit_intercept, positive=model.positive)
        if chosen > 0:
            alphas = np.geomspace(max(alphas[0], chosen * 1.5), min(alphas[-1], chosen / 10),
                                  n_alphas)
    coefs, _, _, _ = gram_path(gram, alphas, l1_ratio=l1_ratio,
                               fit_intercept=model.fit_intercept, positive=model.positive,
                               tol=min(model.tol, 1e-6), max_iter=model.max_iter)
    return alphas, coefs, chosen


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
    alphas, coefs, chosen = path_of(model, n_alphas)
    if not 0 <= target < coefs.shape[0]:
        raise ParameterError(f"target={target} is out of range: the model has "
                             f"{coefs.shape[0]} target(s).")
    names = feature_names or model._feature_labels()
    mse = getattr(model, "mse_path_", None)
    panels = 2 if mse is not None and not isinstance(model, RidgeCV) else 1
    with style():
        fig, axes = new_figure(*(figsize or (6.4 * panels, 4.6)), ncols=panels)
        ax = axes[0] if panels == 2 else axes
        paths = coefs[target]
        order = np.argsort(-np.abs(paths).max(axis=1))
        for rank, j in enumerate(order):
            ax.semilogx(alphas, paths[j], lw=1.4,
                        label=names[j] if rank < _MAX_LABELLED else None)
        ax.axhline(0.0, color="0.6", lw=0.8)
        marker = "CV estimate" if hasattr(model, "mse_path_") or isinstance(model, RidgeCV) \
            else "fitted"
        ax.axvline(chosen, ls="--", color="black", label=f"alpha: {marker} ({chosen:.3g})")
        ax.set_xlabel("alpha")
        ax.set_ylabel("coefficients")
        kind = type(model).__name__.removesuffix("CV")
        ax.set_title(f"{kind} path")
        ax.legend(fontsize="small", loc="best")
        compact_ticks(ax, x=False)
        if panels == 2:
            _draw_errors(axes[1], model, alphas, chosen)
    return fig


def _draw_errors(ax, model, alphas: np.ndarray, chosen: float) -> None:
    """Each fold's validation MSE (dotted), the mean (bold), the chosen alpha (dashed)."""
    mse = np.asarray(model.mse_path_, dtype=np.float64)
    if mse.ndim == 3:  # several l1_ratios: the chosen one's
        mse = mse[list(np.atleast_1d(model.l1_ratio)).index(model.l1_ratio_)]
    ax.semilogx(alphas, mse, ":", lw=1)
    ax.semilogx(alphas, mse.mean(axis=1), color="black", lw=2, label="mean over folds")
    ax.axvline(chosen, ls="--", color="black", label="alpha: CV estimate")
    ax.set_xlabel("alpha")
    ax.set_ylabel("mean squared error")
    ax.set_title("Validation error per fold")
    ax.legend(fontsize="small")
