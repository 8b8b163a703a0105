"""Text rendering of a :class:`~linearlab.stats.results.RegressionSummary`, laid out like
statsmodels' ``summary()`` (78 columns: a header of fit statistics, the coefficient table,
then the condition number and notes)."""

from __future__ import annotations

import datetime as _dt
import math
import textwrap

import numpy as np

WIDTH = 78


def _fmt(value: float, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return format(value, spec)


def _forg(x: float, prec: int = 3) -> str:
    """statsmodels' number format: fixed point, or 4 significant digits when very large/small."""
    if not math.isfinite(x):
        return "NA" if math.isnan(x) else str(x)
    if abs(x) >= 1e4 or (abs(x) < 1e-4 and x != 0):
        return f"{x:.4g}"
    return f"{x:.{prec}f}"


def _pair(left: tuple[str, str], right: tuple[str, str] | None) -> str:
    lhs = f"{left[0]:<20}{left[1]:>17}" if left[0] else " " * 37
    rhs = f"{right[0]:<22}{right[1]:>16}" if right else " " * 38
    return f"{lhs}   {rhs}"


def render(summary) -> str:
    """The summary as a statsmodels-style text table."""
    s = summary
    kind = "WLS" if s.weighted else "OLS"
    now = _dt.datetime.now()
    left = [
        ("Dep. Variable:", str(s.target_name)[:17]),
        ("Model:", kind),
        ("Method:", "Least Squares"),
        ("Date:", now.strftime("%a, %d %b %Y")),
        ("Time:", now.strftime("%H:%M:%S")),
        ("No. Observations:", str(s.nobs)),
        ("Df Residuals:", f"{s.df_resid:.0f}"),
        ("Df Model:", f"{s.df_model:.0f}"),
        ("Covariance Type:", s.cov_type),
    ]
    r2 = "R-squared:" if s.k_constant else "R-squared (uncentered):"
    ar2 = "Adj. R-squared:" if s.k_constant else "Adj. R-squared (uncentered):"
    right = [
        (r2, _fmt(s.rsquared, "#8.3f")),
        (ar2, _fmt(s.rsquared_adj, "#8.3f")),
        ("F-statistic:", _fmt(s.fvalue, "#8.4g")),
        ("Prob (F-statistic):", _fmt(s.f_pvalue, "#6.3g")),
        ("Log-Likelihood:", _fmt(s.llf, "#8.5g")),
        ("AIC:", _fmt(s.aic, "#8.4g")),
        ("BIC:", _fmt(s.bic, "#8.4g")),
    ]
    lines = [f"{kind} Regression Results".center(WIDTH), "=" * WIDTH]
    for i, lhs in enumerate(left):
        lines.append(_pair(lhs, right[i] if i < len(right) else None))
    lines.append("=" * WIDTH)

    stat = "t" if s.use_t else "z"
    name_width = max(12, max((len(n) for n in s.names), default=0) + 2)
    head = ["coef", "std err", stat, f"P>|{stat}|", "[0.025", "0.975]"]
    lines.append(" " * name_width + "".join(f"{h:>11}" for h in head))
    lines.append("-" * max(WIDTH, name_width + 66))
    ci = np.asarray(s.conf_int(0.05), dtype=float)  # arrays, or Series for named data
    params, bse, tvalues, pvalues = (np.asarray(v, dtype=float)
                                     for v in (s.params, s.bse, s.tvalues, s.pvalues))
    for i, name in enumerate(s.names):
        if math.isnan(params[i]):
            cells = ["NA"] * 6
        else:
            cells = [
                _forg(params[i], 4), _forg(bse[i]), _forg(tvalues[i]),
                _fmt(pvalues[i], ".3f"), _forg(ci[i, 0]), _forg(ci[i, 1]),
            ]
        lines.append(f"{name:<{name_width}}" + "".join(f"{c:>11}" for c in cells))
    lines.append("=" * max(WIDTH, name_width + 66))
    condition = ("Cond. No.", _fmt(s.condition_number, ".3g"))
    solver = str(s.solver)
    if len(solver) <= 17:
        lines.append(_pair(("Solver:", solver), condition))
    else:  # e.g. "normal, 1 refinement pass, covariance refined": a line of its own
        lines.append(_pair(("", ""), condition))
        lines.append(f"{'Solver:':<20}{solver}"[:WIDTH])
    lines.append("=" * WIDTH)

    notes = []
    if s.cov_type == "nonrobust":
        notes.append("Standard Errors assume that the covariance matrix of the errors is "
                     "correctly specified.")
    else:
        notes.append(f"Standard Errors are heteroscedasticity robust ({s.cov_type}).")
    if s.aliased:
        notes.append(
            f"{len(s.aliased)} coefficient(s) not defined because of singularities (aliased, "
            f"NA): {', '.join(s.aliased)}."
        )
    if s.condition_number > 1e10:
        notes.append(
            f"The condition number is large, {s.condition_number:.3g}. This might indicate "
            "strong multicollinearity or other numerical problems."
        )
    if notes:
        lines.append("")
        lines.append("Notes:")
        for i, note in enumerate(notes, start=1):
            lines.extend(textwrap.wrap(f"[{i}] {note}", WIDTH))
    return "\n".join(lines)
