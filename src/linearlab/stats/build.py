"""From a fitted model's sufficient statistics (and optionally its data) to inference quantities.

Non-robust statistics need only the Gram statistics — weighted means and centred
cross-products — so a model fitted in one piece, by ``partial_fit`` over a stream, or by gradient
descent has them all. When the exact solver refined the solution (ill-conditioned data), its
refined (AᵀWA)⁻¹ and residual sum of squares replace the Gram-derived ones, which would lose
cond² · ε. Heteroscedasticity-robust covariances (HC0–HC3) need each row's residual and leverage,
so they need the data themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla

from linearlab.errors import DataError, ParameterError
from linearlab.exact.gram import Gram
from linearlab.exact.refine import dd_matmul, split
from linearlab.exact.solution import residual_ssr

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")
# A column is aliased (R's ``lm`` shows NA) when the part of it not explained by the earlier
# columns is below this fraction of its length — the tolerance of R's ``lm.fit``.
ALIAS_TOLERANCE = 1e-7


@dataclass
class FitRecord:
    """What the summary needs from a fitted model (filled in by the estimator)."""

    coef: np.ndarray  # (d, k)
    intercept: np.ndarray  # (k,)
    fit_intercept: bool
    gram: Gram
    solver: str
    feature_names: list[str]
    target_names: list[str]
    alpha: float = 0.0
    weighted: bool = False
    log_weight_sum: float = 0.0  # Σ log wᵢ (weighted least squares log-likelihood)
    rank_deficient: bool = False
    cov_unscaled: np.ndarray | None = None  # refined (AᵀWA)⁻¹ from the solver, intercept first
    ssr: np.ndarray | None = None  # refined residual sums of squares from the solver
    condition_number: float = np.nan  # raw, as statsmodels: of √w·[1, X]
    multi_output: bool = False  # y was 2-D: one summary per target
    intercept_name: str = "const"  # "Intercept" for formula models, as statsmodels names it
    design: Any = None  # turns new tables into the design in predict() (formula, categories)


@dataclass
class Inference:
    """The shared pieces of every target's summary."""

    params: np.ndarray  # (p_kept, k), intercept first
    cov_unscaled: np.ndarray  # (p_kept, p_kept)
    ssr: np.ndarray  # (k,)
    centered_tss: np.ndarray  # (k,)
    uncentered_tss: np.ndarray  # (k,)
    nobs: int
    kept: np.ndarray  # (d,) bool: False for aliased columns
    covs: list[np.ndarray] = field(default_factory=list)  # per target, cov_type applied


def implicit_constant(gram: Gram, tolerance: float = 1e-9) -> bool:
    """Whether the columns (without an intercept) span a constant, as statsmodels' ``k_constant``.

    A constant column counts; so do indicator columns of every level of a category
    (``C(g) - 1``, or dummies made by hand): 0/1 columns that are mutually exclusive and
    together cover every row.
    That is decided exactly from the raw second moments (``E[x²] = E[x]`` for 0/1 columns,
    ``E[x_i x_j] = 0`` for exclusive ones, means summing to one). A numerical null-space test
    on the Gram cannot tell such an exact dependency from a merely ill-conditioned design (a raw
    degree-10 polynomial, which statsmodels does not count as holding a constant).
    """
    n = gram.weight_sum
    if gram.n_features == 0 or not n > 0:
        return False
    m = np.asarray(gram.mean_x, dtype=np.float64)
    variance = np.diag(np.asarray(gram.sxx, dtype=np.float64)) / n
    if np.any((m != 0) & (variance <= 1e-14 * m * m)):  # a constant column, as statsmodels'
        return True
    moments = np.asarray(gram.sxx, dtype=np.float64) / n + np.outer(m, m)
    indicator = np.flatnonzero((m > tolerance) & (np.abs(np.diag(moments) - m) <= tolerance))
    if indicator.size == 0:
        return False
    exclusive = np.abs(moments[np.ix_(indicator, indicator)]) <= tolerance
    np.fill_diagonal(exclusive, True)
    for row in exclusive:
        group = np.flatnonzero(row)
        if exclusive[np.ix_(group, group)].all() and abs(m[indicator[group]].sum() - 1) <= 1e-9:
            return True
    return False


def check_cov_type(cov_type: str) -> str:
    """Normalise ``cov_type`` ("nonrobust", "HC0".."HC3", any case)."""
    if isinstance(cov_type, str):
        for name in COV_TYPES:
            if cov_type.lower() == name.lower():
                return name
    raise ParameterError(
        f"cov_type={cov_type!r} is not supported; choose one of {', '.join(COV_TYPES)}."
    )


