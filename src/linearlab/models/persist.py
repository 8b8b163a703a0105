"""Model files: versioned, human-readable JSON (``"format": "linearlab.model/1"``).

A file holds the coefficients and intercept at full precision (Python's shortest round-trip
``repr`` of each float, so a reloaded model predicts bit for bit the same), the feature and target
names, the estimator's parameters, the solver and training outcome, metrics and the loss history.

Files are written atomically (a temporary file in the same directory, then ``os.replace``), so a
crash never leaves half a file. Loading parses plain JSON and checks every field: nothing in a
model file is ever executed (no pickle).
"""

from __future__ import annotations

import json
import math
import os
import stat
from typing import Any

import numpy as np

from linearlab.errors import LinearLabError, ModelFileError
from linearlab.exact.gram import Gram
from linearlab.exact.solution import ExactSolution
from linearlab.io import model_file
from linearlab.io.model_file import FORMAT, MAX_STORED_NUMBERS, model_to_dict, save
from linearlab.models.linear import LinearModel
from linearlab.state.fitted import FittedState, TrainingRecord

__all__ = ["FORMAT", "MAX_STORED_NUMBERS", "load", "model_from_dict", "model_to_dict", "save"]

#: The largest model file :func:`load` reads. Files hold at most ~2 x 250,000 numbers (see
#: MAX_STORED_NUMBERS) plus the coefficients, so real ones stay far below this.
MAX_MODEL_BYTES = 256 * 2**20
#: Longest integer literal accepted (a float64 needs at most 17 significant digits).
MAX_INT_DIGITS = 40
_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "solver": (str,), "backend": (str,), "fit_intercept": (bool,), "alpha": (int, float),
    "loss": (str,), "optimizer": (str,), "lr": (int, float, str), "epochs": (int,),
    "batch_size": (int, type(None)), "shuffle": (bool,), "tol": (int, float, type(None)),
    "init": (str, list), "standardize": (bool,), "dtype": (str,), "device": (str,),
    "random_state": (int, type(None)), "log_every": (int,),
}


# --------------------------------------------------------------------------- loading
def _fail(path: str, problem: str) -> ModelFileError:
    return ModelFileError(
        f"{path!r} is not a valid linearlab model file: {problem}. Re-create it with "
        "`linearlab fit DATA -o MODEL.json` or LinearRegression.save()."
    )


def _flat_types(value: Any, depth: int = 0) -> set[type]:
    """The types of the leaves of nested lists (one pass of C-level ``map``)."""
    if not isinstance(value, list):
        return {type(value)}
    kinds = set(map(type, value))
    if list in kinds and depth < 4:
        kinds.discard(list)
        for item in value:
            if isinstance(item, list):
                kinds |= _flat_types(item, depth + 1)
    return kinds


