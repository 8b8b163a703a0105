"""linearlab: linear regression, exact and fast, or trained by gradient descent.

Public names::

    from linearlab import LinearRegression, load_dataset, list_datasets
"""

from linearlab import _startup  # noqa: F401  (first: Ctrl-C during the imports below, see _startup)
from linearlab.data.datasets import list_datasets, load_dataset
from linearlab.descent.gradcheck import gradcheck
from linearlab.errors import (
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
from linearlab.io.persist import load
from linearlab.models.fitted import FittedState
from linearlab.models.linear import LinearRegression
from linearlab.penalized import ElasticNet, ElasticNetCV, Lasso, LassoCV, RidgeCV

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
