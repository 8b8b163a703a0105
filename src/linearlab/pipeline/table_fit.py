"""Fits on a data source whose columns need the design step — text (categorical) columns,
``missing="drop"``, a weight column, a formula — read whole or streamed, with the same answer.

Numeric fits without missing values or weights go on to :func:`linearlab.pipeline.streaming.
fit_source` unchanged. Otherwise:

- **Read whole** (a small table): the blocks are joined after the missing-value policy into
  the table the estimator's ``fit`` takes (text as objects), so the fit is the in-memory one.
- **Streamed** (a large table, or ``stream=True``): one pass of
  :class:`~linearlab.design.growing.GrowingGram` (levels grow the statistics as they
  appear; a formula: :mod:`~linearlab.design.formula_blocks`), then the solve on those
  statistics as for numeric files — exact, ridge, ``Lasso``/``ElasticNet`` (``fit_gram``),
  ``RidgeCV`` leave-one-out (one more pass); gradient descent runs the one descent shell over
  :class:`DesignBlocks`, the blocks through the finished design. Memory stays bounded by one
  block (plus a column per level).

The design (levels, reference level, names) equals the in-memory fit's, so coefficients agree
with ``fit`` on the DataFrame to rounding.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from linearlab import errors  # errors.ConvergenceWarning imports scikit-learn: on use
from linearlab.data.reading import missing_value_error, table_batches
from linearlab.data.sources import Source
from linearlab.design.formula_blocks import (
    block_levels,
    block_rows,
    fit_formula,
    formula_variables,
    merge_levels,
)
from linearlab.design.growing import GrowingGram, TableSpec, arrow_block
from linearlab.errors import (
    ConditioningWarning,
    DataError,
    DataFileError,
    GridEdgeWarning,
)
from linearlab.exact.gram import Gram, equivalent_design
from linearlab.models.linear import LinearModel
from linearlab.pipeline import streaming
from linearlab.state.fitted import log_weight_sum


def needs_design(source: Source, features: list[str], missing: str = "error",
                 weight: str | None = None) -> bool:
    """Whether a fit on these columns takes the design step (text columns, dropped rows,
    weights) rather than the plain float path."""
    return missing == "drop" or weight is not None or any(
        c not in source.numeric for c in features)


def table_spec(model, source: Source, features: list[str], targets: list[str],
               weight: str | None = None) -> TableSpec:
    """The :class:`TableSpec` of a fit of ``model`` on ``source``'s columns."""
    text = [c for c in features if c not in source.numeric]
    for name in [*targets, *([weight] if weight else [])]:
        if name not in source.numeric:
            raise DataFileError(
                f"Column {name!r} of {source.name!r} must be numeric to be a target or a weight, "
                "but it holds text. Choose a numeric column.", path=source.path, column=name)
    return TableSpec(features, targets, text, weight, getattr(model, "missing", "error"),
                     model.fit_intercept)


def source_blocks(source: Source, spec: TableSpec, block_bytes: int | None = None):
    """``(raw block, rows before it)`` for every block of ``source`` (see :mod:`.growing`)."""
    numbers = [*spec.numeric, *spec.targets] + ([spec.weight] if spec.weight else [])
    for batch, rows in table_batches(source, numbers, spec.text, block_bytes):
        yield arrow_block(batch, spec), rows


def growing_pass(source: Source, spec: TableSpec) -> GrowingGram:
    """One pass over ``source``: the statistics, levels and dropped rows of the fit."""
    growing = GrowingGram(spec)
    for block, before in source_blocks(source, spec):
        growing.absorb(block, lambda column, row, b=before: missing_value_error(
            source, column, b + row))
    return growing


class DesignBlocks:
    """A source's blocks through a finished design: ``(first row, X, Y, w)`` per block, rows
    counted after the missing-value policy (a block reader for gradient descent)."""

    def __init__(self, rows: Callable[[], Iterator[tuple]], weighted: bool):
        self.rows, self.weighted = rows, weighted

    def blocks(self, rng=None):
        """Every block once, in file order."""
        start = 0
        for X, Y, w in self.rows():
            yield start, X, Y, w
            start += X.shape[0]


def text_rows(source: Source, growing: GrowingGram, keys: list):
    """The rows function of :class:`DesignBlocks` for text columns (a finished growing pass)."""
    columns = [growing.index[k] for k in keys]

    def rows():
        for block, _ in source_blocks(source, growing.spec):
            X, Y, w = growing.encode(block, growing.complete(block))
            yield X[:, columns], Y, w

    return rows


