"""Gradient-descent fitting for the estimator: everything between validated arrays and a result.

``fit_descent`` standardizes the features (when asked), draws the starting parameters, resolves
``lr="auto"``, runs the NumPy engine (:mod:`linearlab.descent`) or the PyTorch backend on the same
batch plan, maps the result back to the original feature scale and diagnoses convergence against
the exact optimum. The estimator only stores what comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.validation import resolve_dtype
from ..errors import DataError
from ..exact import solvers as exact
from ..gram import Gram
from . import DescentConfig, torch_backend, train
from .batches import BatchPlan, initial_parameters, random_streams
from .diagnosis import Diagnosis, diagnose_plateau, diagnose_quadratic
from .losses import get_loss
from .schedules import auto_learning_rate, batch_curvature


@dataclass
class DescentFit:
    """What one gradient-descent fit produced, on the original feature scale."""

    coef: np.ndarray  # (d, k)
    intercept: np.ndarray  # (k,)
    gram: Gram
    learning_rate: float
    history: list[float]
    params_history: np.ndarray | None
    n_iter: int
    diagnosis: Diagnosis
    optimum: tuple[np.ndarray, np.ndarray] | None


def initial_values(model: Any, n_features: int, n_targets: int, rng, dtype):
    """The model's ``init`` turned into (weight (d, k), bias (k,)); a clear error if it is off."""
    init = tuple(model.init) if isinstance(model.init, list) else model.init
    try:
        return initial_parameters(init, n_features, n_targets, rng, dtype)
    except ValueError as exc:
        raise DataError(f"Invalid init: {exc}.") from None


def fit_descent(
    model: Any,
    X: np.ndarray,
    Y: np.ndarray,
    w: np.ndarray | None,
    *,
    warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    partial: bool = False,
    feature_names: list[str] | None = None,
) -> DescentFit:
    """Train ``model``'s settings (a LinearRegression) on ``(X, Y)`` by gradient descent.

    ``warm_start`` continues from given parameters; ``partial`` runs a single epoch.
    """
    if model.backend == "torch":  # fail fast: torch installed and the device exists
        torch_backend.resolve_device(model.device)
    dtype = resolve_dtype(model.dtype)
    gram = Gram.from_arrays(X, Y, w)
    d, k = X.shape[1], Y.shape[1]
    if model.standardize:
        shift, scale = gram.feature_scaling(model.fit_intercept)
        Xt = ((X - shift) / scale).astype(dtype)
        train_gram = gram.rescaled(shift, scale)
    else:
        shift, scale = np.zeros(d), np.ones(d)
        Xt, train_gram = X.astype(dtype), gram

    init_rng, batch_rng = random_streams(model.random_state)
    W0, b0 = warm_start if warm_start is not None else initial_values(model, d, k, init_rng, dtype)
    if model.standardize:  # express the start on the standardized scale
        W0, b0 = W0 * scale[:, None], b0 + shift @ W0
    if not model.fit_intercept:  # no bias term: the start has none either
        b0 = np.zeros_like(b0)
    init = (W0.astype(dtype), b0.astype(dtype))

    row_norm2 = _max_row_norm2(Xt, model.fit_intercept) if model.batch_size else None
    curvature = batch_curvature(
        train_gram, fit_intercept=model.fit_intercept, loss=model.loss,
        batch_size=model.batch_size, max_row_norm2=row_norm2, alpha=model.alpha,
    )
    auto_lr = auto_learning_rate(
        train_gram, fit_intercept=model.fit_intercept, loss=model.loss,
        optimizer=model.optimizer, batch_size=model.batch_size, alpha=model.alpha,
        distance=_distance_to_optimum(model, train_gram, init), epochs=model.epochs,
        curvature=curvature,
    )
    lr = auto_lr if model.lr == "auto" else float(model.lr)
    config = DescentConfig(
        lr=lr,
        loss=model.loss,
        optimizer=model.optimizer,
        epochs=1 if partial else model.epochs,
        tol=model.tol,
        alpha=model.alpha,
        fit_intercept=model.fit_intercept,
        log_every=model.log_every,
        stable_lr=2.0 / curvature,  # plain gradient descent diverges above this step
        feature_names=feature_names,
    )
    plan = BatchPlan(X.shape[0], model.batch_size, model.shuffle, batch_rng)
    Wt = None if w is None else w.astype(dtype)
    engine = torch_backend.train if model.backend == "torch" else train
    extra = {"device": model.device} if model.backend == "torch" else {}
    result = engine(Xt, Y.astype(dtype), Wt, init, plan, config, **extra)

    coef, intercept, path = _to_original_scale(result, shift, scale, model.standardize)
    diagnosis, optimum = _diagnose(model, X, Y, w, gram, result, lr, auto_lr, coef, intercept,
                                   feature_names)
    return DescentFit(
        coef=coef, intercept=intercept, gram=gram, learning_rate=lr, history=result.history,
        params_history=path, n_iter=result.n_iter, diagnosis=diagnosis, optimum=optimum,
    )


