"""The fast exact path: Cholesky on the Gram matrix, then *measured* by residual passes.

Bounding the error of the normal equations a priori overstates it 5–100x and sent ordinary data
to the slow path. Here the answer is measured instead (iterative refinement of the normal
equations, i.e. the corrected semi-normal equations): one blockwise pass over X computes the
residuals r = y − Xβ − β₀ and the gradient g = Xᵀ W r, which give

- the residual sum of squares Σ w r² directly (no cancellation, unlike the Gram's formula), and
- the correction δ = (XᵀWX)⁻¹ g, solved with the Cholesky factor already at hand.

|δ| against the coefficients (or their standard errors, when larger) is the error of the
Cholesky answer; after the correction what remains is about κ·ε·|δ| (κ the condition number
of the scaled Gram, from LAPACK's ``dpocon``) plus the rounding floor of the residuals
themselves, ε·√(d+2)·m·√diag((XᵀWX)⁻¹) with m the root mean square of the terms summed.
When that is below :data:`TARGET` the answer stands (one pass; a second when the first
correction was large). Otherwise :func:`refine_normal` returns None and the caller escalates
(QR refined in double-double).

The covariance (XᵀWX)⁻¹ from the Cholesky factor inherits the Gram's rounding: its diagonal
moves by at most about ε·(c + centring loss)·(Σⱼ|Cᵢⱼ|)²/Cᵢᵢ (first order, in the scaled
problem), a sharp check that costs O(d²) once C is known.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from linearlab.exact.accuracy import EPS, TARGET_ERROR, centring_loss
from linearlab.exact.blocks import Shifter, row_tasks
from linearlab.exact.covariance import covariance_error, refine_inverse, with_intercept
from linearlab.exact.gram import Gram, one_blas_thread
from linearlab.exact.solution import ExactSolution, residual_ssr

#: Relative error every coefficient (or its standard error, when larger) and the covariance
#: must reach on the fast path: 12 digits.
TARGET = TARGET_ERROR
#: Refinement passes before giving up on the normal equations.
MAX_PASSES = 3
# Refining the covariance in double-double (QR) costs n·p² double-double operations: beyond
# this the covariance pass's answer stands (with its error estimate, which warns above 1e-10).
COVARIANCE_REFINE_BUDGET = 5_000_000
#: Columns whose offset costs more than this (W·x̄²/Sₓₓ) are centred in each block of the pass.
CENTRE_LIMIT = 1.0
_BLOCK_ELEMENTS = 2**16  # about 512 KiB of X per block: stays in cache between the two products


# The passes contract by about 4·ε·cond(XᵀX) each: beyond this (cond(X) ≳ 3e6) QR runs directly.
REFINE_SAFE_CONDITION = 1e13


class NotSafe(Exception):
    """The normal equations are numerically unsafe for this problem."""

    def __init__(self, condition: float):
        self.condition = condition


def scaled_gram(gram: Gram, alpha: float, fit_intercept: bool):
    """(Gram / s sᵀ (+ α/s²), Xᵀy / s, s): the Gram scaled to unit diagonal."""
    G, H, _ = gram.cross_products(fit_intercept)
    scale = np.sqrt(np.diag(G))
    scale = np.where(scale > 0, scale, 1.0)
    Gs = G / np.outer(scale, scale)
    if alpha:
        Gs = Gs + np.diag(alpha / scale**2)
    Hs = H / scale[:, None]
    return Gs, Hs, scale


def cholesky_factor(gram: Gram, alpha: float, fit_intercept: bool, max_condition: float):
    """(upper factor, column scale, scaled Xᵀy, condition) of the scaled Gram (``dpocon``)."""
    Gs, Hs, scale = scaled_gram(gram, alpha, fit_intercept)
    if np.any(np.diag(gram.cross_products(fit_intercept)[0]) == 0) and not alpha:
        raise NotSafe(np.inf)
    factor, info = sla.lapack.dpotrf(Gs, lower=False)
    if info != 0:
        raise NotSafe(np.inf)
    anorm = np.abs(Gs).sum(axis=0).max()
    rcond, _ = sla.lapack.dpocon(factor, anorm, uplo="U")
    condition = np.inf if rcond == 0 else 1.0 / rcond
    if condition > max_condition:
        raise NotSafe(condition)
    return np.triu(factor), scale, Hs, float(condition)


@dataclass
class PassResult:
    """One residual pass: Σ w r² (k,), the centred gradient Σ w (x − x̄) r (d, k), Σ w r (k,)."""

    ssr: np.ndarray
    gradient: np.ndarray
    residual_sum: np.ndarray
    product: np.ndarray | None = None  # the covariance's semi-normal products, when asked
    column_sum: np.ndarray | None = None


def residual_pass(X, Y, w, coef, offset, shift_x, shift_y, centre: bool,
                  covariance: np.ndarray | None = None) -> PassResult:
    """Residuals r = (y − shift_y) − (x − shift_x)ᵀβ − offset, block by block.

    With ``centre`` the blocks are centred explicitly (exact in the leading digits when offsets
    are large); otherwise the shifts are applied to the products (cheaper: no copy). Blocks
    stay in cache between their two products; they are shared among threads
    (one BLAS thread each, as the Gram pass) and summed in block order, so the numbers do not
    depend on the thread count. Returns the sums of one pass; with ``covariance`` (D⁻¹C, the
    scaled inverse over the column scale) also the covariance's semi-normal products
    Xbᵀ W (Xb D⁻¹C) and Σ w xb from the same blocks and products, for
    :func:`linearlab.exact.covariance.refine_inverse`: one pass over X for both.
    """
    n, d = X.shape
    k = coef.shape[1]
    rows = max(256, _BLOCK_ELEMENTS // max(1, d))
    const = offset + (0.0 if centre else shift_y - shift_x @ coef)  # (k,)
    right = coef if covariance is None else np.hstack([coef, covariance])  # [β, D⁻¹C]
    m = right.shape[1]

    def chunk(bounds: tuple[int, int]):
        # per block two products: F = Xb·[β, D⁻¹C], its first k columns turned into the
        # residuals in place, then FᵀWXb (a contiguous F: no strided copies)
        ssr, rsum, sums, column_sum = np.zeros(k), np.zeros(k), np.zeros((m, d)), np.zeros(d)
        F = np.empty((min(rows, bounds[1] - bounds[0]), m))
        ones = np.ones(F.shape[0]) if covariance is not None and w is None else None
        centred = Shifter(shift_x, F.shape[0]) if centre else None
        for start in range(bounds[0], bounds[1], rows):
            stop = min(bounds[1], start + rows)
            Xb = X[start:stop] if centred is None else centred(X[start:stop])
            Fb = F[:stop - start]
            np.matmul(Xb, right, out=Fb)
            r = Fb[:, :k]
            np.subtract(Y[start:stop] - shift_y if centre else Y[start:stop], r, out=r)
            r -= const
            if w is None:
                ssr += np.einsum("ij,ij->j", r, r)
                if ones is not None:
                    column_sum += ones[:stop - start] @ Xb
            else:
                wb = w[start:stop]
                ssr += np.einsum("ij,ij,i->j", r, r, wb)
                Fb *= wb[:, None]
                if covariance is not None:
                    column_sum += wb @ Xb
            rsum += r.sum(axis=0)
            sums += Fb.T @ Xb  # (FᵀXb, not XbᵀF: 2.5x faster for few columns of F)
        return ssr, rsum, sums, column_sum

    tasks = row_tasks(n, rows, 16)
    workers = min(len(tasks), os.cpu_count() or 1)
    with one_blas_thread():
        if workers < 2:
            parts = [chunk(t) for t in tasks]
        else:
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(chunk, tasks))
    ssr, rsum, sums, column_sum = np.zeros(k), np.zeros(k), np.zeros((m, d)), np.zeros(d)
    for part in parts:  # in block order
        ssr += part[0]
        rsum += part[1]
        sums += part[2]
        column_sum += part[3]
    sums = sums.T
    grad = sums[:, :k]
    if not centre:
        grad = grad - np.outer(shift_x, rsum)
    if covariance is None:
        return PassResult(ssr, grad, rsum)
    return PassResult(ssr, grad, rsum, sums[:, k:], column_sum)


@dataclass
class Refined:
    """The measured fast path's answer."""

    coef: np.ndarray  # (d, k)
    intercept: np.ndarray  # (k,)
    ssr: np.ndarray  # (k,)
    passes: int
    error: float  # estimated relative error after the last correction (coefficients)
    covariance_error: float  # first-order relative error of diag((XᵀWX)⁻¹) from the factor
    ssr_accurate: bool = True  # False: a tight fit, whose residuals need double-double