def _whole(model, source: Source, spec: TableSpec, progress=None):
    """Read every block (missing rows dropped or reported), fit in memory: (state, metrics)."""
    names = [*spec.features, *spec.targets] + ([spec.weight] if spec.weight else [])
    columns: dict[str, list] = {name: [] for name in names}
    dropped = 0
    policy = GrowingGram(spec)  # its missing-value policy only
    for block, before in source_blocks(source, spec):
        keep = policy.complete(block, lambda column, row, b=before: missing_value_error(
            source, column, b + row))
        if keep is not None:
            dropped += int((~keep).sum())
        for name in names:
            values = block[name]
            if isinstance(values, tuple):  # text: the values themselves, as objects
                codes, levels = values
                values = np.array([*levels, None], dtype=object)[codes]
            columns[name].append(values if keep is None else values[keep])
    joined = {name: np.concatenate(parts) for name, parts in columns.items()}
    if spec.text:
        X = np.empty((len(joined[spec.targets[0]]), len(spec.features)), dtype=object)
        for j, name in enumerate(spec.features):
            X[:, j] = joined[name]
    else:
        X = np.column_stack([joined[name] for name in spec.features])
    Y = np.column_stack([joined[name] for name in spec.targets])
    w = joined[spec.weight] if spec.weight else None
    y = Y[:, 0] if Y.shape[1] == 1 else Y
    if isinstance(model, LinearModel):
        model.fit(X, y, sample_weight=w, feature_names=spec.features)
    else:  # the penalized estimators take the names from a frame, as from a user's
        import pandas as pd

        model.fit(pd.DataFrame({name: joined[name] for name in spec.features}), y,
                  sample_weight=w)
    metrics = streaming.regression_metrics(y, model.predict(X))
    return replace(fitted_state(model), n_dropped=dropped), metrics, X.shape[0]


def _streamed(model, source: Source, spec: TableSpec, progress):
    growing = growing_pass(source, spec)
    design, gram = growing.finish()
    reader = DesignBlocks(text_rows(source, growing, growing.design_keys(design)),
                          spec.weight is not None)
    names = list(design.names) if design is not None else list(spec.features)
    state = _solve(model, gram, design, reader, names, spec.targets, progress, source)
    state = replace(state, weighted=spec.weight is not None, log_weight_sum=growing.log_w,
                    n_dropped=growing.n_dropped)
    return state, _gram_metrics(gram, model), gram.count


def fitted_state(model):
    """What a fit recorded: ``LinearRegression``'s :class:`~linearlab.state.fitted.FittedState`
    or a penalized model's ``fitted_state()``; both take the names, metrics and design that
    :func:`fit_source` adds through ``set_fitted_state``."""
    state = getattr(model, "fitted_state", None)
    return state() if callable(state) else model.fitted_state_


def _gram_metrics(gram: Gram, model) -> dict:
    """R² and RMSE of the fitted ``model`` from the statistics alone (MAE needs the rows)."""
    k = gram.n_targets
    coef = np.asarray(model.coef_, dtype=float).reshape(k, -1).T
    rss = gram.residual_sum_of_squares(coef, np.atleast_1d(model.intercept_))
    return streaming.metrics_from_sums(gram.weight_sum, rss, np.diag(gram.syy).copy(), None)


def _solve(model, gram: Gram, design, reader: DesignBlocks, names: list[str],
           targets: list[str], progress, source: Source | None = None):
    """The fitted state from the statistics (exact, full-batch) or the blocks (descent)."""
    if not isinstance(model, LinearModel):
        from linearlab.penalized.blocks import solve_penalized  # scikit-learn: penalized only

        solve_penalized(model, gram, reader, repr(source.name))
        return replace(fitted_state(model), gram=gram, design=design)
    if streaming._needs_rows(model):
        state = streaming._train_over_file(model, None, [*names, *targets], len(names), gram,
                                           progress, reader=reader)
    else:
        Xe, Ye, we = equivalent_design(gram)
        model.fit(Xe, Ye[:, 0] if len(targets) == 1 else Ye, sample_weight=we)
        state = model.fitted_state_
    state = replace(state, gram=gram, design=design)
    model.set_fitted_state(state)  # the coefficients the metrics read
    return state


