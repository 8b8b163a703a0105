"""Fit, predict and evaluate on data sources (files, datasets) whole or chunk by chunk.

Small tables are read whole and handed to :class:`LinearRegression` unchanged, so every solver
and option behaves exactly as in the Python API. Larger ones are *streamed*: memory stays bounded
by one block whatever the file size.

How a streamed fit works
------------------------
1. One pass over the file accumulates the :class:`~linearlab.exact.gram.Gram` statistics block by
   block (``Gram.update``: pairwise, exact merges).
2. For an exact solver the objective and its minimiser are functions of the Gram statistics
   alone. :func:`equivalent_design` builds a tiny weighted table (2·(d+k) rows) with *exactly*
   the same weighted means and centred cross-products, and ``LinearRegression.fit`` runs on it:
   the same solver code as on the full file, without another pass over it.
3. Gradient descent runs the one descent shell (:mod:`linearlab.descent.shell`) over the file's
   blocks (:class:`FileBlocks`, :mod:`linearlab.descent.blocks`): full-batch squared losses
   train on the equivalent design of the statistics; ``mae``/``huber`` full batches sum every
   block's gradient before one step per epoch; mini-batches are cut from the blocks (rows left
   over at the end of a block start the next block's first batch, so with ``shuffle=False`` the
   batches are an in-memory fit's); early stopping holds out the rows an in-memory fit would.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from linearlab import errors  # errors.ConvergenceWarning imports scikit-learn: on use
from linearlab.data.arrow_arrays import float64_array  # pa.array would import pandas
from linearlab.data.sources import (
    IN_MEMORY_BYTES,
    ChunkStream,
    Source,
    iter_record_batches,
    read_columns,
)
from linearlab.errors import ConditioningWarning
from linearlab.exact.gram import Gram, equivalent_design
from linearlab.models.linear import LinearModel
from linearlab.state.fitted import FittedState
from linearlab.stats.metrics import r2_scores

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
    r2 = r2_scores(sse, sst)
    out = {"rows": int(n), "r2": float(np.mean(r2)), "rmse": float(np.sqrt(sse.sum() / (n * k)))}
    out["mae"] = None if sae is None else float(sae.sum() / (n * k))
    return out


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R², RMSE and MAE of predictions ``pred`` for targets ``y``."""
    acc = MetricsAccumulator()
    acc.update(np.asarray(y, float), np.asarray(pred, float))
    return acc.result()


def gram_metrics(gram: Gram, state: FittedState) -> dict[str, float]:
    """R² and RMSE of a fitted state from the statistics alone (MAE needs the rows: None)."""
    rss = gram.residual_sum_of_squares(state.coef, state.intercept)
    return metrics_from_sums(gram.weight_sum, rss, np.diag(gram.syy).copy(), None)


# --------------------------------------------------------------------------- fitting
@dataclass
class FitOutcome:
    """A fitted model and what the command line reports about it."""

    model: LinearModel
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
    model: LinearModel, source: Source, features: list[str], targets: list[str], *,
    stream: bool = False, progress: Progress | None = None,
) -> FitOutcome:
    """Fit ``model`` on the ``features``/``targets`` columns of ``source`` (see module notes):
    the step of :func:`linearlab.pipeline.fit_source` (which callers use) for
    ``LinearRegression`` on numbers without missing values or weights."""
    d = len(features)
    columns = [*features, *targets]
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if not should_stream(source, len(columns), stream):
            table = read_columns(source, columns)
            X, Y = table[:, :d], table[:, d:]
            y = Y[:, 0] if len(targets) == 1 else Y
            model.fit(X, y, feature_names=features)  # names for messages (X is an array)
            metrics = regression_metrics(y, model.predict(X))
            streamed, rows = False, table.shape[0]
            state = model.fitted_state_
        else:
            gram = gram_pass(source, columns, d, progress)
            if _needs_rows(model):
                state = _train_over_file(model, source, columns, d, gram, progress)
            else:
                Xe, Ye, we = equivalent_design(gram)
                mark = len(seen)
                model.fit(Xe, Ye[:, 0] if len(targets) == 1 else Ye, sample_weight=we,
                          feature_names=features)
                # the real statistics (row count, no weights) for later summaries
                state = replace(model.fitted_state_, gram=gram, weighted=False,
                                log_weight_sum=0.0)
                if model.solver == "auto" and not model.alpha:
                    state = _measured_over_file(model, state, source, columns, gram, seen, mark)
            metrics = gram_metrics(gram, state)
            streamed, rows = True, gram.count
    model.set_fitted_state(replace(state, feature_names=list(features), features_named=True,
                                   target_names=list(targets), metrics=metrics))
    for w in seen:  # linearlab's own warnings are part of the report; others stay silent
        if issubclass(w.category, (errors.ConvergenceWarning, ConditioningWarning)):
            caught.append(str(w.message))
    return FitOutcome(model, features, targets, metrics, streamed, rows, caught)


