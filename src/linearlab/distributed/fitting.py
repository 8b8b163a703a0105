"""``LinearRegression`` on Dask collections: fit, partial_fit, predict and score.

The estimator hands Dask inputs here (its ``fit`` / ``partial_fit`` / ``predict`` / ``score``
check :func:`linearlab.data.lazy.is_dask` first); these functions compute on the cluster and
give the estimator its fitted state through its one public path,
:meth:`~linearlab.LinearRegression.set_fitted_state`.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import replace

import numpy as np

from linearlab.data.features import check_feature_names
from linearlab.data.lazy import map_rows, n_columns
from linearlab.data.validation import check_X
from linearlab.distributed.blocks import partitions, validated
from linearlab.distributed.reduce import compute, merge_stats, stats_graph, tree_reduce
from linearlab.distributed.solve import solve
from linearlab.errors import ConditioningWarning, DataError, ParameterError
from linearlab.exact.conditioning import conditioning_message
from linearlab.exact.gram import Gram
from linearlab.exact.solvers import solve_auto
from linearlab.state.fitted import FittedState, TrainingRecord
from linearlab.stats.metrics import r2_scores


def _column_stub(X):
    """An empty pandas frame with a Dask DataFrame's columns, for scikit-learn's feature-name
    checks (which do not recognise Dask); other inputs as they are."""
    if hasattr(X, "map_partitions") and X.ndim == 2:
        import pandas as pd

        return pd.DataFrame(columns=X.columns)
    return X


def _exact_record(solution) -> TrainingRecord:
    return TrainingRecord(
        solver=solution.solver, n_iter=1, converged=True, rank=solution.rank,
        condition_number=solution.condition_number, singular_values=solution.singular_values,
        aliased=solution.aliased,
    )


def _check_options(estimator) -> None:
    if estimator.solver == "gd" and estimator.backend == "torch":
        raise ParameterError(
            "backend='torch' does not train on Dask collections; use backend='numpy' (the "
            "gradient is computed per partition on the cluster)."
        )


def fit(estimator, X, y, sample_weight=None):
    """Fit ``estimator`` on Dask collections; returns the estimator.

    Text and category columns, ``missing="drop"`` and formulas go through the design step
    (:mod:`linearlab.distributed.design`) first."""
    from linearlab.distributed.design import designed, needs_design

    estimator._validate_params()
    _check_options(estimator)
    plan = None
    if needs_design(estimator, X, y):
        plan = designed(estimator, X, y, sample_weight)
        if plan.design is None or plan.design.kind != "formula":
            check_feature_names(estimator, _column_stub(X), reset=True)
        parts, stats = plan.parts, plan.stats
    else:
        if y is None:
            raise DataError(
                f"{type(estimator).__name__} requires y to be passed, but y is None.")
        check_feature_names(estimator, _column_stub(X), reset=True)
        parts, stats = partitions(X, y, sample_weight), None
    if estimator.solver == "gd":
        from linearlab.distributed.descent import (
            fit_descent,  # the descent driver is heavier: import on use
        )

        return _with_design(fit_descent(estimator, parts, sample_weight is not None), plan)
    gram, log_w, solution = solve(
        parts, estimator.solver, alpha=estimator.alpha, fit_intercept=estimator.fit_intercept,
        stats=stats,
    )
    message = conditioning_message(
        solution, parts.n_features, estimator.alpha, parts.feature_names
    )
    if message:
        warnings.warn(message, ConditioningWarning, stacklevel=3)
    return _with_design(estimator.set_fitted_state(FittedState(
        coef=solution.coef, intercept=solution.intercept, single_target=parts.y_ndim == 1,
        training=_exact_record(solution), gram=gram, solution=solution,
        weighted=sample_weight is not None, log_weight_sum=log_w,
        feature_names=parts.feature_names, features_named=parts.feature_names is not None,
        target_names=parts.target_names,
    )), plan)


def _with_design(estimator, plan):
    """The fitted state with the design, the rows dropped and the table's column names."""
    if plan is None:
        return estimator
    state = estimator.fitted_state_
    dropped = plan.n_dropped if plan.n_dropped is not None else plan.rows - state.gram.count
    return estimator.set_fitted_state(replace(
        state, design=plan.design, n_dropped=dropped, feature_names=plan.input_names,
        features_named=plan.input_names is not None))


def _compute_with_futures(graph):
    """Compute ``graph`` as a future on the active distributed client (else locally)."""
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return compute(graph)
    return client.compute(graph).result()


