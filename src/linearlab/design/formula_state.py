"""formulaic's model-spec state (levels, contrasts, transform state) as plain JSON and back.

Only plain values (numbers, strings, lists, objects), NumPy arrays and an allow-list of
formulaic's contrast classes are stored; reading rebuilds those classes by name from the
allow-list, so nothing in a model file is ever executed or unpickled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_CONTRASTS = ("TreatmentContrasts", "SASContrasts", "SumContrasts", "HelmertContrasts",
              "DiffContrasts", "PolyContrasts", "CustomContrasts")


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready data (tagged objects for arrays, contrasts and sentinels)."""
    from formulaic.transforms.contrasts import Contrasts, ContrastsState
    from formulaic.utils.sentinels import Sentinel

    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, np.ndarray):
        return {"__ndarray__": to_json(value.tolist()), "dtype": value.dtype.str}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        if value and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                         for k in value):  # poly's coefficients by degree
            return {"__int_keys__": [[int(k), to_json(v)] for k, v in value.items()]}
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"cannot store a mapping with non-text keys: {value!r}")
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, Sentinel):
        return {"__sentinel__": value.name}
    if isinstance(value, ContrastsState):
        return {"__contrasts_state__": {"contrasts": to_json(value.contrasts),
                                        "levels": to_json(list(value.levels))}}
    if isinstance(value, Contrasts) and type(value).__name__ in _CONTRASTS:
        fields = {name: to_json(getattr(value, name))
                  for name in type(value).__dataclass_fields__}
        return {"__contrasts__": type(value).__name__, "fields": fields}
    raise ValueError(
        f"cannot store a {type(value).__name__} ({value!r:.80}) of the formula's state in a "
        "model file"
    )


def from_json(value: Any) -> Any:
    """The inverse of :func:`to_json` (unknown tags are errors)."""
    import formulaic.transforms.contrasts as contrasts
    from formulaic.utils.sentinels import Sentinel

    if isinstance(value, list):
        return [from_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float__" in value:
        return float(value["__float__"])
    if "__int_keys__" in value:
        pairs = value["__int_keys__"]
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and type(p[0]) is int for p in pairs):
            raise ValueError("'__int_keys__' must hold [whole number, value] pairs")
        return {k: from_json(v) for k, v in pairs}
    if "__ndarray__" in value:
        dtype = np.dtype(str(value["dtype"]))
        if dtype.kind not in "biuf" or dtype.itemsize > 8:
            raise ValueError(f"arrays of dtype {dtype.str!r} are not stored in model files")
        return np.asarray(from_json(value["__ndarray__"]), dtype=dtype)
    if "__sentinel__" in value:
        return Sentinel[str(value["__sentinel__"])]
    if "__contrasts_state__" in value:
        state = value["__contrasts_state__"]
        return contrasts.ContrastsState(contrasts=from_json(state["contrasts"]),
                                        levels=from_json(state["levels"]))
    if "__contrasts__" in value:
        name = str(value["__contrasts__"])
        if name not in _CONTRASTS:
            raise ValueError(f"unknown contrasts {name!r}")
        return getattr(contrasts, name)(**{k: from_json(v) for k, v in value["fields"].items()})
    return {k: from_json(v) for k, v in value.items()}


def encoder_state_to_json(state: dict) -> dict:
    """``ModelSpec.encoder_state`` ({factor: (Kind, state)}) as JSON."""
    return {factor: {"kind": kind.value, "state": to_json(dict(s))}
            for factor, (kind, s) in state.items()}


def encoder_state_from_json(doc: Any) -> dict:
    """The inverse of :func:`encoder_state_to_json`."""
    from formulaic.parser.types import Factor

    if not isinstance(doc, dict):
        raise ValueError("'encoder_state' must be an object")
    return {str(factor): (Factor.Kind(entry["kind"]), from_json(entry["state"]))
            for factor, entry in doc.items()}


# --------------------------------------------------------------------------- checking state
_STATEFUL = ("center", "scale", "standardize", "poly", "bs", "cr", "cs", "cc")
_MAX_KNOTS = 128


def check_numbers(value: Any, where: str) -> None:
    """Raise ValueError unless every number in ``value`` (state read by :func:`from_json`) is
    finite; arrays must be of numbers."""
    from formulaic.transforms.contrasts import Contrasts, ContrastsState

    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{where} holds the non-finite number {value!r}")
    elif isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or not np.all(np.isfinite(value)):
            raise ValueError(f"{where} holds an array of non-finite or non-numeric values")
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_numbers(item, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_numbers(key, where)
            check_numbers(item, f"{where}[{key!r}]")
    elif isinstance(value, ContrastsState):
        check_numbers(value.contrasts, where)
        check_numbers(list(value.levels), where)
    elif isinstance(value, Contrasts):
        for name in type(value).__dataclass_fields__:
            check_numbers(getattr(value, name), where)
    elif not type(value).__name__ == "Sentinel":
        raise ValueError(f"{where} holds a {type(value).__name__}")


def _degree(call) -> tuple[int, bool]:
    import ast

    degree, raw = 1, False
    if len(call.args) > 1 and isinstance(call.args[1], ast.Constant):
        degree = call.args[1].value
    for keyword in call.keywords:
        if keyword.arg == "degree" and isinstance(keyword.value, ast.Constant):
            degree = keyword.value.value
        if keyword.arg == "raw" and isinstance(keyword.value, ast.Constant):
            raw = bool(keyword.value.value)
    return int(degree), raw


def _number(state: dict, key: str, where: str, positive: bool = False) -> None:
    value = state.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            positive and not value > 0):
        raise ValueError(f"{where} has {key}={value!r}, not a{' positive' if positive else ''} "
                         "number")


def check_transform_state(state: dict, trees: list) -> None:
    """Raise ValueError unless ``state`` (the transform state read from a model file) holds
    exactly the state of the stateful calls in ``trees`` (the checked terms' syntax trees),
    every number finite and every array of the shape its call implies."""
    import ast

    if not isinstance(state, dict):
        raise ValueError("'transform_state' must be an object")
    calls = {ast.unparse(node): node for tree in trees for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id in (*_STATEFUL, "Q")}
    for key in set(state) - set(calls):  # the left-hand side's, never used to predict
        check_numbers(state[key], f"the state of {key!r}")
    for key, call in calls.items():
        entry = state.get(key)
        where = f"the state of {key!r}"
        if call.func.id == "Q" or '"' in key:
            continue
        if call.func.id == "poly" and _degree(call)[1]:
            continue  # raw polynomials have no state
        if not isinstance(entry, dict) or not entry:
            raise ValueError(f"{where} is missing (predictions would refit it on new data)")
        check_numbers(entry, where)
        if call.func.id in ("center", "scale", "standardize"):
            _number(entry, "center", where)
            _number(entry, "scale", where, positive=True)
        elif call.func.id == "poly":
            degree = _degree(call)[0]
            alpha, norms2 = entry.get("alpha"), entry.get("norms2")
            if not isinstance(alpha, dict) or set(alpha) != set(range(degree)) \
                    or not isinstance(norms2, dict) or set(norms2) != set(range(degree + 1)):
                raise ValueError(f"{where} does not hold the coefficients of degree {degree}")
            if not all(isinstance(v, (int, float)) and v > 0 for v in norms2.values()):
                raise ValueError(f"{where} holds a norm that is not positive")
        else:
            knots = entry.get("knots")
            if knots is not None and np.size(knots) > _MAX_KNOTS:
                raise ValueError(f"{where} holds more than {_MAX_KNOTS} knots")
