"""From the table a user passes to the numeric design the solvers see.

One step before validation: the missing-value policy (:mod:`.data.missing`), then the design,
if any: a formula (:mod:`.formula`) or the one-hot encoding of categorical columns
(:mod:`.data.categorical`). Numeric input without a design passes through untouched and is
validated as before. The estimator keeps the design as ``design_`` and applies it to new data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from linearlab.data.categorical import CategoricalDesign
from linearlab.data.features import estimator_name
from linearlab.data.missing import (
    check_policy,
    handle_missing,
    missing_cells,
    missing_error,
    take_rows,
)
from linearlab.errors import DataError, ModelFileError


@dataclass
class Prepared:
    """Training data after the missing-value policy and the design."""

    X: Any
    y: Any
    sample_weight: Any
    design: Any
    n_dropped: int
    n_inputs: int | None  # columns of the user's table when a design changes the width
    check_x: Any = None  # the deferred checks of X's values (validate_input(defer_x_values))


def _is_formula(design) -> bool:
    return getattr(design, "kind", None) == "formula"


def may_hold_categories(X: Any) -> bool:
    """Whether ``X`` may hold text or category columns (a DataFrame with non-numeric dtypes,
    an object array), which the categorical design encodes."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(X, "iloc"):
        return any(getattr(dt, "kind", "O") not in "fiucb" for dt in np.atleast_1d(dtypes))
    if hasattr(X, "detach") or type(X).__module__.startswith(("scipy", "dask")):
        return False
    try:
        return np.asarray(X).dtype.kind == "O"
    except (ValueError, TypeError):
        return False


def input_labels(X: Any, fallback: list[str] | None) -> list[str]:
    """Names of the columns of ``X``: a DataFrame's, else ``fallback`` (if it fits), else
    ``x0``, ``x1``, ..."""
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "iloc"):
        return [str(c) for c in columns]
    shape = getattr(X, "shape", None)
    if shape is None:
        try:
            shape = np.asarray(X).shape
        except (ValueError, TypeError):  # ragged: validation reports it
            shape = ()
    width = shape[1] if len(shape) == 2 else 0
    if fallback is not None and len(fallback) == width:
        return [str(n) for n in fallback]
    return [f"x{j}" for j in range(width)]


def _response(Y: np.ndarray, names: list[str]):
    """The formula's left-hand side, named (a Series for one target)."""
    import pandas as pd

    if Y.shape[1] == 1:
        return pd.Series(Y[:, 0], name=names[0])
    return pd.DataFrame(Y, columns=names)


def prepare_fit(
    X: Any, y: Any, sample_weight: Any, *, missing: str, fit_intercept: bool,
    design: Any = None, refit: bool = True, labels: list[str] | None = None,
) -> Prepared:
    """Apply the missing-value policy and the design to training data.

    ``refit`` learns the design again (``fit``): the formula's spec from this data, or the
    categories of its text columns. Otherwise (``partial_fit``, ``score``, ``summary``) the
    fitted ``design`` is applied as it is.
    """
    check_policy(missing)
    if _is_formula(design):
        if y is not None:
            raise DataError(
                f"The formula {design.formula!r} names the target on its left side; pass the data "
                "alone (y=None)."
            )
        if refit:
            design = type(design)(design.formula, design.context)
            Xd, Y, keep = design.fit_transform(X, missing)
        else:
            Xd, Y, keep = design.apply(X, missing, response=True)
        n_dropped = 0 if keep is None else int((~keep).sum())
        if keep is not None and sample_weight is not None and not np.isscalar(sample_weight):
            sample_weight = take_rows(sample_weight, keep)
        return Prepared(Xd, _response(Y, design.target_names), sample_weight, design,
                        n_dropped, len(design.input_names))
    names = input_labels(X, labels)
    X, y, sample_weight, n_dropped = handle_missing(X, y, sample_weight, missing, x_names=names)
    if refit:
        design = (CategoricalDesign.detect(X, names, fit_intercept)
                  if may_hold_categories(X) else None)
    if design is None:
        return Prepared(X, y, sample_weight, None, n_dropped, None)
    return Prepared(design.transform(X), y, sample_weight, design, n_dropped,
                    len(design.input_names))


