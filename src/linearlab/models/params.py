"""Estimator parameters without scikit-learn: ``get_params``, ``set_params``, ``repr`` and the
check of the declared constraints.

:class:`ParamsMixin` gives :class:`~linearlab.models.linear.LinearModel` (what the command line
fits) scikit-learn's parameter protocol with the same semantics, read from ``__init__``'s
signature, so that ``linearlab fit`` never imports scikit-learn (most of a second). The
constraints are declared with :class:`Options` and :class:`Range`, light stand-ins for
scikit-learn's ``StrOptions`` and ``Interval``; :func:`sklearn_constraints` turns them into
those for the public :class:`~linearlab.LinearRegression`, whose checks are scikit-learn's own.
An invalid value raises scikit-learn's ``InvalidParameterError`` with scikit-learn's message
either way: the check is ours, the error is built by scikit-learn (imported only then).
"""

from __future__ import annotations

import inspect
import math
from numbers import Integral
from typing import Any

import numpy as np

from linearlab.data.features import estimator_name

__all__ = ["Options", "ParamsMixin", "Range", "check_params", "satisfies",
           "sklearn_constraints"]


class Options:
    """A finite set of allowed strings (scikit-learn's ``StrOptions``)."""

    def __init__(self, options: set[str]):
        self.options = options

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is one of the strings."""
        return isinstance(value, str) and value in self.options


class Range:
    """Numbers of a type in an interval (scikit-learn's ``Interval``; ``closed`` is "left",
    "right", "both" or "neither", a bound of None is infinite)."""

    def __init__(self, kind: type, left: float | None, right: float | None, *, closed: str):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is an instance of the type inside the interval (NaN is not)."""
        if not isinstance(value, self.kind):
            return False
        if not isinstance(value, Integral) and math.isnan(value):
            return False
        left = -math.inf if self.left is None else self.left
        right = math.inf if self.right is None else self.right
        if value < left or (value == left and self.closed not in ("left", "both")):
            return False
        return not (value > right or (value == right and self.closed not in ("right", "both")))


def satisfies(value: Any, constraint: Any) -> bool:
    """Whether ``value`` meets one declared constraint, as scikit-learn's ``make_constraint``
    reads it: Options, Range, "boolean", "random_state", None, ``callable`` or a type."""
    if isinstance(constraint, (Options, Range)):
        return constraint.allows(value)
    if constraint is None:
        return value is None
    if constraint is callable:
        return callable(value)
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if constraint == "random_state":
        return (value is None or isinstance(value, np.random.RandomState)
                or Range(Integral, 0, 2**32 - 1, closed="both").allows(value))
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    raise ValueError(f"Unknown constraint {constraint!r}.")


def sklearn_constraints(constraints: dict) -> dict:
    """The same constraints as scikit-learn's objects (``StrOptions``, ``Interval``), for
    ``_parameter_constraints`` of a scikit-learn estimator. Imports scikit-learn."""
    from sklearn.utils._param_validation import Interval, StrOptions

    def convert(c: Any) -> Any:
        if isinstance(c, Options):
            return StrOptions(c.options)  # the same set: the same order in messages
        if isinstance(c, Range):
            return Interval(c.kind, c.left, c.right, closed=c.closed)
        return c

    return {name: [convert(c) for c in allowed] for name, allowed in constraints.items()}


def check_params(constraints: dict, params: dict, caller_name: str) -> None:
    """Raise scikit-learn's ``InvalidParameterError`` (its message) for the first parameter
    in ``params`` that meets none of its constraints; scikit-learn is imported only then."""
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None or any(satisfies(value, c) for c in allowed):
            continue
        from sklearn.utils._param_validation import validate_parameter_constraints

        validate_parameter_constraints(sklearn_constraints({name: allowed}), {name: value},
                                       caller_name)


class ParamsMixin:
    """``get_params``, ``set_params``, ``repr`` and ``_validate_params`` as
    ``sklearn.base.BaseEstimator`` has them, for an estimator whose ``__init__`` stores each
    keyword argument under its name. A class mixing in scikit-learn's ``BaseEstimator`` before
    this one gets scikit-learn's instead."""

    _parameter_constraints: dict = {}

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The estimator's parameters by name (``deep``: with those of nested estimators,
        as ``name__param``)."""
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any):
        """Set parameters by name (``name__param`` for nested estimators); returns self."""
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            key, delim, sub_key = key.partition("__")
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {self}. Valid parameters are: "
                    f"{self._get_param_names()!r}."
                )
            if delim:
                nested.setdefault(key, {})[sub_key] = value
            else:
                setattr(self, key, value)
                valid[key] = value
        for key, sub_params in nested.items():
            valid[key].set_params(**sub_params)
        return self

    def _validate_params(self) -> None:
        check_params(self._parameter_constraints, self.get_params(deep=False),
                     estimator_name(self))

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for key, value in self.get_params(deep=False).items():
            default = defaults.get(key, inspect.Parameter.empty)
            same = value is default or (
                type(value) is type(default) and not isinstance(value, np.ndarray)
                and value == default)
            if not same:
                changed.append(f"{key}={value!r}")
        return f"{estimator_name(self)}({', '.join(changed)})"