def _first_other(value: Any) -> Any:
    """The first leaf of nested lists that is not a number."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, list):
            found = _first_other(item)
            if found is not None:
                return found
        elif type(item) not in (int, float):
            return item
    return None


def _numbers(path: str, value: Any, field: str, shape: tuple[int, ...]) -> np.ndarray:
    kinds = _flat_types(value)
    if bool in kinds:
        raise _fail(path, f"'{field}' must hold numbers, not true/false")
    if not kinds <= {int, float}:
        raise _fail(path, f"'{field}' must hold numbers, found {_first_other(value)!r:.60}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise _fail(path, f"'{field}' must hold numbers (rows of equal length)") from None
    if arr.shape != shape:
        raise _fail(path, f"'{field}' has shape {arr.shape}, expected {shape}")
    if not np.all(np.isfinite(arr)):
        raise _fail(path, f"'{field}' holds a non-finite value")
    return arr


def _names(path: str, doc: dict, field: str) -> list[str]:
    names = doc.get(field)
    if not isinstance(names, list) or not names or set(map(type, names)) != {str}:
        raise _fail(path, f"'{field}' must be a non-empty list of column names")
    if len(set(names)) != len(names):
        raise _fail(path, f"'{field}' repeats a name")
    return names


def _params(path: str, doc: dict) -> dict[str, Any]:
    params = doc.get("params", {})
    if not isinstance(params, dict):
        raise _fail(path, "'params' must be an object")
    unknown = sorted(set(params) - set(LinearModel().get_params()))
    if unknown:
        raise _fail(path, f"unknown parameter(s) {unknown} (written by a newer linearlab?)")
    for key, value in params.items():
        types = _PARAM_TYPES.get(key, (str, int, float, bool, type(None)))
        if key == "callback":
            types = (type(None),)  # a function is never stored, nor loaded
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types
                                            and key in _PARAM_TYPES):
            raise _fail(path, f"parameter {key!r} has an invalid value {value!r}")
    return params


def model_from_dict(doc: Any, path: str = "<model>", estimator: type | None = None) -> LinearModel:
    """Rebuild a fitted :class:`~linearlab.LinearRegression` (or ``estimator``, e.g. ``LinearModel``
    which does not import scikit-learn) from a parsed model document."""
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
    if doc.get("estimator", "LinearRegression") != "LinearRegression":
        from linearlab.penalized.files import (
            restore,  # Lasso, ElasticNet, *CV: their own parameters
        )

        _check_cv_path(path, doc.get("penalized"))

        return restore(doc, coef, intercept, features, targets, lambda p: _fail(path, p),
                       lambda: _read_statistics(path, doc.get("statistics"), d, k))
    if estimator is None:  # the public, scikit-learn class
        from linearlab.models.estimator import LinearRegression as estimator
    model = estimator()
    params = _params(path, doc)  # its own message, not wrapped in "invalid parameters"
    try:
        model.set_params(**params)
        model._validate_params()
    except (ValueError, TypeError) as exc:
        raise _fail(path, f"invalid parameters ({exc})") from None
    fit = doc.get("fit") or {}
    history = doc.get("history") or []
    if not isinstance(fit, dict) or not isinstance(history, list) or not all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in history
    ):
        raise _fail(path, "'fit' must be an object and 'history' a list of numbers")
    gram, weighted, log_weight_sum = _read_statistics(path, doc.get("statistics"), d, k)
    design = _read_design(path, doc.get("design"), features)
    named = doc.get("features_named", True) is not False
    record = TrainingRecord(
        solver=fit.get("solver") if isinstance(fit.get("solver"), str) else None,
        n_iter=fit.get("n_iter") if isinstance(fit.get("n_iter"), int) else 1,
        converged=bool(fit.get("converged", True)),
        diagnosis=fit.get("diagnosis") if isinstance(fit.get("diagnosis"), str) else None,
        learning_rate=float(fit["learning_rate"])
        if isinstance(fit.get("learning_rate"), (int, float)) else None,
        history=[math.nan if v is None else float(v) for v in history],
        params_history=_load_parameter_history(path, doc.get("parameter_history"), d, k),
        history_stride=model_file.read_history_stride(fit, history, lambda p: _fail(path, p)),
        rank=fit["rank"] if type(fit.get("rank")) is int else None,  # saved again as read
        condition_number=float(fit["condition_number"])
        if type(fit.get("condition_number")) in (int, float) else None,
    )
    coef = coef.reshape(d, 1) if single else coef.T
    solution = _read_refined(path, doc.get("statistics"), record, coef, intercept,
                             d + int(model.fit_intercept))
    state = FittedState(
        coef=coef, intercept=np.atleast_1d(intercept),
        single_target=single, training=record, gram=gram, weighted=weighted,
        log_weight_sum=log_weight_sum,
        feature_names=list(design.input_names) if design is not None else features,
        features_named=named or design is not None, target_names=targets,
        metrics=doc.get("metrics") if isinstance(doc.get("metrics"), dict) else None,
        training_options=doc.get("training") if isinstance(doc.get("training"), dict) else None,
        design=design, solution=solution,
    )
    return model.set_fitted_state(state)


def _check_cv_path(path: str, state: Any) -> None:
    """A CV model's ``alphas_`` and ``mse_path_`` (one error per alpha and fold) must agree."""
    if not isinstance(state, dict) or ("alphas_" not in state and "mse_path_" not in state):
        return
    try:
        alphas = np.shape(np.asarray(state.get("alphas_"), dtype=np.float64))
        mse = np.shape(np.asarray(state.get("mse_path_"), dtype=np.float64))
    except (TypeError, ValueError):
        raise _fail(path, "'penalized.alphas_' and 'mse_path_' must be arrays of numbers") \
            from None
    if len(alphas) < 1 or len(mse) != len(alphas) + 1 or mse[:-1] != alphas or mse[-1] < 1:
        raise _fail(path, f"'penalized.mse_path_' has shape {mse}, which does not match "
                          f"'alphas_' of shape {alphas} (one row of fold errors per alpha)")


