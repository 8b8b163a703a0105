"""The penalized estimators' table step: text columns, missing values and standardization.

The same step as :class:`~linearlab.LinearRegression` takes (:mod:`linearlab.design.table`):
rows with a missing value are an error or dropped (``missing``), text and ``category`` columns
become ``col[T.level]`` indicators (the first level the reference), and the design is kept as
``design_`` and applied again by ``predict``. With ``standardize=True`` the penalty acts on the
standardized coefficients (each column centred and divided by its standard deviation; without an
intercept, divided by its root mean square), and the coefficients are reported on the original
scale, as glmnet does: the same fit as scikit-learn's ``StandardScaler`` followed by the
estimator, with the coefficients divided back by the scales.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils._param_validation import StrOptions

from linearlab.data.missing import check_policy, expand_rows
from linearlab.data.validation import check_fit_magnitudes, check_sample_weight, check_X, check_y
from linearlab.design.table import may_hold_categories, prepare_fit, validate_predict_input
from linearlab.errors import DataError, ParameterError

#: The constructor parameters this step reads (scikit-learn constraints).
INPUT_CONSTRAINTS: dict = {"missing": [StrOptions({"error", "drop"})], "standardize": ["boolean"]}


def _is_sparse(X: Any) -> bool:
    return type(X).__module__.startswith("scipy.sparse")


def _formula(model):
    design = getattr(model, "design_", None)
    return design if getattr(design, "kind", None) == "formula" else None


def takes_table_step(model, X: Any, reset: bool, y: Any = None) -> bool:
    """Whether ``X`` needs the table step (else the plain numeric validation runs)."""
    if _is_sparse(X):
        if getattr(model, "standardize", False):
            raise ParameterError(
                f"{type(model).__name__}(standardize=True) would centre the columns of a sparse "
                "X, making it dense. Scale the columns yourself (e.g. scikit-learn's "
                "MaxAbsScaler), or pass a dense X."
            )
        return False
    return (getattr(model, "standardize", False) or getattr(model, "missing", "error") != "error"
            or (not reset and getattr(model, "design_", None) is not None)
            or (_formula(model) is not None and y is None)  # a formula reads y from X
            or may_hold_categories(X))


@dataclass
class TableStep:
    """What the table step learnt: the estimator keeps it (``design_``, ``n_dropped_``, and
    the scales until its coefficients are converted back)."""

    design: Any
    n_dropped: int
    n_inputs: int | None
    scaling: tuple[np.ndarray, np.ndarray] | None


def validate_table(model, X: Any, y: Any, sample_weight: Any, reset: bool):
    """``(X, y, w, step)``: float arrays after the missing-value policy, the design and, with
    ``standardize=True``, the scaling; ``reset`` (fit) learns the design and the scales, which
    ``step`` (:class:`TableStep`) hands back to the estimator."""
    from linearlab.data.features import check_feature_names, check_n_features

    name = type(model).__name__
    missing = check_policy(getattr(model, "missing", "error"))
    formula = _formula(model)
    design = getattr(model, "design_", None)
    if reset and (y is not None or formula is None):  # fit learns the design afresh
        design = None
    if y is None and formula is None:
        raise DataError(f"{name} requires y to be passed, but the target y is None.")
    prepared = prepare_fit(
        X, y, sample_weight, missing=missing, fit_intercept=model.fit_intercept,
        design=design, refit=reset,
        labels=None if reset else getattr(model, "feature_names_", None),
    )
    if getattr(prepared.design, "kind", None) != "formula":
        check_feature_names(model, X, reset=reset)
    Xa = check_X(prepared.X, dtype="float64")
    ya = check_y(prepared.y, Xa.shape[0], dtype="float64")
    if prepared.design is None:
        check_n_features(model, Xa, reset=reset)
    w = check_sample_weight(prepared.sample_weight, Xa.shape[0], Xa.dtype)
    labels = None if prepared.design is None else list(prepared.design.names)
    check_fit_magnitudes(Xa, ya, w, labels)
    scaling = _scaling(model, Xa, w, reset)
    if scaling is not None:
        Xa = (Xa - scaling[0]) / scaling[1]
    return Xa, ya, w, TableStep(prepared.design, prepared.n_dropped, prepared.n_inputs, scaling)


def _scaling(model, Xa: np.ndarray, w: np.ndarray | None, reset: bool):
    if not getattr(model, "standardize", False):
        return None
    name = type(model).__name__
    if not reset:
        raise ParameterError(
            f"{name}(standardize=True) scales the columns by the whole training table, which "
            "partial_fit never sees at once. Fit the whole table with fit(), or scale the "
            "columns yourself and use standardize=False."
        )
    if getattr(model, "solver", "cd") == "gd":
        raise ParameterError(
            f"{name}(standardize=True) is solved by coordinate descent; with solver='gd' the "
            "recorded parameter path would be on the standardized scale. Use solver='cd', or "
            "scale the columns yourself."
        )
    return column_scaling(Xa, w, model.fit_intercept)


def column_scaling(X: np.ndarray, w: np.ndarray | None, fit_intercept: bool):
    """``(shift, scale)``: weighted mean and standard deviation of each column (no shift and
    the root mean square without an intercept, as ``Gram.feature_scaling``); constant columns
    keep scale 1."""
    weights = None if w is None else np.asarray(w, dtype=np.float64)
    if fit_intercept:
        shift = np.average(X, axis=0, weights=weights)
        spread = np.sqrt(np.average((X - shift) ** 2, axis=0, weights=weights))
    else:
        shift = np.zeros(X.shape[1])
        spread = np.sqrt(np.average(X**2, axis=0, weights=weights))
    return shift, np.where(spread > 0, spread, 1.0)


def original_scale(scaling, coef: np.ndarray, intercept: np.ndarray, gram):
    """``(coef, intercept, gram)`` of a solve on columns standardized by ``scaling`` (shift,
    scale), on the original scale: coefficients (k, d), intercepts (k,) and the training
    statistics of X itself (for summary(), paths and files)."""
    shift, scale = scaling
    coef = np.asarray(coef, dtype=np.float64) / scale
    intercept = np.asarray(intercept, dtype=np.float64) - coef @ shift
    if gram is not None:
        gram = gram.rescaled(-shift / scale, 1.0 / scale)
    return coef, intercept, gram


def scaled_statistics(model, gram):
    """``(gram, scaling)``: ``gram`` standardized for a fit from statistics (``fit_gram``),
    with its scales; ``(gram, None)`` without ``standardize``."""
    if not getattr(model, "standardize", False):
        return gram, None
    scaling = gram.feature_scaling(model.fit_intercept)
    return gram.rescaled(*scaling), scaling


def scaled_folds(model, folds):
    """``(folds, scaling)``: every fold's statistics standardized by the scales of all the rows
    (the same as standardizing X before gathering them), for ``fit_folds``; ``(folds, None)``
    without ``standardize``."""
    from linearlab.penalized.folds import FoldStatistics

    if not getattr(model, "standardize", False):
        return folds, None
    scaling = folds.total.feature_scaling(model.fit_intercept)
    return FoldStatistics([g.rescaled(*scaling) for g in folds.train],
                          [g.rescaled(*scaling) for g in folds.test],
                          folds.total.rescaled(*scaling)), scaling


def scaled_blocks(blocks, scaling):
    """``(X, Y, w)`` blocks with X standardized by ``scaling`` (unchanged when None)."""
    if scaling is None:
        yield from blocks
        return
    shift, scale = scaling
    for X, Y, w in blocks:
        yield (X - shift) / scale, Y, w


def predict_table(model, X: Any) -> np.ndarray:
    """Predictions with the model's design applied; rows missing a feature get NaN when the
    model drops missing values (``missing="drop"``)."""
    Xa, keep = validate_predict_input(model, X)
    return expand_rows(Xa @ np.asarray(model.coef_).T + model.intercept_, keep)
