"""Gradient-descent fitting: everything between validated data and a result, written once.

:func:`prepare` is the setup every gradient-descent fit shares — in memory or over a file:
standardize the features (from the Gram statistics), draw the starting parameters, resolve
``lr="auto"``, the schedule and averaging, and build the :class:`DescentConfig`.
:func:`finish` maps the result back to the original feature scale and diagnoses convergence
against the exact optimum of the objective actually trained (the penalized one, on the
standardized scale when ``standardize=True``). :func:`fit_descent` runs them around the NumPy
engine (:mod:`linearlab.descent`) for in-memory arrays; :mod:`.torch.fit` around the PyTorch
backend, ``streaming.py`` around a file's chunk stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from linearlab.data.validation import resolve_dtype
from linearlab.descent.batches import BatchPlan, initial_parameters, random_streams
from linearlab.descent.config import DescentConfig, DescentResult, penalty_factor
from linearlab.descent.diagnosis import Diagnosis, diagnose_plateau, diagnose_quadratic
from linearlab.descent.loop import train
from linearlab.descent.losses import get_loss
from linearlab.descent.schedules import auto_learning_rate, batch_curvature
from linearlab.errors import DataError
from linearlab.exact import solvers as exact
from linearlab.exact.gram import Gram
from linearlab.models.fitted import TrainingRecord

# tol of early stopping when the model's tol is None (scikit-learn's SGDRegressor uses 1e-3)
EARLY_STOPPING_TOL = 1e-4


@dataclass
class DescentSetup:
    """The shared setup of one gradient-descent fit (training scale = standardized)."""

    shift: np.ndarray  # (d,) subtracted from X ...
    scale: np.ndarray  # ... then divided by this
    train_gram: Gram  # statistics on the training scale
    init: tuple[np.ndarray, np.ndarray]
    lr: float
    auto_lr: float
    config: DescentConfig


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

    def record(self) -> TrainingRecord:
        """The training record the fitted state keeps."""
        return TrainingRecord(
            solver="gd", n_iter=self.n_iter, converged=self.diagnosis.converged,
            diagnosis=self.diagnosis.message, learning_rate=self.learning_rate,
            history=self.history, params_history=self.params_history, optimum=self.optimum,
        )


def initial_values(model: Any, n_features: int, n_targets: int, rng, dtype):
    """The model's ``init`` turned into (weight (d, k), bias (k,)); a clear error if it is off."""
    init = tuple(model.init) if isinstance(model.init, list) else model.init
    try:
        return initial_parameters(init, n_features, n_targets, rng, dtype)
    except ValueError as exc:
        raise DataError(f"Invalid init: {exc}.") from None


