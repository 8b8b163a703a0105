"""``LinearRegression``: the scikit-learn face of linearlab.

``fit`` validates, then dispatches: exact solvers (:mod:`linearlab.exact`) or gradient descent
(:mod:`linearlab.descent`). Fitted attributes follow scikit-learn's ``LinearRegression``.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, _check_n_features, check_is_fitted

from .data.validation import check_sample_weight, check_X, check_y
from .descent import fit as training
from .descent import torch_backend
from .descent.losses import LOSSES
from .descent.optimizers import OPTIMIZERS
from .errors import (
    ConditioningWarning,
    ConvergenceWarning,
    DataError,
    NotFittedError,
)
from .exact import solvers as exact
from .gram import Gram

ILL_CONDITIONED = 1e10


class LinearRegression(RegressorMixin, BaseEstimator):
    """Linear regression solved exactly or trained by gradient descent.

    Parameters
    ----------
    solver : {"auto", "normal", "qr", "svd", "gd"}, default="auto"
        Exact solvers: ``"normal"`` (Cholesky on the Gram matrix, one pass over the data),
        ``"qr"``, ``"svd"`` (minimum-norm for rank-deficient data) or ``"auto"`` (normal equations
        when safe, else QR/SVD). ``"gd"`` trains by gradient descent.
    backend : {"numpy", "torch"}, default="numpy"
        Engine for ``solver="gd"``: the from-scratch NumPy engine or PyTorch.
    fit_intercept : bool, default=True
        Whether to fit an intercept (handled by centring, never by adding a column of ones).
    alpha : float, default=0.0
        L2 penalty on the coefficients (ridge), as scikit-learn's ``Ridge(alpha)``.
    loss : {"mse", "sse", "mae", "huber"}, default="mse"
        Training loss for ``solver="gd"`` (``"sse"`` is ``MSELoss(reduction="sum")``). Exact
        solvers always minimise squared error.
    optimizer : {"sgd", "momentum", "nesterov", "adam"}, default="sgd"
        Update rule for ``solver="gd"``, with torch.optim's formulas (momentum 0.9).
    lr : float or "auto", default="auto"
        Step size; ``"auto"`` derives a stable one from the largest curvature of the loss.
    epochs : int, default=1000
        Maximum number of passes over the data.
    batch_size : int or None, default=None
        None trains on the full batch; an int trains on mini-batches of that many rows.
    shuffle : bool, default=True
        Reshuffle mini-batches every epoch (else take them in order, as seed 001 does).
    tol : float or None, default=None
        Stop when an epoch improves the loss by less than ``tol``.
    init : {"zeros", "uniform", "normal"} or (coef, intercept), default="zeros"
        Starting parameters; ``"uniform"`` is ``nn.Linear``'s default initialisation.
    standardize : bool, default=False
        Train on standardized features and report coefficients on the original scale (GD only;
        with ``alpha`` the penalty then applies to the standardized coefficients).
    dtype : {"float64", "float32"}, default="float64"
        Precision of gradient-descent training.
    device : str, default="cpu"
        Torch device for ``backend="torch"``.
    random_state : int, RandomState or None, default=None
        Seeds the initial values and the batch order.
    log_every : int, default=0
        When > 0, print epoch, loss and parameters every ``log_every`` epochs.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Set when X has string column names (DataFrame).
    solver_ : str
        The solver that produced the coefficients ("normal", "qr", "svd" or "gd").
    rank_ : int
        Numerical rank of the centred design (exact solvers).
    condition_number_ : float
        Condition number of the centred, column-scaled design (exact solvers).
    history_ : list of float
        Training loss per epoch (``solver="gd"``).
    params_history_ : ndarray of shape (n_iter_ + 1, n_features + 1, n_targets) or None
        Parameters after every epoch (``[coef; intercept]``), the first row the start (GD).
    n_iter_ : int
        Epochs run (GD) or 1 (exact).
    converged_ : bool
        Whether GD met its stopping rule or reached the exact optimum (always True for exact).
    diagnosis_ : str or None
        Why GD is not converged and what to change; None when converged.
    learning_rate_ : float
        The step size used (GD), after resolving ``lr="auto"``.
    """

    _parameter_constraints: dict = {
        "solver": [StrOptions({"auto", "normal", "qr", "svd", "gd"})],
        "backend": [StrOptions({"numpy", "torch"})],
        "fit_intercept": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions(set(LOSSES))],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "lr": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "init": [StrOptions({"zeros", "uniform", "normal"}), tuple, list],
        "standardize": ["boolean"],
        "dtype": [StrOptions({"float64", "float32"})],
        "device": [str],
        "random_state": ["random_state"],
        "log_every": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        solver: str = "auto",
        backend: str = "numpy",
        fit_intercept: bool = True,
        alpha: float = 0.0,
        loss: str = "mse",
        optimizer: str = "sgd",
        lr: float | str = "auto",
        epochs: int = 1000,
        batch_size: int | None = None,
        shuffle: bool = True,
        tol: float | None = None,
        init: Any = "zeros",
        standardize: bool = False,
        dtype: str = "float64",
        device: str = "cpu",
        random_state: Any = None,
        log_every: int = 0,
    ):
        self.solver = solver
        self.backend = backend
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.tol = tol
        self.init = init
        self.standardize = standardize
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.log_every = log_every

    # ------------------------------------------------------------------ scikit-learn protocol
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # ------------------------------------------------------------------ validation
    def _validate_X_y(self, X, y, sample_weight, reset: bool):
        _check_feature_names(self, X, reset=reset)
        if y is None:
            raise DataError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        Xa = check_X(X, dtype="float64")
        ya = check_y(y, Xa.shape[0], dtype="float64")
        _check_n_features(self, Xa, reset=reset)
        w = check_sample_weight(sample_weight, Xa.shape[0], Xa.dtype)
        return Xa, ya, w

    def _feature_labels(self) -> list[str] | None:
        """Column names for messages: from a DataFrame, else ``feature_names_`` (which the
        command line sets for the unnamed arrays it fits), else None."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = getattr(self, "feature_names_", None)
            if names is not None and len(names) != getattr(self, "n_features_in_", -1):
                names = None
        return None if names is None else [str(n) for n in names]

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None) -> LinearRegression:
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features: list, ndarray, DataFrame or torch tensor.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (weighted least squares).

        Returns
        -------
        self
        """
        # Declared constraints, checked directly: scikit-learn's _fit_context wrapper would add
        # a configuration context costing more than a small gradient-descent run itself.
        self._validate_params()
        Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset=True)
        Y = ya.reshape(-1, 1) if ya.ndim == 1 else ya
        self._y_ndim = ya.ndim
        self._gram = None
        self._solution = None  # the exact solver's result, kept for summary()
        self._log_weight_sum = _log_weight_sum(w)  # Σ log w: the WLS log-likelihood needs it
        self._weighted = w is not None
        self._target_names = _target_names(y, Y.shape[1])
        if self.solver == "gd":
            coef, intercept = self._fit_descent(Xa, Y, w, warm_start=None, partial=False)
        else:
            coef, intercept = self._fit_exact(Xa, Y, w)
        self._set_coefficients(coef, intercept)
        self._stats_gram = self._gram  # the statistics summary() may trust its weights with
        return self

    def _set_coefficients(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        """Store (d, k) coefficients and (k,) intercepts with scikit-learn's shapes."""
        coef = np.asarray(coef, dtype=np.float64)
        intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
        if self._y_ndim == 1:
            self.coef_ = coef[:, 0].copy()
            self.intercept_ = float(intercept[0]) if self.fit_intercept else 0.0
        else:
            self.coef_ = coef.T.copy()
            self.intercept_ = intercept.copy() if self.fit_intercept else np.zeros(coef.shape[1])

    def _fit_exact(self, X, Y, w):
        # every exact solver keeps the Gram statistics: summary() reads its statistics from them
        self._gram = Gram.from_arrays(X, Y, w)
        solution = exact.solve(
            self.solver, X, Y, w, alpha=self.alpha, fit_intercept=self.fit_intercept,
            gram=self._gram,
        )
        self._solution = solution
        self.solver_ = solution.solver
        self.rank_ = solution.rank
        self.condition_number_ = solution.condition_number
        self.singular_ = solution.singular_values
        self.aliased_ = solution.aliased
        self.n_iter_ = 1
        self.converged_ = True
        self.diagnosis_ = None
        self.history_ = []
        self.params_history_ = None
        self._warn_about_conditioning(solution, X.shape)
        return solution.coef, solution.intercept

    def _warn_about_conditioning(self, solution, shape) -> None:
        names = self._feature_labels()
        if solution.rank < shape[1] and not self.alpha:
            cols = solution.aliased or []
            named = ", ".join(repr(names[j]) if names else str(j) for j in cols)
            where = f" Columns involved: {named}." if named else ""
            warnings.warn(
                f"X is rank-deficient: rank {solution.rank} < {shape[1]} features (constant, "
                f"duplicate or linearly dependent columns, or fewer rows than features).{where} "
                "The minimum-norm solution is returned; drop redundant columns or set alpha > 0 "
                "for a unique answer.",
                ConditioningWarning,
                stacklevel=4,
            )
        elif max(  # with alpha > 0 the penalty, not the raw design, sets the conditioning
            solution.condition_number,
            0.0 if self.alpha else _nan_to_zero(solution.raw_condition_number),
        ) > ILL_CONDITIONED:
            raw = solution.raw_condition_number
            warnings.warn(
                f"X is ill-conditioned: condition number {raw:.3g} of the design with its "
                f"constant, as statsmodels reports it ({solution.condition_number:.3g} after "
                "centring and scaling the columns); coefficients may be sensitive to small "
                "changes in the data. Consider centring or rescaling the features, removing "
                "nearly collinear columns, or setting alpha > 0.",
                ConditioningWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------------ gradient descent
    def _fit_descent(self, X, Y, w, warm_start, partial):
        fit = training.fit_descent(
            self, X, Y, w, warm_start=warm_start, partial=partial,
            feature_names=self._feature_labels(),
        )
        self._gram = fit.gram
        self.solver_ = "gd"
        self.learning_rate_ = fit.learning_rate
        self.history_ = fit.history
        self.params_history_ = fit.params_history
        self.n_iter_ = fit.n_iter
        self.converged_ = fit.diagnosis.converged
        self.diagnosis_ = fit.diagnosis.message
        if fit.optimum is not None:
            self.optimum_ = fit.optimum
        if fit.diagnosis.message and not partial:  # partial_fit runs one epoch a call
            warnings.warn(fit.diagnosis.message, ConvergenceWarning, stacklevel=3)
        return fit.coef, fit.intercept

    def partial_fit(self, X, y, sample_weight=None) -> LinearRegression:
        """Update the model with one more chunk of rows.

        Exact solvers merge the chunk's sufficient statistics into those seen so far and
        re-solve, so a table fed in chunks gives the same coefficients as one ``fit``. With
        ``solver="gd"`` one epoch of descent runs over the chunk from the current parameters.
        """
        first = not hasattr(self, "coef_")
        if first:
            self._validate_params()
        Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset=first)
        Y = ya.reshape(-1, 1) if ya.ndim == 1 else ya
        if first:
            self._y_ndim = ya.ndim
            self._log_weight_sum, self._solution, self._weighted = 0.0, None, False
            self._target_names = _target_names(y, Y.shape[1])
        elif Y.shape[1] != self._n_targets():
            raise DataError(
                f"y has {Y.shape[1]} target(s) but the model was fitted with {self._n_targets()}."
            )
        self._log_weight_sum = getattr(self, "_log_weight_sum", 0.0) + _log_weight_sum(w)
        self._weighted = getattr(self, "_weighted", False) or w is not None
        if self.solver == "gd":
            start = None if first else self._current_parameters()
            coef, intercept = self._fit_descent(Xa, Y, w, warm_start=start, partial=True)
        else:
            chunk = Gram.from_arrays(Xa, Y, w)
            self._gram = chunk if first or self._gram is None else self._gram.merge(chunk)
            solution = exact.solve_auto(  # summary() computes the raw condition lazily
                None, None, alpha=self.alpha, fit_intercept=self.fit_intercept, gram=self._gram
            )
            self._solution = solution
            self.solver_, self.rank_ = solution.solver, solution.rank
            self.condition_number_ = solution.condition_number
            self.n_iter_, self.converged_, self.diagnosis_ = 1, True, None
            self.history_, self.params_history_ = [], None
            coef, intercept = solution.coef, solution.intercept
        self._set_coefficients(coef, intercept)
        self._stats_gram = self._gram  # the statistics summary() may trust its weights with
        return self

    def _n_targets(self) -> int:
        return 1 if np.ndim(self.coef_) == 1 else self.coef_.shape[0]

    def _current_parameters(self):
        coef = np.asarray(self.coef_, dtype=np.float64)
        W = coef.reshape(-1, 1) if coef.ndim == 1 else coef.T
        b = np.atleast_1d(np.asarray(self.intercept_, dtype=np.float64)).copy()
        return W.copy(), b

    # ------------------------------------------------------------------ statistics
    def summary(self, cov_type: str = "nonrobust", X=None, y=None, sample_weight=None):
        """Statistical summary of the fit, with statsmodels' names and values.

        Non-robust statistics come from the statistics kept at fit time (the Gram matrix, or
        the refined factorisation for ill-conditioned data), so models fitted by
        ``partial_fit`` or gradient descent have them too. Robust covariances need every
        row's residual: pass the training data ``X, y`` (and ``sample_weight``); the model does
        not keep a copy of it.

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}, default="nonrobust"
        X, y, sample_weight : array-like, optional
            The training data; required for ``cov_type="HC0".."HC3"``. When given, the
            residual sum of squares is computed from the residuals themselves.

        Returns
        -------
        RegressionSummary, or MultiSummary (one per target, indexable by position or name)
            ``params`` (intercept first), ``bse``, ``tvalues``, ``pvalues``, ``conf_int()``,
            ``rsquared``, ``rsquared_adj``, ``fvalue``, ``f_pvalue``, ``llf``, ``aic``,
            ``bic``, ``df_model``, ``df_resid``, ``ssr``, ``scale``, ``condition_number``,
            ``predict(X, interval=...)``, ``to_dict()``; ``str()`` is the table.
        """
        from .stats import FitRecord, summarize

        self._check_fitted()
        data = None
        if X is not None or y is not None:
            if X is None or y is None:
                raise DataError("summary() needs both X and y (the training data), or neither.")
            Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset=False)
            data = (Xa, ya.reshape(-1, 1) if ya.ndim == 1 else ya, w)
        gram = getattr(self, "_gram", None)
        if gram is None:
            raise NotFittedError(
                "summary() needs the statistics of the training data, which a model loaded "
                "from a file does not have; refit it with fit() or partial_fit()."
            )
        weighted = getattr(self, "_weighted", False)
        log_weight_sum = getattr(self, "_log_weight_sum", 0.0)
        if gram is not getattr(self, "_stats_gram", None):  # statistics supplied from outside
            weighted = not np.isclose(gram.weight_sum, gram.count, rtol=1e-12)
            log_weight_sum = np.nan if weighted else 0.0  # unknown weights: no likelihood
        solution = getattr(self, "_solution", None)
        coef = np.asarray(self.coef_, dtype=np.float64)
        coef = coef.reshape(-1, 1) if coef.ndim == 1 else coef.T
        intercept = np.atleast_1d(np.asarray(self.intercept_, dtype=np.float64))
        exact_fit = solution is not None and self.solver_ != "gd"
        record = FitRecord(
            coef=coef,
            intercept=intercept,
            fit_intercept=self.fit_intercept,
            gram=gram,
            solver=self.solver_,
            feature_names=self._feature_labels()
            or [f"x{j + 1}" for j in range(self.n_features_in_)],
            target_names=list(
                getattr(self, "target_names_", None) or getattr(self, "_target_names", ["y"])
            ),
            alpha=self.alpha,
            weighted=weighted,
            log_weight_sum=log_weight_sum,
            rank_deficient=exact_fit and solution.rank < self.n_features_in_,
            cov_unscaled=solution.cov_unscaled if exact_fit else None,
            ssr=solution.ssr if exact_fit else None,
            condition_number=(
                solution.raw_condition_number
                if exact_fit and not np.isnan(solution.raw_condition_number)
                else exact.raw_condition_number(gram, self.fit_intercept)
            ),
            multi_output=self._y_ndim == 2,
        )
        return summarize(record, cov_type, data)

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "coef_")
        except Exception:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            ) from None

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape (n_samples,) or (n_samples, n_targets)."""
        self._check_fitted()
        _check_feature_names(self, X, reset=False)
        Xa = check_X(X, dtype="float64")
        _check_n_features(self, Xa, reset=False)
        coef = np.asarray(self.coef_)
        return Xa @ coef.T + self.intercept_

    def save(self, path) -> None:
        """Write the fitted model to ``path`` as JSON (``linearlab.model/1``), atomically.

        Reload it with :func:`linearlab.load`; predictions are bit-for-bit the same.
        """
        from .persist import save  # persist builds on the estimator, so import it lazily

        save(self, path)

    # ------------------------------------------------------------------ figures
    def plot(self, X=None, y=None, *, kind: str = "fit", **kwargs):
        """Draw a figure of the fitted model with :mod:`linearlab.viz` (needs matplotlib).

        Parameters
        ----------
        X, y : array-like
            The data; every kind but ``"history"`` needs them.
        kind : {"fit", "residuals", "history", "loss-curve", "landscape"}, default="fit"
            The fitted line (or predicted vs actual), residual diagnostics, the loss per
            epoch, the loss along one parameter with the GD iterates, or loss contours over
            (w, b) with the recorded path.
        **kwargs
            Passed to the ``linearlab.viz`` function drawing that kind.

        Returns
        -------
        matplotlib.figure.Figure
        """
        self._check_fitted()
        from .viz import plot  # viz sits above the estimator and needs matplotlib: import lazily

        return plot(self, kind, X, y, **kwargs)

    def animate(self, path, X, y, **kwargs):
        """Write a GIF of gradient descent (line over the data beside the loss landscape).

        Draws the recorded ``params_history_`` (``solver="gd"``); ``frames=N`` or ``every=k``
        choose the epochs shown. See :func:`linearlab.viz.animate_training`.

        Returns
        -------
        pathlib.Path
            The GIF written.
        """
        self._check_fitted()
        from .viz import animate_training

        return animate_training(self, X, y, path, **kwargs)

    # ------------------------------------------------------------------ PyTorch interop
    def to_torch(self, dtype: str | None = None, device: str | None = None):
        """An ``nn.Linear(n_features, n_targets)`` holding the fitted parameters.

        ``dtype`` and ``device`` default to the estimator's ``dtype`` and ``device``.
        """
        self._check_fitted()
        W, b = self._current_parameters()
        return torch_backend.to_linear(
            W, b, self.fit_intercept, dtype or self.dtype, device or self.device
        )

    @classmethod
    def from_torch(cls, linear) -> LinearRegression:
        """A fitted estimator from an ``nn.Linear`` (or a module wrapping exactly one).

        ``out_features == 1`` gives 1-D ``coef_`` like a single-target fit; more outputs give
        ``coef_`` of shape (n_targets, n_features). The estimator is set up as
        ``solver="gd", backend="torch"``, so ``partial_fit`` continues training from it.
        """
        params = torch_backend.from_linear(linear)
        model = cls(
            solver="gd", backend="torch", fit_intercept=params["fit_intercept"],
            dtype=params["dtype"], device=params["device"],
        )
        model._y_ndim = 1 if params["coef"].shape[1] == 1 else 2
        model.n_features_in_ = params["coef"].shape[0]
        model._set_coefficients(params["coef"], params["intercept"])
        model.solver_, model.n_iter_, model.converged_, model.diagnosis_ = "external", 0, True, None
        model.history_, model.params_history_ = [], None
        return model


def _nan_to_zero(value: float) -> float:
    return 0.0 if np.isnan(value) else value


def _log_weight_sum(w: np.ndarray | None) -> float:
    if w is None:
        return 0.0
    with np.errstate(divide="ignore"):
        return float(np.log(w).sum())


def _target_names(y, n_targets: int) -> list[str]:
    """Names of the targets: a Series' name, DataFrame columns, else "y" or "y1".."yk"."""
    columns = getattr(y, "columns", None)
    if columns is not None and len(columns) == n_targets:
        return [str(c) for c in columns]
    name = getattr(y, "name", None)
    if n_targets == 1:
        return [str(name)] if isinstance(name, str) else ["y"]
    return [f"y{t + 1}" for t in range(n_targets)]

