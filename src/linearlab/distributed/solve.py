"""Exact least squares on Dask partitions: the Gram when it is safe, refinement when not.

- ``"normal"`` and ``"auto"`` when its error estimate promises 12 digits: one pass of
  per-partition Gram statistics (:func:`linearlab.exact.solvers.solve_auto` on the merged
  :class:`~linearlab.exact.gram.Gram`). ``"auto"`` escalates exactly when the in-memory solver
  would:
- digits lost to large column offsets on well-conditioned data: the Gram's answer refined, each
  step one distributed pass that evaluates the residuals in double-double arithmetic and the
  gradient Ãᵀ W r, the correction solved with the Cholesky factor of the column-scaled Gram
  (corrected semi-normal equations); ``solver_ = "normal, N refinement pass(es)"``.
- ill-conditioned data, and ``"qr"``: a TSQR of the centred, column-scaled, √w-weighted design
  with the targets appended — each partition's R factor, stacked and re-factored in the
  reduction tree, so only (d + k)² numbers travel — then the same refinement with R (the
  gradient summed in double-double when cond(R)² would amplify its rounding);
  ``solver_ = "tsqr"``.
- ``"svd"`` (and numerically rank-deficient designs): the same R, solved by its SVD for the
  minimum-norm answer (``solver_ = "svd"``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linearlab.distributed.blocks import Partitions
from linearlab.distributed.reduce import compute_stats, map_combine
from linearlab.exact.accuracy import OWN, TARGET_ERROR
from linearlab.exact.gram import Gram
from linearlab.exact.refine import dd_matmul, dd_rmatmul, split, two_prod, two_sum
from linearlab.exact.solution import ExactSolution, raw_condition_number
from linearlab.exact.solvers import NORMAL_SAFE_CONDITION, solve_auto, solve_normal

_EPS = np.finfo(np.float64).eps
MAX_REFINEMENTS = 8


class _Frame:
    """The change of variables between the problem and its preconditioned (centred, scaled) form.

    θ = (b0, β) for the design [1, X] (or β for X); φ = (b0 + x̄ᵀβ, E β) for [1, (X − x̄)/E].
    """

    def __init__(self, gram: Gram, fit_intercept: bool):
        G = gram.cross_products(fit_intercept)[0]
        scale = np.sqrt(np.diag(G))
        self.E = np.where(scale > 0, scale, 1.0)
        self.fit_intercept = fit_intercept
        self.shift_x = gram.mean_x if fit_intercept else np.zeros(gram.n_features)
        self.shift_y = gram.mean_y if fit_intercept else np.zeros(gram.n_targets)
        self.weight_sum = gram.weight_sum


def _r_factor(X, Y, w, frame: _Frame) -> np.ndarray:
    """R of this partition's [ (X − x̄)/E , Y − ȳ ] (rows weighted by √w)."""
    A = np.hstack([(X - frame.shift_x) / frame.E, Y - frame.shift_y])
    if w is not None:
        A *= np.sqrt(w)[:, None]
    if A.shape[0] == 0:
        return np.zeros((0, A.shape[1]))
    return np.linalg.qr(A, mode="r")


def _stack_r(factors: list[np.ndarray]) -> np.ndarray:
    stacked = np.vstack(factors)
    return np.linalg.qr(stacked, mode="r") if stacked.shape[0] else stacked


