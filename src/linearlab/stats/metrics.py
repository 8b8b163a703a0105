"""The coefficient of determination, R², written once for the whole package."""

from __future__ import annotations

import numpy as np

__all__ = ["r2_scores", "r_squared"]


def r2_scores(ssr, tss, *, constant=None) -> np.ndarray:
    """R² = 1 - SSR/TSS per target.

    A target without variation (TSS = 0) scores ``constant`` when given (statsmodels reports
    NaN), else scikit-learn's convention: 1.0 for a perfect fit, 0.0 otherwise.
    """
    ssr = np.asarray(ssr, dtype=np.float64)
    tss = np.asarray(tss, dtype=np.float64)
    positive = tss > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = 1.0 - ssr / np.where(positive, tss, 1.0)
    fallback = np.where(ssr > 0, 0.0, 1.0) if constant is None else constant
    return np.where(positive, scores, fallback)


def r_squared(y, pred, sample_weight=None) -> float:
    """R² of predictions ``pred`` for targets ``y``, averaged over targets (scikit-learn's
    ``r2_score`` with ``multioutput="uniform_average"``), rows weighted by ``sample_weight``."""
    Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    P = np.asarray(pred, dtype=np.float64).reshape(Y.shape)
    w = 1.0 if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[:, None]
    ssr = (w * (Y - P) ** 2).sum(axis=0)
    tss = (w * (Y - np.average(Y, axis=0, weights=sample_weight)) ** 2).sum(axis=0)
    return float(np.mean(r2_scores(ssr, tss)))
