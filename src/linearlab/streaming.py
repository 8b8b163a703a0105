"""Fit, predict and evaluate on data sources (files, datasets) whole or chunk by chunk.

Small tables are read whole and handed to :class:`LinearRegression` unchanged, so every solver
and option behaves exactly as in the Python API. Larger ones are *streamed*: memory stays bounded
by one block whatever the file size.

How a streamed fit works
------------------------
1. One pass over the file accumulates the :class:`~linearlab.gram.Gram` statistics block by
   block (``Gram.update``: pairwise, exact merges).
2. For a squared-error objective (every exact solver, and full-batch gradient descent with the
   ``mse``/``sse`` loss, any optimizer) the objective, its gradient and its minimiser are
   functions of the Gram statistics alone. :func:`equivalent_design` builds a tiny weighted
   table (2·(d+k) rows) with *exactly* the same weighted means and centred cross-products, and
   ``LinearRegression.fit`` runs on it: the same solver code, the same epochs, loss history,
   step-size choice, divergence checks and convergence diagnosis as on the full file, without
   another pass over it.
3. Mini-batch gradient descent, and the ``mae``/``huber`` losses, depend on individual rows, so
   they run their epochs over the chunk stream: each epoch re-reads the file, each block is cut
   into mini-batches (reshuffled within the block when ``shuffle``), and the optimizer state
   (momentum, Adam moments) carries across blocks. Batches never span two blocks, so with
   ``batch_size=None`` (or a batch larger than a block, ~1 MB of text) each block is one batch.
   The step size, standardization and the convergence check come from the Gram pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data.sources import IN_MEMORY_BYTES, ChunkStream, Source, iter_record_batches, read_columns
from .descent.batches import BatchPlan, random_streams
from .descent.common import DescentConfig, _check_divergence, _divergence
from .descent.diagnosis import diagnose_plateau, diagnose_quadratic
from .descent.fit import initial_values
from .descent.loop import forward_backward
from .descent.losses import get_loss
from .descent.optimizers import make_optimizer
from .descent.schedules import auto_learning_rate, batch_curvature
from .errors import ConditioningWarning, ConvergenceWarning
from .estimator import LinearRegression
from .gram import Gram

Progress = Callable[[str, int, int], None]  # (task, done, total)


# --------------------------------------------------------------------------- metrics
@dataclass
class MetricsAccumulator:
    """R², RMSE and MAE accumulated block by block (targets' variance by pairwise merges)."""

    n: int = 0
    sse: np.ndarray | float = 0.0
    sae: np.ndarray | float = 0.0
    mean: np.ndarray | float = 0.0
    m2: np.ndarray | float = 0.0

    def update(self, y: np.ndarray, pred: np.ndarray) -> None:
        Y = y.reshape(len(y), -1)
        r = Y - pred.reshape(Y.shape)
        nb = Y.shape[0]
        if nb == 0:
            return
        mean_b = Y.mean(axis=0)
        m2_b = ((Y - mean_b) ** 2).sum(axis=0)
        n = self.n + nb
        delta = mean_b - self.mean
        self.m2 = self.m2 + m2_b + delta**2 * (self.n * nb / n)
        self.mean = self.mean + delta * (nb / n)
        self.n = n
        self.sse = self.sse + (r * r).sum(axis=0)
        self.sae = self.sae + np.abs(r).sum(axis=0)

    def result(self) -> dict[str, float]:
        return metrics_from_sums(self.n, np.atleast_1d(self.sse), np.atleast_1d(self.m2),
                                 np.atleast_1d(self.sae))


def metrics_from_sums(n: float, sse: np.ndarray, sst: np.ndarray, sae: np.ndarray | None):
    """R² (averaged over targets, as scikit-learn), RMSE and MAE (over all values)."""
    k = len(sse)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0),
                      np.where(sse > 0, 0.0, 1.0))
    out = {"rows": int(n), "r2": float(np.mean(r2)), "rmse": float(np.sqrt(sse.sum() / (n * k)))}
    out["mae"] = None if sae is None else float(sae.sum() / (n * k))
    return out


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R², RMSE and MAE of predictions ``pred`` for targets ``y``."""
    acc = MetricsAccumulator()
    acc.update(np.asarray(y, float), np.asarray(pred, float))
    return acc.result()


def gram_metrics(gram: Gram, model: LinearRegression) -> dict[str, float]:
    """R² and RMSE of a fitted model from the statistics alone (MAE needs the rows: None)."""
    coef = np.asarray(model.coef_).reshape(gram.n_targets, -1).T
    intercept = np.atleast_1d(model.intercept_)
    rss = gram.residual_sum_of_squares(coef, intercept)
    return metrics_from_sums(gram.weight_sum, rss, np.diag(gram.syy).copy(), None)


# --------------------------------------------------------------------------- equivalent design
def equivalent_design(gram: Gram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A weighted table (X, Y, w) of 2·(d+k) rows with exactly the statistics of ``gram``.

    With M = [[Sxx, Sxy], [Syx, Syy]] = L Lᵀ (symmetric square root), the rows are the means
    plus ±√(m/n)·Lᵢ (m = d + k, n = Σw), each of weight n/(2m): their weighted mean is the mean
    and their weighted centred cross-product is M. Any squared-error objective, its gradient and
    minimiser are therefore the same as on the original rows.
    """
    d, k = gram.n_features, gram.n_targets
    m = d + k
    M = np.block([[gram.sxx, gram.sxy], [gram.sxy.T, gram.syy]])
    # Factor the correlation-scaled matrix so columns of very different scales keep their
    # relative precision (an unscaled eigh would lose digits of small-variance columns).
    spread = np.sqrt(np.diag(M))
    spread = np.where(spread > 0, spread, 1.0)
    C = M / np.outer(spread, spread)
    lam, V = np.linalg.eigh((C + C.T) / 2)
    L = (V * np.sqrt(np.clip(lam, 0.0, None))) * spread[:, None]
    n = gram.weight_sum
    Z = np.sqrt(m / n) * L.T  # row i = √(m/n)·Lᵢ
    rows = np.vstack([Z, -Z]) + np.concatenate([gram.mean_x, gram.mean_y])
    weights = np.full(2 * m, n / (2 * m))
    return rows[:, :d].copy(), rows[:, d:].copy(), weights