def aliased_columns(
    gram: Gram, fit_intercept: bool, tolerance: float = ALIAS_TOLERANCE
) -> np.ndarray:
    """Boolean mask of columns that are (numerically) linear combinations of earlier columns.

    Columns are taken in order, as R's ``lm`` does: a column is aliased when the part of it
    orthogonal to the kept earlier columns (and the constant) has a relative length below
    :data:`ALIAS_TOLERANCE`.
    """
    G = gram.cross_products(fit_intercept)[0]
    d = G.shape[0]
    aliased = np.zeros(d, dtype=bool)
    kept: list[int] = []
    for j in range(d):
        if G[j, j] <= 0:
            aliased[j] = True
            continue
        if kept:
            sub = G[np.ix_(kept, kept)]
            g = G[kept, j]
            sol = np.linalg.lstsq(sub, g, rcond=None)[0]
            resid = G[j, j] - g @ sol
        else:
            resid = G[j, j]
        if resid <= (tolerance**2) * G[j, j]:
            aliased[j] = True
        else:
            kept.append(j)
    return aliased


def _subset_gram(gram: Gram, kept: np.ndarray) -> Gram:
    return Gram(
        count=gram.count,
        weight_sum=gram.weight_sum,
        mean_x=gram.mean_x[kept],
        mean_y=gram.mean_y,
        sxx=gram.sxx[np.ix_(kept, kept)],
        sxy=gram.sxy[kept],
        syy=gram.syy,
    )


def _gram_inverse(gram: Gram, fit_intercept: bool) -> np.ndarray:
    """(AᵀWA)⁻¹ for A = [1, X] (intercept first) or X, from the Gram statistics."""
    G = gram.cross_products(fit_intercept)[0]
    scale = np.sqrt(np.diag(G))
    scale = np.where(scale > 0, scale, 1.0)
    factor, info = sla.lapack.dpotrf(G / np.outer(scale, scale), lower=False)
    if info != 0:
        raise DataError(
            "The cross-product matrix of X is singular, so the standard errors are undefined; "
            "drop the constant, duplicate or linearly dependent columns."
        )
    U = np.triu(factor)
    inv_scaled = sla.cho_solve((U, False), np.eye(G.shape[0]), check_finite=False)
    inv = inv_scaled / np.outer(scale, scale)
    if not fit_intercept:
        return inv
    # intercept row through v = U⁻ᵀ S⁻¹ x̄: a sum of squares, no cancellation for large means
    v = sla.solve_triangular(U, gram.mean_x / scale, trans="T", check_finite=False)
    cross = -sla.solve_triangular(U, v, check_finite=False) / scale
    top = 1.0 / gram.weight_sum + v @ v
    return np.block([[np.array([[top]]), cross[None, :]], [cross[:, None], inv]])


def build_inference(record: FitRecord, data=None) -> Inference:
    """Parameters, (AᵀWA)⁻¹ and sums of squares for the non-aliased columns."""
    gram = record.gram
    d = gram.n_features
    if record.rank_deficient or record.cov_unscaled is None and _singular(gram, record):
        kept, cov_unscaled = _drop_aliased(gram, record.fit_intercept)
    else:
        kept = np.ones(d, dtype=bool)
        cov_unscaled = record.cov_unscaled
        if cov_unscaled is None:
            cov_unscaled = _gram_inverse(gram, record.fit_intercept)
    all_kept = bool(kept.all())

    if all_kept:
        coef, intercept = record.coef, record.intercept
    else:  # the fit that leaves the aliased columns out (R's lm)
        sub = _subset_gram(gram, kept)
        G, H, _ = sub.cross_products(record.fit_intercept)
        coef = np.zeros((d, gram.n_targets))
        coef[kept] = np.linalg.solve(G, H) if G.size else 0.0
        intercept = (
            gram.mean_y - gram.mean_x @ coef if record.fit_intercept
            else np.zeros(gram.n_targets)
        )
    params = coef[kept]
    if record.fit_intercept:
        params = np.vstack([intercept[None, :], params])

    if record.ssr is not None and all_kept:  # from residuals refined in double-double
        ssr = np.asarray(record.ssr, dtype=np.float64)
    elif data is not None:
        X, Y, w = data
        offset = intercept if record.fit_intercept else np.zeros_like(intercept)
        ssr = residual_ssr(X, Y, w, coef, offset)
    else:
        ssr = gram.residual_sum_of_squares(coef, intercept if record.fit_intercept else None)
    centered = np.diag(gram.syy).copy()
    uncentered = centered + gram.weight_sum * gram.mean_y**2
    return Inference(
        params=params, cov_unscaled=cov_unscaled, ssr=np.asarray(ssr, dtype=np.float64),
        centered_tss=centered, uncentered_tss=uncentered, nobs=gram.count, kept=kept,
    )


