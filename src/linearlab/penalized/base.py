"""What every penalized estimator shares: validation, fitted state, prediction, files, figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from linearlab.data.features import check_feature_names, check_n_features, declare_inputs
from linearlab.data.validation import (
    check_fit_magnitudes,
    check_sample_weight,
    check_X,
    check_y,
)
from linearlab.errors import DataError, NotFittedError
from linearlab.exact.gram import Gram
from linearlab.penalized.inputs import (
    original_scale,
    predict_table,
    takes_table_step,
    validate_table,
)
from linearlab.sparse import is_sparse
from linearlab.state.fitted import require_fitted


@dataclass
class PenalizedState:
    """A fitted penalized model as a model file describes it (see :mod:`.files`).

    Parameters
    ----------
    coef : ndarray of shape (n_features,) or (n_targets, n_features)
        scikit-learn's ``coef_``; 1-D for a single target.
    intercept : float or ndarray of shape (n_targets,)
    feature_names, target_names : list of str
    features_named : bool
        Whether the names are the training table's (else placeholders ``x0, x1...``).
    fitted : dict
        The fitted penalty (``alpha_``, ``l1_ratio_``, ``alphas_``, ``mse_path_``, ...).
    metrics, training : dict or None
        What the command line recorded (data, rows).
    gram : Gram or None
        The training data's statistics (``summary()`` and paths need them).
    weighted : bool
    log_weight_sum : float
    design : CategoricalDesign or None
        How the table's text columns became indicators; ``feature_names`` are then the
        table's columns and ``design.names`` the coefficients' names.
    n_dropped : int
        Rows dropped for missing values (``missing="drop"``).
    """

    coef: np.ndarray
    intercept: Any
    feature_names: list[str]
    target_names: list[str]
    features_named: bool = True
    fitted: dict[str, Any] | None = None
    metrics: dict | None = None
    training: dict | None = None
    gram: Gram | None = None
    weighted: bool = False
    log_weight_sum: float = 0.0
    design: Any = None
    n_dropped: int = 0


class PenalizedBase(RegressorMixin, BaseEstimator):
    """Shared machinery (not public): subclasses define ``__init__`` and the solve."""

    def __sklearn_tags__(self):
        return declare_inputs(super().__sklearn_tags__())

    # ------------------------------------------------------------------ validation
    def _validate_X_y(self, X, y, sample_weight, reset: bool):
        if takes_table_step(self, X, reset, y):  # text columns, missing values, a formula
            Xa, ya, w, step = validate_table(self, X, y, sample_weight, reset)
            self._scaling = step.scaling  # until the solve's coefficients are scaled back
            if reset:
                self.design_, self.n_dropped_ = step.design, step.n_dropped
                if step.design is not None:
                    self.n_features_in_ = step.n_inputs
            return Xa, ya, w
        self._scaling = None
        if reset:
            self.design_, self.n_dropped_ = None, 0
        if is_sparse(X):  # checked and kept sparse (linearlab.sparse)
            from linearlab.sparse.checks import sparse_inputs

            return sparse_inputs(self, X, y, sample_weight, reset)
        check_feature_names(self, X, reset=reset)
        if y is None:
            raise DataError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        Xa = check_X(X, dtype="float64")
        ya = check_y(y, Xa.shape[0], dtype="float64")
        check_n_features(self, Xa, reset=reset)
        w = check_sample_weight(sample_weight, Xa.shape[0], Xa.dtype)
        check_fit_magnitudes(Xa, ya, w)  # squares beyond float64: NumericalError, as OLS
        return Xa, ya, w

    def _gram_of(self, X, y, sample_weight, reset: bool) -> tuple[Gram, int]:
        """One pass: the Gram statistics of the rows, and y's dimensionality."""
        Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset)
        if is_sparse(Xa):  # the sparse Gram (small d only)
            from linearlab.sparse.gram import gram_for

            return gram_for(Xa, ya, w, f"{type(self).__name__}.partial_fit"), ya.ndim
        return Gram.from_arrays(Xa, ya, w), ya.ndim

    def _set_coefficients(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        """Store (k, d) coefficients and (k,) intercepts with scikit-learn's shapes."""
        scaling = getattr(self, "_scaling", None)
        if scaling is not None:  # solved on standardized columns: back to the original scale
            coef, intercept, self._gram = original_scale(scaling, coef, intercept,
                                                         getattr(self, "_gram", None))
            self._scaling = None
        if self._y_ndim == 1:
            self.coef_ = np.array(coef[0], dtype=np.float64)
            self.intercept_ = float(intercept[0]) if self.fit_intercept else 0.0
        else:
            self.coef_ = np.array(coef, dtype=np.float64)
            self.intercept_ = (np.array(intercept, dtype=np.float64) if self.fit_intercept
                               else np.zeros(coef.shape[0]))

    def set_fitted_state(self, state: PenalizedState):
        """Make this estimator the fitted model ``state`` describes; returns ``self``.

        The public path that restores a penalized model (:func:`linearlab.load`).
        """
        single = np.ndim(state.coef) == 1
        self.coef_, self.intercept_ = state.coef, state.intercept
        self._y_ndim = 1 if single else 2
        self.n_features_in_ = len(state.feature_names)
        if state.features_named:
            self.feature_names_in_ = np.asarray(state.feature_names, dtype=object)
            self.feature_names_ = list(state.feature_names)
        self.target_names_ = list(state.target_names)
        self.design_, self.n_dropped_ = state.design, state.n_dropped
        self.metrics_, self.training_ = state.metrics, state.training
        for name, value in (state.fitted or {}).items():
            setattr(self, name, value)
        self._gram = state.gram
        self._weighted, self._log_weight_sum = state.weighted, state.log_weight_sum
        return self

    @classmethod
    def from_formula(cls, formula: str, data: Any, **params: Any):
        """Fit ``formula`` (``"y ~ x1 + np.log(x2) + C(g) + x1:x3"``) on ``data`` with this
        penalty: the design's columns, names and order are statsmodels' ``smf.ols`` ones, as
        :meth:`LinearRegression.from_formula <linearlab.LinearRegression.from_formula>` gives
        (needs ``linearlab[formula]``). ``params`` are the estimator's (``alpha``,
        ``missing``, ``standardize``, ...), but not ``fit_intercept``: the formula says
        whether there is an intercept (``- 1``). ``predict(new_data)`` and model files apply
        the formula's spec.
        """
        import sys

        from linearlab.design.table import formula_model

        return formula_model(cls, formula, sys._getframe(1), params).fit(data, None)

    def fitted_state(self) -> PenalizedState:
        """The fitted model as the :class:`PenalizedState` that :meth:`set_fitted_state`
        takes, so that ``set_fitted_state(replace(model.fitted_state(), ...))`` changes what a
        fit recorded (names, metrics) through the one public path."""
        from linearlab.penalized.document import STATE

        self._check_fitted()
        design = getattr(self, "design_", None)
        named = getattr(self, "feature_names_in_", None)
        if design is not None:
            names = list(design.input_names)
        elif named is not None:
            names = [str(n) for n in named]
        else:
            names = self._feature_labels()
        k = np.atleast_2d(self.coef_).shape[0]
        targets = getattr(self, "target_names_", None) or (
            ["y"] if np.ndim(self.coef_) == 1 else [f"y{t + 1}" for t in range(k)])
        return PenalizedState(
            coef=self.coef_, intercept=self.intercept_, feature_names=names,
            target_names=list(targets),
            features_named=named is not None or getattr(design, "kind", None) == "formula",
            fitted={n: getattr(self, n) for n in STATE if hasattr(self, n)},
            metrics=getattr(self, "metrics_", None), training=getattr(self, "training_", None),
            gram=getattr(self, "_gram", None), weighted=getattr(self, "_weighted", False),
            log_weight_sum=getattr(self, "_log_weight_sum", 0.0), design=design,
            n_dropped=getattr(self, "n_dropped_", 0),
        )

    def _current_coef(self) -> np.ndarray | None:
        """Fitted coefficients as (k, d), or None before the first fit."""
        coef = getattr(self, "coef_", None)
        return None if coef is None else np.atleast_2d(np.asarray(coef, dtype=np.float64))

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        require_fitted(self)

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape (n_samples,) or (n_samples, n_targets).

        Text columns are encoded as in training; with ``missing="drop"`` rows missing a
        feature get NaN."""
        if getattr(self, "design_", None) is not None or getattr(self, "missing",
                                                                   "error") != "error":
            self._check_fitted()
            return predict_table(self, X)
        self._check_fitted()
        if is_sparse(X):
            from linearlab.sparse.checks import predict as predict_sparse

            return predict_sparse(self, X)
        check_feature_names(self, X, reset=False)
        Xa = check_X(X, dtype="float64")
        check_n_features(self, Xa, reset=False)
        return Xa @ np.asarray(self.coef_).T + self.intercept_

    @property
    def sparse_coef_(self):
        """``coef_`` as a scipy sparse matrix (as scikit-learn's)."""
        from scipy import sparse

        return sparse.csr_matrix(np.atleast_2d(self.coef_))

    def _feature_labels(self) -> list[str]:
        design = getattr(self, "design_", None)
        if design is not None:  # the design's columns: one per coefficient
            return list(design.names)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = getattr(self, "feature_names_", None)
        if names is None or len(names) != self.n_features_in_:
            return [f"x{j + 1}" for j in range(self.n_features_in_)]
        return [str(n) for n in names]

    def summary(self):
        """What can honestly be said about a penalized fit (see :class:`PenalizedSummary`).

        There are no standard errors, t statistics or p-values: after an L1 penalty has chosen
        the features (and with any penalty shrinking the estimates) the OLS formulas do not
        hold, so the summary reports the fit, the penalty and the selected features instead.
        """
        from linearlab.penalized.summary import PenalizedSummary

        self._check_fitted()
        gram = getattr(self, "_gram", None)
        if gram is None and getattr(self, "_sparse_wide", False):
            from linearlab.sparse.checks import wide_fit_error

            raise wide_fit_error(self, "summary()")
        if gram is None:
            raise NotFittedError(
                "summary() needs the statistics of the training data, which this model does "
                "not have (it was loaded from a file without them); refit it."
            )
        return PenalizedSummary.from_model(self, gram)

    def save(self, path) -> None:
        """Write the fitted model to ``path`` as JSON (``linearlab.model/1``), atomically."""
        from linearlab.io.model_file import save  # the writer half of the format: no import circle

        self._check_fitted()
        save(self, path)

    def _model_file_fields(self) -> dict:
        """The parts of a model file that differ from LinearRegression's (see persist)."""
        from linearlab.penalized.document import model_fields

        return model_fields(self)

    def _path_statistics(self) -> Gram:
        """The training statistics a regularization path is recomputed from."""
        self._check_fitted()
        gram = getattr(self, "_gram", None)
        if gram is None and getattr(self, "_sparse_wide", False):
            from linearlab.sparse.checks import wide_fit_error

            raise wide_fit_error(self, "The regularization path")
        if gram is None:
            raise NotFittedError(
                f"The regularization path needs the training statistics, which this "
                f"{type(self).__name__} does not have (it was loaded from a model file "
                "without them); refit it."
            )
        if getattr(self, "standardize", False):  # the penalty acted on standardized columns
            return gram.rescaled(*gram.feature_scaling(self.fit_intercept))
        return gram

    def column_scales(self) -> np.ndarray:
        """The columns' scales the penalty saw: their standard deviations (root mean squares
        without an intercept) with ``standardize=True``, else ones. ``regularization_path``
        coefficients divided by them are on the original scale."""
        self._check_fitted()
        if not getattr(self, "standardize", False) or getattr(self, "_gram", None) is None:
            return np.ones(np.shape(np.atleast_2d(self.coef_))[1])
        return self._gram.feature_scaling(self.fit_intercept)[1]

    def plot(self, X=None, y=None, *, kind: str = "path", **kwargs):
        """Draw the coefficient path (``kind="path"``) with :mod:`linearlab.viz` (matplotlib)."""
        self._check_fitted()
        from linearlab.viz.path import plot_path

        if kind != "path":
            raise DataError(
                f"{type(self).__name__}.plot draws kind='path' (the regularization path); "
                f"got kind={kind!r}."
            )
        return plot_path(self, **kwargs)