def source_frames(source: Source, columns: list[str], block_bytes: int | None = None):
    """``(pandas block, rows before it)`` of every column named (numbers as floats with NaN
    for missing cells, text as text with None)."""
    numeric = [c for c in columns if c in source.numeric]
    text = [c for c in columns if c not in source.numeric]
    for batch, rows in table_batches(source, numeric, text, block_bytes):
        yield batch.to_pandas(), rows


def _fit_formula(model, source: Source, formula: str, context, weight, stream, progress):
    """``(model, state, metrics, streamed, rows)`` of a formula fit on ``source`` (any
    estimator with ``from_formula``)."""
    import pandas as pd

    from linearlab.design.formula import FormulaDesign

    columns = list(source.columns)
    streamed = streaming.should_stream(source, len(columns), stream)
    params = model.get_params()
    params.pop("fit_intercept", None)
    if not streamed:
        frame = pd.concat([f for f, _ in source_frames(source, columns)], ignore_index=True)
        model = type(model).from_formula(formula, frame, **params)
        if weight is not None:
            model.fit(frame, sample_weight=frame[weight].to_numpy())
        X, Y, _ = model.design_.apply(frame, model.missing, response=True)
        pred = X @ np.asarray(model.coef_).reshape(Y.shape[1], -1).T + model.intercept_
        metrics = streaming.regression_metrics(Y, pred)
        return model, fitted_state(model), metrics, False, X.shape[0]
    design = FormulaDesign(formula, context)
    text = [c for c in columns if c not in source.numeric]
    variables = formula_variables(design, columns)
    rows, found = merge_levels([block_levels(f, variables, text)
                                for f, _ in source_frames(source, columns)])
    fit_formula(design, columns, text, found)
    model = type(model)(fit_intercept=design.has_intercept, **params)

    def rows_of_blocks():
        for frame, before in source_frames(source, columns):
            w = None if weight is None else frame[weight].to_numpy()
            try:
                yield block_rows(frame, design, model.missing, w)
            except DataError as exc:
                raise DataFileError(f"In {source.name!r}, in the block of data rows from "
                                    f"{before}: {exc}", path=source.path) from None

    gram = Gram.empty(len(design.names), len(design.target_names))
    log_w = 0.0
    for X, Y, w in rows_of_blocks():
        gram.update(X, Y, w)
        log_w += log_weight_sum(w)
    reader = DesignBlocks(rows_of_blocks, weight is not None)
    state = _solve(model, gram, design, reader, list(design.names), list(design.target_names),
                   progress, source)
    state = replace(state, weighted=weight is not None, log_weight_sum=log_w,
                    n_dropped=rows - gram.count)
    return model, state, _gram_metrics(gram, model), True, gram.count


def fit_source(model, source: Source, features: list[str] | None = None,
               targets: list[str] | None = None, *, weight: str | None = None,
               formula: str | None = None, context: dict | None = None,
               stream: bool = False, progress: streaming.Progress | None = None,
               ) -> streaming.FitOutcome:
    """Fit ``model`` on columns of ``source``, text columns encoded and ``model.missing``
    followed, whole or streamed (see the module notes): the step of
    :func:`linearlab.pipeline.fit_source` (which callers use) for a formula, text columns,
    ``missing="drop"`` or weights, whatever the estimator.

    A ``weight`` column weights the rows; a ``formula`` (``LinearRegression`` only) names the
    target and the features itself (``context``: names its terms may use)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if formula is not None:
            model, state, metrics, streamed, rows = _fit_formula(
                model, source, formula, context, weight, stream, progress)
            features, targets = list(state.design.input_names), list(state.design.target_names)
        elif not needs_design(source, features, getattr(model, "missing", "error"), weight):
            return streaming.fit_source(model, source, features, targets, stream=stream,
                                        progress=progress)
        else:
            spec = table_spec(model, source, features, targets, weight)
            columns = [*features, *targets] + ([weight] if weight else [])
            streamed = streaming.should_stream(source, len(columns), stream)
            state, metrics, rows = (_streamed if streamed else _whole)(model, source, spec,
                                                                       progress)
    model.set_fitted_state(replace(state, feature_names=list(features), features_named=True,
                                   target_names=list(targets), metrics=metrics))
    caught = [str(w.message) for w in seen
              if issubclass(w.category, (errors.ConvergenceWarning, ConditioningWarning,
                                         GridEdgeWarning))]
    names = list(state.design.names) if state.design is not None else list(features)
    return streaming.FitOutcome(model, names, list(targets), metrics, streamed, rows, caught)