def _measured_over_file(model: LinearModel, state: FittedState, source: Source,
                        columns: list[str], gram: Gram, seen: list, mark: int) -> FittedState:
    """``solver="auto"`` over a file read in chunks. The statistics' normal equations stand
    while their error estimate promises 12 digits (no pass over the file beyond the Gram's);
    otherwise residual passes over the file measure and correct them
    (:mod:`linearlab.exact.fastpath`), and ``solver_`` says so (``"normal, 1 refinement
    pass"``). The warnings of the equivalent table's fit (``seen[mark:]``) give way to the
    refined answer's."""
    from linearlab.exact.conditioning import conditioning_message
    from linearlab.exact.fastpath import TARGET, refine_from_blocks
    from linearlab.exact.solvers import raw_condition_number, solve_auto

    d, fit_intercept = gram.n_features, model.fit_intercept
    solution = solve_auto(None, None, fit_intercept=fit_intercept, gram=gram)
    refined = None
    if solution.rank == d and not solution.error_estimate <= TARGET:
        def blocks():
            return ((b[:, :d], b[:, d:], None) for b in ChunkStream(source, columns))

        refined = refine_from_blocks(gram, blocks, fit_intercept)
    if refined is None:  # the statistics' answer: no pass over the file was made
        if state.training.solver and state.training.solver.startswith("normal,"):
            state = replace(state, training=replace(state.training, solver="normal"))
            if state.solution is not None:
                state.solution.solver = "normal"
        return state
    seen[mark:] = [w for w in seen[mark:] if not issubclass(w.category, ConditioningWarning)]
    refined.raw_condition_number = raw_condition_number(gram, fit_intercept)
    message = conditioning_message(refined, d, 0.0, columns[:d])
    if message:
        warnings.warn(message, ConditioningWarning, stacklevel=3)
    training = replace(state.training, solver=refined.solver, rank=refined.rank,
                       condition_number=refined.condition_number)
    return replace(state, coef=refined.coef, intercept=refined.intercept, solution=refined,
                   training=training)


def _needs_rows(model: LinearModel) -> bool:
    """Whether a streamed fit of ``model`` runs the descent shell over the blocks (every
    gradient-descent fit: early stopping holds out rows of the file, not of a summary)."""
    return model.solver == "gd"


def gram_pass(source: Source, columns: list[str], d: int, progress: Progress | None) -> Gram:
    """One pass over ``source``: the Gram statistics of its first ``d`` columns (features)
    against the rest (targets), reported to ``progress`` as task "reading"."""
    report = None if progress is None else (lambda done, total: progress("reading", done, total))
    gram = Gram.empty(d, len(columns) - d)
    for block in ChunkStream(source, columns, progress=report):
        gram.update(block[:, :d], block[:, d:])
    return gram


class FileBlocks:
    """A file's chunk stream as the blocks of a gradient-descent fit (:mod:`linearlab.descent.
    blocks`): ``(first row, X, Y, None)`` per chunk, features first."""

    def __init__(self, source: Source, columns: list[str], d: int):
        self.source, self.columns, self.d = source, columns, d

    def blocks(self, rng=None):
        start = 0
        for block in ChunkStream(self.source, self.columns):
            yield start, block[:, : self.d], block[:, self.d :], None
            start += block.shape[0]


def _train_over_file(model, source, columns, d, gram: Gram, progress: Progress | None,
                     reader=None):
    """Gradient descent whose epochs read the file: the one descent shell over its blocks.

    ``reader`` gives the blocks instead of the file's float columns (:class:`FileBlocks`):
    :class:`~linearlab.pipeline.table_fit.DesignBlocks` for text columns, dropped rows,
    weights or a formula; ``columns[:d]`` name the features."""
    model._validate_params()
    from linearlab.descent.blocks import BlockData  # the engine, for gradient descent only
    from linearlab.descent.shell import run as run_descent
    from linearlab.descent.spec import DescentSpec

    spec = DescentSpec.of(model)
    if progress is not None:  # the command line's display replaces the driver's own
        user = spec.callback

        def report(state):
            progress("training", state.epoch + 1, model.epochs)
            return None if user is None else user(state)

        spec.callback, spec.progress = report, False
    reader = FileBlocks(source, columns, d) if reader is None else reader
    fit = run_descent(spec, BlockData(reader, gram), feature_names=columns[:d])
    if fit.diagnosis.message:
        warnings.warn(fit.diagnosis.message, errors.ConvergenceWarning, stacklevel=3)
    return FittedState(coef=fit.coef, intercept=fit.intercept, single_target=gram.n_targets == 1,
                       training=fit.record(), gram=fit.gram)


# --------------------------------------------------------------------------- predict / evaluate
def _predict_quietly(model: LinearModel, X: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # columns were matched by name already
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return model.predict(X)


def evaluate_source(
    model: LinearModel, source: Source, features: list[str], targets: list[str],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """R², RMSE and MAE of ``model`` on ``source`` in one streaming pass."""
    d = len(features)
    acc = MetricsAccumulator()
    report = None if progress is None else (lambda done, total: progress("reading", done, total))
    for block in ChunkStream(source, [*features, *targets], progress=report):
        acc.update(block[:, d:], _predict_quietly(model, block[:, :d]))
    return acc.result()


def predict_batches(model: LinearModel, source: Source, features: list[str],
                    prediction_names: list[str]):
    """Yield record batches: every input column, then the prediction column(s)."""
    import pyarrow as pa

    for batch, X in iter_record_batches(source, features):
        pred = _predict_quietly(model, X).reshape(X.shape[0], -1)
        arrays = list(batch.columns) + [float64_array(pred[:, j]) for j in range(pred.shape[1])]
        yield pa.RecordBatch.from_arrays(arrays, names=[*batch.schema.names, *prediction_names])
