"""``ElasticNet`` and ``Lasso``: scikit-learn's objectives, solved on the Gram matrix.

``fit`` makes one pass over the rows (the Gram statistics), then coordinate descent runs on the
(d × d) statistics alone. ``partial_fit`` merges a chunk's statistics and re-solves, warm-started.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_random_state

from linearlab.data.lazy import is_dask
from linearlab.errors import ConvergenceWarning, DataError
from linearlab.exact.gram import Gram
from linearlab.penalized.base import PenalizedBase
from linearlab.penalized.inputs import INPUT_CONSTRAINTS, scaled_statistics
from linearlab.penalized.path import alpha_grid, enet_path, gram_path
from linearlab.sparse import GRAM_MAX_FEATURES, is_sparse


class ElasticNet(PenalizedBase):
    """Linear regression with combined L1 and L2 penalties (scikit-learn's ``ElasticNet``).

    Minimises ``1/(2·Σw) · Σ wᵢ(yᵢ − xᵢᵀβ − b)² + α·ρ·‖β‖₁ + ½·α·(1 − ρ)·‖β‖²`` (ρ =
    ``l1_ratio``) by coordinate descent on the Gram matrix, so the data are read once.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength.
    l1_ratio : float, default=0.5
        Mix between L1 (1) and L2 (0).
    fit_intercept : bool, default=True
    precompute : bool, "auto" or array-like, default=False
        Accepted for compatibility; linearlab always uses the Gram matrix.
    max_iter : int, default=1000
        Most coordinate-descent sweeps.
    copy_X : bool, default=True
        Accepted for compatibility; X is never modified.
    tol : float, default=1e-4
        Stop when the duality gap is at most ``tol · ‖y − ȳ‖²/Σw`` (scikit-learn's rule).
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    positive : bool, default=False
        Constrain coefficients to be non-negative.
    random_state : int, RandomState or None, default=None
        Seeds the coordinate order when ``selection="random"``.
    selection : {"cyclic", "random"}, default="cyclic"
    missing : {"error", "drop"}, default="error"
        Rows with a missing value (NaN, None): an error, or dropped (``n_dropped_``), as
        ``LinearRegression(missing=...)``; text and ``category`` columns of X are one-hot
        encoded as ``LinearRegression`` encodes them (``design_``).
    standardize : bool, default=False
        Penalize the coefficients of standardized columns (mean 0, standard deviation 1;
        without an intercept, root mean square 1) and report them on the original scale, as
        glmnet does.
    solver : {"cd", "gd"}, default="cd"
        ``"cd"``: coordinate descent on the Gram (exact to ``tol``). ``"gd"``: gradient
        descent with proximal steps for the L1 term (FISTA, step 1/L) on the shared epoch
        driver, ``max_iter`` epochs; it records ``history_`` and is diagnosed against the
        penalized optimum (:mod:`linearlab.penalized.proximal`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    dual_gap_ : float or ndarray of shape (n_targets,)
        Duality gap reached, per unit weight.
    n_iter_ : int or list of int
        Coordinate-descent sweeps per target.
    n_features_in_, feature_names_in_
    history_, params_history_, converged_, diagnosis_, optimum_, learning_rate_
        With ``solver="gd"``: the objective per epoch, the parameters per epoch, whether the
        duality gap reached ``tol``, why not, the exact optimum (d,) or (k, d), the step size.
    history_stride_ : int
        With ``solver="gd"``: past 100,000 epochs the history is thinned, ``history_[i]`` is
        then the objective of epoch ``i * history_stride_`` (``history_[-1]`` the last epoch's),
        as for :class:`~linearlab.LinearRegression`; 1 when every epoch is kept.
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "precompute": ["boolean", StrOptions({"auto"}), "array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "copy_X": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "positive": ["boolean"],
        "random_state": ["random_state"],
        "selection": [StrOptions({"cyclic", "random"})],
        "solver": [StrOptions({"cd", "gd"})],
        **INPUT_CONSTRAINTS,
    }

    def __init__(
        self, alpha: float = 1.0, *, l1_ratio: float = 0.5, fit_intercept: bool = True,
        precompute=False, max_iter: int = 1000, copy_X: bool = True, tol: float = 1e-4,
        warm_start: bool = False, positive: bool = False, random_state=None,
        selection: str = "cyclic", solver: str = "cd", missing: str = "error",
        standardize: bool = False,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.solver = solver
        self.missing = missing
        self.standardize = standardize

    path = staticmethod(enet_path)

    def fit(self, X, y, sample_weight=None) -> ElasticNet:
        """Fit by coordinate descent on the Gram matrix of ``X`` (one pass over the rows).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Several targets are fitted independently, as scikit-learn's ``ElasticNet``.
        sample_weight : array-like of shape (n_samples,), default=None
            The squared errors are averaged with these weights (their scale does not matter).

        Returns
        -------
        self
        """
        if is_dask(X, y, sample_weight):  # statistics computed on the cluster
            from linearlab.penalized.dask import fit as fit_dask

            return fit_dask(self, X, y, sample_weight)
        self._validate_params()
        if self.alpha == 0:
            warnings.warn(
                "With alpha=0 the penalty vanishes: LinearRegression solves that problem "
                "exactly and faster.", UserWarning, stacklevel=2,
            )
        start = self._current_coef() if self.warm_start else None
        self._sparse_wide = is_sparse(X) and X.shape[1] > GRAM_MAX_FEATURES
        if self._sparse_wide:  # coordinate descent over the sparse columns (no d×d Gram)
            return self._fit_sparse_columns(X, y, sample_weight, start)
        gram, self._y_ndim = self._gram_of(X, y, sample_weight, reset=True)
        if start is not None and start.shape != (gram.n_targets, gram.n_features):
            start = None
        self._gram = gram
        return self._solve(start)

    def partial_fit(self, X, y, sample_weight=None) -> ElasticNet:
        """Merge one more chunk of rows into the statistics and re-solve (warm-started).

        A table fed in chunks gives the same coefficients as one ``fit`` on all of it
        (``standardize=True`` needs the whole table: use ``fit``).
        """
        first = not hasattr(self, "coef_") or getattr(self, "_gram", None) is None
        if first:
            self._validate_params()
        chunk, ndim = self._gram_of(X, y, sample_weight, reset=first)
        if first:
            self._y_ndim, self._gram = ndim, chunk
            return self._solve(None)
        if chunk.n_targets != self._gram.n_targets:
            raise DataError(
                f"y has {chunk.n_targets} target(s) but the model was fitted with "
                f"{self._gram.n_targets}; pass the same target columns in every chunk."
            )
        self._gram = self._gram.merge(chunk)
        return self._solve(self._current_coef())

    def fit_gram(self, gram: Gram, *, y_ndim: int = 1) -> ElasticNet:
        """Fit from Gram statistics gathered elsewhere (a streamed file, Dask partitions).

        ``n_features_in_`` is set from the statistics; feature names are not known. With
        ``standardize=True`` the statistics are standardized here.
        """
        self._validate_params()
        self._y_ndim = 1 if y_ndim == 1 and gram.n_targets == 1 else 2
        self.n_features_in_ = gram.n_features
        self.design_, self.n_dropped_ = None, 0
        self._gram, self._scaling = scaled_statistics(self, gram)
        return self._solve(None)

    def _solve(self, start: np.ndarray | None) -> ElasticNet:
        if self.solver == "gd":
            return self._solve_proximal(start)
        rng = check_random_state(self.random_state) if self.selection == "random" else None
        coefs, intercepts, gaps, n_iters = gram_path(
            self._gram, np.array([float(self.alpha)]), l1_ratio=float(self.l1_ratio),
            fit_intercept=self.fit_intercept, positive=self.positive, tol=self.tol,
            max_iter=self.max_iter, coef_init=start, rng=rng,
        )
        if not np.all(np.isfinite(coefs)):
            raise DataError(
                "Coordinate descent produced non-finite coefficients: the data hold values "
                "too large for float64 arithmetic; rescale the columns."
            )
        self._set_coefficients(coefs[:, :, 0], intercepts[:, 0])
        gaps, n_iters = gaps[:, 0], n_iters[:, 0]
        self.dual_gap_ = float(gaps[0]) if self._y_ndim == 1 else gaps
        self.n_iter_ = int(n_iters[0]) if self._y_ndim == 1 else [int(i) for i in n_iters]
        _, _, YtY = self._gram.cross_products(self.fit_intercept)
        limit = self.tol * np.diag(YtY) / self._gram.weight_sum
        if np.any(gaps > limit):  # (tol=0 never converges: max_iter reached)
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} sweeps: "
                f"duality gap {float(np.max(gaps)):.3e} > tolerance {float(np.max(limit)):.3e}. "
                "Increase max_iter, loosen tol, or rescale strongly correlated features.",
                ConvergenceWarning, stacklevel=3,
            )
        return self


    def _fit_sparse_columns(self, X, y, sample_weight, start) -> ElasticNet:
        from linearlab.sparse.cd import enet_sparse
        from linearlab.sparse.checks import refuse_option

        if self.solver == "gd":
            refuse_option(type(self).__name__, "solver='gd'", f"X has {X.shape[1]} columns, "
                          "too many for the d×d statistics the proximal steps use",
                          "Use solver='cd' (coordinate descent over the sparse columns).")
        Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset=True)
        self._y_ndim, self._gram = ya.ndim, None
        rng = check_random_state(self.random_state) if self.selection == "random" else None
        if start is not None and start.shape != (1 if ya.ndim == 1 else ya.shape[1], X.shape[1]):
            start = None
        fit = enet_sparse(Xa, ya, w, alpha=float(self.alpha), l1_ratio=float(self.l1_ratio),
                          fit_intercept=self.fit_intercept, positive=self.positive,
                          tol=self.tol, max_iter=self.max_iter, coef_init=start, rng=rng)
        self._set_coefficients(fit.coef, fit.intercept)
        self.dual_gap_ = float(fit.gap[0]) if self._y_ndim == 1 else fit.gap
        self.n_iter_ = int(fit.n_iter[0]) if self._y_ndim == 1 else fit.n_iter.tolist()
        if np.any(fit.gap > fit.limit):
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} sweeps: "
                f"duality gap {float(np.max(fit.gap)):.3e} > tolerance "
                f"{float(np.max(fit.limit)):.3e}. Increase max_iter or loosen tol.",
                ConvergenceWarning, stacklevel=3,
            )
        return self

    def regularization_path(self, n_alphas: int = 100):
        """``(alphas, coefs (k, d, n_alphas), chosen alpha)`` around the fitted alpha.

        Recomputed from the training statistics the model keeps (also in its model file).
        """
        gram = self._path_statistics()
        alpha = float(self.alpha)
        grid = alpha_grid(gram, l1_ratio=float(self.l1_ratio), n_alphas=n_alphas,
                          fit_intercept=self.fit_intercept, positive=self.positive)
        if alpha > 0:
            grid = np.geomspace(max(grid[0], alpha * 1.5), min(grid[-1], alpha / 10), n_alphas)
        coefs, _, _, _ = gram_path(gram, grid, l1_ratio=float(self.l1_ratio),
                                   fit_intercept=self.fit_intercept, positive=self.positive,
                                   tol=min(self.tol, 1e-6), max_iter=max(self.max_iter, 1000))
        return grid, coefs, alpha

    def _solve_proximal(self, start: np.ndarray | None) -> ElasticNet:
        from linearlab.penalized.proximal import fista

        fit = fista(
            self._gram, alpha=float(self.alpha), l1_ratio=float(self.l1_ratio),
            fit_intercept=self.fit_intercept, positive=self.positive, epochs=self.max_iter,
            tol=self.tol, coef_init=None if start is None else start.T,
            feature_names=self._feature_labels(),
        )
        self._set_coefficients(fit.coef.T, fit.intercept)
        self.history_, self.params_history_ = fit.history, fit.params_history
        self.history_stride_ = fit.history_stride
        self.n_iter_ = fit.n_iter
        self.learning_rate_ = fit.learning_rate
        self.optimum_ = fit.optimum[:, 0] if self._y_ndim == 1 else fit.optimum.T
        self.converged_, self.diagnosis_ = fit.diagnosis.converged, fit.diagnosis.message
        self.dual_gap_ = None
        if self.diagnosis_:
            warnings.warn(self.diagnosis_, ConvergenceWarning, stacklevel=3)
        return self


class Lasso(ElasticNet):
    """Linear regression with an L1 penalty (scikit-learn's ``Lasso``).

    Minimises ``1/(2·Σw) · Σ wᵢ(yᵢ − xᵢᵀβ − b)² + α·‖β‖₁``; see :class:`ElasticNet` for the
    parameters (``l1_ratio`` is fixed at 1).
    """

    _parameter_constraints: dict = {
        k: v for k, v in ElasticNet._parameter_constraints.items() if k != "l1_ratio"
    }

    def __init__(
        self, alpha: float = 1.0, *, fit_intercept: bool = True, precompute=False,
        copy_X: bool = True, max_iter: int = 1000, tol: float = 1e-4, warm_start: bool = False,
        positive: bool = False, random_state=None, selection: str = "cyclic",
        solver: str = "cd", missing: str = "error", standardize: bool = False,
    ):
        super().__init__(
            alpha=alpha, l1_ratio=1.0, fit_intercept=fit_intercept, precompute=precompute,
            copy_X=copy_X, max_iter=max_iter, tol=tol, warm_start=warm_start,
            positive=positive, random_state=random_state, selection=selection, solver=solver,
            missing=missing, standardize=standardize,
        )
