"""``LinearModel``: linear regression without scikit-learn, the core of ``LinearRegression``.

``fit`` validates, then dispatches: exact solvers (:mod:`linearlab.exact`) or gradient descent
(:mod:`linearlab.descent`). Fitted attributes follow scikit-learn's ``LinearRegression``. The
public :class:`~linearlab.LinearRegression` (:mod:`linearlab.models.estimator`) adds
scikit-learn's ``BaseEstimator`` and ``RegressorMixin``; the command line uses this class, so
that a fit never imports scikit-learn (most of a second).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from linearlab import errors
from linearlab.data.lazy import is_dask
from linearlab.data.missing import expand_rows
from linearlab.data.tensors import is_tensor, keeps_tensors, validate_tensors
from linearlab.design.table import DesignMixin, validate_input, validate_predict_input
from linearlab.errors import ConditioningWarning, DataError
from linearlab.exact import solvers as exact
from linearlab.exact.conditioning import conditioning_message
from linearlab.exact.gram import Gram, require_finite
from linearlab.models.linear_extras import EstimatorExtras
from linearlab.models.linear_params import PARAMETER_CONSTRAINTS
from linearlab.models.params import ParamsMixin
from linearlab.sparse import is_sparse
from linearlab.state.fitted import (
    FittedState,
    FittedStateMixin,
    exact_record,
    log_weight_sum,
    require_fitted,
    target_names,
)


class LinearModel(EstimatorExtras, FittedStateMixin, DesignMixin, ParamsMixin):
    """:class:`~linearlab.LinearRegression` without scikit-learn: every parameter, method and
    fitted attribute (see its docstring), with :class:`~linearlab.models.params.ParamsMixin`'s
    ``get_params``/``set_params``. What the command line fits, predicts and evaluates with, so
    that ``linearlab fit`` never imports scikit-learn; model files are the same whichever class
    wrote them, and load into either. Messages name it ``LinearRegression``.
    """

    display_name = "LinearRegression"  # in messages (data.features.estimator_name)
    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

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
        engine: str = "auto",
        callback: Any = None,
        lr_schedule: str = "auto",
        average: Any = "auto",
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        missing: str = "error",
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
        self.engine = engine
        self.callback = callback
        self.lr_schedule = lr_schedule
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.missing = missing

    # ------------------------------------------------------------------ validation
    def _validate_X_y(self, X, y, sample_weight, reset: bool):
        # missing values, then the design (formula, categorical columns), then validation
        return validate_input(self, X, y, sample_weight, reset)[:3]

    def _feature_labels(self) -> list[str] | None:
        """Column names for messages: from a DataFrame, else the ``feature_names`` given to
        ``fit`` (unnamed arrays), else ``feature_names_``, else None."""
        design = getattr(self, "design_", None)
        if design is not None and hasattr(self, "coef_"):
            return list(design.names)  # the design's columns: one per coefficient
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = getattr(self, "_given_names", None) or getattr(self, "feature_names_", None)
            if names is not None and len(names) != getattr(self, "n_features_in_", -1):
                names = None
        return None if names is None else [str(n) for n in names]

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None, *,
            feature_names: list[str] | None = None) -> LinearModel:
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features: list, ndarray, DataFrame or torch tensor. Text and ``category`` columns
            are one-hot encoded (``col[T.level]``, the first level the reference); rows with
            missing values follow ``missing``. A Dask array or DataFrame is fitted on its
            cluster, partition by partition (``linearlab[dask]``; see ``docs/scaling.md``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            None only for a :meth:`from_formula` model: it refits its formula on ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (weighted least squares).
        feature_names : list of str, default=None
            Names of the columns of an unnamed X (an array; a DataFrame names its own): they
            name the columns in messages, the text columns' indicators and ``feature_names_``.

        Returns
        -------
        self
        """
        self._given_names = None if feature_names is None else [str(n) for n in feature_names]
        # Declared constraints, checked directly: scikit-learn's _fit_context wrapper would add
        # a configuration context costing more than a small gradient-descent run itself.
        if is_dask(X, y, sample_weight):  # fitted on the cluster: linearlab.distributed
            from linearlab.distributed.fitting import fit as fit_dask

            return fit_dask(self, X, y, sample_weight)
        self._validate_params()
        if is_sparse(X):  # kept sparse, never densified (linearlab.sparse)
            from linearlab.sparse.fit import sparse_input

            Xa, ya, w, prepared = sparse_input(self, X, y, sample_weight)
        elif keeps_tensors(self, X):  # torch tensors are checked and used on their device
            Xa, ya, w, prepared = validate_tensors(self, X, y, sample_weight, reset=True)
        else:
            # exact solvers: their Gram pass finds NaN, inf or overflow in X (no extra pass)
            Xa, ya, w, prepared = validate_input(
                self, X, y, sample_weight, reset=True, labels=self._given_names,
                defer_x_values=self.solver in exact.SOLVERS)
        Y = ya.reshape(-1, 1) if ya.ndim == 1 else ya
        if self.solver == "gd":
            coef, intercept, gram, record = self._fit_descent(Xa, Y, w, None, partial=False)
            solution = None
        elif is_sparse(Xa) or self.solver == "lsqr":  # the sparse Gram, or LSQR
            from linearlab.sparse.fit import solve as solve_sparse

            solution, gram = solve_sparse(self, Xa, Y, w)
        elif self.backend == "torch":  # one pass over the data on the device, small solve there
            from linearlab.exact import device as device_exact

            solution, gram = device_exact.solve(
                self.solver, Xa, Y, w, alpha=self.alpha, fit_intercept=self.fit_intercept,
                device=self.device, check_x=getattr(prepared, "check_x", None),
            )
        else:
            gram = Gram.from_arrays(Xa, Y, w)  # summary() reads its statistics from it
            require_finite(gram, getattr(prepared, "check_x", None))  # else the located error
            solution = exact.solve(
                self.solver, Xa, Y, w, alpha=self.alpha, fit_intercept=self.fit_intercept,
                gram=gram,
            )
        if self.solver != "gd":
            self._warn_about_conditioning(solution, Xa.shape)
            coef, intercept, record = solution.coef, solution.intercept, exact_record(solution)
        return self.set_fitted_state(FittedState(
            coef=coef, intercept=intercept, single_target=ya.ndim == 1, training=record,
            gram=gram, solution=solution, weighted=w is not None,
            log_weight_sum=log_weight_sum(w), feature_names=self._given_names,
            features_named=False, target_names=target_names(prepared.y, Y.shape[1]),
            design=prepared.design, n_dropped=prepared.n_dropped,
        ))

    def _warn_about_conditioning(self, solution, shape) -> None:
        message = conditioning_message(solution, shape[1], self.alpha, self._feature_labels())
        if message:
            warnings.warn(message, ConditioningWarning, stacklevel=4)

    # ------------------------------------------------------------------ gradient descent
    def _fit_descent(self, X, Y, w, warm_start, partial):
        if self.backend == "torch":  # data, Gram, step size and diagnosis on the device
            from linearlab.descent.torch.fit import fit_descent
        else:
            from linearlab.descent.fit import fit_descent
        labels = self._feature_labels()  # the table's, not a new design's, columns: unused
        fit = fit_descent(
            self, X, Y, w, warm_start=warm_start, partial=partial,
            feature_names=labels if labels is not None and len(labels) == X.shape[1] else None,
        )
        # partial_fit runs one epoch a call; a diagnosis needing a Gram pass waits to be read
        if not partial and fit.ready and fit.diagnosis.message:
            warnings.warn(fit.diagnosis.message, errors.ConvergenceWarning, stacklevel=3)
        return fit.coef, fit.intercept, fit.gram, fit.record()

    def partial_fit(self, X, y=None, sample_weight=None) -> LinearModel:
        """Update the model with one more chunk of rows.

        Exact solvers merge the chunk's sufficient statistics into those seen so far and
        re-solve, so a table fed in chunks gives the same coefficients as one ``fit``. With
        ``solver="gd"`` one epoch of descent runs over the chunk from the current parameters.
        A :meth:`from_formula` model reads the chunk's y by its formula (``y=None``).
        """
        if is_dask(X, y, sample_weight):  # statistics computed on the cluster, merged here
            from linearlab.distributed.fitting import partial_fit as partial_fit_dask

            return partial_fit_dask(self, X, y, sample_weight)
        previous = getattr(self, "fitted_state_", None)
        first = previous is None
        if first:
            self._validate_params()
        if is_sparse(X):  # kept sparse: the chunk's sparse Gram is merged (small d)
            from linearlab.sparse.fit import sparse_input

            Xa, ya, w, prepared = sparse_input(self, X, y, sample_weight, first, partial=True)
        else:
            Xa, ya, w, prepared = validate_input(self, X, y, sample_weight, reset=first)
        Y = ya.reshape(-1, 1) if ya.ndim == 1 else ya
        if not first and Y.shape[1] != previous.n_targets:
            raise DataError(
                f"y has {Y.shape[1]} target(s) but the model was fitted with "
                f"{previous.n_targets}."
            )
        solution = None
        if self.solver == "gd":
            start = None if first else (previous.coef.copy(), previous.intercept.copy())
            coef, intercept, gram, record = self._fit_descent(Xa, Y, w, start, partial=True)
        else:
            if is_sparse(Xa):
                from linearlab.sparse.gram import sparse_gram

                gram = sparse_gram(Xa, Y, w)
            else:
                gram = Gram.from_arrays(Xa, Y, w)
            if not first and previous.gram is not None:
                gram = previous.gram.merge(gram)
            solution = exact.solve_auto(  # summary() computes the raw condition lazily
                None, None, alpha=self.alpha, fit_intercept=self.fit_intercept, gram=gram
            )
            coef, intercept = solution.coef, solution.intercept
            record = exact_record(solution, singular=False)
        return self.set_fitted_state(FittedState(
            coef=coef, intercept=intercept,
            single_target=ya.ndim == 1 if first else previous.single_target,
            training=record, gram=gram, solution=solution,
            weighted=w is not None or (not first and previous.weighted),
            log_weight_sum=log_weight_sum(w) + (0.0 if first else previous.log_weight_sum),
            target_names=target_names(prepared.y, Y.shape[1]) if first
            else previous.target_names,
            design=prepared.design if first else previous.design,
            n_dropped=prepared.n_dropped + (0 if first else previous.n_dropped),
        ))

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        require_fitted(self)

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape (n_samples,) or (n_samples, n_targets).

        A Dask collection gives a lazy Dask array (or a Series/DataFrame keeping the index,
        divisions and target names) computed partition by partition.
        """
        if is_dask(X):
            from linearlab.distributed.fitting import predict as predict_dask

            return predict_dask(self, X)
        self._check_fitted()
        if is_sparse(X):
            from linearlab.sparse.checks import predict as predict_sparse

            return predict_sparse(self, X)
        if is_tensor(X) and getattr(self, "design_", None) is None:
            from linearlab.exact.device import predict as predict_tensor

            return predict_tensor(X, self.coef_, self.intercept_)  # a tensor on X's device
        # a design (formula, categorical columns) applies to X; with missing="drop" rows
        # missing a feature get NaN
        Xa, keep = validate_predict_input(self, X)
        coef = np.asarray(self.coef_)
        return expand_rows(Xa @ coef.T + self.intercept_, keep)

    def score(self, X, y=None, sample_weight=None):
        """R² of the predictions (scikit-learn's ``RegressorMixin.score``).

        On Dask collections it is a lazy 0-d Dask array (``float(...)`` computes it).
        """
        if is_dask(X, y, sample_weight):
            from linearlab.distributed.fitting import score as score_dask

            return score_dask(self, X, y, sample_weight)
        if is_sparse(X):
            from linearlab.sparse.checks import score as score_sparse

            self._check_fitted()
            return score_sparse(self, X, y, sample_weight)
        return super().score(X, y, sample_weight)

    def summary(self, cov_type: str = "nonrobust", X=None, y=None, sample_weight=None):
        """:meth:`EstimatorExtras.summary`; one paragraph instead where LSQR formed no d×d
        covariance (wide sparse X), or for sparse ``X`` with a robust ``cov_type``."""
        from linearlab.sparse.fit import check_summary

        check_summary(self, X)
        return super().summary(cov_type, X, y, sample_weight)
