"""The one gradient-descent shell: a spec and a data interface in, a fit out.

Every gradient-descent fit — NumPy arrays, torch tensors on a device, a file read block by
block, Dask partitions — runs :func:`run`::

    seed → hold-out → Gram → scaling → row norm → setup → train → finish

The estimator hands over a :class:`~.spec.DescentSpec` (what to train: loss, optimizer, step,
schedule, epochs, batches, stopping — read from it once); the data hand over a
:class:`~.spec.DescentData` (how to reach the rows: their statistics, the batches, the steepest
row, the objective). Arrays (:class:`linearlab.descent.fit.ArrayData`), device tensors
(:mod:`linearlab.descent.torch.fit`) and blocks (:mod:`linearlab.descent.blocks`: a file's
chunks, Dask partitions) implement it.

Nothing is computed that the fit does not need. With ``lr`` given and no standardization (nor
early stopping) the Gram statistics are a :class:`~.spec.LazyGram`, computed when first read
(``summary()``, the diagnosis, a model file), and the steepest row and the stability limit only
if training diverges. The diagnosis and the exact optimum are computed when first read
(:attr:`~.spec.DescentFit.diagnosis`); the estimator reads them at the end of ``fit`` (to warn)
only when that costs no pass over the rows (:attr:`~.spec.DescentFit.ready`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from linearlab.descent.batches import random_streams
from linearlab.descent.config import DescentConfig, DescentResult, penalty_factor
from linearlab.descent.diagnosis import diagnose_plateau, diagnose_quadratic
from linearlab.descent.losses import get_loss
from linearlab.descent.schedules import auto_learning_rate, batch_curvature
from linearlab.descent.spec import (
    CHEAP_GRAM_WORK,
    EARLY_STOPPING_TOL,
    DescentData,
    DescentFit,
    DescentSetup,
    DescentSpec,
    LazyGram,
    initial_values,
    is_pending,
    statistics,
)
from linearlab.exact import solvers as exact
from linearlab.exact.gram import Gram

__all__ = ["finish", "prepare", "run", "scaling", "validation_loss"]

def run(spec: DescentSpec, data: DescentData, *, warm_start=None, partial: bool = False,
        feature_names: list[str] | None = None) -> DescentFit:
    """The one gradient-descent fit: ``spec`` trained on ``data`` (see the module notes).

    ``warm_start`` continues from given parameters (original scale); ``partial`` runs a single
    epoch and holds nothing out (``partial_fit``).
    """
    init_rng, batch_rng = random_streams(spec.random_state)
    held = data.hold_out(spec) if spec.early_stopping and not partial else None
    eager = spec.needs_statistics or held is not None or partial
    gram = data.gram(eager)
    shift, scale = scaling(spec, gram, data.n_features)
    if spec.standardize:
        data.standardize(shift, scale)
    row_norm2 = functools.cache(lambda: data.max_row_norm2(spec)) if spec.batch_size else None
    setup = prepare(spec, gram, data, init_rng=init_rng, partial=partial,
                    warm_start=warm_start, max_row_norm2=row_norm2,
                    feature_names=feature_names)
    validation = None if held is None else data.validation(spec, setup, held)
    result = data.train(spec, setup, batch_rng, validation)
    fit = finish(spec, setup, gram, result, data.objective(spec, setup), feature_names,
                 rows=data.exact_rows(spec), stochastic=_stochastic(spec, data.n_rows))
    if is_pending(gram) and data.n_rows * data.n_features**2 <= CHEAP_GRAM_WORK:
        statistics(gram)  # small: computed now, so fit can warn at once
    fit.ready = fit.ready or not is_pending(gram)
    return fit


def _stochastic(spec: DescentSpec, n_rows: int) -> bool:
    return spec.batch_size is not None and spec.batch_size < n_rows


def prepare(spec: DescentSpec, gram: Gram | LazyGram, data: DescentData, *, init_rng,
            partial: bool = False, warm_start=None,
            max_row_norm2: Callable[[], float] | None = None,
            feature_names: list[str] | None = None) -> DescentSetup:
    """Standardization, start, step size, schedule and settings of a fit on ``data``.

    ``gram`` is read only where needed (scaling, ``lr="auto"``); the stability limit that a
    divergence error suggests is computed only if training diverges when ``lr`` is given.
    """
    d, k, n, dtype = data.n_features, data.n_targets, data.n_rows, data.dtype
    shift, scale = scaling(spec, gram, d)
    train_gram = gram.rescaled(shift, scale) if spec.standardize else gram
    W0, b0 = warm_start if warm_start is not None else initial_values(spec, d, k, init_rng, dtype)
    if spec.standardize:  # express the start on the standardized scale
        W0, b0 = W0 * scale[:, None], b0 + shift @ W0
    if not spec.fit_intercept:  # no bias term: the start has none either
        b0 = np.zeros_like(b0)
    init = (np.asarray(W0, dtype), np.asarray(b0, dtype))

    @functools.cache
    def curvature() -> float:
        return batch_curvature(
            statistics(train_gram), fit_intercept=spec.fit_intercept, loss=spec.loss,
            batch_size=spec.batch_size, alpha=spec.alpha,
            max_row_norm2=None if max_row_norm2 is None else max_row_norm2(),
        )

    @functools.cache
    def auto_lr() -> float:
        return auto_learning_rate(
            statistics(train_gram), fit_intercept=spec.fit_intercept, loss=spec.loss,
            optimizer=spec.optimizer, batch_size=spec.batch_size, alpha=spec.alpha,
            distance=_distance_to_optimum(spec, train_gram, init), epochs=spec.epochs,
            curvature=curvature(),
        )

    automatic = spec.lr == "auto"
    lr = auto_lr() if automatic else float(spec.lr)
    minibatch = spec.batch_size is not None and spec.batch_size < n
    average = spec.average
    if average == "auto":  # a constant automatic step on mini-batches needs averaging to converge
        average = False
        if minibatch and automatic and not partial:
            # skip the transient from the start: average from the second epoch (or the second
            # half of a single epoch), as SGDRegressor(average=n) starts after n samples
            average = n if spec.epochs > 1 else max(1, n // 2)
    tol = spec.tol
    if spec.early_stopping and tol is None:
        tol = EARLY_STOPPING_TOL
    config = DescentConfig(
        lr=lr, loss=spec.loss, optimizer=spec.optimizer,
        epochs=1 if partial else spec.epochs, tol=tol, alpha=spec.alpha,
        fit_intercept=spec.fit_intercept, log_every=spec.log_every,
        # plain gradient descent diverges above this step (a divergence error suggests it)
        stable_lr=2.0 / curvature() if automatic else (lambda: 2.0 / curvature()),
        feature_names=feature_names, n_iter_no_change=spec.n_iter_no_change,
        callback=_user_callback(spec, shift, scale, k), progress=spec.progress,
        keep_on_interrupt=not partial,  # Ctrl-C keeps the finished epochs, then propagates
        lr_schedule="constant" if spec.lr_schedule == "auto" else spec.lr_schedule,
        average=average if average is True else (False if average is False else int(average)),
    )
    return DescentSetup(shift, scale, train_gram, init, lr, config, suggest_lr=auto_lr)


def finish(spec: DescentSpec, setup: DescentSetup, gram: Gram | LazyGram,
           result: DescentResult, objective: Callable[[np.ndarray, np.ndarray], float] | None,
           feature_names: list[str] | None, rows=None, stochastic: bool = False) -> DescentFit:
    """Map ``result`` to the original scale; its diagnosis against the exact optimum is
    computed when first read.

    ``objective(W, b)`` is the trained objective on the training scale; None computes it from
    the Gram statistics (a fit over a file, where the rows are gone). ``rows`` = (X on the
    training scale, Y, w), or a function giving them, lets the exact solver refine the optimum
    on ill-conditioned data.
    """
    coef, intercept = _to_original(result.coef, result.intercept, setup)
    path = result.params_history
    if path is not None and spec.standardize:
        path = path.astype(np.float64)
        path[:, :-1] /= setup.scale[None, :, None]
        path[:, -1] -= np.einsum("d,tdk->tk", setup.shift, path[:, :-1])
    quadratic = get_loss(spec.loss).quadratic
    k = result.coef.shape[1]

    def diagnose():
        if not quadratic:
            return diagnose_plateau(result.history, result.stopped_by_tol,
                                    epochs_run=result.n_iter,
                                    history_stride=result.history_stride), None
        train_gram = statistics(setup.train_gram)
        factor = penalty_factor(setup.config, k, train_gram.weight_sum)
        value = objective
        if value is None:
            norm = 1.0 if spec.loss == "sse" else 1.0 / (train_gram.weight_sum * k)

            def value(W, b):
                rss = train_gram.residual_sum_of_squares(W, b).sum()
                return norm * float(rss) + factor * float((W * W).sum())

        Xr, Yr, wr = (rows() if callable(rows) else rows) if rows is not None else (None,) * 3
        best = exact.solve_auto(Xr, Yr, wr, alpha=spec.alpha, gram=train_gram,
                                fit_intercept=spec.fit_intercept)
        W_star = best.coef
        b_star = best.intercept if spec.fit_intercept else np.zeros(k)
        b_run = result.intercept if spec.fit_intercept else np.zeros(k)
        final = value(result.coef.astype(np.float64), b_run.astype(np.float64))
        optimal = value(W_star, b_star)
        optimum = _to_original(W_star, b_star, setup)
        diagnosis = diagnose_quadratic(
            history=result.history, final_loss=final, optimal_loss=min(optimal, final),
            optimum=optimum, lr=setup.lr, epochs_run=result.n_iter,
            stopped_by_tol=result.stopped_by_tol, suggested_lr=setup.auto_lr,
            feature_names=feature_names, standardized=spec.standardize, stochastic=stochastic,
            history_stride=result.history_stride,
        )
        return diagnosis, optimum

    return DescentFit(
        coef=coef, intercept=intercept, gram=gram, learning_rate=setup.lr,
        history=result.history, params_history=path, n_iter=result.n_iter,
        diagnose=diagnose, ready=not quadratic or not is_pending(gram),
        stopped_by=result.stopped_by, history_stride=result.history_stride,
    )


def validation_loss(spec: DescentSpec, setup: DescentSetup, Xv, Yv, wv):
    """The loss on held-out host rows (original scale) as a function of (W, b)."""
    Xs = (Xv - setup.shift) / setup.scale if spec.standardize else Xv
    Yv = Yv.reshape(-1, 1) if Yv.ndim == 1 else Yv
    loss_fn = get_loss(spec.loss)

    def held_out(W, b):
        return loss_fn.value(Xs @ W + b - Yv, wv)

    return held_out


# --------------------------------------------------------------------------- helpers
def scaling(spec: DescentSpec, gram: Gram | LazyGram, n_features: int):
    """(shift, scale) of standardization, or the identity (0, 1) (``gram`` then unread)."""
    if spec.standardize:
        return gram.feature_scaling(spec.fit_intercept)
    return np.zeros(n_features), np.ones(n_features)


def _to_original(W, b, setup: DescentSetup):
    """Coefficients of (X - shift)/scale, mapped back to X."""
    W = np.asarray(W, dtype=np.float64) / setup.scale[:, None]
    return W, np.asarray(b, dtype=np.float64) - setup.shift @ W


def _user_callback(spec: DescentSpec, shift, scale, k: int):
    """The spec's callback, shown parameters on the original scale shaped like coef_."""
    if spec.callback is None:
        return None

    def call(state):
        W = np.asarray(state.coef, dtype=np.float64) / scale[:, None]
        b = np.asarray(state.intercept, dtype=np.float64) - shift @ W
        if not spec.fit_intercept:
            b = np.zeros_like(b)
        coef, intercept = (W[:, 0], float(b[0])) if k == 1 else (W.T, b)
        return spec.callback(replace(state, coef=coef, intercept=intercept))

    return call


def _distance_to_optimum(spec: DescentSpec, gram, init) -> float | None:
    """Largest |start - exact optimum| over the parameters (sizes Adam's automatic step)."""
    if spec.optimizer != "adam" or spec.lr != "auto":
        return None
    target = exact.solve_auto(
        None, None, alpha=spec.alpha, fit_intercept=spec.fit_intercept, gram=statistics(gram)
    )
    gap = np.abs(target.coef - init[0]).max()
    if spec.fit_intercept:
        gap = max(gap, np.abs(target.intercept - init[1]).max())
    return float(gap)