def prepare_predict(X: Any, design: Any, missing: str) -> tuple[Any, np.ndarray | None]:
    """``(design matrix or X, keep)`` for prediction.

    ``missing`` is ``"error"``, or ``"drop"``/``"keep"``: rows with a missing feature are left
    out of the matrix, and ``keep`` marks the others (None when every row is complete), so the
    caller can give those rows an empty (NaN) prediction.
    """
    check_policy(missing, ("error", "drop", "keep"))
    if _is_formula(design):
        Xd, _, keep = design.apply(X, "keep" if missing != "error" else "error", response=False)
        return Xd, keep
    keep = None
    if design is not None or missing != "error":  # numeric arrays: check_X reports NaN
        cells = missing_cells(X)
        if cells is not None:
            if missing == "error":
                names = input_labels(X, None if design is None else design.input_names)
                raise missing_error(cells, "X", names, predicting=True)
            keep = ~cells.any(axis=1)
            X = take_rows(X, keep)
    if design is not None:
        X = design.transform(X)
    return X, keep


def design_from_dict(doc: Any, where: str = "<model>"):
    """Rebuild a stored design (``{"kind": "formula" | "categorical", ...}``)."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind == "categorical":
        return CategoricalDesign.from_dict(doc, where)
    if kind == "formula":
        from linearlab.design.formula import FormulaDesign

        return FormulaDesign.from_dict(doc, where)
    raise ModelFileError(
        f"{where!r} has a design of unknown kind {kind!r} (written by a newer linearlab?); "
        "re-create the model file."
    )


# --------------------------------------------------------------------------- estimator hooks
def validate_input(estimator, X: Any, y: Any, sample_weight: Any, reset: bool, *,
                   defer_x_values: bool = False, labels: list[str] | None = None):
    """The estimator's input step: missing values, design, then validation.

    Returns ``(X, y, w, prepared)``: checked float arrays and the :class:`Prepared` record
    (``prepared.design``, ``prepared.n_dropped``). ``reset`` (``fit``) learns the design
    afresh; a formula model refits its formula when ``y`` is None. ``defer_x_values`` (the
    exact solvers on a torch device) leaves out the passes over X's values (NaN, inf,
    overflowing squares): the device's Gram pass detects them, and ``prepared.check_x()``
    then raises the very errors these checks would have raised. ``labels`` name the columns
    of an unnamed X (``fit(..., feature_names=...)``).
    """
    from linearlab.data.features import check_feature_names, check_n_features
    from linearlab.data.validation import (
        check_fit_magnitudes,
        check_sample_weight,
        check_X,
        check_y,
    )

    design = getattr(estimator, "design_", None)
    if reset and (y is not None or not _is_formula(design)):
        design = None
    prepared = prepare_fit(
        X, y, sample_weight, missing=estimator.missing, fit_intercept=estimator.fit_intercept,
        design=design, refit=reset,
        labels=labels if labels is not None else getattr(estimator, "feature_names_", None),
    )
    if not _is_formula(prepared.design):
        check_feature_names(estimator, X, reset=reset)
    if prepared.y is None:
        raise DataError(
            f"{estimator_name(estimator)} requires y to be passed, but the target y is None."
        )
    Xa = check_X(prepared.X, dtype="float64", finite=not defer_x_values)
    ya = check_y(prepared.y, Xa.shape[0], dtype="float64")
    if prepared.design is None:
        check_n_features(estimator, Xa, reset=reset)
    w = check_sample_weight(prepared.sample_weight, Xa.shape[0], Xa.dtype)
    labels = estimator._feature_labels()
    # squares must not overflow (X's are left to the device's pass when deferred)
    check_fit_magnitudes(Xa[:0] if defer_x_values else Xa, ya, w, labels)
    if defer_x_values:
        def check_x() -> None:
            check_X(prepared.X, dtype="float64")
            check_fit_magnitudes(Xa, ya, w, labels)

        prepared.check_x = check_x
    return Xa, ya, w, prepared


def validate_predict_input(estimator, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``(design matrix, keep)`` for ``predict``: rows ``keep`` marks (None: all) are in the
    matrix; the others miss a feature and get NaN (``missing="drop"``)."""
    from linearlab.data.features import check_feature_names, check_n_features
    from linearlab.data.validation import check_X

    design = getattr(estimator, "design_", None)
    if not _is_formula(design):
        check_feature_names(estimator, X, reset=False)
    X, keep = prepare_predict(X, design, getattr(estimator, "missing", "error"))
    Xa = check_X(X, dtype="float64")
    if design is None:
        check_n_features(estimator, Xa, reset=False)
    return Xa, keep


