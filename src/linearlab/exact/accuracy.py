"""How many digits an exact solution carries, and when to say so.

The normal equations (one pass over the data, the fast path of ``solver="auto"``) lose digits
three ways: solving with the Gram matrix costs its condition number κ(XᵀWX) = κ(X)², forming the
centred cross-products from raw ones (``Gram`` does so while the offsets are small) costs the
cancellation W·x̄²/Sₓₓ, and the residual sum of squares Σy² − 2βᵀXᵀy + βᵀXᵀXβ cancels when the fit
is tight. :func:`normal_equation_errors` turns these into first-order estimates of the relative
error of every coefficient, the intercept, the covariance and the residual sum of squares;
``solver="auto"`` keeps the fast path only while they promise :data:`TARGET_ERROR`, and otherwise
refines (:mod:`linearlab.exact.refine`). The constants were fitted to measured errors against
50-digit references (``tests/test_accuracy.py`` holds the result to 12 digits) and err on the
pessimistic side.

:mod:`linearlab.exact.conditioning` warns from these estimates: about the digits the answer lost,
not about the raw design's condition number, which linearlab's refinement absorbs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linearlab.exact.gram import Gram

EPS = float(np.finfo(np.float64).eps)
# The fast path is kept while every estimated relative error is below this: ≥ 12 digits.
TARGET_ERROR = 1e-12
# Fitted to measured errors of the Cholesky solve (see the module notes): the error of a scaled
# coefficient β_i is about ε·κ·[(NORMWISE + LOSS_WEIGHT·c)·max|β| + OWN·(1 + c)·|β_i|], with c the
# cancellation of forming the centred cross-products. Small coefficients next to large ones are
# the ones that lose digits; on random data their error stays below a tenth of the NORMWISE term,
# with offsets (c > 0) below the LOSS_WEIGHT term.
NORMWISE = 1.0
LOSS_WEIGHT = 10.0
OWN = 32.0
# Relative error of Σ w·r² from the Gram, per ε and per unit of (Σ of the magnitudes) / SSR.
SSR_FACTOR = 8.0
# ``Gram`` forms centred cross-products from raw ones only while W·x̄²/Sₓₓ stays below this
# for every column (otherwise it centres each block explicitly, which costs nothing).
UNCENTRED_LIMIT = 100.0


@dataclass
class NormalErrors:
    """First-order relative error estimates of a normal-equations solution."""

    params: float  # worst over the coefficients and the intercept (all targets)
    covariance: float  # of the diagonal of (AᵀWA)⁻¹ from the Gram
    ssr: np.ndarray  # (k,) of the Gram's residual sums of squares

    @property
    def worst(self) -> float:
        """The largest of the estimates (coefficients, intercept, covariance)."""
        return max(self.params, self.covariance)


def centring_loss(gram: Gram) -> tuple[float, float]:
    """Relative cancellation in the centred cross-products when ``Gram`` formed them from raw
    ones (unweighted, every column's W·x̄²/S below :data:`UNCENTRED_LIMIT`), else zeros.

    Sᵢⱼ loses W·|x̄ᵢ x̄ⱼ|/√(SᵢᵢSⱼⱼ): returns the worst over the entries the coefficients depend on
    (XᵀX and Xᵀy) and over those the residual sum of squares also depends on (yᵀy).
    """
    if gram.weight_sum == 0.0 or gram.weight_sum != gram.count:  # weighted: centred blocks
        return 0.0, 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = gram.weight_sum * gram.mean_x**2 / np.diag(gram.sxx)
        ly = gram.weight_sum * gram.mean_y**2 / np.diag(gram.syy)
    lx = np.where(np.isnan(lx), 0.0, lx)
    ly = np.where(np.isnan(ly), 0.0, ly)
    if not (np.all(lx < UNCENTRED_LIMIT) and np.all(ly < UNCENTRED_LIMIT)):
        return 0.0, 0.0
    x_worst = float(lx.max()) if lx.size else 0.0
    y_worst = float(ly.max()) if ly.size else 0.0
    coef_loss = max(x_worst, float(np.sqrt(x_worst * y_worst)))
    return coef_loss, max(coef_loss, y_worst)


def normal_equation_errors(
    gram: Gram, coef: np.ndarray, intercept: np.ndarray, gram_condition: float,
    fit_intercept: bool, alpha: float = 0.0,
) -> NormalErrors:
    """Relative error estimates of the normal equations' answer (see the module notes).

    ``coef`` is (d, k), ``intercept`` (k,), ``gram_condition`` the condition number of the
    column-scaled Gram matrix (with ``alpha`` added). With a ridge penalty only the normwise
    level is returned: ridge shrinks coefficients towards zero, where relative errors say nothing.
    """
    if alpha:
        level = OWN * EPS * gram_condition
        return NormalErrors(level, level, np.zeros(coef.shape[1]))
    G, H, Y = gram.cross_products(fit_intercept)
    scale = np.sqrt(np.diag(G))
    scale = np.where(scale > 0, scale, 1.0)
    loss, ssr_loss = centring_loss(gram)
    level = EPS * gram_condition * (1.0 + loss)
    scaled = np.abs(coef) * scale[:, None]  # (d, k)
    top = scaled.max(axis=0) if scaled.size else np.zeros(coef.shape[1])
    abs_err = EPS * gram_condition * (  # of the scaled coefficients
        (NORMWISE + LOSS_WEIGHT * loss) * top[None, :] + OWN * (1.0 + loss) * scaled
    )
    ssr = gram.residual_sum_of_squares(coef, intercept if fit_intercept else None)
    se_scaled, se_intercept = _standard_errors(gram, G, scale, ssr, fit_intercept)
    with np.errstate(divide="ignore", invalid="ignore"):
        # digits are counted against the coefficient, or its standard error when that is larger
        rel = np.where(abs_err > 0, abs_err / np.maximum(scaled, se_scaled), 0.0)
        worst = float(rel.max()) if rel.size else 0.0
        if fit_intercept and coef.shape[0]:
            mx = np.abs(gram.mean_x)
            rounding = 4 * EPS * (np.abs(gram.mean_y) + mx @ np.abs(coef))
            err0 = (mx / scale) @ abs_err + rounding
            # an intercept below its own rounding level (exactly 0, say) has no digits to keep
            size = np.maximum(np.maximum(np.abs(intercept), rounding), se_intercept)
            worst = max(worst, float(np.max(np.where(err0 > 0, err0 / size, 0.0))))
    b = np.abs(coef)
    magnitude = np.diag(Y) + 2 * np.einsum("ik,ik->k", b, np.abs(H)) + np.einsum(
        "ik,ij,jk->k", b, np.abs(G), b
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ssr_err = np.where(
            magnitude > 0, SSR_FACTOR * EPS * (1.0 + ssr_loss) * magnitude / ssr, 0.0
        )
    return NormalErrors(params=worst, covariance=OWN * level, ssr=ssr_err)


def _standard_errors(gram: Gram, G: np.ndarray, scale: np.ndarray, ssr: np.ndarray,
                     fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """OLS standard errors of the scaled coefficients (d, k) and of the intercepts (k,).

    A coefficient smaller than its standard error is statistically indistinguishable from
    zero: its digits beyond the twelfth of that standard error carry no information, and
    demanding them would send ordinary data with an irrelevant feature down the refined path
    (54x slower on 1,000,000 × 50). Zeros when unknown (no residual degrees of freedom, or a
    singular Gram) keep the rule componentwise.
    """
    d, k = G.shape[0], ssr.shape[0]
    df = gram.count - d - int(fit_intercept)
    if df <= 0 or d == 0:
        return np.zeros((d, k)), np.zeros(k)
    try:
        inverse = np.linalg.inv(G / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        return np.zeros((d, k)), np.zeros(k)
    variance = np.clip(ssr, 0.0, None) / df  # (k,)
    se_scaled = np.sqrt(np.outer(np.clip(np.diag(inverse), 0.0, None), variance))
    if not fit_intercept:
        return se_scaled, np.zeros(k)
    m = gram.mean_x / scale
    se_intercept = np.sqrt(variance * max(1.0 / gram.weight_sum + float(m @ inverse @ m), 0.0))
    return se_scaled, se_intercept