def _residual_gradient(X, Y, w, fit_intercept: bool, coef, intercept, precise, shift, E):
    """(Ãᵀ W r as a double-double pair, Σ w r²) with r = y − b0 − Xβ in double-double.

    ``precise``: the gradient of the design exactly as given, [1, X] (or X), in double-double
    too — at the solution it vanishes, so no digits cancel when it is moved to the centred frame
    afterwards; needed when cond(R)² amplifies the gradient's rounding. Otherwise the centred,
    scaled gradient [Σ w r, ((X − x̄)/E)ᵀ W r] in double (about 20x cheaper)."""
    A = np.hstack([np.ones((X.shape[0], 1)), X]) if fit_intercept else X
    A_split = split(np.asfortranarray(A, dtype=np.float64))
    params = np.vstack([intercept[None, :], coef]) if fit_intercept else coef
    r_hi, r_lo = dd_matmul(A_split, -params, start=(Y, np.zeros_like(Y)))
    r = r_hi + r_lo
    wr = r if w is None else r * w[:, None]
    ssr = (wr * r).sum(axis=0)
    if not precise:
        g = ((X - shift) / E).T @ wr
        if fit_intercept:
            g = np.vstack([wr.sum(axis=0, keepdims=True), g])
        return g, np.zeros_like(g), ssr
    if w is None:
        hi, lo = r_hi, r_lo
    else:
        hi, lo = two_prod(split(w[:, None]), split(r_hi))
        lo = lo + w[:, None] * r_lo
    g_hi, g_lo = dd_rmatmul(A_split, hi, lo)
    return g_hi, g_lo, ssr


def _sum_dd(parts: list[tuple]) -> tuple:
    hi, lo, ssr = parts[0]
    lo, ssr = lo.copy(), ssr.copy()
    for h, l, s in parts[1:]:
        hi, e = two_sum(hi, h)
        lo += l + e
        ssr += s
    return hi, lo, ssr


def tsqr(parts: Partitions, gram: Gram, fit_intercept: bool) -> tuple[np.ndarray, _Frame]:
    """R factor (d + k square) of the preconditioned design with the targets appended."""
    frame = _Frame(gram, fit_intercept)
    R = map_combine(parts, _r_factor, _stack_r, frame, name="tsqr")
    size = gram.n_features + gram.n_targets
    if R.shape[0] < size:  # fewer rows than columns
        R = np.vstack([R, np.zeros((size - R.shape[0], size))])
    return R, frame


def _from_phi(gamma: np.ndarray, frame: _Frame, gram: Gram):
    coef = gamma / frame.E[:, None]
    intercept = gram.mean_y - gram.mean_x @ coef if frame.fit_intercept else np.zeros(
        coef.shape[1]
    )
    return coef, intercept


def _svd_solution(R, z, frame, gram, alpha) -> ExactSolution:
    # on the unscaled (centred) design, as in-memory "svd": minimum norm of β itself
    U, s, Vt = np.linalg.svd(R * frame.E[None, :])
    keep = s > (s[0] if s.size else 0.0) * max(gram.count, R.shape[0]) * _EPS
    factor = np.zeros_like(s)
    if alpha:
        factor = s / (s**2 + alpha)
    else:
        factor[keep] = 1.0 / s[keep]
    beta = Vt.T @ (factor[:, None] * (U.T @ z))
    coef, intercept = _from_phi(beta * frame.E[:, None], frame, gram)
    rank = int(keep.sum())
    null = Vt[~keep]
    aliased = [int(j) for j in np.flatnonzero(np.abs(null).max(axis=0) > 1e-8)] if null.size else []
    full = rank == R.shape[0] and rank > 0
    return ExactSolution(
        coef=coef, intercept=intercept, solver="svd", rank=rank,
        condition_number=float(s[0] / s[keep].min()) if full else np.inf,
        singular_values=s, aliased=aliased,
        raw_condition_number=np.inf if rank < R.shape[0] else np.nan,
    )


def _covariance(R: np.ndarray, frame: _Frame) -> np.ndarray:
    """(AᵀWA)⁻¹ of [1, X] (intercept first) or X, from R: error ≈ cond·ε, not the Gram's cond²."""
    R_inv = sla.solve_triangular(R, np.eye(R.shape[0]), check_finite=False)
    C = (R_inv @ R_inv.T) / np.outer(frame.E, frame.E)
    if not frame.fit_intercept:
        return C
    v = sla.solve_triangular(R, frame.shift_x / frame.E, trans="T", check_finite=False)
    cross = -sla.solve_triangular(R, v, check_finite=False) / frame.E
    top = 1.0 / frame.weight_sum + v @ v
    return np.block([[np.array([[top]]), cross[None, :]], [cross[:, None], C]])


