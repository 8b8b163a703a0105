"""Honest convergence diagnostics: how far gradient descent ended from the exact optimum.

For squared losses the optimum is known exactly (the exact solvers), so instead of guessing from
the loss curve we compare the final loss with the optimal loss and, when descent fell short, say
by how much, where the optimum is, and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linearlab.equations import format_equation

# Converged when the excess loss is within this fraction of the optimal loss (or, for a perfect
# fit, of the starting loss times the same fraction squared).
RELATIVE_GAP_TOLERANCE = 1e-6


@dataclass
class Diagnosis:
    """Whether descent converged, and a one-paragraph explanation when it did not."""

    converged: bool
    final_loss: float
    optimal_loss: float | None
    message: str | None


def _equation(coef: np.ndarray, intercept: np.ndarray, names: list[str] | None) -> str:
    if coef.shape[1] != 1 or coef.shape[0] > 6:
        return f"coef={np.array2string(coef.T.squeeze(), precision=6)}, intercept={intercept}"
    labels = names or (["x"] if coef.shape[0] == 1 else [f"x{j}" for j in range(coef.shape[0])])
    return format_equation(coef[:, 0], intercept[0], labels, digits=10)


def diagnose_quadratic(
    *,
    history: list[float],
    final_loss: float,
    optimal_loss: float,
    optimum: tuple[np.ndarray, np.ndarray],
    lr: float,
    epochs_run: int,
    stopped_by_tol: bool,
    suggested_lr: float | None,
    feature_names: list[str] | None = None,
    standardized: bool = False,
    stochastic: bool = False,
    history_stride: int = 1,
) -> Diagnosis:
    """Compare the final loss of a squared-loss run with the exact optimal loss.

    ``final_loss`` and ``optimal_loss`` are values of the objective trained (with its penalty,
    on the standardized scale when ``standardized``); ``optimum`` is on the original scale.
    ``history[i]`` is the loss of epoch ``i * history_stride`` (a thinned history, see
    :mod:`linearlab.descent.history`), its last entry that of epoch ``epochs_run - 1``.
    """
    start = history[0] if history else final_loss
    gap = max(final_loss - optimal_loss, 0.0)
    allowed = RELATIVE_GAP_TOLERANCE * optimal_loss + RELATIVE_GAP_TOLERANCE**2 * start
    converged = gap <= allowed or stopped_by_tol
    if converged:
        return Diagnosis(True, final_loss, optimal_loss, None)
    perfect_fit = optimal_loss <= 1e-12 * max(start, np.finfo(float).tiny)
    relative = np.inf if perfect_fit else gap / optimal_loss
    size = (
        f"{100 * relative:.3g}% above the optimal loss"
        if np.isfinite(relative)
        else "while a perfect fit exists"
    )
    advice = []
    if suggested_lr is not None and suggested_lr > lr * 1.5:
        advice.append(f"try lr={suggested_lr:.4g} (lr='auto')")
    rate = _observed_rate(history, history_stride, epochs_run)
    if rate is not None and 0 < rate < 1:
        more = int(np.ceil(np.log(max(allowed, 1e-300) / gap) / np.log(rate)))
        if 0 < more < 10**9:
            advice.append(f"about {more} more epochs at this lr")
    if stochastic:
        advice.append("for mini-batches, more epochs with average=True or a decaying "
                      "lr_schedule (a constant step stalls at a noise floor)")
    if not standardized:
        advice.append("standardize=True when features have different scales")
    advice.append("or solver='auto' for the exact answer")
    message = (
        f"Not converged: after {epochs_run} epochs with lr={lr:.6g} the loss is {final_loss:.6g}, "
        f"above the exact optimum {optimal_loss:.6g} by {gap:.3g} ({size}). The exact optimum is "
        f"{_equation(optimum[0], optimum[1], feature_names)}. To get there: "
        + "; ".join(advice)
        + "."
    )
    return Diagnosis(False, final_loss, optimal_loss, message)


def _observed_rate(history: list[float], stride: int = 1,
                   epochs: int | None = None) -> float | None:
    """Per-epoch contraction of the loss at the end of the run (for an epochs estimate).

    ``history[i]`` is epoch ``i * stride``; a last entry off that grid (the final epoch of a
    thinned history) is left out so the entries used are evenly spaced, ``stride`` epochs apart.
    """
    stride = max(1, int(stride))
    on_grid = len(history)
    if stride > 1 and epochs is not None and on_grid and (on_grid - 1) * stride != epochs - 1:
        on_grid -= 1  # the last entry is the final epoch, not i * stride
    if on_grid < 3:
        return None
    tail = np.asarray(history[max(0, on_grid - 50) : on_grid])
    diffs = tail[:-1] - tail[1:]
    if diffs[0] <= 0 or diffs[-1] <= 0:
        return None
    return float((diffs[-1] / diffs[0]) ** (1.0 / (stride * (len(diffs) - 1))))


def diagnose_plateau(history: list[float], stopped_by_tol: bool, *,
                     epochs_run: int | None = None, history_stride: int = 1) -> Diagnosis:
    """For losses without a closed-form optimum: converged when the loss stopped changing.

    ``epochs_run`` (default ``len(history)``) and ``history_stride`` describe a thinned history
    (``history[i]`` is epoch ``i * history_stride``, the last entry epoch ``epochs_run - 1``): the
    last change is then measured per epoch over the epochs between the last two entries.
    """
    final = history[-1]
    epochs = len(history) if epochs_run is None else int(epochs_run)
    if stopped_by_tol:
        return Diagnosis(True, final, None, None)
    if len(history) >= 2:
        stride = max(1, int(history_stride))
        apart = max(1, min(stride, epochs - 1 - (len(history) - 2) * stride))
        change = abs(history[-2] - history[-1]) / max(abs(history[-2]), np.finfo(float).tiny)
        if change / apart < 1e-8:
            return Diagnosis(True, final, None, None)
    return Diagnosis(
        False,
        final,
        None,
        f"Not converged: the loss was still changing after {epochs} epochs "
        f"(last value {final:.6g}). Run more epochs, set tol to stop on a plateau, or "
        "use lr='auto'.",
    )
