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
