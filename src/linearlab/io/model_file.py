"""Writing model files (``"format": "linearlab.model/1"``): the document and the atomic write.

This half of the model-file format reads a fitted estimator (its parameters and
``fitted_state_``) and never builds one, so the estimators can save themselves without an
import circle; :mod:`linearlab.models.persist` reads files back into estimators.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from typing import Any

import numpy as np

from linearlab.descent.history import stride_of
from linearlab.io import outputs

FORMAT = "linearlab.model/1"
__all__ = ["FORMAT", "MAX_STORED_NUMBERS", "model_to_dict", "read_history_stride", "save"]


# --------------------------------------------------------------------------- saving
def _finite_or_none(values) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, float).ravel()]


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    return value


def model_to_dict(
    model, *, metrics: dict | None = None, training: dict | None = None
) -> dict[str, Any]:
    """The JSON-ready description of a fitted model (see the module notes)."""
    model._check_fitted()
    coef = np.asarray(model.coef_, dtype=np.float64)
    n_targets = 1 if coef.ndim == 1 else coef.shape[0]
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_names_", None)
    design = getattr(model, "design_", None)
    if design is not None:  # the coefficients' names; the table's columns are in "design"
        names = design.names
    features = ([str(n) for n in names] if names is not None
                else [f"x{j}" for j in range(model.n_features_in_)])
    targets = getattr(model, "target_names_", None) or (
        ["y"] if n_targets == 1 else [f"y{j}" for j in range(n_targets)]
    )
    params = {k: _json_value(v) for k, v in model.get_params().items()}
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None  # a RandomState object cannot be stored
    params["callback"] = None  # a function is never stored
    if not isinstance(params.get("init"), str):
        params["init"] = "zeros"  # explicit starting values are not part of the model
    document = {
        "format": FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "feature_names": features,
        # false when the model was fitted on unnamed columns (arrays): names above are x0, x1...
        "features_named": names is not None,
        "target_names": list(targets),
        "coef": coef.tolist(),
        "intercept": _json_value(np.asarray(model.intercept_, dtype=np.float64)),
        "params": params,
        "fit": {
            "solver": getattr(model, "solver_", None),
            "n_iter": int(np.max(getattr(model, "n_iter_", 1))),  # a list for multi-output
            "converged": bool(getattr(model, "converged_", True)),
            "diagnosis": getattr(model, "diagnosis_", None),
            "learning_rate": getattr(model, "learning_rate_", None),
            # gradient descent: history[i] is epoch i * history_stride (and the last entry the
            # last epoch) once a long run's history was thinned
            "history_stride": _history_stride(model),
            "rank": _json_value(getattr(model, "rank_", None)),
            "condition_number": _finite_or_none([getattr(model, "condition_number_", math.nan)])[0],
        },
        "metrics": metrics if metrics is not None else getattr(model, "metrics_", None),
        "training": training if training is not None else getattr(model, "training_", None),
        "history": _finite_or_none(getattr(model, "history_", []) or []),
        "parameter_history": _parameter_history(model),
        "statistics": _statistics(model),
        # a formula's spec or the levels of categorical columns, as plain JSON
        "design": None if design is None else design.to_dict(),
    }
    extra = getattr(model, "_model_file_fields", None)  # penalized estimators: their own parts
    if extra is not None:
        document.update(extra())
    return document


def _history_stride(model) -> int | None:
    """``history_stride_`` (None for models without a descent history)."""
    stride = getattr(model, "history_stride_", None)
    return int(stride) if isinstance(stride, (int, np.integer)) and stride >= 1 else None


def read_history_stride(fit: dict, history: list, fail) -> int | None:
    """The stride of a model file's ``history`` (``fit.history_stride``), None without one.

    Files written before the stride was stored get the stride their history's length implies
    over ``fit.n_iter`` epochs: 1 unless the history was thinned. ``fail(problem)`` makes the
    error for a value that is not a positive whole number."""
    stride = fit.get("history_stride")
    if stride is None:
        n_iter = fit.get("n_iter")
        if not history or not isinstance(n_iter, int) or isinstance(n_iter, bool):
            return None
        return stride_of(len(history), n_iter)
    if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
        raise fail(f"'fit.history_stride' must be a positive whole number, not {stride!r}")
    return stride


# Optional parts are stored only while they stay small next to the rest of the file.
MAX_STORED_NUMBERS = 250_000


def _parameter_history(model) -> list | None:
    """``params_history_`` ([coef; intercept] per epoch) for plots of the path, when small."""
    path = getattr(model, "params_history_", None)
    if path is None or path.size > MAX_STORED_NUMBERS or not np.all(np.isfinite(path)):
        return None
    return np.asarray(path, dtype=np.float64).tolist()


def _statistics(model) -> dict | None:
    """The Gram statistics of the training data, so a reloaded model still has a summary()."""
    state = getattr(model, "fitted_state_", None)
    gram = state.gram if state is not None else getattr(model, "_gram", None)
    if gram is None or gram.sxx.size + gram.sxy.size > MAX_STORED_NUMBERS:
        return None
    arrays = {name: getattr(gram, name) for name in _GRAM_ARRAYS}
    if not all(np.all(np.isfinite(a)) for a in arrays.values()):
        return None
    log_weight_sum = float(state.log_weight_sum if state is not None
                           else getattr(model, "_log_weight_sum", 0.0))
    return {
        "count": int(gram.count),
        "weight_sum": float(gram.weight_sum),
        **{name: np.asarray(a, dtype=np.float64).tolist() for name, a in arrays.items()},
        "weighted": bool(state.weighted if state is not None
                         else getattr(model, "_weighted", False)),
        "log_weight_sum": log_weight_sum if math.isfinite(log_weight_sum) else None,
        **_refined_statistics(state),
    }


def _refined_statistics(state) -> dict:
    """What a refined exact solve knows beyond the Gram: (AᵀWA)⁻¹ and the residual sums of
    squares from the residuals themselves, so a reloaded summary() keeps every digit."""
    solution = getattr(state, "solution", None)
    if solution is None or state.training.solver == "gd":
        return {}
    out: dict[str, Any] = {"rank": int(solution.rank)}
    if math.isfinite(solution.raw_condition_number):
        out["raw_condition_number"] = float(solution.raw_condition_number)
    for name in ("cov_unscaled", "ssr"):
        value = getattr(solution, name)
        if value is not None and np.all(np.isfinite(value)):
            out[name] = np.asarray(value, dtype=np.float64).tolist()
    return out


_GRAM_ARRAYS = ("mean_x", "mean_y", "sxx", "sxy", "syy")


def save(
    model, path: str | os.PathLike, *, metrics: dict | None = None,
    training: dict | None = None, inputs=(), force: bool = False,
) -> None:
    """Write ``model`` to ``path`` as a ``linearlab.model/1`` JSON file, atomically.

    ``path`` follows the rules of :mod:`linearlab.io.outputs` (``-`` is standard output, links are
    followed, devices written in place, read-only files refused unless ``force``); ``inputs``
    are files the model was made from, which ``path`` must not be.
    """
    document = model_to_dict(model, metrics=metrics, training=training)
    text = json.dumps(document, indent=2, allow_nan=False)
    outputs.write_text(path, text + "\n", inputs=inputs, force=force)