def _raw_condition(R: np.ndarray, frame: _Frame) -> float:
    """Condition number of √W·[1, X] (statsmodels' figure): singular values of R_full · M."""
    U = R * frame.E[None, :]
    if frame.fit_intercept:
        root = np.sqrt(frame.weight_sum)
        top = np.concatenate([[root], root * frame.shift_x])
        U = np.vstack([top, np.hstack([np.zeros((U.shape[0], 1)), U])])
    sv = np.linalg.svd(U, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf


def _refine(parts, R, frame, gram, coef, intercept):
    """Corrected semi-normal iterations: one distributed pass each, residuals in double-double.

    Returns (coef, intercept, ssr, converged, passes)."""
    ssr, ratio, best, passes = None, np.inf, np.inf, 0
    # rounding in the gradient is amplified by cond(R)²: double-double only where it matters
    precise = float(np.linalg.cond(R)) ** 2 * _EPS > 1e-14
    for _ in range(MAX_REFINEMENTS):
        g_hi, g_lo, ssr = map_combine(
            parts, _residual_gradient, _sum_dd, frame.fit_intercept, coef, intercept, precise,
            frame.shift_x, frame.E, name="refine",
        )
        passes += 1
        if not precise:  # already the centred, scaled gradient
            g = (g_hi + g_lo)[1:] if frame.fit_intercept else g_hi + g_lo
            g_int = (g_hi + g_lo)[0]
        elif frame.fit_intercept:  # Ãᵀ W r = (Σ x w r − x̄ Σ w r) / E, the difference in dd
            p, e = two_prod(split(frame.shift_x[:, None]), split(g_hi[:1]))
            hi, lo = two_sum(g_hi[1:], -p)
            g = (hi + (lo + g_lo[1:] - e - frame.shift_x[:, None] * g_lo[:1])) / frame.E[:, None]
            g_int = g_hi[0] + g_lo[0]
        else:
            g = (g_hi + g_lo) / frame.E[:, None]
        delta_gamma = sla.cho_solve((R, False), g, check_finite=False)
        delta_coef = delta_gamma / frame.E[:, None]
        coef = coef + delta_coef
        if frame.fit_intercept:  # δb0 = δc − x̄ᵀ δβ, δc = Σ w r / Σ w
            intercept = intercept + g_int / frame.weight_sum - frame.shift_x @ delta_coef
        size = np.abs(coef).max(axis=0)
        step = np.abs(delta_coef).max(axis=0)
        ratio = float(np.max(np.where(size > 0, step / np.where(size > 0, size, 1.0), 0.0)))
        if ratio <= 4 * _EPS:
            return coef, intercept, ssr, True, passes
        if ratio > 0.5 * best:  # no longer contracting: the rounding level is reached
            break
        best = min(best, ratio)
    return coef, intercept, ssr, min(best, ratio) <= 1e-12, passes


def solve_orthogonal(parts, gram, solver, alpha, fit_intercept, refine=True) -> ExactSolution:
    """TSQR (+ refinement), or the SVD of its R factor for ``solver="svd"``/rank deficiency."""
    R_aug, frame = tsqr(parts, gram, fit_intercept)
    d = gram.n_features
    if alpha:  # ridge rows √α/E appended to the scaled design (as in-memory QR does)
        ridge = np.hstack([np.diag(np.sqrt(alpha) / frame.E), np.zeros((d, gram.n_targets))])
        R_aug = np.linalg.qr(np.vstack([R_aug, ridge]), mode="r")
    R, z = R_aug[:d, :d], R_aug[:d, d:]
    diag = np.abs(np.diag(R))
    rank_deficient = diag.size == 0 or diag.min() <= diag.max() * max(gram.count, d) * _EPS
    if solver == "svd" or rank_deficient:
        return _svd_solution(R, z, frame, gram, alpha)
    gamma = sla.solve_triangular(R, z, check_finite=False)
    coef, intercept = _from_phi(gamma, frame, gram)
    ssr, refined = None, False
    if refine and not alpha:
        coef, intercept, ssr, refined, _ = _refine(parts, R, frame, gram, coef, intercept)
    return ExactSolution(
        coef=coef, intercept=intercept, solver="tsqr", rank=d,
        condition_number=float(np.linalg.cond(R)),
        raw_condition_number=_raw_condition(R, frame),
        cov_unscaled=None if alpha else _covariance(R, frame),
        ssr=ssr, refined=refined,
    )


# Merged Gram statistics carry relative errors up to about this many ε (the centring of raw
# cross-products loses at most log10(100) digits per block; linearlab.exact.accuracy).
GRAM_REFINE_LIMIT = 100.0


def _refine_normal(parts, gram: Gram, solution: ExactSolution, fit_intercept: bool):
    """The normal equations' answer refined with the Cholesky factor of the column-scaled
    Gram matrix (≈ R of the TSQR, without its pass): for well-conditioned data whose Gram lost
    digits to large offsets. Reported as ``solver_ = "normal, N refinement pass(es)"``."""
    frame = _Frame(gram, fit_intercept)
    G = gram.cross_products(fit_intercept)[0]
    R = sla.cholesky(G / np.outer(frame.E, frame.E), lower=False, check_finite=False)
    coef, intercept, ssr, refined, passes = _refine(
        parts, R, frame, gram, solution.coef, solution.intercept
    )
    # named as the in-memory fast path names its residual passes
    name = f"normal, {passes} refinement pass{'es' if passes > 1 else ''}"
    return ExactSolution(
        coef=coef, intercept=intercept, solver=name if refined else "normal",
        rank=gram.n_features, condition_number=solution.condition_number,
        raw_condition_number=raw_condition_number(gram, fit_intercept), ssr=ssr,
        refined=refined, error_estimate=(
            OWN * _EPS * solution.condition_number if refined else solution.error_estimate
        ),
    )


def solve(
    parts: Partitions, solver: str = "auto", *, alpha: float = 0.0, fit_intercept: bool = True,
    stats: tuple[Gram, float] | None = None,
) -> tuple[Gram, float, ExactSolution]:
    """Exact fit of the partitioned problem: (merged statistics, Σ log w, solution).

    ``stats``: the statistics and Σ log w when a pass has computed them already."""
    gram, log_w = compute_stats(parts) if stats is None else stats
    if solver in ("auto", "normal"):
        if solver == "normal":
            solution = solve_normal(gram, alpha=alpha, fit_intercept=fit_intercept)
        else:
            solution = solve_auto(None, None, alpha=alpha, fit_intercept=fit_intercept, gram=gram)
        # escalate exactly when in-memory "auto" would: an unsafe Cholesky, or (without a
        # penalty) an error estimate above the 12 digits the fast path promises
        error = getattr(solution, "error_estimate", np.nan)
        safe = (
            solution.rank == gram.n_features
            and solution.condition_number**2 <= NORMAL_SAFE_CONDITION
            and (bool(alpha) or not error > TARGET_ERROR)
        )
        if solver == "normal" or safe:
            if solution.rank < gram.n_features and not alpha:
                solution.raw_condition_number = np.inf
            else:
                solution.raw_condition_number = raw_condition_number(gram, fit_intercept)
            return gram, log_w, solution
        if not alpha and solution.rank == gram.n_features and (
            solution.condition_number**2 * GRAM_REFINE_LIMIT * _EPS < 1e-6
        ):  # digits lost to centring offsets, not to conditioning: refine the Gram's answer
            return gram, log_w, _refine_normal(parts, gram, solution, fit_intercept)
    solution = solve_orthogonal(
        parts, gram, solver, alpha, fit_intercept, refine=solver in ("auto", "qr")
    )
    return gram, log_w, solution
