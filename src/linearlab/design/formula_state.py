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
    if "__ndarray__" in value:
        return np.asarray(from_json(value["__ndarray__"]), dtype=np.dtype(str(value["dtype"])))
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


# --------------------------------------------------------------------------- loading safely
# A formula's Python terms are evaluated when the model predicts. A model file may come from
# anyone, so the terms it holds are checked first: column names, numbers, arithmetic and
# comparisons, formulaic's transforms and contrasts, and NumPy's ufuncs (pure element-wise
# math) only. No other attribute, no builtin such as open or __import__, no subscripts.
_TRANSFORMS = {"C", "I", "Q", "center", "scale", "standardize", "poly", "bs", "cc", "cr", "cs",
               "lag", "log", "log10", "log2", "exp", "exp2", "exp10", "Treatment", "Poly", "Sum",
               "Helmert", "Diff", "contr", "np"}
_HARMLESS_BUILTINS = {"abs", "round", "min", "max", "pow", "float", "int", "True", "False",
                      "None"}
_CONTRASTS_NAMES = {"treatment", "sum", "helmert", "diff", "poly", "sas", "custom"}


def check_expression(expr: str) -> None:
    """Raise ValueError unless ``expr`` (a formula term) uses only what a model file may."""
    import ast
    import builtins

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"the term {expr!r} is not valid Python ({exc.msg})") from None
    allowed = (ast.Expression, ast.Call, ast.Name, ast.Load, ast.Attribute, ast.Constant,
               ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.keyword, ast.Tuple,
               ast.List, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ValueError(f"the term {expr!r} uses {type(node).__name__}, which a model "
                             "file's formula may not")
        if isinstance(node, ast.Name) and (node.id.startswith("_") or (
                hasattr(builtins, node.id) and node.id not in _HARMLESS_BUILTINS
                and node.id not in _TRANSFORMS)):
            raise ValueError(f"the term {expr!r} uses {node.id!r}, which a model file's "
                             "formula may not")
        if isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            ufunc = owner == "np" and isinstance(getattr(np, node.attr, None), np.ufunc)
            contrast = owner == "contr" and node.attr in _CONTRASTS_NAMES
            if not (ufunc or contrast):
                raise ValueError(f"the term {expr!r} uses the attribute {node.attr!r}; a model "
                                 "file's formula may use NumPy ufuncs (np.log, ...) only")


def check_formula_terms(formula) -> None:
    """:func:`check_expression` for every Python-evaluated factor of a parsed formula."""
    parts = [formula.lhs, formula.rhs] if hasattr(formula, "rhs") else [formula]
    for part in parts:
        for term in part:
            for factor in term.factors:
                if factor.eval_method.value == "python":
                    check_expression(factor.expr)
