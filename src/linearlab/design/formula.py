"""Wilkinson formulas (``y ~ x1 + np.log(x2) + C(g) + x1:x3``) through ``formulaic``.

:class:`FormulaDesign` turns a formula and a table into the design matrix statsmodels'
``smf.ols(formula, data)`` builds: the same column names (``Intercept``, ``C(g)[T.south]``,
``x1:x3``, ...) in the same order. statsmodels materializes formulas with patsy, which orders the
terms by the numeric factors they hold (the intercept and purely categorical terms first, then
one group per set of numeric factors in order of appearance, each by increasing degree);
formulaic sorts by degree instead, so the terms are put in patsy's order before the matrix is
built. The intercept column itself is not part of the design: the estimator fits it
(``fit_intercept``), which gives the same least-squares answer.

The fitted design keeps formulaic's model spec (categorical levels, contrasts, the state of
stateful transforms such as ``center(x)``), applies it to new data, refuses levels it has not
seen, and stores itself as plain JSON (:meth:`FormulaDesign.to_dict`): nothing is pickled, and
loading rebuilds the spec from the formula text and the stored levels. A model file is data:
its terms are checked by :mod:`linearlab.design.safety` as formulaic will evaluate them (and
again right before each evaluation), its stored numbers by :mod:`.formula_state`. A formula
passed to :meth:`FormulaDesign.fit_transform` (``from_formula``, ``--formula``) is the user's
own Python, evaluated as statsmodels evaluates it.

``formulaic`` (and pandas) are needed only here and are imported when a formula is used:
``pip install "linearlab[formula]"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from linearlab.data.missing import check_policy
from linearlab.design.formula_terms import (
    INTERCEPT,
    apply_missing,
    check_one_hot,
    check_sizes,
    drop_nan_rows,
    patsy_names,
    patsy_order,
    quote_keywords,
    rhs_text,
    sniff_rows,
    without_intercept,
)
from linearlab.errors import BackendUnavailableError, ColumnError, DataError, ModelFileError


def _formulaic():
    try:
        import formulaic
        import formulaic.parser  # noqa: F401  (the parser's feature flags)
    except ImportError:
        raise BackendUnavailableError(
            "Formulas need the optional packages formulaic and pandas. Install them with "
            "`pip install \"linearlab[formula]\"`."
        ) from None
    return formulaic


def _parse(text: str, ordering: str = "none"):
    formulaic = _formulaic()
    text = quote_keywords(text)
    flags = formulaic.parser.DefaultFormulaParser.FeatureFlags.TWOSIDED
    parser = formulaic.parser.DefaultFormulaParser(feature_flags=flags)
    try:
        return formulaic.Formula(text, _parser=parser, _ordering=ordering)
    except (formulaic.errors.FormulaicError, SyntaxError) as exc:
        raise DataError(
            f"Cannot parse the formula {text!r}: {str(exc).splitlines()[0]} Write it as "
            "'y ~ x1 + C(g) + x1:x2' (Wilkinson notation as formulaic implements it)."
        ) from None


def _frame(data: Any):
    """``data`` (DataFrame or dict of columns) as a DataFrame; bool columns as categories."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, Mapping):
        try:
            frame = pd.DataFrame(dict(data))
        except ValueError as exc:
            raise DataError(f"The formula's data cannot form a table: {exc}.") from None
    else:
        raise DataError(
            f"A formula needs its data as a pandas DataFrame or a dict of columns, got "
            f"{type(data).__name__}."
        )
    bools = [c for c in frame.columns if frame[c].dtype == bool]
    if bools:  # patsy (hence statsmodels) treats booleans as categories: b[T.True]
        frame = frame.assign(**{c: pd.Categorical(frame[c], categories=[False, True])
                                for c in bools})
    return frame


