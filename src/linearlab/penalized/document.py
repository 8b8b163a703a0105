"""The penalized estimators' own parts of a model file, written from a fitted estimator.

:mod:`linearlab.io.model_file` calls :func:`model_fields` through the estimators'
``_model_file_fields``; reading them back is :mod:`.files`. This module imports no estimator
class, so the estimators can use it without an import circle.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# fitted attributes kept in the file
STATE = ("alpha_", "l1_ratio_", "alphas_", "mse_path_", "dual_gap_", "n_iter_", "best_score_")


def _plain(value: Any) -> Any:
    """A JSON-safe version of a parameter value (None for what a file cannot hold)."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=np.float64)
        return arr.tolist() if np.all(np.isfinite(arr)) else None
    return None  # splitters, RandomState objects: not part of the fitted model


def model_fields(model) -> dict[str, Any]:
    """What a penalized model adds to (or changes in) persist's model document."""
    params = {k: _plain(v) for k, v in model.get_params().items()}
    if "cv" in params and not isinstance(model.get_params()["cv"], (int, type(None))):
        params["cv"] = None
    state = {}
    for name in STATE:
        if hasattr(model, name):
            state[name] = _plain(getattr(model, name))
    n_iter = np.max(np.atleast_1d(getattr(model, "n_iter_", 1)))
    solver = "gcv" if type(model).__name__ == "RidgeCV" else getattr(model, "solver", "cd")
    return {
        "estimator": type(model).__name__,
        "params": params,
        "penalized": state,
        "fit": {"solver": solver, "n_iter": int(n_iter),
                "converged": bool(getattr(model, "converged_", True)),
                "diagnosis": getattr(model, "diagnosis_", None)},
        "history": [],
        "parameter_history": None,
    }