# --------------------------------------------------------------------------- fitting
@dataclass
class FitOutcome:
    """A fitted model and what the command line reports about it."""

    model: LinearRegression
    features: list[str]
    targets: list[str]
    metrics: dict[str, Any]
    streamed: bool
    rows: int
    warnings: list[str] = field(default_factory=list)


def should_stream(source: Source, n_columns: int, force: bool = False) -> bool:
    """Whether ``source`` is read chunk by chunk rather than whole."""
    return force or source.estimated_bytes(n_columns) > IN_MEMORY_BYTES


def fit_source(
    model: LinearRegression, source: Source, features: list[str], targets: list[str], *,
    stream: bool = False, progress: Progress | None = None,
) -> FitOutcome:
    """Fit ``model`` on the ``features``/``targets`` columns of ``source`` (see module notes)."""
    d = len(features)
    columns = [*features, *targets]
    model.feature_names_ = list(features)  # names for the fit's messages (X is an array)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if not should_stream(source, len(columns), stream):
            table = read_columns(source, columns)
            X, Y = table[:, :d], table[:, d:]
            y = Y[:, 0] if len(targets) == 1 else Y
            model.fit(X, y)
            metrics = regression_metrics(y, model.predict(X))
            streamed, rows = False, table.shape[0]
        else:
            gram = _gram_pass(source, columns, d, progress)
            if _needs_rows(model):
                _descend_stream(model, source, columns, d, gram, progress)
            else:
                Xe, Ye, we = equivalent_design(gram)
                model.fit(Xe, Ye[:, 0] if len(targets) == 1 else Ye, sample_weight=we)
                model._gram = gram  # the real statistics (row count) for later summaries
            metrics = gram_metrics(gram, model)
            streamed, rows = True, gram.count
    model.feature_names_in_ = np.asarray(features, dtype=object)
    model.target_names_ = list(targets)
    model.metrics_ = metrics
    for w in seen:  # linearlab's own warnings are part of the report; others stay silent
        if issubclass(w.category, (ConvergenceWarning, ConditioningWarning)):
            caught.append(str(w.message))
    return FitOutcome(model, features, targets, metrics, streamed, rows, caught)


def _needs_rows(model: LinearRegression) -> bool:
    return model.solver == "gd" and (
        model.batch_size is not None or not get_loss(model.loss).quadratic
    )


def _gram_pass(source: Source, columns: list[str], d: int, progress: Progress | None) -> Gram:
    report = None if progress is None else (lambda done, total: progress("reading", done, total))
    gram = Gram.empty(d, len(columns) - d)
    for block in ChunkStream(source, columns, progress=report):
        gram.update(block[:, :d], block[:, d:])
    return gram


