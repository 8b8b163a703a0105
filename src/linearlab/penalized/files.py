"""The penalized estimators' parts of a model file (``linearlab.model/1``).

:mod:`linearlab.models.persist` writes and reads the common parts (coefficients, names, Gram
statistics, atomically); a penalized model adds ``"estimator"`` (its class), its own
``"params"`` and a ``"penalized"`` object with the fitted penalty (``alpha_``, ``l1_ratio_``,
``alphas_``, ``mse_path_``, ...). Loading checks every field and never executes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from linearlab.exact.gram import Gram
from linearlab.penalized.base import PenalizedState
from linearlab.penalized.cv import ElasticNetCV, LassoCV
from linearlab.penalized.document import STATE
from linearlab.penalized.estimators import ElasticNet, Lasso
from linearlab.penalized.ridge_cv import RidgeCV

ESTIMATORS = {cls.__name__: cls for cls in (Lasso, ElasticNet, LassoCV, ElasticNetCV, RidgeCV)}


def restore(doc: dict, coef: np.ndarray, intercept: np.ndarray, features: list[str],
            targets: list[str], fail: Callable[[str], Exception],
            read_statistics: Callable[[], tuple[Gram | None, bool, float]]):
    """Rebuild a fitted penalized estimator from a checked model document.

    ``fail(problem)`` makes the error raised for an invalid field; ``read_statistics()``
    checks and returns the file's training statistics (Gram, weighted, Σ log w), once the
    estimator's own fields are checked.
    """
    kind = doc.get("estimator")
    if kind not in ESTIMATORS:
        raise fail(f"unknown estimator {kind!r} (known: {', '.join(sorted(ESTIMATORS))})")
    cls = ESTIMATORS[kind]
    params = doc.get("params", {})
    if not isinstance(params, dict):
        raise fail("'params' must be an object")
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise fail(f"unknown parameter(s) {unknown} for {kind}")
    model = cls()
    try:
        model.set_params(**{k: (tuple(v) if k == "alphas" and isinstance(v, list) else v)
                            for k, v in params.items()})
        model._validate_params()
    except (ValueError, TypeError) as exc:
        raise fail(f"invalid parameters ({exc})") from None
    state = doc.get("penalized", {})
    if not isinstance(state, dict):
        raise fail("'penalized' must be an object")
    fitted = {}
    for name, value in state.items():
        if name not in STATE:
            raise fail(f"unknown fitted attribute {name!r} in 'penalized'")
        fitted[name] = _restore_value(name, value, fail)
    if "alpha_" not in state and kind.endswith("CV"):
        raise fail(f"a {kind} file needs the chosen 'alpha_' in 'penalized'")
    gram, weighted, log_weight_sum = read_statistics()
    design = _read_design(doc.get("design"), features, fail)
    single = coef.ndim == 1
    recorded = {name: doc.get(name) if isinstance(doc.get(name), dict) else None
                for name in ("metrics", "training")}  # what the command line recorded
    return model.set_fitted_state(PenalizedState(
        coef=coef, intercept=float(intercept) if single else intercept,
        feature_names=features if design is None else list(design.input_names),
        target_names=targets,  # with a design: the table's columns, named
        features_named=design is not None or doc.get("features_named", True) is not False,
        fitted=fitted, gram=gram, weighted=weighted, log_weight_sum=log_weight_sum,
        design=design, **recorded,
    ))


def _read_design(value: Any, features: list[str], fail: Callable[[str], Exception]):
    """The design (text columns' levels, a formula's spec), whose columns are the
    coefficients'."""
    if value is None:
        return None
    from linearlab.design.table import design_from_dict

    design = design_from_dict(value)
    if list(design.names) != list(features):
        raise fail("the design's columns differ from 'feature_names'")
    return design


def _restore_value(name: str, value: Any, fail: Callable[[str], Exception]) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise fail(f"'penalized.{name}' must be a number or a list of numbers")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(f"'penalized.{name}' must hold numbers (rows of equal length)") from None
    if not np.all(np.isfinite(arr)):
        raise fail(f"'penalized.{name}' holds a non-finite value")
    if name == "n_iter_":
        return int(arr) if arr.ndim == 0 else [int(v) for v in arr.ravel()]
    return float(arr) if arr.ndim == 0 else arr
