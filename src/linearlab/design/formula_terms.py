"""The text and names of formula terms, as patsy (hence statsmodels) writes them.

Helpers of :mod:`linearlab.design.formula`: the order of terms, the right-hand side as text that
parses back to the same terms, column names of backward-difference contrasts, keyword columns in
backticks, the size checks of a user's formula and the rows that tell the factors' kinds.
"""

from __future__ import annotations

import numpy as np

from linearlab.data.missing import missing_error
from linearlab.errors import DataError

#: The name of the intercept column formulaic (and statsmodels) gives.
INTERCEPT = "Intercept"


def quote_keywords(text: str) -> str:
    """Backtick-quoted columns named like Python keywords (```class```) inside a Python term
    written as ``Q('class')``: formulaic leaves keywords as they are, which is not Python."""
    import keyword

    out, depth, i = [], 0, 0
    while i < len(text):
        char = text[i]
        if char == "`":
            end = text.find("`", i + 1)
            if end < 0:
                break
            name = text[i + 1:end]
            out.append(f"Q({name!r})" if depth and keyword.iskeyword(name) else text[i:end + 1])
            i = end + 1
            continue
        if char in "'\"":  # a string: copied as it is
            end = text.find(char, i + 1)
            end = len(text) - 1 if end < 0 else end
            out.append(text[i:end + 1])
            i = end + 1
            continue
        depth += (char in "([") - (char in ")]")
        out.append(char)
        i += 1
    return "".join(out) + text[i:]


def patsy_order(terms: list, categorical: set[str]) -> list:
    """Terms in patsy's order (see the module notes)."""
    groups: dict[tuple[str, ...], list] = {(): []}
    intercept = []
    for term in terms:
        if term.degree == 0:
            intercept.append(term)
            continue
        numeric = tuple(sorted(str(f) for f in term.factors if str(f) not in categorical))
        groups.setdefault(numeric, []).append(term)
    ordered = list(intercept)
    for group in groups.values():
        ordered.extend(sorted(group, key=lambda t: t.degree))  # stable: formula order within
    return ordered


def factor_text(factor) -> str:
    """A factor as formula text (a column name that is not an identifier in backticks)."""
    expr = str(factor.expr)
    if factor.eval_method.value == "lookup" and not expr.isidentifier():
        return f"`{expr}`"  # a column such as `höhe m`
    return expr


def rhs_text(terms: list) -> str:
    """The right-hand side as text that parses back to the same terms in the same order."""
    parts = [":".join(factor_text(f) for f in t.factors) for t in terms if t.degree > 0]
    has_intercept = any(t.degree == 0 for t in terms)
    return " + ".join(["1" if has_intercept else "0", *parts])


def check_sizes(parsed, n_rows: int) -> None:
    """Refuse a ``poly``/spline degree beyond the data (rows) or :data:`MAX_DEGREE`."""
    from linearlab.design.safety import MAX_DEGREE, formula_degrees

    for term, degree in formula_degrees(parsed):
        if degree > min(MAX_DEGREE, max(n_rows - 1, 1)):
            raise DataError(
                f"The term {term!r} asks for degree {degree}, but the data has {n_rows} rows and "
                f"linearlab allows at most {MAX_DEGREE}: a degree must stay below the number of "
                "rows. Lower the degree."
            )


def sniff_rows(frame, variables: list[str]):
    """The first 64 rows plus the first row of every value of each non-float column the
    formula reads, so levels (``Treatment('c')``) come from the whole column."""
    n = len(frame)
    if n <= 64:
        return frame
    take = np.zeros(n, dtype=bool)
    take[:64] = True
    for column in variables:
        values = frame[column]
        if values.dtype.kind != "f":
            take |= ~np.asarray(values.duplicated(), dtype=bool)
        if take.sum() > n // 2:
            return frame
    return frame.iloc[np.flatnonzero(take)]


def patsy_names(names: list[str], encoder_state) -> list[str]:
    """Column names as patsy (statsmodels) gives them: a backward-difference contrast's column
    ``k`` compares level ``k+1`` with level ``k``, and patsy names it after level ``k``
    (``C(g, Diff)[D.a]``) where formulaic names it after level ``k+1``."""
    import re

    mapping = {}
    for factor, (kind, state) in encoder_state.items():
        contrasts = getattr(state.get("contrasts"), "contrasts", None) if kind.value == \
            "categorical" else None
        if type(contrasts).__name__ != "DiffContrasts" or not contrasts.backward:
            continue
        levels = [str(v) for v in state["contrasts"].levels]
        for before, after in zip(levels[:-1], levels[1:], strict=True):
            mapping[f"{factor}[D.{after}]"] = f"{factor}[D.{before}]"
    if not mapping:
        return names
    pattern = re.compile("|".join(map(re.escape, sorted(mapping, key=len, reverse=True))))
    return [pattern.sub(lambda m: mapping[m.group(0)], name) for name in names]


def check_one_hot(parsed, frame, variables: list[str]) -> None:
    """Refuse, before any matrix is built, a formula whose categorical columns (text, category
    and boolean columns, and any column inside ``C(...)``) would one-hot encode to more columns
    than :data:`~linearlab.data.categorical.MAX_DESIGN_COLUMNS`."""
    from linearlab.data.categorical import check_design_width
    from linearlab.design.safety import evaluated_code, term_variables

    coded: set[str] = set()
    for term in parsed.rhs:
        for factor in term.factors:
            if factor.eval_method.value == "python" and "C(" in evaluated_code(factor.expr)[0]:
                coded |= term_variables(factor.expr)
    variables = [v for v in variables if v in parsed.rhs.required_variables]
    levels = {}
    for column in variables:
        values = frame[column]
        if values.dtype.kind not in "iuf" or column in coded:
            levels[column] = int(values.nunique())
    check_design_width(levels, len(variables) - len(levels))


def apply_missing(frame, variables: list[str], missing: str, predicting: bool = False):
    """``frame`` without rows missing a value in ``variables`` (``missing="drop"``), or the
    error (``"error"``); with the boolean mask of the rows kept (None: all)."""
    if not variables:
        return frame, None
    mask = np.asarray(frame[variables].isna(), dtype=bool)
    if not mask.any():
        return frame, None
    if missing == "error":
        raise missing_error(mask, "The formula's data", variables, predicting)
    keep = ~mask.any(axis=1)
    if not keep.any():
        raise DataError(
            f"Every row has a missing value in the formula's variables ({', '.join(variables)}), "
            "so missing='drop' leaves no data."
        )
    return frame.iloc[np.flatnonzero(keep)], keep


def drop_nan_rows(X, Y, keep, missing: str):
    """With ``missing="drop"``, also drop rows that a transform made NaN (np.log(-1))."""
    if missing != "drop":
        return X, Y, keep
    bad = np.isnan(X).any(axis=1) | np.isnan(Y).any(axis=1)
    if not bad.any():
        return X, Y, keep
    full = np.ones(len(bad), dtype=bool) if keep is None else keep.copy()
    full[np.flatnonzero(full)[bad]] = False
    return X[~bad], Y[~bad], full


def without_intercept(matrix) -> tuple[np.ndarray, list[str]]:
    """formulaic's matrix as float64 without its ``Intercept`` column, and the column names."""
    names = [str(c) for c in matrix.columns]
    keep = [j for j, n in enumerate(names) if n != INTERCEPT]
    X = np.asarray(matrix, dtype=np.float64)[:, keep]
    return np.ascontiguousarray(X), [names[j] for j in keep]
