"""Penalized linear regression on the Gram matrix: lasso, elastic net, and cross-validated
penalties (``LassoCV``, ``ElasticNetCV``, ``RidgeCV``), with scikit-learn's objectives.

Every fit reads the rows once into :class:`~linearlab.exact.gram.Gram` statistics; coordinate
descent, paths and cross-validation then work on (d × d) matrices.
"""

from linearlab.penalized.base import PenalizedState
from linearlab.penalized.cv import ElasticNetCV, LassoCV
from linearlab.penalized.estimators import ElasticNet, Lasso
from linearlab.penalized.path import alpha_grid, enet_path, lasso_path
from linearlab.penalized.ridge_cv import RidgeCV

__all__ = [
    "ElasticNet", "ElasticNetCV", "Lasso", "LassoCV", "PenalizedState", "RidgeCV", "alpha_grid",
    "enet_path", "lasso_path",
]
