"""``LassoCV`` and ``ElasticNetCV``: the penalty chosen by k-fold cross-validation, in one pass.

The rows are read once into per-fold Gram statistics (:mod:`.folds`); each fold's path is solved
on its training statistics and scored on its validation statistics exactly, and the final model
is refitted on the total. Names, grids, folds and attributes are scikit-learn's.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_random_state

from linearlab.data.lazy import is_dask
from linearlab.errors import DataError
from linearlab.penalized.base import PenalizedBase
from linearlab.penalized.estimators import ElasticNet
from linearlab.penalized.folds import (
    FoldStatistics,
    fold_statistics,
    validation_rss,
    warn_at_grid_edge,
)
from linearlab.penalized.inputs import INPUT_CONSTRAINTS, scaled_folds
from linearlab.penalized.path import enet_path, gram_path, resolve_alphas


class ElasticNetCV(PenalizedBase):
    """Elastic net with alpha (and ``l1_ratio``) chosen by cross-validation.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        Candidate L1/L2 mixes; each gets its own alpha grid.
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid.
    alphas : int or array-like, default=100
        Number of alphas on the automatic grid, or the alphas themselves.
    fit_intercept : bool, default=True
    precompute, copy_X, verbose, n_jobs
        Accepted for compatibility with scikit-learn (the Gram is always used; one process).
    max_iter : int, default=1000
    tol : float, default=1e-4
    cv : int, cross-validation generator or iterable, default=None
        None is 5-fold ``KFold`` without shuffling, as scikit-learn.
    positive : bool, default=False
    random_state : int, RandomState or None, default=None
    selection : {"cyclic", "random"}, default="cyclic"
    missing : {"error", "drop"}, default="error"
    standardize : bool, default=False
        Missing values, text columns and standardization as :class:`ElasticNet` handles them
        (the folds are scored on the standardized columns, scaled by the whole table).

    Attributes
    ----------
    alpha_, l1_ratio_ : float
        The chosen penalty.
    alphas_ : ndarray (n_alphas,) or (n_l1_ratio, n_alphas)
    mse_path_ : ndarray (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
        Validation mean squared error (weighted by ``sample_weight``) per alpha and fold.
    coef_, intercept_, dual_gap_, n_iter_
        Of the model refitted on all rows with the chosen penalty.
    """

    _parameter_constraints: dict = {
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "fit_intercept": ["boolean"],
        "precompute": ["boolean", StrOptions({"auto"}), "array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "cv": ["cv_object"],
        "copy_X": ["boolean"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "selection": [StrOptions({"cyclic", "random"})],
        **INPUT_CONSTRAINTS,
    }

    def __init__(
        self, *, l1_ratio=0.5, eps: float = 1e-3, alphas=100, fit_intercept: bool = True,
        precompute="auto", max_iter: int = 1000, tol: float = 1e-4, cv=None,
        copy_X: bool = True, verbose=0, n_jobs=None, positive: bool = False,
        random_state=None, selection: str = "cyclic", missing: str = "error",
        standardize: bool = False,
    ):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.missing = missing
        self.standardize = standardize

    path = staticmethod(enet_path)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        return tags

    def _l1_ratios(self) -> np.ndarray:
        return np.atleast_1d(np.asarray(getattr(self, "l1_ratio", 1.0), dtype=np.float64))

    def fit(self, X, y, sample_weight=None) -> ElasticNetCV:
        """Choose the penalty by cross-validation, then refit on all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Used in training and in each fold's validation error; the folds' errors are then
            averaged without weights, as scikit-learn does.

        Returns
        -------
        self
        """
        if is_dask(X, y, sample_weight):  # statistics computed on the cluster
            from linearlab.penalized.dask import fit as fit_dask

            return fit_dask(self, X, y, sample_weight)
        self._validate_params()
        Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset=True)
        if ya.ndim == 2 and ya.shape[1] != 1:
            raise DataError(
                f"{type(self).__name__} fits one target, but y has {ya.shape[1]} columns; "
                f"fit one model per column, or use {type(self).__name__[:-2]} for several."
            )
        if ya.ndim == 2:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the "
                "shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning, stacklevel=2,
            )
        self._y_ndim = 1
        if type(Xa).__module__.startswith("scipy.sparse"):  # sparse folds: small d only
            from linearlab.sparse.folds import sparse_fold_statistics

            return self._fit_statistics(FoldStatistics(*sparse_fold_statistics(
                Xa, ya.reshape(-1, 1), w, self.cv, type(self).__name__)))
        return self._fit_statistics(fold_statistics(Xa, ya.reshape(-1, 1), w, self.cv))

    def fit_folds(self, folds: FoldStatistics) -> ElasticNetCV:
        """Choose the penalty from fold statistics gathered elsewhere (a streamed file).

        ``folds`` comes from :func:`~linearlab.penalized.folds.stream_fold_statistics` (or
        ``fold_statistics``); ``n_features_in_`` is set from them, feature names are not known.
        With ``standardize=True`` the statistics are standardized here.
        """
        self._validate_params()
        if folds.total.n_targets != 1:
            raise DataError(f"{type(self).__name__} fits one target, got "
                            f"{folds.total.n_targets}.")
        self._y_ndim = 1
        self.n_features_in_ = folds.total.n_features
        self.design_, self.n_dropped_ = None, 0
        folds, self._scaling = scaled_folds(self, folds)
        return self._fit_statistics(folds)

    def _fit_statistics(self, folds: FoldStatistics) -> ElasticNetCV:
        rng = check_random_state(self.random_state) if self.selection == "random" else None
        l1_ratios = self._l1_ratios()
        grids, mse = [], []
        for l1_ratio in l1_ratios:
            grid = resolve_alphas(self.alphas, folds.total, l1_ratio=float(l1_ratio),
                                  eps=self.eps, fit_intercept=self.fit_intercept,
                                  positive=self.positive)
            grids.append(grid)
            mse.append(np.stack([
                self._fold_mse(train, test, grid, float(l1_ratio), rng)
                for train, test in zip(folds.train, folds.test, strict=True)
            ], axis=1))  # (n_alphas, n_folds)
        mse_paths = np.stack(mse)  # (n_l1, n_alphas, n_folds)
        mean_mse = mse_paths.mean(axis=2)
        best_l1, best_i = np.unravel_index(int(np.argmin(_first_min_key(mean_mse))),
                                           mean_mse.shape)
        self.alpha_ = float(grids[best_l1][best_i])
        self.l1_ratio_ = float(l1_ratios[best_l1])
        self.mse_path_ = np.squeeze(mse_paths)
        alphas = np.asarray(grids)
        given = self.alphas is not None and not isinstance(self.alphas, Integral)
        # one grid for every l1_ratio when the alphas were given (scikit-learn's shape)
        self.alphas_ = alphas[0] if len(l1_ratios) == 1 or given else alphas
        warn_at_grid_edge(
            type(self).__name__, grids[best_l1], self.alpha_, stacklevel=4,
            extend="Pass a wider grid (smaller eps, or alphas=[...])." if not given
            else "Pass alphas that extend beyond it.",
        )
        final = ElasticNet(
            alpha=self.alpha_, l1_ratio=self.l1_ratio_, fit_intercept=self.fit_intercept,
            max_iter=self.max_iter, tol=self.tol, positive=self.positive,
            random_state=self.random_state, selection=self.selection,
        ).fit_gram(folds.total)
        self._gram = folds.total
        self._set_coefficients(np.atleast_2d(final.coef_), np.atleast_1d(final.intercept_))
        self.dual_gap_, self.n_iter_ = final.dual_gap_, final.n_iter_
        return self

    def regularization_path(self, n_alphas: int = 100):
        """``(alphas_, coefs (1, d, n_alphas), alpha_)`` on the chosen l1_ratio's grid."""
        gram = self._path_statistics()
        grid = np.asarray(self.alphas_, dtype=np.float64)
        l1_ratio = float(getattr(self, "l1_ratio_", 1.0))
        if grid.ndim == 2:
            grid = grid[list(self._l1_ratios()).index(l1_ratio)]
        coefs, _, _, _ = gram_path(gram, grid, l1_ratio=l1_ratio,
                                   fit_intercept=self.fit_intercept, positive=self.positive,
                                   tol=min(self.tol, 1e-6), max_iter=max(self.max_iter, 1000))
        return grid, coefs, float(self.alpha_)

    def chosen_mse_path(self) -> np.ndarray:
        """``mse_path_`` (n_alphas, n_folds) of the chosen l1_ratio."""
        mse = np.asarray(self.mse_path_, dtype=np.float64)
        if mse.ndim == 3:
            mse = mse[list(self._l1_ratios()).index(float(getattr(self, "l1_ratio_", 1.0)))]
        return mse

    def _fold_mse(self, train, test, grid, l1_ratio, rng) -> np.ndarray:
        coefs, intercepts, _, _ = gram_path(
            train, grid, l1_ratio=l1_ratio, fit_intercept=self.fit_intercept,
            positive=self.positive, tol=self.tol, max_iter=self.max_iter, rng=rng,
        )
        rss = validation_rss(test, coefs, intercepts)
        with np.errstate(invalid="ignore", divide="ignore"):
            return rss[0] / test.weight_sum


def _first_min_key(mean_mse: np.ndarray) -> np.ndarray:
    """Flattened errors in scikit-learn's search order (first l1_ratio, then alphas)."""
    return np.where(np.isnan(mean_mse), np.inf, mean_mse).ravel()


class LassoCV(ElasticNetCV):
    """Lasso with alpha chosen by cross-validation (scikit-learn's ``LassoCV``).

    See :class:`ElasticNetCV` for the parameters and attributes (``l1_ratio`` is 1).
    """

    _parameter_constraints: dict = {
        k: v for k, v in ElasticNetCV._parameter_constraints.items() if k != "l1_ratio"
    }

    def __init__(
        self, *, eps: float = 1e-3, alphas=100, fit_intercept: bool = True,
        precompute="auto", max_iter: int = 1000, tol: float = 1e-4, copy_X: bool = True,
        cv=None, verbose=False, n_jobs=None, positive: bool = False, random_state=None,
        selection: str = "cyclic", missing: str = "error", standardize: bool = False,
    ):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.missing = missing
        self.standardize = standardize

    def fit(self, X, y, sample_weight=None) -> LassoCV:
        """Choose alpha by cross-validation, then refit on all rows (see ElasticNetCV.fit)."""
        super().fit(X, y, sample_weight)
        del self.l1_ratio_  # scikit-learn's LassoCV has no l1_ratio_
        return self
