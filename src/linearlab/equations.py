"""The one formatter of fitted equations: ``y = 2.052·x - 0.7·z + 0.7792``.

Every place that writes a fitted line as text — the convergence diagnosis, the command line,
figure legends and animations — calls :func:`format_equation`, choosing only the number format,
the minus sign and how many terms to show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["format_equation"]


def format_equation(
    coef: Sequence[float],
    intercept: float,
    names: Sequence[str],
    target: str = "y",
    *,
    fit_intercept: bool = True,
    digits: int = 6,
    number: Callable[[float], str] | None = None,
    minus: str = "-",
    max_terms: int | None = None,
) -> str:
    """``target = c1·name1 ± c2·name2 ... ± intercept``.

    Parameters
    ----------
    coef, intercept, names, target
        The coefficients (one per name), the intercept and the labels.
    fit_intercept : bool, default=True
        Whether the intercept term is written.
    digits : int, default=6
        Significant digits when ``number`` is not given (``format(v, ".6g")``).
    number : callable, optional
        Formats the magnitude of each number (figures pass their compact format).
    minus : str, default="-"
        The minus sign ("−" in figures).
    max_terms : int, optional
        Terms shown before an ellipsis ("…"); the intercept is then left out.
    """
    text_of = number or (lambda v: f"{v:.{digits}g}")
    terms = []
    truncated = False
    for j, (c, name) in enumerate(zip(coef, names, strict=True)):
        if max_terms is not None and j == max_terms:
            terms.append(" …" if terms else "…")
            truncated = True
            break
        sign = (minus if c < 0 else "") if j == 0 else (f" {minus} " if c < 0 else " + ")
        terms.append(f"{sign}{text_of(abs(c))}·{name}")
    text = f"{target} = {''.join(terms)}"
    if fit_intercept and not truncated:
        if not terms:
            return f"{target} = {minus if intercept < 0 else ''}{text_of(abs(intercept))}"
        text += (f" {minus} " if intercept < 0 else " + ") + text_of(abs(intercept))
    return text
