"""Feature names and counts of an estimator's input, as scikit-learn checks them.

Equivalents of ``sklearn.utils.validation``'s ``_check_feature_names`` and
``_check_n_features`` (same attributes, warnings and messages), so that fitting and predicting
need not import scikit-learn, which costs most of a second (``linearlab fit small.csv``). A
DataFrame's columns are read through narwhals, as scikit-learn reads them; NumPy arrays, lists
and tensors have no feature names and never import it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["check_feature_names", "check_n_features", "estimator_name", "feature_names_of"]


def estimator_name(estimator: Any) -> str:
    """The class name messages give: ``type(estimator).__name__``, unless the class itself
    (not a parent) sets ``display_name`` (the command line's ``LinearModel`` says
    ``LinearRegression``, the class users know)."""
    return vars(type(estimator)).get("display_name", type(estimator).__name__)


def _plain(X: Any) -> bool:
    """Containers that never carry column names (no need to ask narwhals)."""
    return (isinstance(X, (np.ndarray, list, tuple)) or np.isscalar(X) or X is None
            or type(X).__module__.split(".")[0] in ("torch", "scipy", "numpy"))


def feature_names_of(X: Any) -> np.ndarray | None:
    """The column names of a DataFrame ``X`` when all of them are strings, else None
    (``sklearn.utils.validation._get_feature_names``, with its TypeError for mixed names)."""
    if _plain(X):
        return None
    try:
        import narwhals as nw
    except ImportError:  # scikit-learn's dependency; without it, pandas-like columns
        columns = getattr(X, "columns", None)
        names = None if columns is None else np.asarray(list(columns), dtype=object)
    else:
        names = (np.asarray(nw.from_native(X).columns, dtype=object)
                 if nw.dependencies.is_into_dataframe(X) else None)
    if names is None or len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in {type(v) for v in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type."
        )
    return names if types == ["str"] else None


def _listed(names: list) -> str:
    shown = [f"- {name}\n" for name in names[:5]]
    return "".join(shown) + ("- ...\n" if len(names) > 5 else "")


def check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    """Set (``reset``, in ``fit``) or check ``estimator.feature_names_in_`` against ``X``'s
    column names, with scikit-learn's warnings and ValueError."""
    if reset:
        names = feature_names_of(X)
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            delattr(estimator, "feature_names_in_")  # refitted on unnamed data
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    names = feature_names_of(X)
    name = estimator_name(estimator)
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {name} was fitted without feature names",
                      stacklevel=3)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {name} was fitted with "
                      "feature names", stacklevel=3)
        return
    if len(fitted) == len(names) and not np.any(fitted != names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))
    if unexpected:
        message += "Feature names unseen at fit time:\n" + _listed(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _listed(missing)
    if not missing and not unexpected:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def check_n_features(estimator: Any, X: Any, *, reset: bool) -> None:
    """Set (``reset``) or check ``estimator.n_features_in_`` against the columns of the
    validated ``X`` (2-D), with scikit-learn's ValueError."""
    shape = getattr(X, "shape", None)
    if shape is None or not hasattr(shape, "__len__") or len(shape) <= 1:
        if not reset and hasattr(estimator, "n_features_in_"):
            raise ValueError(
                f"X does not contain any features, but {estimator_name(estimator)} is "
                f"expecting {estimator.n_features_in_} features"
            )
        return
    n_features = int(shape[1])
    if reset:
        estimator.n_features_in_ = n_features
    elif hasattr(estimator, "n_features_in_") and n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {estimator_name(estimator)} is expecting "
            f"{estimator.n_features_in_} features as input."
        )


def declare_inputs(tags):
    """scikit-learn tags (``__sklearn_tags__``) of what every linearlab regressor takes: one or
    several targets, and scipy.sparse X fitted as it is (:mod:`linearlab.sparse`)."""
    tags.target_tags.multi_output = True
    tags.target_tags.single_output = True
    tags.input_tags.sparse = True
    return tags