def offset_ratio(gram: Gram) -> float:
    """Largest W·x̄²/Sₓₓ (or of the targets): how much larger raw values are than their spread."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.concatenate([
            gram.weight_sum * gram.mean_x**2 / np.diag(gram.sxx),
            gram.weight_sum * gram.mean_y**2 / np.diag(gram.syy),
        ])
    ratio = ratio[np.isfinite(ratio)]
    return float(ratio.max()) if ratio.size else 0.0


def _moments(gram: Gram, centred: bool) -> tuple[np.ndarray, np.ndarray]:
    """Root mean squares of the feature and target columns as the pass sees them."""
    W = gram.weight_sum
    sx, sy = np.diag(gram.sxx), np.diag(gram.syy)
    if not centred:
        sx = sx + W * gram.mean_x**2
        sy = sy + W * gram.mean_y**2
    return np.sqrt(np.clip(sx, 0, None) / W), np.sqrt(np.clip(sy, 0, None) / W)


def refine_normal(
    run_pass: Callable[..., PassResult], gram: Gram, factor: np.ndarray, scale: np.ndarray,
    condition: float, coef: np.ndarray, fit_intercept: bool,
    inverse: np.ndarray | None = None,
) -> Refined | None:
    """Refine the Cholesky answer by residual passes until the measured error is below
    :data:`TARGET`; None when it does not get there (the caller escalates).

    ``run_pass(coef, offset, shift_x, shift_y, centre)`` makes one pass over the data
    (:func:`residual_pass` for arrays; device blocks, file blocks and partitions have their
    own). ``factor`` is the upper Cholesky factor of the scaled Gram G / (s sᵀ), ``scale`` = s,
    ``condition`` its condition number (``dpocon``); ``inverse``, the scaled (XᵀWX)⁻¹ when the
    caller has it already (else solved from the factor here).
    """
    d, k = coef.shape
    W = gram.weight_sum
    df = gram.count - d - int(fit_intercept)
    loss = max(centring_loss(gram))
    centre = fit_intercept and offset_ratio(gram) > CENTRE_LIMIT
    if fit_intercept:
        shift_x, shift_y = gram.mean_x, gram.mean_y
    else:
        shift_x, shift_y = np.zeros(d), np.zeros(k)
    if inverse is None:  # the scaled (XᵀWX)⁻¹ from the factor
        inverse = sla.cho_solve((factor, False), np.eye(d), check_finite=False) if d else np.eye(0)
    c_diag = np.clip(np.diag(inverse), 0, None) / scale**2  # diag((XᵀWX)⁻¹)
    rms_x, rms_y = _moments(gram, centred=centre)
    m = np.sqrt(rms_y**2 + (coef**2).T @ rms_x**2)  # (k,) rms size of each residual's terms
    floor_coef = EPS * np.sqrt(d + 2) * np.outer(np.sqrt(c_diag), m)  # (d, k)
    contraction = 4 * EPS * condition
    offset = np.zeros(k)  # intercept in the shifted coordinates: b0 = ȳ + offset − x̄ᵀβ
    coef = coef.copy()
    error = previous = np.inf
    for passes in range(1, MAX_PASSES + 1):
        sums = run_pass(coef, offset, shift_x, shift_y, centre)
        g = sums.gradient
        delta = sla.cho_solve((factor, False), g / scale[:, None], check_finite=False)
        delta /= scale[:, None]
        delta_offset = sums.residual_sum / W if fit_intercept else np.zeros(k)
        ssr = sums.ssr - np.einsum("ik,ik->k", delta, g) - delta_offset * sums.residual_sum
        ssr = np.maximum(ssr, 0.0)
        sigma2 = ssr / df if df > 0 else np.zeros(k)
        se = np.sqrt(np.outer(c_diag, sigma2))
        size = np.maximum(np.abs(coef + delta), se)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(size > 0, (contraction * np.abs(delta) + floor_coef) / size, 0.0)
            worst = float(rel.max()) if rel.size else 0.0
            if fit_intercept:
                worst = max(worst, _intercept_error(gram, coef, offset, delta, delta_offset,
                                                    inverse, scale, sigma2, contraction, m, d))
        if passes == 1 and _floor_error(floor_coef, size) > TARGET:
            return None  # the residuals' own rounding is above the target: refinement in double
        coef += delta
        offset += delta_offset
        error = worst
        ssr_error = EPS * np.sqrt(d + 2) * m * np.sqrt(W / np.maximum(ssr, 1e-300))
        if error <= TARGET:
            break
        if passes > 1 and error > 0.5 * previous:  # not contracting: the floor is reached
            return None
        previous = error
    else:
        return None
    return Refined(
        coef=coef, intercept=_intercept(gram, coef, offset, fit_intercept), ssr=ssr,
        passes=passes, error=error, covariance_error=covariance_error(inverse, loss),
        ssr_accurate=bool(np.all(ssr_error <= TARGET)),
    )


def _floor_error(floor_coef, size) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(size > 0, floor_coef / size, 0.0)
    return float(rel.max()) if rel.size else 0.0


def _intercept(gram, coef, offset, fit_intercept):
    if not fit_intercept:
        return np.zeros(coef.shape[1])
    return gram.mean_y + offset - gram.mean_x @ coef


def _intercept_error(gram, coef, offset, delta, delta_offset, inverse, scale, sigma2,
                     contraction, m, d) -> float:
    """Relative error of the intercept after the correction (as the coefficients' rule)."""
    mx = gram.mean_x
    v = mx / scale
    se0 = np.sqrt(sigma2 * max(1.0 / gram.weight_sum + float(v @ inverse @ v), 0.0))
    b0 = gram.mean_y + offset + delta_offset - mx @ (coef + delta)
    rounding = 4 * EPS * (np.abs(gram.mean_y) + np.abs(mx) @ np.abs(coef))
    change = np.abs(delta_offset - mx @ delta)
    se_coef = np.sqrt(np.clip(np.diag(inverse), 0, None)) / scale
    floor = EPS * np.sqrt(d + 2) * m * (np.sqrt(1.0 / gram.weight_sum) + np.abs(mx) @ se_coef)
    size = np.maximum(np.maximum(np.abs(b0), rounding), se0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(size > 0, (contraction * change + floor + rounding) / size, 0.0)
    return float(rel.max())


def describe(passes: int, covariance: bool) -> str:
    """``solver_`` of the measured fast path: what ran."""
    text = f"normal, {passes} refinement pass" + ("es" if passes > 1 else "")
    return text + (", covariance refined" if covariance else "")


def measured_solution(X, Y, w, gram: Gram, factor, scale, condition: float,
                      coef: np.ndarray, fit_intercept: bool) -> ExactSolution | None:
    """The fast path's :class:`ExactSolution`, or None when the caller must escalate.

    When the covariance from the factor misses :data:`TARGET` (known before any pass), the
    first residual pass also makes the covariance pass's products: one pass over X for both.
    """
    d = X.shape[1]
    with one_blas_thread():
        inverse = sla.cho_solve((factor, False), np.eye(d), check_finite=False) if d else np.eye(0)
    refine_covariance = covariance_error(inverse, max(centring_loss(gram))) > TARGET
    first: list[PassResult] = []

    def run_pass(coef, offset, shift_x, shift_y, centre):
        asked = inverse / scale[:, None] if refine_covariance and not first else None
        sums = residual_pass(X, Y, w, coef, offset, shift_x, shift_y, centre, asked)
        if asked is not None:
            first.append(sums)
        return sums

    with one_blas_thread():  # d × d solves: one BLAS thread is fastest
        fast = refine_normal(run_pass, gram, factor, scale, condition, coef, fit_intercept,
                             inverse)
    if fast is None:
        return None
    if not fast.ssr_accurate:  # a tight fit: the residuals in double-double
        fast.ssr = residual_ssr(X, Y, w, fast.coef, fast.intercept)
    cov, cov_error = None, fast.covariance_error
    if refine_covariance:
        centre = fit_intercept and offset_ratio(gram) > CENTRE_LIMIT
        shift = gram.mean_x if fit_intercept else np.zeros(d)
        refined, cov_error = refine_inverse(first[0].product, first[0].column_sum, inverse,
                                            scale, shift, centre, gram.weight_sum)
        p = d + int(fit_intercept)
        if cov_error > TARGET and X.shape[0] * p * p <= COVARIANCE_REFINE_BUDGET:
            return None
        cov = with_intercept(refined / np.outer(scale, scale), gram, fit_intercept)
    return ExactSolution(
        coef=fast.coef, intercept=fast.intercept, solver=describe(fast.passes, cov is not None),
        rank=d, condition_number=float(np.sqrt(condition)), cov_unscaled=cov, ssr=fast.ssr,
        error_estimate=max(fast.error, cov_error),
    )


def refine_from_blocks(gram: Gram, blocks: Callable[[], Iterable], fit_intercept: bool,
                       ) -> ExactSolution | None:
    """The measured fast path over a source read in blocks (a file in chunks): each residual
    pass is one more pass over ``blocks()`` (an iterable of ``(X, Y, w)``). None when the
    Cholesky factorisation is unsafe or the passes do not reach :data:`TARGET`."""
    try:
        with one_blas_thread():
            factor, scale, Hs, condition = cholesky_factor(
                gram, 0.0, fit_intercept, REFINE_SAFE_CONDITION
            )
            coef = sla.cho_solve((factor, False), Hs, check_finite=False) / scale[:, None]
    except NotSafe:
        return None
    d, k = coef.shape

    def run_pass(coef, offset, shift_x, shift_y, centre):
        total = PassResult(np.zeros(k), np.zeros((d, k)), np.zeros(k))
        for X, Y, w in blocks():
            part = residual_pass(X, Y, w, coef, offset, shift_x, shift_y, centre)
            total.ssr += part.ssr
            total.gradient += part.gradient
            total.residual_sum += part.residual_sum
        return total

    with one_blas_thread():
        fast = refine_normal(run_pass, gram, factor, scale, condition, coef, fit_intercept)
    if fast is None:
        return None
    if not fast.ssr_accurate:  # a tight fit: one more pass, the residuals in double-double
        fast.ssr = sum(residual_ssr(X, Y, w, fast.coef, fast.intercept) for X, Y, w in blocks())
    return ExactSolution(
        coef=fast.coef, intercept=fast.intercept, solver=describe(fast.passes, False),
        rank=d, condition_number=float(np.sqrt(condition)), ssr=fast.ssr,
        error_estimate=max(fast.error, fast.covariance_error),
    )