def _to_original_scale(result, shift, scale, standardized: bool):
    """Coefficients, intercepts and the parameter path of (X - shift)/scale, mapped back to X."""
    coef, intercept = result.coef.astype(np.float64), result.intercept.astype(np.float64)
    path = result.params_history
    if not standardized:
        return coef, intercept, path
    coef = coef / scale[:, None]
    intercept = intercept - shift @ coef
    if path is not None:
        path = path.astype(np.float64)
        path[:, :-1] /= scale[None, :, None]
        path[:, -1] -= np.einsum("d,tdk->tk", shift, path[:, :-1])
    return coef, intercept, path


def _max_row_norm2(X: np.ndarray, fit_intercept: bool) -> float:
    """max‖[x, 1]‖² over the rows: the steepest curvature a single-row step can meet."""
    norms = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    return float(norms.max()) + (1.0 if fit_intercept else 0.0)


def _distance_to_optimum(model, gram: Gram, init) -> float | None:
    """Largest |start - exact optimum| over the parameters (sizes Adam's automatic step)."""
    if model.optimizer != "adam" or model.lr != "auto":
        return None
    target = exact.solve_auto(
        None, None, alpha=model.alpha, fit_intercept=model.fit_intercept, gram=gram
    )
    gap = np.abs(target.coef - init[0]).max()
    if model.fit_intercept:
        gap = max(gap, np.abs(target.intercept - init[1]).max())
    return float(gap)


def _diagnose(model, X, Y, w, gram, result, lr, auto_lr, coef, intercept, feature_names):
    """Compare the end point with the exact optimum (squared losses) or check for a plateau."""
    if not get_loss(model.loss).quadratic:
        return diagnose_plateau(result.history, result.stopped_by_tol), None
    optimum = exact.solve_auto(
        X, Y, w, alpha=model.alpha if not model.standardize else 0.0,
        fit_intercept=model.fit_intercept, gram=gram,
    )
    final = _objective(model, X, Y, w, coef, intercept)
    best = _objective(model, X, Y, w, optimum.coef, optimum.intercept)
    diagnosis = diagnose_quadratic(
        history=result.history, final_loss=final, optimal_loss=min(best, final),
        optimum=(optimum.coef, optimum.intercept), lr=lr, epochs_run=result.n_iter,
        stopped_by_tol=result.stopped_by_tol, suggested_lr=auto_lr,
        feature_names=feature_names,
    )
    return diagnosis, (optimum.coef, optimum.intercept)


def _objective(model, X, Y, w, coef, intercept) -> float:
    """The training loss (with penalty) of given parameters on the full data."""
    r = X @ coef + (intercept if model.fit_intercept else 0.0) - Y
    value = get_loss(model.loss).value(r, w)
    if model.alpha and not model.standardize:
        n = X.shape[0] if w is None else float(w.sum())
        factor = 1.0 if model.loss == "sse" else 1.0 / (n * Y.shape[1])
        value += model.alpha * factor * float((coef * coef).sum())
    return value