def prepare(model: Any, gram: Gram, *, init_rng, dtype, partial: bool = False,
            warm_start=None, max_row_norm2: float | None = None,
            feature_names: list[str] | None = None) -> DescentSetup:
    """Standardization, start, step size, schedule and settings of a fit on ``gram``'s data."""
    d, k = gram.n_features, gram.n_targets
    shift, scale = _scaling(model, gram)
    train_gram = gram.rescaled(shift, scale) if model.standardize else gram
    W0, b0 = warm_start if warm_start is not None else initial_values(model, d, k, init_rng, dtype)
    if model.standardize:  # express the start on the standardized scale
        W0, b0 = W0 * scale[:, None], b0 + shift @ W0
    if not model.fit_intercept:  # no bias term: the start has none either
        b0 = np.zeros_like(b0)
    init = (np.asarray(W0, dtype), np.asarray(b0, dtype))
    curvature = batch_curvature(
        train_gram, fit_intercept=model.fit_intercept, loss=model.loss,
        batch_size=model.batch_size, max_row_norm2=max_row_norm2, alpha=model.alpha,
    )
    auto_lr = auto_learning_rate(
        train_gram, fit_intercept=model.fit_intercept, loss=model.loss,
        optimizer=model.optimizer, batch_size=model.batch_size, alpha=model.alpha,
        distance=_distance_to_optimum(model, train_gram, init), epochs=model.epochs,
        curvature=curvature,
    )
    lr = auto_lr if model.lr == "auto" else float(model.lr)
    minibatch = model.batch_size is not None and model.batch_size < gram.count
    average = model.average
    if average == "auto":  # a constant automatic step on mini-batches needs averaging to converge
        average = False
        if minibatch and model.lr == "auto" and not partial:
            # skip the transient from the start: average from the second epoch (or the second
            # half of a single epoch), as SGDRegressor(average=n) starts after n samples
            average = gram.count if model.epochs > 1 else max(1, gram.count // 2)
    tol = model.tol
    if model.early_stopping and tol is None:
        tol = EARLY_STOPPING_TOL
    config = DescentConfig(
        lr=lr, loss=model.loss, optimizer=model.optimizer,
        epochs=1 if partial else model.epochs, tol=tol, alpha=model.alpha,
        fit_intercept=model.fit_intercept, log_every=model.log_every,
        stable_lr=2.0 / curvature,  # plain gradient descent diverges above this step
        feature_names=feature_names, n_iter_no_change=model.n_iter_no_change,
        callback=_user_callback(model, shift, scale, k),
        lr_schedule="constant" if model.lr_schedule == "auto" else model.lr_schedule,
        average=average if average is True else (False if average is False else int(average)),
    )
    return DescentSetup(shift, scale, train_gram, init, lr, auto_lr, config)


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
    """Train ``model``'s settings (a LinearRegression) on in-memory ``(X, Y)`` with the NumPy
    engine (``backend="torch"`` fits are :func:`linearlab.descent.torch.fit.fit_descent`).

    ``warm_start`` continues from given parameters; ``partial`` runs a single epoch.
    """
    dtype = resolve_dtype(model.dtype)
    init_rng, batch_rng = random_streams(model.random_state)
    validation = None
    if model.early_stopping and not partial:
        X, Y, w, validation = hold_out(model, X, Y, w)
    gram = Gram.from_arrays(X, Y, w)
    shift, scale = _scaling(model, gram)
    Xt = ((X - shift) / scale).astype(dtype, copy=False) if model.standardize else X.astype(
        dtype, copy=False)
    row_norm2 = (_max_row_norm2(Xt, model.fit_intercept, model.batch_size)
                 if model.batch_size else None)
    setup = prepare(model, gram, init_rng=init_rng, dtype=dtype, partial=partial,
                    warm_start=warm_start, max_row_norm2=row_norm2, feature_names=feature_names)
    plan = BatchPlan(X.shape[0], model.batch_size, model.shuffle, batch_rng)
    Yt = Y.astype(dtype, copy=False)
    Wt = None if w is None else w.astype(dtype, copy=False)
    held_out = None if validation is None else _validation_loss(model, setup, *validation)
    result = train(Xt, Yt, Wt, setup.init, plan, setup.config,
                   engine=model.engine, validation=held_out)
    X64 = Xt.astype(np.float64, copy=False)

    def objective(W, b):  # the trained objective, on the training scale, on every row
        r = X64 @ W + b - Y
        value = get_loss(model.loss).value(r, w)
        return value + _penalty(model, setup, Y.shape[1], gram) * float((W * W).sum())

    rows = (X64, Y, w)
    return finish(model, setup, gram, result, objective, feature_names, rows=rows)


def finish(model: Any, setup: DescentSetup, gram: Gram, result: DescentResult,
           objective: Callable[[np.ndarray, np.ndarray], float] | None,
           feature_names: list[str] | None, rows=None) -> DescentFit:
    """Map ``result`` to the original scale and diagnose it against the exact optimum.

    ``objective(W, b)`` is the trained objective on the training scale; None computes it from
    the Gram statistics (a fit over a file, where the rows are gone). ``rows`` = (X on the
    training scale, Y, w) lets the exact solver refine the optimum on ill-conditioned data.
    """
    coef, intercept = _to_original(result.coef, result.intercept, setup)
    path = result.params_history
    if path is not None and model.standardize:
        path = path.astype(np.float64)
        path[:, :-1] /= setup.scale[None, :, None]
        path[:, -1] -= np.einsum("d,tdk->tk", setup.shift, path[:, :-1])
    if not get_loss(model.loss).quadratic:
        diagnosis, optimum = diagnose_plateau(result.history, result.stopped_by_tol), None
    else:
        k = gram.n_targets
        if objective is None:
            norm = 1.0 if model.loss == "sse" else 1.0 / (gram.weight_sum * k)
            factor = _penalty(model, setup, k, gram)

            def objective(W, b):
                rss = setup.train_gram.residual_sum_of_squares(W, b).sum()
                return norm * float(rss) + factor * float((W * W).sum())

        Xr, Yr, wr = rows if rows is not None else (None, None, None)
        best = exact.solve_auto(Xr, Yr, wr, alpha=model.alpha, gram=setup.train_gram,
                                fit_intercept=model.fit_intercept)
        W_star = best.coef
        b_star = best.intercept if model.fit_intercept else np.zeros(k)
        b_run = result.intercept if model.fit_intercept else np.zeros(k)
        final = objective(result.coef.astype(np.float64), b_run.astype(np.float64))
        optimal = objective(W_star, b_star)
        optimum = _to_original(W_star, b_star, setup)
        diagnosis = diagnose_quadratic(
            history=result.history, final_loss=final, optimal_loss=min(optimal, final),
            optimum=optimum, lr=setup.lr, epochs_run=result.n_iter,
            stopped_by_tol=result.stopped_by_tol, suggested_lr=setup.auto_lr,
            feature_names=feature_names, standardized=model.standardize,
            stochastic=model.batch_size is not None and model.batch_size < gram.count,
        )
    return DescentFit(
        coef=coef, intercept=intercept, gram=gram, learning_rate=setup.lr,
        history=result.history, params_history=path, n_iter=result.n_iter,
        diagnosis=diagnosis, optimum=optimum,
    )


# --------------------------------------------------------------------------- helpers
def _scaling(model, gram: Gram):
    """(shift, scale) of standardization, or the identity (0, 1)."""
    if model.standardize:
        return gram.feature_scaling(model.fit_intercept)
    return np.zeros(gram.n_features), np.ones(gram.n_features)


def _to_original(W, b, setup: DescentSetup):
    """Coefficients of (X - shift)/scale, mapped back to X."""
    W = np.asarray(W, dtype=np.float64) / setup.scale[:, None]
    return W, np.asarray(b, dtype=np.float64) - setup.shift @ W


def _penalty(model, setup: DescentSetup, k: int, gram: Gram) -> float:
    return penalty_factor(setup.config, k, gram.weight_sum)


def _user_callback(model, shift, scale, k: int):
    """The model's callback, shown parameters on the original scale shaped like coef_."""
    if model.callback is None:
        return None

    def call(state):
        W = np.asarray(state.coef, dtype=np.float64) / scale[:, None]
        b = np.asarray(state.intercept, dtype=np.float64) - shift @ W
        if not model.fit_intercept:
            b = np.zeros_like(b)
        coef, intercept = (W[:, 0], float(b[0])) if k == 1 else (W.T, b)
        return model.callback(replace(state, coef=coef, intercept=intercept))

    return call


def hold_out(model, X, Y, w):
    """Split off ``validation_fraction`` of the rows for early stopping (seeded).

    Parameters
    ----------
    model : LinearRegression
        Its ``validation_fraction`` and ``random_state`` choose the rows.
    X, Y : ndarray of shape (n_samples, n_features) and (n_samples, n_targets)
    w : ndarray of shape (n_samples,) or None

    Returns
    -------
    X, Y, w : the training rows
    validation : tuple (X, Y, w) of the held-out rows
    """
    n = X.shape[0]
    n_val = int(np.ceil(model.validation_fraction * n))
    if n_val < 1 or n - n_val < 2:
        raise DataError(
            f"early_stopping holds out validation_fraction={model.validation_fraction} of "
            f"{n} rows, which leaves {n - n_val} for training and {n_val} for validation; "
            "use more rows, another validation_fraction, or early_stopping=False."
        )
    seed = np.random.SeedSequence(_seed_of(model.random_state)).spawn(3)[2]
    order = np.random.default_rng(seed).permutation(n)
    val, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    wv = None if w is None else w[val]
    wt = None if w is None else w[train_rows]
    return X[train_rows], Y[train_rows], wt, (X[val], Y[val], wv)


def _seed_of(random_state):
    if isinstance(random_state, (int, np.integer)) or random_state is None:
        return random_state
    return int(np.random.default_rng(0).integers(2**31))  # generators: a fixed derived seed


def _validation_loss(model, setup: DescentSetup, Xv, Yv, wv):
    Xs = (Xv - setup.shift) / setup.scale if model.standardize else Xv
    loss_fn = get_loss(model.loss)

    def held_out(W, b):
        return loss_fn.value(Xs @ W + b - Yv, wv)

    return held_out


# Batches of at least this many rows estimate the steepest row from a sample of the rows: it
# moves their curvature estimate by (L_row - L)/B, so a slightly low maximum changes little.
SAMPLED_ROW_NORMS_BATCH = 256
ROW_NORM_SAMPLE = 65_536


def _max_row_norm2(X: np.ndarray, fit_intercept: bool, batch_size: int | None = None) -> float:
    """max‖[x, 1]‖² over the rows: the steepest curvature a single-row step can meet.

    Exact for small batches; from an evenly spaced sample of the rows for batches of
    :data:`SAMPLED_ROW_NORMS_BATCH` rows or more (one pass over a large X saved).
    """
    if batch_size and batch_size >= SAMPLED_ROW_NORMS_BATCH and len(X) > ROW_NORM_SAMPLE:
        X = X[:: len(X) // ROW_NORM_SAMPLE]
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
