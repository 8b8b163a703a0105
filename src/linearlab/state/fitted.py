"""What a fit leaves behind, as one object.

:class:`FittedState` holds the coefficients, the Gram statistics of the training data, the
training record (solver, epochs, history, diagnosis) and the column names. Every way of producing
a fitted model — ``fit``, ``partial_fit``, :func:`linearlab.load`, training over a file — builds
one and hands it to :meth:`LinearRegression.set_fitted_state`, the one public path that sets the
estimator's fitted attributes (``coef_``, ``intercept_``, ``history_``, ...). Nothing else writes
them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linearlab import errors
from linearlab.data.features import estimator_name
from linearlab.data.validation import check_fit_result
from linearlab.descent.record import TrainingRecord  # re-exported: how a fit was obtained
from linearlab.exact.gram import Gram

__all__ = [
    "FittedState", "FittedStateMixin", "TrainingRecord", "exact_record", "log_weight_sum",
    "target_names",
]


@dataclass
class FittedState:
    """Everything a fitted :class:`~linearlab.LinearRegression` knows.

    Parameters
    ----------
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)
    single_target : bool
        Whether y was 1-D (``coef_`` is then 1-D and ``intercept_`` a float).
    training : TrainingRecord
    gram : Gram or None
        Sufficient statistics of the training data (what ``summary()`` reads).
    solution : object or None
        The exact solver's result (factorisation details for ``summary()``).
    weighted, log_weight_sum : bool, float
        Whether sample weights were used, and Σ log w (the WLS log-likelihood needs it).
    feature_names, features_named : list of str or None, bool
        Column names; ``features_named`` False when they were invented for unnamed arrays.
    target_names : list of str
    metrics, training_options : dict or None
        What the command line reports and stores with a model file.
    design : FormulaDesign, CategoricalDesign or None
        How the user's table becomes the design (:mod:`linearlab.design.table`); ``feature_names``
        are then the table's columns and ``design.names`` the coefficients' names.
    n_dropped : int
        Rows dropped for missing values (``missing="drop"``).
    """

    coef: np.ndarray
    intercept: np.ndarray
    single_target: bool
    training: TrainingRecord
    gram: Gram | None = None
    solution: Any = field(default=None, repr=False)
    weighted: bool = False
    log_weight_sum: float = 0.0
    feature_names: list[str] | None = None
    features_named: bool = True
    target_names: list[str] = field(default_factory=lambda: ["y"])
    metrics: dict | None = None
    training_options: dict | None = None
    design: Any = None
    n_dropped: int = 0

    def __post_init__(self) -> None:
        self.coef = np.asarray(self.coef, dtype=np.float64).reshape(self.coef.shape[0], -1)
        self.intercept = np.asarray(self.intercept, dtype=np.float64).reshape(-1)

    @property
    def n_features(self) -> int:
        return self.coef.shape[0]

    @property
    def n_targets(self) -> int:
        return self.coef.shape[1]


def log_weight_sum(w: np.ndarray | None) -> float:
    """Σ log w over the rows (0 without weights)."""
    if w is None:
        return 0.0
    with np.errstate(divide="ignore"):
        return float(np.log(w).sum())


def target_names(y, n_targets: int) -> list[str]:
    """Names of the targets: a Series' name, DataFrame columns, else "y" or "y1".."yk"."""
    columns = getattr(y, "columns", None)
    if columns is not None and len(columns) == n_targets:
        return [str(c) for c in columns]
    name = getattr(y, "name", None)
    if n_targets == 1:
        return [str(name)] if isinstance(name, str) else ["y"]
    return [f"y{t + 1}" for t in range(n_targets)]