def _read_refined(path: str, value: Any, record, coef, intercept, p: int):
    """The refined exact solve's (AᵀWA)⁻¹ and residual sums of squares, when the file has them
    (see ``model_file._refined_statistics``), as the solution a fresh fit would hold."""
    if not isinstance(value, dict) or "rank" not in value or record.solver in (None, "gd"):
        return None
    rank = value.get("rank")
    if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank <= p:
        raise _fail(path, "'statistics.rank' must be a whole number of columns")
    cov = value.get("cov_unscaled")
    ssr = value.get("ssr")
    raw = value.get("raw_condition_number")
    return ExactSolution(
        coef=coef, intercept=np.atleast_1d(np.asarray(intercept, dtype=np.float64)),
        solver=record.solver, rank=rank, condition_number=math.nan,
        raw_condition_number=float(raw) if isinstance(raw, (int, float)) else math.nan,
        cov_unscaled=None if cov is None else _numbers(path, cov, "statistics.cov_unscaled",
                                                       (p, p)),
        ssr=None if ssr is None else _numbers(path, ssr, "statistics.ssr", (coef.shape[1],)),
    )


def _read_design(path: str, value: Any, features: list[str]):
    """The design (formula spec, categorical levels), whose columns are the coefficients'."""
    if value is None:
        return None
    from linearlab.design.table import design_from_dict

    design = design_from_dict(value, path)
    if list(design.names) != list(features):
        raise _fail(path, "the design's columns differ from 'feature_names'")
    return design


def _load_parameter_history(path: str, value: Any, d: int, k: int) -> np.ndarray | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise _fail(path, "'parameter_history' must be a list of parameter snapshots")
    return _numbers(path, value, "parameter_history", (len(value), d + 1, k))


def _read_statistics(path: str, value: Any, d: int, k: int):
    """The training data's Gram statistics (what summary() needs), weighted, Σ log w."""
    if value is None:
        return None, False, 0.0
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
    log_weight_sum = value.get("log_weight_sum")
    return gram, bool(value.get("weighted", False)), (
        float(log_weight_sum) if isinstance(log_weight_sum, (int, float)) else math.nan
    )


# Leading bytes of files people mistake for model files: (magic, what it looks like).
_PICKLE = "a Python pickle, which linearlab never loads"
_MAGIC = (
    *((magic, _PICKLE) for magic in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05",
                                     b"(dp0", b"(lp0", b"ccopy_reg")),
    (b"\x1f\x8b", "gzip-compressed data; decompress it first"),
    (b"PK\x03\x04", "a ZIP archive (a joblib/NumPy .npz file?)"),
    (b"PAR1", "a Parquet data file; pass it as DATA, not as MODEL"),
    (b"\x93NUMPY", "a NumPy .npy array"),
)


class _OutOfRange(ValueError):
    """A number in a model file that float64 cannot hold."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _OutOfRange(f"an integer of {len(text.lstrip('-'))} digits ({text[:12]}...)")
    return int(text)


def _all_finite(value: Any, depth: int = 0) -> bool:
    """Whether every float in the parsed document is finite (long lists of numbers are
    checked by one C-level ``map``)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list) or depth > 64:
        return True
    kinds = set(map(type, value))
    if not kinds & {float, list, dict}:  # names, whole numbers: nothing to check
        return True
    if kinds <= {int, float}:
        return all(map(math.isfinite, value))
    return all(_all_finite(v, depth + 1) for v in value if type(v) in (float, list, dict))


