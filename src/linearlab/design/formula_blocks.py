"""Formulas over a table read in blocks (a file's chunks, Dask partitions).

formulaic learns a formula's spec (levels, contrasts) from the table it is given. Over blocks:

1. one light pass collects the levels of the text columns over the rows the fit keeps (those
   complete in the formula's variables, as ``missing="drop"`` keeps them in memory);
2. the spec is learnt from a small table holding every level (numbers are 1): the levels
   are sorted as in memory, or a pandas category's order, so the design's columns, names and
   reference levels are the in-memory fit's;
3. every block is turned into its design by that spec where it lives.

Stateful transforms (``center``, ``scale``, ``standardize``, ``poly``, splines) take a
statistic of the whole column from the table they are learnt on, so they are refused here.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from linearlab.errors import DataError, ParameterError


def formula_variables(design, columns: list[str]) -> list[str]:
    """The columns of ``columns`` that the formula reads by name (those checked for missing
    values)."""
    return sorted(v for v in design._parsed.required_variables if v in columns)


def block_levels(frame, variables: list[str], text: list[str]) -> tuple[int, dict[str, set]]:
    """``(rows, {column: levels})`` of one block, levels over its rows complete in
    ``variables``."""
    complete = frame.dropna(subset=variables) if variables else frame
    return len(frame), {c: set(complete[c].dropna().tolist()) for c in text}


def merge_levels(parts: list) -> tuple[int, dict[str, set]]:
    """The union of :func:`block_levels` results."""
    rows, levels = 0, {}
    for n, found in parts:
        rows += n
        for c, values in found.items():
            levels.setdefault(c, set()).update(values)
    return rows, levels


def portable(design):
    """A copy of ``design`` (fitted or not) that carries only the names its formula uses, so
    that it can travel to Dask workers (the caller's whole namespace may not pickle)."""
    import copy

    out = copy.copy(design)
    out.context = {k: v for k, v in design.context.items()
                   if re.search(rf"\b{re.escape(str(k))}\b", design.formula)}
    return out


def fit_formula(design, columns: list[str], text: list[str], found: dict[str, set],
                categories: dict[str, list] | None = None) -> Any:
    """Learn ``design``'s spec from a table holding every level in ``found``; refuse
    stateful transforms (see the module notes)."""
    import pandas as pd

    variables = formula_variables(design, columns)
    empty = [c for c in text if c in variables and not found.get(c)]
    if empty:
        raise DataError(f"Categorical column {empty[0]!r} has no values (every row is "
                        "missing); drop the column.")
    categories = categories or {}
    levels = {c: sorted(found.get(c, ()), key=str) or ["?"] for c in text}
    n = max([2, *(len(v) for v in levels.values())])
    table = {}
    for name in columns:
        if name in levels:
            values = levels[name]
            table[name] = pd.Categorical([values[i % len(values)] for i in range(n)],
                                         categories=categories.get(name, values))
        else:
            table[name] = np.ones(n)
    design.fit_transform(pd.DataFrame(table), "error")
    stateful = list(dict(design.model_spec.transform_state))
    if stateful:
        raise ParameterError(
            f"The formula {design.formula!r} uses {', '.join(stateful)}, whose state (a mean, "
            "a scale, a basis) comes from the whole column; over streamed files and Dask "
            "collections linearlab fits formulas without such stateful transforms. Compute "
            "the column first (e.g. df['xc'] = df.x - df.x.mean()) and name it in the "
            "formula, or fit a table that fits in memory."
        )
    return design


def block_rows(frame, design, missing: str, weights=None):
    """``(X, Y, w)`` of one block by the fitted formula (rows dropped as ``missing`` says)."""
    X, Y, keep = design.apply(frame, missing, response=True)
    if weights is None:
        return X, Y, None
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), (len(frame),))
    return X, Y, (w if keep is None else w[keep])