def training_rows(estimator, X: Any, y: Any = None, *,
                  drop: bool | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(design matrix, y, keep)`` of a table for figures and robust summaries.

    The estimator's design (formula, text columns) applied to ``X`` as the fit applied it; rows
    with a missing value in X or y are left out (``keep`` marks the rows used, None: all). A
    formula model reads y from ``X`` by its formula when ``y`` is None. Numeric arrays without
    a design pass through (NaN rows dropped only when the estimator has ``missing="drop"``,
    or when ``drop`` says so).
    """
    design = getattr(estimator, "design_", None)
    if _is_formula(design) and y is None:
        Xd, Y, keep = design.apply(X, "drop", response=True)
        return Xd, _response(Y, design.target_names), keep
    if y is None:
        raise DataError(
            f"{estimator_name(estimator)} needs y with X here (only a from_formula model reads y "
            "from the table by its formula)."
        )
    if drop is None:
        drop = getattr(estimator, "missing", "error") == "drop"
    if design is None and not drop:
        return X, y, None
    Xd, keep = prepare_predict(X, design, "drop")
    if keep is not None:
        y = take_rows(y, keep)
    y_missing = missing_cells(y)
    if y_missing is not None:
        good = ~y_missing.any(axis=1)
        Xd, y = take_rows(Xd, good), take_rows(y, good)
        if keep is None:
            keep = good
        else:
            keep = keep.copy()
            keep[np.flatnonzero(keep)[~good]] = False
    return Xd, y, keep


class DesignMixin:
    """``from_formula`` and a ``score`` that follows ``missing`` and formulas."""

    @classmethod
    def from_formula(cls, formula: str, data: Any, **params: Any):
        """Fit ``formula`` (``"y ~ x1 + np.log(x2) + C(g) + x1:x3"``) on ``data``.

        The design's columns, their names and order, hence the coefficients and
        ``summary()``, are those of statsmodels' ``smf.ols(formula, data).fit()``
        (``Intercept``, ``C(g)[T.b]``, ...). ``- 1`` drops the intercept. Needs formulaic
        (``pip install "linearlab[formula]"``); see :mod:`linearlab.design.formula`.

        Parameters
        ----------
        formula : str
            A Wilkinson formula as formulaic implements it, the target left of ``~``.
        data : DataFrame or dict of columns
        **params
            Estimator parameters (``solver``, ``missing``, ...), but not ``fit_intercept``:
            the formula says whether there is an intercept.

        Returns
        -------
        LinearRegression
            Fitted; ``design_`` holds the formula's model spec, which ``predict(new_data)``,
            ``score(new_data)``, ``summary().predict(new_data)`` and model files apply.
        """
        import sys

        return formula_model(cls, formula, sys._getframe(1), params).fit(data)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """R² of the predictions on ``X`` against ``y``, as scikit-learn's ``score``.

        Rows with missing values follow ``missing``; a :meth:`from_formula` model reads ``y``
        from the table ``X`` by its formula when ``y`` is None.
        """
        from linearlab.stats.metrics import r_squared

        self._check_fitted()
        Xa, ya, w, _ = validate_input(self, X, y, sample_weight, reset=False)
        if Xa.shape[0] < 2:  # as scikit-learn's r2_score
            from sklearn.exceptions import UndefinedMetricWarning

            warnings.warn("R^2 score is not well-defined with less than two samples.",
                          UndefinedMetricWarning, stacklevel=2)
            return float("nan")
        pred = Xa @ np.asarray(self.coef_).T + self.intercept_
        return r_squared(ya, pred, sample_weight=w)


def formula_model(cls, formula: str, caller, params: dict):
    """An unfitted ``cls`` for ``cls.from_formula``: ``params`` with the intercept the formula
    says, ``design_`` the formula (which ``fit`` materializes); ``caller`` is the frame whose
    names the formula may use, as statsmodels' ``eval_env=0``."""
    from linearlab.design.formula import FormulaDesign
    from linearlab.errors import ParameterError

    if "fit_intercept" in params:
        raise ParameterError(
            "from_formula() takes the intercept from the formula: drop fit_intercept and "
            "write '- 1' (or '0 +') in the formula to fit without one."
        )
    design = FormulaDesign(formula, {**caller.f_globals, **caller.f_locals})
    model = cls(fit_intercept=design.has_intercept, **params)
    model.design_ = design
    return model