def _read_bytes(name: str) -> bytes:
    """The file's bytes, after checking that it is a regular file of a sensible size."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise ModelFileError(
            f"Model file {name!r} does not exist. Fit one with `linearlab fit DATA -o {name}`."
        ) from None
    except OSError as exc:
        raise ModelFileError(f"Cannot read model file {name!r}: {exc.strerror}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileError(f"{name!r} is a directory; pass a model file (.json) written by "
                             "`linearlab fit -o`.")
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(
            f"{name!r} is not a regular file (a device, pipe or socket); linearlab reads model "
            "files only from regular files. Save the model to a file and pass that."
        )
    too_big = ModelFileError(
        f"{name!r} is larger than {MAX_MODEL_BYTES // 2**20} MiB, the most a linearlab model "
        "file may be (real ones are far smaller); it is not a model file."
    )
    if st.st_size > MAX_MODEL_BYTES:
        raise too_big
    try:
        with open(name, "rb") as f:
            data = f.read(MAX_MODEL_BYTES + 1)
    except OSError as exc:
        raise ModelFileError(f"Cannot read model file {name!r}: {exc.strerror}.") from None
    if len(data) > MAX_MODEL_BYTES:
        raise too_big
    return data


def _parse(name: str, data: list[bytes]) -> Any:
    """The parsed document of the file's bytes, ``data[0]`` (a list, so the bytes are freed as
    soon as they are decoded: the caller holds no reference to them)."""
    for magic, looks in _MAGIC:
        if data[0].startswith(magic):
            raise ModelFileError(
                f"{name!r} is not a linearlab model file (it looks like {looks}). Model files "
                "are JSON, written by `linearlab fit -o MODEL.json` or LinearRegression.save()."
            )
    try:
        text = data[0].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(name, f"it is not UTF-8 text (byte 0x{data[0][exc.start]:02x} at offset "
                          f"{exc.start})") from None
    data.clear()
    try:  # floats parse at C speed; a float beyond float64 (inf) is found afterwards
        doc = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
        if not _all_finite(doc):
            raise _OutOfRange("a number beyond the range of float64")
        return doc
    except _OutOfRange as exc:
        raise _fail(name, f"it holds {exc}, which no model has") from None
    except RecursionError:
        raise _fail(name, "its lists or objects are nested too deeply") from None
    except (json.JSONDecodeError, ValueError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        detail = getattr(exc, "msg", str(exc))
        raise _fail(name, f"it is not complete JSON{where}: {detail}; the file may be "
                          "truncated or corrupt") from None


def load(path: str | os.PathLike, estimator: type | None = None) -> LinearModel:
    """Load a model saved by :func:`save` / ``LinearRegression.save``.

    ``estimator=LinearModel`` gives the command line's class instead of ``LinearRegression``
    (same attributes and predictions, no scikit-learn import); penalized models keep theirs.

    Only regular files of at most :data:`MAX_MODEL_BYTES` are read; the text is parsed as plain
    JSON (nothing is executed, pickles are recognised and refused) and every field is checked.

    Raises
    ------
    ModelFileError
        The file is missing, not a regular file, too large, not JSON, truncated, of an unknown
        format version, or any field is missing or invalid.
    """
    name = os.fspath(path)
    doc = _parse(name, [_read_bytes(name)])
    try:
        return model_from_dict(doc, name, estimator)
    except LinearLabError:
        raise
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError, AttributeError,
            RecursionError, MemoryError) as exc:  # a field of a shape no check foresaw
        raise _fail(name, f"a field holds an unexpected value ({type(exc).__name__}: "
                          f"{str(exc)[:200]})") from None


def _reject_constant(token: str):
    raise ValueError(f"{token} is not allowed in a model file")