class FittedStateMixin:
    """The estimators' one path to their fitted attributes (``set_fitted_state``)."""

    @property
    def converged_(self) -> bool:
        """Whether gradient descent met its stopping rule or reached the exact optimum (always
        True for exact solvers); computed when first read."""
        return self._settled().converged

    @property
    def diagnosis_(self) -> str | None:
        """Why gradient descent is not converged and what to change (None when converged);
        computed when first read."""
        return self._settled().diagnosis

    @property
    def optimum_(self) -> Any:
        """The exact optimum gradient descent was compared with (squared losses; computed when
        first read)."""
        optimum = self._settled().optimum
        if optimum is None:
            raise AttributeError("optimum_")
        return optimum

    def _settled(self) -> TrainingRecord:
        state = self.__dict__.get("fitted_state_")
        if state is None:
            raise AttributeError("not fitted")
        return state.training.settle()

    def set_fitted_state(self, state: FittedState) -> Any:
        """Make this estimator the fitted model ``state`` describes; returns ``self``.

        The one path that sets the fitted attributes: ``fit``, ``partial_fit``,
        :func:`linearlab.load` and fits over data files all end here.
        """
        check_fit_result(state.coef, state.intercept, state.feature_names)  # inf/NaN: failed
        self.fitted_state_ = state
        coef, intercept = state.coef, state.intercept
        if not self.fit_intercept:
            intercept = np.zeros_like(intercept)
        if state.single_target:
            self.coef_, self.intercept_ = coef[:, 0].copy(), float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef.T.copy(), intercept.copy()
        self.n_features_in_ = coef.shape[0]
        self.design_, self.n_dropped_ = state.design, state.n_dropped
        if state.design is not None:  # the table's columns, not the design's
            self.n_features_in_ = len(state.design.input_names)
            if state.design.kind == "formula":
                self.feature_names_in_ = np.asarray(state.design.input_names, dtype=object)
        if state.feature_names is not None:
            self.feature_names_ = list(state.feature_names)
            if state.features_named:
                self.feature_names_in_ = np.asarray(state.feature_names, dtype=object)
        self.target_names_ = list(state.target_names)
        record = state.training
        self.solver_, self.n_iter_ = record.solver, record.n_iter
        self.history_, self.params_history_ = record.history, record.params_history
        for name, value in (("learning_rate_", record.learning_rate), ("rank_", record.rank),
                            ("condition_number_", record.condition_number),
                            ("singular_", record.singular_values), ("aliased_", record.aliased),
                            ("metrics_", state.metrics),
                            ("history_stride_", record.history_stride),
                            ("training_", state.training_options)):
            if value is not None:
                setattr(self, name, value)
        if record.history is not None:  # gradient descent: None when the epochs ran out
            self.stopped_by_ = record.stopped_by
        if record.interrupted:  # Ctrl-C during training: the finished epochs are kept
            record.interrupted = False
            raise_interrupted(self)
        return self


def raise_interrupted(estimator) -> None:
    """Warn that training was interrupted and re-raise the ``KeyboardInterrupt``; the
    estimator keeps the parameters of its last finished epoch (``stopped_by_ == "interrupted"``).
    """
    n = estimator.n_iter_
    warnings.warn(
        f"Training was interrupted during epoch {n} (0-based): the model keeps the parameters "
        f"of the {n} finished epoch(s) (coef_, intercept_, history_) and stopped_by_ is "
        "'interrupted'.", errors.ConvergenceWarning, stacklevel=4,
    )
    raise KeyboardInterrupt(f"interrupted at epoch {n}, after {n} finished epoch(s)")


def exact_record(solution, singular: bool = True) -> TrainingRecord:
    """The training record of an exact solve."""
    return TrainingRecord(
        solver=solution.solver, n_iter=1, converged=True, rank=solution.rank,
        condition_number=solution.condition_number,
        singular_values=solution.singular_values if singular else None,
        aliased=solution.aliased if singular else None,
    )


def require_fitted(estimator) -> None:
    """Raise linearlab's :class:`~linearlab.errors.NotFittedError` (scikit-learn's, too) unless
    ``estimator`` has been fitted (has ``coef_``, what scikit-learn's ``check_is_fitted(estimator,
    "coef_")`` asks; scikit-learn is imported only to raise)."""
    if not hasattr(estimator, "coef_"):
        raise errors.NotFittedError(
            f"This {estimator_name(estimator)} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        ) from None