def _drop_aliased(gram: Gram, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """Aliased columns (R's rule), loosening the tolerance until what is left is invertible.

    R's tolerance 1e-7 is tried first; a design whose kept columns are still numerically
    singular in double precision (condition beyond ~1e15 after scaling) drops more.
    """
    for tolerance in (ALIAS_TOLERANCE, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2):
        kept = ~aliased_columns(gram, fit_intercept, tolerance)
        try:
            return kept, _gram_inverse(_subset_gram(gram, kept), fit_intercept)
        except DataError:
            continue
    raise DataError(
        "The columns of X are so nearly dependent that no subset of them gives finite standard "
        "errors; drop redundant columns or rescale them."
    )


def _singular(gram: Gram, record: FitRecord) -> bool:
    G = gram.cross_products(record.fit_intercept)[0]
    scale = np.sqrt(np.diag(G))
    if np.any(scale == 0):
        return True
    _, info = sla.lapack.dpotrf(G / np.outer(scale, scale), lower=False)
    return info != 0


def robust_covariances(
    inference: Inference, record: FitRecord, cov_type: str, data
) -> tuple[list[np.ndarray], list[float]]:
    """Per target: White's HC0–HC3 sandwich (AᵀWA)⁻¹ Ãᵀ diag(ω) Ã (AᵀWA)⁻¹, as statsmodels.

    Evaluated as H diag(ω) Hᵀ with H = (AᵀWA)⁻¹ Ãᵀ = R⁻¹ Qᵀ from the QR factorisation of the
    centred, column-scaled design: a sum of outer products, so no cancellation between the
    large entries that (AᵀWA)⁻¹ has when columns have large offsets. Leverages are the squared
    row norms of Q. Also returns each target's robust Wald statistic (all coefficients but the
    constant), computed from the square root of the sandwich.
    """
    X, Y, w = data
    Xk = X[:, inference.kept]
    total = Xk.shape[0] if w is None else float(w.sum())
    mean = (Xk.sum(axis=0) if w is None else w @ Xk) / total
    A = np.hstack([np.ones((Xk.shape[0], 1)), Xk - mean]) if record.fit_intercept else Xk.copy()
    params = inference.params
    full = np.hstack([np.ones((Xk.shape[0], 1)), Xk]) if record.fit_intercept else Xk
    zeros = np.zeros_like(Y, dtype=np.float64)
    hi, lo = dd_matmul(split(np.asarray(full, dtype=np.float64)), -params, start=(Y, zeros))
    resid = hi + lo  # in double-double: large offsets cancel no digits away
    if w is not None:
        root_w = np.sqrt(w)[:, None]
        A *= root_w
        resid = resid * root_w
    scale = np.linalg.norm(A, axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Q, R = np.linalg.qr(A / scale)
    H = sla.solve_triangular(R, Q.T, check_finite=False) / scale[:, None]  # (p, n)
    if record.fit_intercept:
        H[0] -= mean @ H[1:]  # back from the centred parametrisation
    leverage = np.einsum("ij,ij->i", Q, Q)
    df_resid = inference.nobs - params.shape[0]
    # a constant spanned by the columns (every dummy of a category, no intercept): the Wald
    # test would include it; statsmodels reports no robust F-test then (NaN), and so do we
    implicit = not record.fit_intercept and implicit_constant(record.gram)
    covs, walds = [], []
    for t in range(resid.shape[1]):
        omega = resid[:, t] ** 2
        if cov_type == "HC1":
            omega = omega * inference.nobs / df_resid
        elif cov_type == "HC2":
            omega = omega / (1.0 - leverage)
        elif cov_type == "HC3":
            omega = omega / (1.0 - leverage) ** 2
        covs.append((H * omega) @ H.T)
        walds.append(np.nan if implicit else
                     _robust_wald(H, omega, params[:, t], int(record.fit_intercept)))
    return covs, walds


def _robust_wald(H: np.ndarray, omega: np.ndarray, params: np.ndarray, k_constant: int) -> float:
    """bᵀ V⁻¹ b for the non-constant parameters, with V = G Gᵀ, G = H Ω^½ (q, n).

    Through the QR factor of Gᵀ: ‖R⁻ᵀ b‖², whose error grows with cond(G) = √cond(V), where
    solving with V itself would lose cond(V)·ε.
    """
    G = H[k_constant:] * np.sqrt(omega)
    b = params[k_constant:]
    if b.size == 0:
        return np.nan
    R = np.linalg.qr(G.T, mode="r")
    if np.any(np.diag(R) == 0):
        return np.nan
    z = sla.solve_triangular(R, b, trans="T", check_finite=False)
    return float(z @ z)
