"""The covariance (XᵀWX)⁻¹ of the measured fast path: a sharp check, and one pass to refine it.

The inverse from the Cholesky factor inherits the Gram's rounding. To first order its diagonal
moves by at most ε·(c + centring loss)·(Σⱼ|Cᵢⱼ|)²/Cᵢᵢ (C the scaled inverse): :func:`
covariance_error`, O(d²). When that misses 12 digits, :func:`covariance_pass` evaluates
(XᵀWX)·C as X̃ᵀW(X̃C) over the data (semi-normal products: error ≈ cond(X)·ε instead of the
Gram's cond(X)²·ε) and takes one Newton step C + C(I − (XᵀWX)C).
"""

from __future__ import annotations

import numpy as np

from linearlab.exact.accuracy import EPS
from linearlab.exact.gram import Gram

#: Constant of the first-order covariance check (rounding of the Gram and of its factor).
COVARIANCE_FACTOR = 4.0
_BLOCK_ELEMENTS = 2**16  # rows × columns of X per block


def covariance_error(inverse_scaled: np.ndarray, loss: float) -> float:
    """First-order relative error of diag(C) when every scaled Gram entry carries ε·(c + loss)."""
    if inverse_scaled.size == 0:
        return 0.0
    rows = np.abs(inverse_scaled).sum(axis=1)
    diag = np.diag(inverse_scaled)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diag > 0, rows**2 / diag, np.inf)
    return float(EPS * (COVARIANCE_FACTOR + loss) * ratio.max())


def covariance_pass(X, w, inverse_scaled, scale, shift_x, centre: bool):
    """(XᵀWX)⁻¹ (scaled) refined by one Newton step C + C(I − G C), with G C evaluated as
    X̃ᵀW(X̃C) over the data (semi-normal products: error ≈ cond(X)·ε instead of the Gram's
    cond(X)²·ε). Returns the refined scaled inverse and its estimated relative error."""
    n, d = X.shape
    rows = max(256, _BLOCK_ELEMENTS // max(1, d))
    product = np.zeros((d, d))
    column_sum = np.zeros(d)  # Σ w (x − s): zero up to rounding when centred
    unscaled = inverse_scaled / scale[:, None]
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        Xb = X[start:stop] - shift_x if centre else X[start:stop]
        part, part_sum = block_products(Xb, None if w is None else w[start:stop], unscaled)
        product += part
        column_sum += part_sum
    W = float(n if w is None else w.sum())
    return refine_inverse(product, column_sum, inverse_scaled, scale, shift_x, centre, W)


def block_products(Xb, wb, unscaled) -> tuple[np.ndarray, np.ndarray]:
    """One block's share of the semi-normal products: (Xbᵀ W (Xb D⁻¹C), Σ W xb), with
    ``unscaled`` = D⁻¹C (D the column scale, C the scaled inverse); one product for both."""
    Z = Xb @ unscaled
    if wb is not None:
        Z *= wb[:, None]
        weights = wb[:, None]
    else:
        weights = np.ones((Xb.shape[0], 1))
    both = Xb.T @ np.hstack([Z, weights])
    return both[:, :-1], both[:, -1]


def refine_inverse(product, column_sum, inverse_scaled, scale, shift_x, centre: bool,
                   weight_sum: float):
    """The Newton step of :func:`covariance_pass` from the summed :func:`block_products`
    (``shift_x`` applied afterwards when the blocks were not centred): (refined scaled inverse,
    its estimated relative error)."""
    d = inverse_scaled.shape[0]
    C = inverse_scaled
    product = product / scale[:, None]  # X̃ᵀW(X̃C), X̃ = (X − s) D⁻¹
    if not centre and np.any(shift_x):  # the shift applied afterwards: X̃ − 1 x̄̃ᵀ
        column_sum = column_sum / scale
        mean = shift_x / scale
        product -= (np.outer(column_sum - weight_sum * mean, mean @ C)
                    + np.outer(mean, column_sum @ C))
    refined = C + C @ (np.eye(d) - product)
    refined = (refined + refined.T) / 2
    diag = np.diag(refined)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diag > 0, np.abs(refined).sum(axis=1) / np.sqrt(diag), np.inf)
    return refined, float(EPS * COVARIANCE_FACTOR * (ratio.max() if d else 0.0))


def with_intercept(C: np.ndarray, gram: Gram, fit_intercept: bool) -> np.ndarray:
    """(AᵀWA)⁻¹ of A = [1, X] (intercept first) from the centred inverse C."""
    if not fit_intercept:
        return C
    cross = -(C @ gram.mean_x)
    top = 1.0 / gram.weight_sum + float(gram.mean_x @ C @ gram.mean_x)
    return np.block([[np.array([[top]]), cross[None, :]], [cross[:, None], C]])