def partial_fit(estimator, X, y, sample_weight=None):
    """Merge the statistics of one more Dask collection into the model and re-solve.

    The new statistics are computed on the cluster as a future; the merge with the statistics
    seen so far is Chan's exact update, so fitting in pieces equals one ``fit``.
    """
    from linearlab.distributed.design import needs_design

    previous = getattr(estimator, "fitted_state_", None)
    if previous is None:
        estimator._validate_params()
    _check_options(estimator)
    if needs_design(estimator, X, y) or getattr(estimator, "design_", None) is not None:
        raise ParameterError(
            "partial_fit on Dask collections takes numeric columns without missing values; "
            "with text columns, missing='drop' or a formula, call fit on the whole "
            "collection (it merges the partitions' statistics in one pass)."
        )
    if estimator.solver == "gd":
        raise ParameterError(
            "partial_fit with solver='gd' on Dask collections is not supported: use fit "
            "(mini-batches are the partitions) or an exact solver, whose partial_fit merges "
            "the statistics exactly."
        )
    check_feature_names(estimator, _column_stub(X), reset=previous is None)
    parts = partitions(X, y, sample_weight)
    if previous is not None:
        _check_same_shape(previous, parts)
    gram, log_w = _compute_with_futures(stats_graph(parts))
    if previous is not None and previous.gram is not None:
        gram, log_w = merge_stats([(previous.gram, previous.log_weight_sum), (gram, log_w)])
    solution = solve_auto(
        None, None, alpha=estimator.alpha, fit_intercept=estimator.fit_intercept, gram=gram
    )
    record = _exact_record(solution)
    record.singular_values = record.aliased = None
    first = previous is None
    return estimator.set_fitted_state(FittedState(
        coef=solution.coef, intercept=solution.intercept,
        single_target=parts.y_ndim == 1 if first else previous.single_target,
        training=record, gram=gram, solution=solution,
        weighted=sample_weight is not None or (not first and previous.weighted),
        log_weight_sum=log_w,
        feature_names=parts.feature_names if first else previous.feature_names,
        features_named=parts.feature_names is not None if first else previous.features_named,
        target_names=parts.target_names if first else previous.target_names,
    ))


def _check_same_shape(previous: FittedState, parts) -> None:
    if parts.n_features != previous.n_features:
        raise DataError(
            f"X has {parts.n_features} features, but the model was fitted with "
            f"{previous.n_features}; pass the same columns in the same order."
        )


# --------------------------------------------------------------------------- prediction
def _check_columns(estimator, X) -> None:
    estimator._check_fitted()
    if getattr(estimator, "design_", None) is not None:
        return  # the design checks the columns of every partition
    check_feature_names(estimator, _column_stub(X), reset=False)
    if n_columns(X) != estimator.n_features_in_:
        raise DataError(
            f"X has {n_columns(X)} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )


def _linear_map(coef: np.ndarray, intercept: np.ndarray, single: bool):
    def predict_block(block):
        values = check_X(block, dtype="float64", allow_empty=True) @ coef + intercept
        return values[:, 0] if single else values

    return predict_block


def _design_map(coef: np.ndarray, intercept: np.ndarray, single: bool, design, missing: str):
    """Predictions of a partition through the design; rows missing a value get NaN when
    ``missing="drop"`` (as in memory)."""
    from linearlab.data.missing import expand_rows
    from linearlab.design.table import prepare_predict

    def predict_block(block):
        X, keep = prepare_predict(block, design, "keep" if missing == "drop" else "error")
        values = expand_rows(check_X(X, dtype="float64", allow_empty=True) @ coef + intercept,
                             keep)
        return values[:, 0] if single else values

    return predict_block


def predict(estimator, X):
    """Lazy predictions: a Dask array for a Dask array; a Series (one target) or DataFrame
    (columns named after the targets) with ``X``'s index and divisions for a DataFrame."""
    _check_columns(estimator, X)
    state = estimator.fitted_state_
    intercept = state.intercept if estimator.fit_intercept else np.zeros_like(state.intercept)
    if state.design is not None:
        from linearlab.design.formula_blocks import portable

        design = portable(state.design) if state.design.kind == "formula" else state.design
        fn = _design_map(state.coef, intercept, state.single_target, design,
                         getattr(estimator, "missing", "error"))
        return map_rows(X, fn, state.target_names, state.single_target)
    fn = _linear_map(state.coef, intercept, state.single_target)
    return map_rows(X, fn, state.target_names, state.single_target)


def _r2_leaf(xb, yb, wb, index, coef, intercept) -> Gram:
    """Chan statistics of (r, y) for one partition, r = y − ŷ: R² = 1 − Σw r² / Σw (y − ȳ)²."""
    X, Y, w = validated(xb, yb, wb, index)
    return Gram.from_arrays(Y - (X @ coef + intercept), Y, w)


def _merge_grams(grams: list[Gram]) -> Gram:
    return functools.reduce(Gram.merge, grams)


def _r2_value(gram) -> np.float64:
    ssr = np.diag(gram.sxx) + gram.weight_sum * gram.mean_x**2
    return np.float64(np.mean(r2_scores(ssr, np.diag(gram.syy))))


def score(estimator, X, y, sample_weight=None):
    """R² (scikit-learn's, averaged over targets) as a lazy 0-d Dask array.

    ``float(model.score(X, y))`` computes it: one pass over the partitions, the residual and
    target statistics merged exactly (no cancellation in Σ(y − ȳ)²).
    """
    import dask.array as da
    from dask import delayed

    _check_columns(estimator, X)
    state = estimator.fitted_state_
    intercept = state.intercept if estimator.fit_intercept else np.zeros_like(state.intercept)
    if state.design is not None:  # the design applied where the partitions live
        from linearlab.distributed.design import applied

        parts = applied(estimator, X, y, sample_weight)
    else:
        parts = partitions(X, y, sample_weight)
    leaves = [
        delayed(_r2_leaf, name="linearlab-r2")(xb, yb, wb, i, state.coef, intercept)
        for i, xb, yb, wb in parts.blocks()
    ]
    value = delayed(_r2_value)(tree_reduce(leaves, _merge_grams))
    return da.from_delayed(value, shape=(), dtype=np.float64)


__all__ = ["fit", "partial_fit", "predict", "score"]