def _descend_stream(model, source, columns, d, gram: Gram, progress: Progress | None) -> None:
    """Gradient descent whose epochs run over the chunk stream (mini-batches or non-MSE loss)."""
    model._validate_params()
    k = len(columns) - d
    loss_fn = get_loss(model.loss)
    init_rng, batch_rng = random_streams(model.random_state)
    W, b = initial_values(model, d, k, init_rng, np.float64)
    mean, scale = np.zeros(d), np.ones(d)
    if model.standardize:
        mean, scale = gram.feature_scaling(model.fit_intercept)
        W, b = W * scale[:, None], b + mean @ W
    if not model.fit_intercept:  # no bias term: the start has none either
        b = np.zeros_like(b)
    train_gram = gram.rescaled(mean, scale)
    curvature = batch_curvature(train_gram, fit_intercept=model.fit_intercept, loss=model.loss,
                                batch_size=model.batch_size, alpha=model.alpha)
    auto_lr = auto_learning_rate(train_gram, fit_intercept=model.fit_intercept, loss=model.loss,
                                 optimizer=model.optimizer, batch_size=model.batch_size,
                                 alpha=model.alpha, curvature=curvature)
    lr = auto_lr if model.lr == "auto" else float(model.lr)
    # the engine's divergence rule and message (the stability limit of plain steps is 2/L)
    config = DescentConfig(lr=lr, loss=model.loss, stable_lr=2.0 / curvature)
    params = [W, b] if model.fit_intercept else [W]
    optimizer = make_optimizer(model.optimizer, params, lr)
    n = gram.weight_sum
    penalty = model.alpha if model.loss == "sse" else model.alpha / (n * k)
    history: list[float] = []
    stopped = False
    for epoch in range(model.epochs):
        losses = []
        for block in ChunkStream(source, columns):
            X = (block[:, :d] - mean) / scale if model.standardize else block[:, :d]
            Y = block[:, d:]
            for rows in BatchPlan(X.shape[0], model.batch_size, model.shuffle, batch_rng).epoch():
                Xb, Yb = X[rows], Y[rows]
                share = Xb.shape[0] / n if model.loss == "sse" else 1.0
                loss, grads = forward_backward(
                    W, b, Xb, Yb, None, loss_fn, penalty * share, model.fit_intercept
                )
                if not np.isfinite(loss):
                    raise _divergence(epoch, loss, config)
                optimizer.step(grads)
                losses.append(loss)
        history.append(float(np.mean(losses)))
        _check_divergence(epoch, history[-1], history[0], config)
        if progress is not None:
            progress("training", epoch + 1, model.epochs)
        if model.tol is not None and epoch > 0 and history[-2] - history[-1] < model.tol:
            stopped = True
            break
    coef, intercept = W / scale[:, None], b - (mean / scale) @ W
    _store_descent(model, gram, coef, intercept, history, lr, auto_lr, stopped, columns[:d])


def _store_descent(model, gram, coef, intercept, history, lr, auto_lr, stopped, names) -> None:
    """Set the fitted attributes ``LinearRegression`` sets after gradient descent."""
    model._y_ndim = 1 if gram.n_targets == 1 else 2
    model._gram = gram
    model.n_features_in_ = gram.n_features
    model._set_coefficients(coef, intercept)
    model.solver_, model.learning_rate_ = "gd", lr
    model.history_, model.params_history_, model.n_iter_ = history, None, len(history)
    if get_loss(model.loss).quadratic:
        from .exact import solvers as exact

        optimum = exact.solve_auto(None, None, alpha=model.alpha,
                                   fit_intercept=model.fit_intercept, gram=gram)
        k = gram.n_targets
        norm = 1.0 if model.loss == "sse" else 1.0 / (gram.weight_sum * k)
        final = norm * float(gram.residual_sum_of_squares(coef, intercept).sum())
        best = norm * float(gram.residual_sum_of_squares(optimum.coef, optimum.intercept).sum())
        diagnosis = diagnose_quadratic(
            history=history, final_loss=final, optimal_loss=min(best, final),
            optimum=(optimum.coef, optimum.intercept), lr=lr, epochs_run=len(history),
            stopped_by_tol=stopped, suggested_lr=auto_lr, feature_names=names,
        )
    else:
        diagnosis = diagnose_plateau(history, stopped)
    model.converged_, model.diagnosis_ = diagnosis.converged, diagnosis.message
    if diagnosis.message:
        warnings.warn(diagnosis.message, ConvergenceWarning, stacklevel=3)


# --------------------------------------------------------------------------- predict / evaluate
def _predict_quietly(model: LinearRegression, X: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # columns were matched by name already
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return model.predict(X)


def evaluate_source(
    model: LinearRegression, source: Source, features: list[str], targets: list[str],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """R², RMSE and MAE of ``model`` on ``source`` in one streaming pass."""
    d = len(features)
    acc = MetricsAccumulator()
    report = None if progress is None else (lambda done, total: progress("reading", done, total))
    for block in ChunkStream(source, [*features, *targets], progress=report):
        acc.update(block[:, d:], _predict_quietly(model, block[:, :d]))
    return acc.result()


def predict_batches(model: LinearRegression, source: Source, features: list[str],
                    prediction_names: list[str]):
    """Yield record batches: every input column, then the prediction column(s)."""
    import pyarrow as pa

    for batch, X in iter_record_batches(source, features):
        pred = _predict_quietly(model, X).reshape(X.shape[0], -1)
        arrays = list(batch.columns) + [pa.array(pred[:, j]) for j in range(pred.shape[1])]
        yield pa.RecordBatch.from_arrays(arrays, names=[*batch.schema.names, *prediction_names])
