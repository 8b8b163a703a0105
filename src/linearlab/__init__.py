"""linearlab: linear regression, exact and fast, or trained by gradient descent.

Public names::

    from linearlab import LinearRegression, load_dataset, list_datasets
"""

from importlib import import_module

from linearlab import _startup  # noqa: F401  (first: Ctrl-C during the imports, see _startup)

#: Where each public name lives. They are imported when first used (PEP 562), so that
#: ``import linearlab.cli`` or ``linearlab --help`` does not pay for scikit-learn and SciPy.
_PUBLIC = {
    "ConditioningWarning": "linearlab.errors",
    "ConvergenceWarning": "linearlab.errors",
    "DataError": "linearlab.errors",
    "DivergenceError": "linearlab.errors",
    "GridEdgeWarning": "linearlab.errors",
    "LinearLabError": "linearlab.errors",
    "ModelFileError": "linearlab.errors",
    "NotFittedError": "linearlab.errors",
    "NumericalError": "linearlab.errors",
    "OutputError": "linearlab.errors",
    "ElasticNet": "linearlab.penalized",
    "ElasticNetCV": "linearlab.penalized",
    "Lasso": "linearlab.penalized",
    "LassoCV": "linearlab.penalized",
    "RidgeCV": "linearlab.penalized",
    "FittedState": "linearlab.state.fitted",
    "LinearRegression": "linearlab.models.estimator",
    "gradcheck": "linearlab.descent.gradcheck",
    "load": "linearlab.models.persist",
    "list_datasets": "linearlab.data.datasets",
    "load_dataset": "linearlab.data.datasets",
}

__version__ = "0.1.0"

__all__ = [
    "ConditioningWarning",
    "ConvergenceWarning",
    "DataError",
    "DivergenceError",
    "ElasticNet",
    "ElasticNetCV",
    "FittedState",
    "GridEdgeWarning",
    "Lasso",
    "LassoCV",
    "LinearLabError",
    "LinearRegression",
    "ModelFileError",
    "NotFittedError",
    "NumericalError",
    "OutputError",
    "RidgeCV",
    "gradcheck",
    "load",
    "list_datasets",
    "load_dataset",
]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'linearlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
