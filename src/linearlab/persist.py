"""Model files: versioned, human-readable JSON (``"format": "linearlab.model/1"``).

A file holds the coefficients and intercept at full precision (Python's shortest round-trip
``repr`` of each float, so a reloaded model predicts bit for bit the same), the feature and target
names, the estimator's parameters, the solver and training outcome, metrics and the loss history.

Files are written atomically (a temporary file in the same directory, then ``os.replace``), so a
crash never leaves half a file. Loading parses plain JSON and checks every field: nothing in a
model file is ever executed (no pickle).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .errors import ModelFileError
from .estimator import LinearRegression

FORMAT = "linearlab.model/1"
_UMASK = os.umask(0o022)  # read the process umask (the call sets it) ...
os.umask(_UMASK)  # ... and put it back
_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "solver": (str,), "backend": (str,), "fit_intercept": (bool,), "alpha": (int, float),
    "loss": (str,), "optimizer": (str,), "lr": (int, float, str), "epochs": (int,),
    "batch_size": (int, type(None)), "shuffle": (bool,), "tol": (int, float, type(None)),
    "init": (str, list), "standardize": (bool,), "dtype": (str,), "device": (str,),
    "random_state": (int, type(None)), "log_every": (int,),
}


# --------------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    If the body raises, the temporary file is removed and ``path`` is left untouched.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(target),
                               dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


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
    model: LinearRegression, *, metrics: dict | None = None, training: dict | None = None
) -> dict[str, Any]:
    """The JSON-ready description of a fitted model (see the module notes)."""
    model._check_fitted()
    coef = np.asarray(model.coef_, dtype=np.float64)
    n_targets = 1 if coef.ndim == 1 else coef.shape[0]
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_names_", None)
    features = ([str(n) for n in names] if names is not None
                else [f"x{j}" for j in range(model.n_features_in_)])
    targets = getattr(model, "target_names_", None) or (
        ["y"] if n_targets == 1 else [f"y{j}" for j in range(n_targets)]
    )
    params = {k: _json_value(v) for k, v in model.get_params().items()}
    if not isinstance(params.get("random_state"), (int, type(None))):
        params["random_state"] = None  # a RandomState object cannot be stored
    if not isinstance(params.get("init"), str):
        params["init"] = "zeros"  # explicit starting values are not part of the model
    return {
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
            "n_iter": int(getattr(model, "n_iter_", 1)),
            "converged": bool(getattr(model, "converged_", True)),
            "diagnosis": getattr(model, "diagnosis_", None),
            "learning_rate": getattr(model, "learning_rate_", None),
            "rank": _json_value(getattr(model, "rank_", None)),
            "condition_number": _finite_or_none([getattr(model, "condition_number_", math.nan)])[0],
        },
        "metrics": metrics if metrics is not None else getattr(model, "metrics_", None),
        "training": training if training is not None else getattr(model, "training_", None),
        "history": _finite_or_none(getattr(model, "history_", []) or []),
        "parameter_history": _parameter_history(model),
        "statistics": _statistics(model),
    }


# Optional parts are stored only while they stay small next to the rest of the file.
MAX_STORED_NUMBERS = 250_000


def _parameter_history(model: LinearRegression) -> list | None:
    """``params_history_`` ([coef; intercept] per epoch) for plots of the path, when small."""
    path = getattr(model, "params_history_", None)
    if path is None or path.size > MAX_STORED_NUMBERS or not np.all(np.isfinite(path)):
        return None
    return np.asarray(path, dtype=np.float64).tolist()


def _statistics(model: LinearRegression) -> dict | None:
    """The Gram statistics of the training data, so a reloaded model still has a summary()."""
    gram = getattr(model, "_gram", None)
    if gram is None or gram.sxx.size + gram.sxy.size > MAX_STORED_NUMBERS:
        return None
    arrays = {name: getattr(gram, name) for name in _GRAM_ARRAYS}
    if not all(np.all(np.isfinite(a)) for a in arrays.values()):
        return None
    log_weight_sum = float(getattr(model, "_log_weight_sum", 0.0))
    return {
        "count": int(gram.count),
        "weight_sum": float(gram.weight_sum),
        **{name: np.asarray(a, dtype=np.float64).tolist() for name, a in arrays.items()},
        "weighted": bool(getattr(model, "_weighted", False)),
        "log_weight_sum": log_weight_sum if math.isfinite(log_weight_sum) else None,
    }


_GRAM_ARRAYS = ("mean_x", "mean_y", "sxx", "sxy", "syy")


def save(
    model: LinearRegression, path: str | os.PathLike, *, metrics: dict | None = None,
    training: dict | None = None,
) -> None:
    """Write ``model`` to ``path`` as a ``linearlab.model/1`` JSON file, atomically."""
    document = model_to_dict(model, metrics=metrics, training=training)
    text = json.dumps(document, indent=2, allow_nan=False)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text + "\n")


# --------------------------------------------------------------------------- loading
def _fail(path: str, problem: str) -> ModelFileError:
    return ModelFileError(
        f"{path!r} is not a valid linearlab model file: {problem}. Re-create it with "
        "`linearlab fit DATA -o MODEL.json` or LinearRegression.save()."
    )


def _numbers(path: str, value: Any, field: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        items = np.array(value, dtype=object)
    except ValueError:
        raise _fail(path, f"'{field}' must hold numbers (rows of equal length)") from None
    for v in items.ravel():
        if isinstance(v, bool):
            raise _fail(path, f"'{field}' must hold numbers, not true/false")
        if not isinstance(v, (int, float)):
            raise _fail(path, f"'{field}' must hold numbers, found {v!r}")
    arr = items.astype(np.float64)
    if arr.shape != shape:
        raise _fail(path, f"'{field}' has shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise _fail(path, f"'{field}' holds a non-finite value")
    return arr


def _names(path: str, doc: dict, field: str) -> list[str]:
    names = doc.get(field)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _fail(path, f"'{field}' must be a non-empty list of column names")
    if len(set(names)) != len(names):
        raise _fail(path, f"'{field}' repeats a name")
    return names


def _params(path: str, doc: dict) -> dict[str, Any]:
    params = doc.get("params", {})
    if not isinstance(params, dict):
        raise _fail(path, "'params' must be an object")
    unknown = sorted(set(params) - set(_PARAM_TYPES))
    if unknown:
        raise _fail(path, f"unknown parameter(s) {unknown} (written by a newer linearlab?)")
    for key, value in params.items():
        if not isinstance(value, _PARAM_TYPES[key]) or (
            isinstance(value, bool) and bool not in _PARAM_TYPES[key]
        ):
            raise _fail(path, f"parameter {key!r} has an invalid value {value!r}")
    return params


def model_from_dict(doc: Any, path: str = "<model>") -> LinearRegression:
    """Rebuild a fitted :class:`LinearRegression` from a parsed model document."""
    if not isinstance(doc, dict):
        raise _fail(path, "the top level must be a JSON object")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise ModelFileError(
            f"{path!r} has format {fmt!r}, but this linearlab reads {FORMAT!r}. "
            + ("Upgrade linearlab to read it." if isinstance(fmt, str)
               and fmt.startswith("linearlab.model/") else
               "It is not a linearlab model file; re-create it with `linearlab fit -o`.")
        )
    features, targets = _names(path, doc, "feature_names"), _names(path, doc, "target_names")
    d, k = len(features), len(targets)
    single = k == 1 and not isinstance(doc.get("intercept"), list)
    coef = _numbers(path, doc.get("coef"), "coef", (d,) if single else (k, d))
    intercept = _numbers(path, doc.get("intercept"), "intercept", () if single else (k,))
    model = LinearRegression()
    try:
        model.set_params(**_params(path, doc))
        model._validate_params()
    except (ValueError, TypeError) as exc:
        raise _fail(path, f"invalid parameters ({exc})") from None
    fit = doc.get("fit") or {}
    history = doc.get("history") or []
    if not isinstance(fit, dict) or not isinstance(history, list) or not all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in history
    ):
        raise _fail(path, "'fit' must be an object and 'history' a list of numbers")
    model.coef_ = coef
    model.intercept_ = float(intercept) if single else intercept
    model._y_ndim = 1 if single else 2
    model.n_features_in_ = d
    if doc.get("features_named", True) is not False:
        model.feature_names_in_ = np.asarray(features, dtype=object)
    model.feature_names_ = features
    model.target_names_ = targets
    model.solver_ = fit.get("solver") if isinstance(fit.get("solver"), str) else None
    model.n_iter_ = fit.get("n_iter") if isinstance(fit.get("n_iter"), int) else 1
    model.converged_ = bool(fit.get("converged", True))
    model.diagnosis_ = fit.get("diagnosis") if isinstance(fit.get("diagnosis"), str) else None
    if isinstance(fit.get("learning_rate"), (int, float)):
        model.learning_rate_ = float(fit["learning_rate"])
    model.history_ = [math.nan if v is None else float(v) for v in history]
    model.params_history_ = _load_parameter_history(path, doc.get("parameter_history"), d, k)
    _load_statistics(path, doc.get("statistics"), model, d, k)
    model.metrics_ = doc.get("metrics") if isinstance(doc.get("metrics"), dict) else None
    model.training_ = doc.get("training") if isinstance(doc.get("training"), dict) else None
    return model


def _load_parameter_history(path: str, value: Any, d: int, k: int) -> np.ndarray | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise _fail(path, "'parameter_history' must be a list of parameter snapshots")
    return _numbers(path, value, "parameter_history", (len(value), d + 1, k))


def _load_statistics(path: str, value: Any, model: LinearRegression, d: int, k: int) -> None:
    """Restore the training data's Gram statistics (what summary() needs), if the file has them."""
    model._gram = model._stats_gram = model._solution = None
    if value is None:
        return
    from .gram import Gram

    if not isinstance(value, dict):
        raise _fail(path, "'statistics' must be an object")
    count, weight_sum = value.get("count"), value.get("weight_sum")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1 or not isinstance(
        weight_sum, (int, float)
    ) or isinstance(weight_sum, bool) or not weight_sum > 0:
        raise _fail(path, "'statistics' needs a positive 'count' and 'weight_sum'")
    shapes = {"mean_x": (d,), "mean_y": (k,), "sxx": (d, d), "sxy": (d, k), "syy": (k, k)}
    arrays = {name: _numbers(path, value.get(name), f"statistics.{name}", shape)
              for name, shape in shapes.items()}
    gram = Gram(count=count, weight_sum=float(weight_sum), **arrays)
    model._gram = model._stats_gram = gram
    model._weighted = bool(value.get("weighted", False))
    log_weight_sum = value.get("log_weight_sum")
    model._log_weight_sum = (
        float(log_weight_sum) if isinstance(log_weight_sum, (int, float)) else math.nan
    )


def load(path: str | os.PathLike) -> LinearRegression:
    """Load a model saved by :func:`save` / ``LinearRegression.save``.

    Raises
    ------
    ModelFileError
        The file is missing, not JSON, truncated, of an unknown format version, or any field is
        missing or invalid.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ModelFileError(
            f"Model file {name!r} does not exist. Fit one with `linearlab fit DATA -o {name}`."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"Cannot read model file {name!r}: {exc}.") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        detail = getattr(exc, "msg", str(exc))
        raise _fail(name, f"it is not complete JSON{where}: {detail}; the file may be "
                          "truncated or corrupt") from None
    return model_from_dict(doc, name)


def _reject_constant(token: str):
    raise ValueError(f"{token} is not allowed in a model file")