class FormulaDesign:
    """A formula's design: the model spec that turns tables into the design matrix.

    Build one with :meth:`fit_transform` (what ``LinearRegression.from_formula`` does).

    Attributes
    ----------
    formula : str
        The formula as written.
    rhs : str
        The right-hand side in the order of the design's columns (patsy's order).
    has_intercept : bool
        Whether the formula has an intercept (then the estimator fits it).
    names : list of str
        The design's columns without the intercept: the coefficients' names.
    input_names : list of str
        The data columns the right-hand side reads.
    target_names : list of str
        The columns of the left-hand side.
    model_spec : formulaic.ModelSpec
        formulaic's spec of the right-hand side (levels, contrasts, transform state).
    """

    kind = "formula"
    intercept_name = INTERCEPT

    def __init__(self, formula: str, context: Mapping | None = None):
        self.formula = str(formula)
        parsed = _parse(self.formula)
        if not hasattr(parsed, "lhs") or not list(parsed.lhs):
            raise DataError(
                f"The formula {self.formula!r} has no target: write it as 'y ~ x1 + x2', the "
                "target on the left of '~'."
            )
        self._parsed = parsed
        self.has_intercept = any(t.degree == 0 for t in parsed.rhs)
        self.context = dict(context or {})
        self.rhs = rhs_text(list(parsed.rhs))
        self.names: list[str] = []
        self.input_names: list[str] = []
        self.target_names: list[str] = []
        self.model_spec = None
        self._from_file = False  # a model file's design: its terms are re-checked before use

    # ------------------------------------------------------------------ fitting
    def fit_transform(self, data: Any, missing: str = "error"):
        """Learn the spec from ``data``; return ``(X, Y, keep)``.

        ``X`` is the design without the intercept column, ``Y`` the left-hand side
        (n_samples, n_targets) and ``keep`` the boolean mask of the rows used (None: all).
        Rows with a missing value in a variable the formula reads are an error or dropped, as
        ``missing`` says (with ``"drop"``, also rows a transform makes NaN, as statsmodels).
        """
        formulaic = _formulaic()
        check_policy(missing)
        frame = _frame(data)
        variables = sorted(v for v in self._parsed.required_variables if v in frame.columns)
        frame, keep = apply_missing(frame, variables, missing)
        check_sizes(self._parsed, len(frame))
        check_one_hot(self._parsed, frame, variables)
        # which factors are categorical: a few rows tell, with every level of every column
        first = self._materialize(self._parsed, sniff_rows(frame, variables))
        kinds = first.rhs.model_spec.encoder_state
        categorical = {k for k, (kind, _) in kinds.items() if kind.value == "categorical"}
        ordered = patsy_order(list(self._parsed.rhs), categorical)
        self.rhs = rhs_text(ordered)
        formula = formulaic.Formula(
            lhs=formulaic.Formula(list(self._parsed.lhs), _ordering="none"),
            rhs=formulaic.Formula(ordered, _ordering="none"), _ordering="none",
        )
        matrices = self._materialize(formula, frame)
        self.model_spec = matrices.rhs.model_spec
        X, names = without_intercept(matrices.rhs)
        names = patsy_names(names, self.model_spec.encoder_state)
        self.names = names
        self.target_names = [str(c) for c in matrices.lhs.columns]
        self.input_names = sorted(
            v for v in self.model_spec.required_variables if v in frame.columns
        )
        Y = np.asarray(matrices.lhs, dtype=np.float64)
        return drop_nan_rows(X, Y, keep, missing)

    def apply(self, data: Any, missing: str = "error", response: bool = True):
        """Design (and left-hand side) of more data by the fitted spec: ``(X, Y, keep)``.

        ``Y`` is None when ``response`` is False (prediction). ``missing`` is ``"error"``,
        ``"drop"``, or ``"keep"`` (prediction: ``keep`` marks the complete rows, which alone
        are in ``X``).
        """
        check_policy(missing, ("error", "drop", "keep"))
        frame = _frame(data)
        self._check_columns(frame)
        variables = list(self.input_names)
        if response:
            lhs_vars = self._lhs_formula().required_variables
            variables += sorted(v for v in lhs_vars if v in frame.columns)
        frame, keep = apply_missing(frame, variables, "drop" if missing == "keep" else missing,
                                     predicting=not response)
        X = self.transform(frame)
        if not response:
            return X, None, keep
        Y = self.response(frame)
        X, Y, keep = drop_nan_rows(X, Y, keep, missing)
        return X, Y, keep

    def _lhs_formula(self):
        lhs = _formulaic().Formula(list(self._parsed.lhs), _ordering="none")
        if self._from_file:
            self._recheck(lhs, None)
        return lhs

    def _recheck(self, formula, columns) -> None:
        """A model file's terms, checked again right before formulaic evaluates them."""
        from linearlab.design.safety import check_formula_terms

        try:
            check_formula_terms(formula, columns)
        except ValueError as exc:
            raise ModelFileError(f"The model's formula cannot be used: {exc}.") from None

    def _materialize(self, formula, frame, spec=None):
        formulaic = _formulaic()
        if self._from_file and spec is not None:  # exactly the terms about to be evaluated
            self._recheck(spec.formula, self.input_names)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                if spec is not None:
                    return spec.get_model_matrix(frame, context=self._context(), na_action="ignore")
                return formulaic.model_matrix(formula, frame, context=self._context(),
                                              na_action="ignore", output="pandas")
        except formulaic.errors.FormulaicError as exc:
            raise DataError(
                f"The formula {self.formula!r} cannot be evaluated on this data: "
                f"{str(exc).splitlines()[0]} Check the column names (the data has: "
                f"{', '.join(map(str, frame.columns))})."
            ) from None

    def _context(self) -> dict:
        return {"np": np, **self.context}

    # ------------------------------------------------------------------ applying
    def response(self, data: Any) -> np.ndarray:
        """The left-hand side evaluated on ``data`` (n_samples, n_targets)."""
        frame = _frame(data)
        matrix = self._materialize(self._lhs_formula(), frame)
        return np.asarray(matrix, dtype=np.float64)

    def transform(self, data: Any) -> np.ndarray:
        """The design matrix (without the intercept) of new data, by the fitted spec.

        Raises
        ------
        ColumnError
            ``data`` lacks a column the formula reads.
        DataError
            A categorical column holds a level the model did not see in training.
        """
        if self.model_spec is None:
            raise DataError("This formula design is not fitted; call fit_transform first.")
        frame = _frame(data)
        self._check_columns(frame)
        self._check_levels(frame)
        matrix = self._materialize(None, frame, spec=self.model_spec)
        X, names = without_intercept(matrix)
        names = patsy_names(names, self.model_spec.encoder_state)
        if names != self.names:
            raise DataError(
                f"The formula {self.formula!r} gives the columns {names} on this data, but the "
                f"model was fitted on {self.names}."
            )
        return X

    def _check_columns(self, frame) -> None:
        absent = [v for v in self.input_names if v not in frame.columns]
        if absent:
            raise ColumnError(
                f"The data lacks the column(s) {', '.join(map(repr, absent))} that the formula "
                f"{self.formula!r} reads. Its columns are: {', '.join(map(str, frame.columns))}."
            )

    def _check_levels(self, frame) -> None:
        """Refuse levels not seen in training, naming the level and the column."""
        from linearlab.data.categorical import unseen_level_error

        for factor, (kind, state) in self.model_spec.encoder_state.items():
            if kind.value != "categorical":
                continue
            levels = list(state.get("categories", []))
            column = factor if factor in frame.columns else _single_variable(factor, frame)
            if column is None:
                continue
            values = frame[column]
            unseen = values[values.notna() & ~values.isin(levels)]
            if len(unseen):
                row = int(np.flatnonzero(np.asarray(values.index == unseen.index[0]))[0])
                raise unseen_level_error(unseen.iloc[0], column, row, levels, factor)

    # ------------------------------------------------------------------ model files
    def to_dict(self) -> dict[str, Any]:
        """The design as plain JSON: formula text, term order, levels, contrasts, state."""
        from linearlab.design.formula_state import encoder_state_to_json, to_json

        return {
            "kind": self.kind,
            "formula": self.formula,
            "rhs": self.rhs,
            "intercept": self.has_intercept,
            "names": list(self.names),
            "input_names": list(self.input_names),
            "target_names": list(self.target_names),
            "encoder_state": encoder_state_to_json(self.model_spec.encoder_state),
            "transform_state": to_json(dict(self.model_spec.transform_state)),
        }

    @classmethod
    def from_dict(cls, doc: Mapping, where: str = "<model>") -> FormulaDesign:
        """Rebuild a fitted design from :meth:`to_dict`'s output.

        A model file is data: before anything is evaluated, every Python term (of the formula,
        of the right-hand side that predictions evaluate, of the stored factor names) is
        checked by :mod:`linearlab.design.safety` as formulaic will evaluate it, and every
        stored number of the state is checked for finiteness and shape.
        """
        formulaic = _formulaic()
        from linearlab.design.formula_state import (
            check_numbers,
            check_transform_state,
            encoder_state_from_json,
            from_json,
        )
        from linearlab.design.safety import (
            MAX_FORMULA_CHARS,
            check_formula_shape,
            check_formula_terms,
            check_term,
        )

        try:
            texts = [doc["formula"], doc["rhs"]]
            if not all(isinstance(t, str) and len(t) <= MAX_FORMULA_CHARS for t in texts):
                raise ValueError(f"the formula must be text of at most {MAX_FORMULA_CHARS} "
                                 "characters")
            for text in texts:
                check_formula_shape(quote_keywords(text))
            design = cls(doc["formula"])
            design.input_names = [str(n) for n in doc["input_names"]]
            check_formula_terms(design._parsed.lhs)  # evaluated by `evaluate`
            check_formula_terms(design._parsed.rhs, design.input_names)
            design.rhs = str(doc["rhs"])
            design.names = [str(n) for n in doc["names"]]
            design.target_names = [str(n) for n in doc["target_names"]]
            design.has_intercept = bool(doc["intercept"])
            rhs = formulaic.Formula(design.rhs, _ordering="none")
            check_formula_terms(rhs, design.input_names)
            factors = {f.expr: f for term in rhs for f in term.factors}
            encoder_state = encoder_state_from_json(doc["encoder_state"])
            for factor, (_, state) in encoder_state.items():
                if factor not in factors:
                    raise ValueError(f"'encoder_state' names {factor!r}, which no term has")
                check_numbers(state, f"the levels of {factor!r}")
            trees = [check_term(f.expr, design.input_names) for f in factors.values()
                     if f.eval_method.value == "python"]
            transform_state = from_json(doc["transform_state"])
            check_transform_state(transform_state, trees)
            design.model_spec = formulaic.ModelSpec(
                formula=rhs, materializer="pandas", ensure_full_rank=True, output="pandas",
                na_action="ignore", encoder_state=encoder_state, transform_state=transform_state,
            )
            design._from_file = True
        except (KeyError, TypeError, ValueError, SyntaxError, DataError, RecursionError,
                formulaic.errors.FormulaicError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ModelFileError(
                f"{where!r} has an invalid formula design ({first}); re-create the model file."
            ) from None
        return design

    def __repr__(self) -> str:
        return f"FormulaDesign({self.formula!r}, columns={self.names})"


def _single_variable(factor: str, frame) -> str | None:
    """The data column a categorical factor such as ``C(g, Treatment('a'))`` encodes, when it
    reads exactly one (found from the term's syntax; nothing is evaluated)."""
    from linearlab.design.safety import term_variables

    variables = term_variables(factor)
    present = [v for v in variables if v in frame.columns]
    return present[0] if len(present) == 1 else None
