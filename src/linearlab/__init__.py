"""linearlab: linear regression, exact and fast, or trained by gradient descent.

Public names::

    from linearlab import LinearRegression, load_dataset, list_datasets
"""

from . import _startup  # noqa: F401  (first: Ctrl-C during the imports below, see _startup)
from .data.datasets import list_datasets, load_dataset
from .descent.gradcheck import gradcheck
from .errors import (
    ConditioningWarning,
    ConvergenceWarning,
    DataError,
    DivergenceError,
    LinearLabError,
    ModelFileError,
    NotFittedError,
    NumericalError,
    OutputError,
)
from .estimator import LinearRegression
from .fitted import FittedState
from .penalized import ElasticNet, ElasticNetCV, Lasso, LassoCV, RidgeCV
from .persist import load

__version__ = "0.1.0"

__all__ = [
    "ConditioningWarning",
    "ConvergenceWarning",
    "DataError",
    "DivergenceError",
    "ElasticNet",
    "ElasticNetCV",
    "FittedState",
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
