"""The warning text for rank-deficient designs and for answers that lost digits (exact solvers).

A ``ConditioningWarning`` is about the answer, not about statsmodels' raw condition number: a
degree-10 polynomial in raw powers (condition number ~1e15) that ``solver="auto"`` refines to
full precision does not warn, while the same data fitted by ``solver="normal"`` (which keeps
only a few digits) does. The solvers estimate their relative error
(``ExactSolution.error_estimate``; :mod:`linearlab.exact.accuracy`); the warning fires above
:data:`WARN_ERROR`, i.e. when fewer than about ten significant digits are left.
"""

from __future__ import annotations

import numpy as np

from linearlab.exact.accuracy import EPS, OWN

#: Warn when the estimated relative error of the coefficients or standard errors exceeds this.
WARN_ERROR = 1e-10


def estimated_error(solution) -> float:
    """The solver's error estimate, or one from the scaled condition number when it gave none."""
    error = getattr(solution, "error_estimate", np.nan)
    if np.isnan(error):  # solvers that do not estimate: ε·κ of the centred, scaled design
        refined = getattr(solution, "refined", False)  # (refinement removes the κ)
        error = OWN * EPS * (1.0 if refined else solution.condition_number)
    return float(error)


def conditioning_message(solution, n_features: int, alpha: float,
                         names: list[str] | None) -> str | None:
    """One paragraph about a rank-deficient design or an answer that lost digits, else None."""
    if solution.rank < n_features and not alpha:
        cols = solution.aliased or []
        named = ", ".join(repr(names[j]) if names else str(j) for j in cols)
        where = f" Columns involved: {named}." if named else ""
        return (
            f"X is rank-deficient: rank {solution.rank} < {n_features} features (constant, "
            f"duplicate or linearly dependent columns, or fewer rows than features).{where} "
            "The minimum-norm solution is returned; drop redundant columns or set alpha > 0 "
            "for a unique answer."
        )
    error = estimated_error(solution)
    if not error > WARN_ERROR:  # (False for nan too: nothing to go by)
        return None
    digits = max(0, int(np.floor(-np.log10(min(error, 1.0)))))
    raw = solution.raw_condition_number
    raw_text = "" if np.isnan(raw) else (
        f"; {raw:.3g} for the design with its constant, as statsmodels reports it"
    )
    advice = (
        "a fit in one piece with solver='auto' refines such fits to full precision; or "
        "rescale the features, "
        if solution.solver in ("normal", "qr", "svd") and not solution.refined and not alpha
        else "rescale the features, "
    )
    # refined coefficients keep 12 digits or more: what is left of the estimate is the covariance
    # from the double-precision factor (the tall QR path does not refine it)
    what = ("The coefficients are refined (12 or more correct digits), but their standard errors"
            if solution.refined else "The coefficients and standard errors")
    return (
        f"X is ill-conditioned for solver {solution.solver!r}: condition number "
        f"{solution.condition_number:.3g} after centring and scaling the columns{raw_text}. "
        f"{what} may keep only about {digits} correct "
        f"significant digits: {advice}remove nearly collinear columns, or set alpha > 0."
    )
