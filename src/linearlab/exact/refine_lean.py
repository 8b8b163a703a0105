"""The accurate (QR + double-double refinement) solve for tall data, with one copy of X.

:func:`linearlab.exact.refine.solve_accurate` keeps the scaled design ``[1, X]/D``, its split
halves, the centred copy and the explicit Q: about seven copies of X, and a column-pivoted QR
that is mostly matrix-vector work. For tall problems this module solves the same Björck
refinement with

- one copy of X: the centred, column-scaled, √w-weighted design in row blocks, factored in
  place by Householder QR block by block and then the blocks' triangles (one level of TSQR,
  :mod:`linearlab.exact.tsqr`: 2.3x faster than ``dgeqrf`` on the whole when narrow); Q is
  applied from its reflectors (``dormqr``), never formed;
- the residuals of the augmented system evaluated in double-double block by block from X
  itself (:func:`augmented_residuals`) by exact BLAS products of slices (Ozaki's splitting,
  Rump's ExtractScalar) added by TwoSum, instead of element-wise Dot2 in NumPy (~5x fewer
  passes over each block), with the parameters scaled by the same powers of two D, so the
  problem solved is exactly the one given.

The iteration and the statistics returned are those of ``solve_accurate``
(:class:`~linearlab.exact.refine.AccurateFit`), except that it stops as soon as the error a
pass leaves is estimated below 1e-12 in every parameter, row by row from the pass's own
correction (one double-double pass on 25 of the 29 accuracy problems, which keep ≥ 13.97
digits, and on the benchmark's cond 2e8 design, where a second pass changes no bit), or the
next correction would not show (two passes on the rest, against 2-5). The pass centres the
gradient in double-double (gⱼ − x̄ⱼ·g₀): rounded first, large offsets cancel its centred part
away and the refinement crawls. The covariance
comes from the factor (relative error ≈ cond·ε), as ``solve_accurate`` gives it above its
refinement budget. The caller (``solvers.solve_refined``) runs it on one BLAS thread.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from linearlab.exact.accuracy import TARGET_ERROR
from linearlab.exact.gram import Gram
from linearlab.exact.refine import (
    CONVERGED,
    RANK_TOLERANCE,
    AccurateFit,
    _tree_sum,
    centred_dd,
    split,
    two_prod,
    two_sum,
)
from linearlab.exact.tsqr import BlockedQR, block_buffers

_EPS = np.finfo(np.float64).eps
# Double-double products by exact BLAS products (Ozaki's splitting): each block of [1, X] is
# scaled row by row by powers of two to entries below 1 and cut into slices of _BITS bits;
# vectors are cut so that every sum of slice products fits 53 bits (the inner dimension is p
# for A·x, _BLOCK_ROWS for Aᵀ·s), hence is computed exactly by any BLAS, in any order.
_BITS = 26
_BLOCK_ELEMENTS = 2**17  # elements per block (1 MiB), at most _BLOCK_ROWS rows
_BLOCK_ROWS = 8192
# A pass settles the answer once the error it leaves in every parameter (estimated from the
# pass's own correction) is below this, relative: the 12 digits the fast path stops at too.
_SETTLED = TARGET_ERROR


def _power_of_two(values: np.ndarray) -> np.ndarray:
    values = np.where((values > 0) & np.isfinite(values), values, 1.0)
    return np.exp2(np.round(np.log2(values)))


def solve_accurate_lean(X, Y, sample_weight=None, *, fit_intercept: bool = True,
                        max_iter: int = 30, gram: Gram | None = None) -> AccurateFit | None:
    """Least squares of ``[1, X]`` (or ``X``) to full double precision; None when the centred,
    scaled design is numerically rank-deficient or the refinement does not converge.

    ``gram``, the statistics of the same data when the caller has them, saves the pass that
    finds the column means and norms."""
    n, d = X.shape
    p = d + int(fit_intercept)
    k = Y.shape[1]
    if n < p:
        return None
    w = sample_weight
    root_w = None if w is None else np.sqrt(w)
    i0 = int(fit_intercept)
    centred_sq = None
    if gram is not None:
        total = gram.weight_sum
        sq = np.diag(gram.sxx) + total * gram.mean_x**2
        mean = gram.mean_x if fit_intercept else np.zeros(d)
        centred_sq = np.diag(gram.sxx) if fit_intercept else sq
    else:
        total = float(n if w is None else w.sum())
        sq = np.einsum("ij,ij->j", X, X) if w is None else np.einsum("i,ij,ij->j", w, X, X)
        ones = np.ones(n) if w is None else w
        mean = (ones @ X) / total if fit_intercept else np.zeros(d)
    # D: powers of two near the column norms of √w·[1, X] (scaling by them is exact)
    D = _power_of_two(np.sqrt(np.concatenate([[total], sq]) if fit_intercept else np.sqrt(sq)))
    Dx = D[i0:]
    # E: the column norms of the centred, weighted design over D (known from the statistics,
    # else measured on the copy and divided out in a second sweep)
    E = None
    if centred_sq is not None:
        E = np.sqrt(np.maximum(centred_sq, 0.0)) / Dx
        if fit_intercept:
            E = np.concatenate([[np.sqrt(total) / D[0]], E])
        E = np.where(E > 0, E, 1.0)
    # the one copy, in row blocks: centred, √w-weighted, scaled by D and E
    blocks = block_buffers(n, p)
    factor = 1.0 / Dx if E is None else 1.0 / (Dx * E[i0:])
    first = 0.0  # the constant column's entry
    if fit_intercept:
        first = 1.0 / D[0] if E is None else 1.0 / (D[0] * E[0])
    start = 0
    for block in blocks:
        stop = start + block.shape[0]
        if fit_intercept:
            block[:, 0] = first if root_w is None else root_w[start:stop] * first
        cols = block[:, i0:]
        np.copyto(cols, X[start:stop])  # (transposing first, then in place: 4x faster)
        cols -= mean
        if root_w is not None:
            cols *= root_w[start:stop, None]
        cols *= factor
        start = stop
    if E is None:
        E = np.sqrt(sum(np.einsum("ij,ij->j", block, block) for block in blocks))
        E = np.where(E > 0, E, 1.0)
        for block in blocks:
            block /= E
    shift = np.zeros(p)
    if fit_intercept:
        shift[1:] = (mean / Dx) * D[0]
    qr = BlockedQR(blocks)
    if not qr.ok:
        return None
    R = qr.R
    rcond, _ = sla.lapack.dtrcon(R, norm="1", uplo="U")
    if not rcond > RANK_TOLERANCE:
        return None

    def K(y):  # T E⁻¹ y
        z = y / E[:, None]
        if fit_intercept:
            z[0] -= shift[1:] @ z[1:]
        return z

    def K_t(g):  # E⁻¹ Tᵀ g
        v = g.copy()
        if fit_intercept:
            v[1:] -= np.outer(shift[1:], g[0])
        return v / E[:, None]

    def correct(f, g):  # (dx, and the same correction in the factored coordinates)
        # g arrives centred (the pass applies Tᵀ in double-double): only E⁻¹ is left of K_t
        wf = f if root_w is None else f * root_w[:, None]
        rhs = qr.leading_qt(wf) - sla.solve_triangular(R, g / E[:, None], trans="T",
                                                        check_finite=False)
        u = sla.solve_triangular(R, rhs, check_finite=False)
        return K(u), u

    def apply(x):  # [1, X] (x / D) in double
        out = X @ (x[i0:] / Dx[:, None])
        if fit_intercept:
            out += x[0] / D[0]
        return out

    identity = np.eye(p)
    R_inv = sla.solve_triangular(R, identity, check_finite=False)
    C = R_inv @ R_inv.T  # (the centred, scaled design's (ÃᵀÃ)⁻¹)
    cov0 = K(C @ K_t(identity))
    cov = (cov0 + cov0.T) / 2 / np.outer(D, D)
    Y = np.asarray(Y, dtype=np.float64)
    x, _ = correct(Y, np.zeros((p, k)))
    s = Y - apply(x)
    # What is left after a pass (measured, not bounded). With R the factor of A + δA
    # (‖δA‖ ≲ ε‖A‖), a pass leaves of the error e (in the factored coordinates)
    # M e ≈ R⁻¹Qᵀ δA e + C δAᵀ A e, C = R⁻¹R⁻ᵀ: row i is at most about
    # 4ε·‖A‖·(‖R⁻¹ row i‖·‖e‖ + ‖C row i‖·‖R e‖), with the pass's correction u for e. Rows
    # far from the near-collinear directions keep their digits after one pass, where the
    # normwise 4ε·cond·‖e‖ would charge every parameter with the worst direction's error.
    R_norm = np.linalg.norm(R)
    # the rows in the parameters (K, then D: the intercept's row keeps its cancellations)
    row_inv = np.linalg.norm(K(R_inv), axis=1) / D
    row_c = np.linalg.norm(K(C), axis=1) / D
    best, ratio, previous, it, settled = np.inf, np.inf, np.inf, 0, False
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        f, g = augmented_residuals(X, Y, s, x / D[:, None], w, fit_intercept, mean)
        dx, u = correct(f, g / D[:, None])
        step_s = apply(dx)  # s += f − A·dx, in place (each n-vector is 1/d of X)
        np.subtract(f, step_s, out=step_s)
        del f
        s += step_s
        del step_s
        x = x + dx
        scale = np.abs(x).max(axis=0)
        step = np.abs(dx).max(axis=0)
        ratio = float(np.max(np.where(scale > 0, step / np.where(scale > 0, scale, 1.0), 0.0)))
        size_e, size_ae = np.linalg.norm(u, axis=0), np.linalg.norm(R @ u, axis=0)  # (k,)
        left = 4 * _EPS * R_norm * (np.outer(row_inv, size_e) + np.outer(row_c, size_ae))
        if np.all(left <= _SETTLED * np.abs(x / D[:, None])):
            settled = True  # every parameter keeps its digits: measured, no further pass
            break
        # stop once the next correction would not show: the iteration contracts by
        # ratio/previous per step (≈ cond·ε), so what is left is about ratio²/previous
        if ratio <= _EPS / 4 or (it > 1 and ratio * min(1.0, ratio / previous) <= _EPS / 4):
            best = min(best, ratio)
            settled = True  # converged, though this correction itself may exceed CONVERGED
            break
        if ratio > 0.5 * best:  # no longer contracting: the rounding level is reached
            break
        best, previous = min(best, ratio), ratio
    best = min(best, ratio)
    if not (settled or best <= CONVERGED):
        return None
    ssr = (s**2).sum(axis=0) if w is None else w @ s**2
    K_inv = np.linalg.solve(K(identity), identity)
    return AccurateFit(
        params=x / D[:, None], cov_unscaled=cov, ssr=ssr, rank=p,
        condition_number=_condition(R), raw_condition_number=_condition(R @ K_inv * D),
        converged=True, iterations=it, cov_refined=False,
    )


def _slices(v: np.ndarray, bits: int, count: int) -> list[np.ndarray]:
    """``v`` (|v| ≤ 1) as ``count`` slices on the grids 2^-bits, 2^-2bits, … (each from
    rounding the remainder: error-free, Rump's ExtractScalar) and the exact remainder."""
    out = []
    for i in range(1, count + 1):
        sigma = 1.5 * 2.0 ** (52 - i * bits)
        hi = (v + sigma) - sigma
        v = v - hi
        out.append(hi)
    out.append(v)
    return out


def _vector_slices(v: np.ndarray, inner: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Columns of ``v`` scaled by powers of two to max 1 (``scale``), cut into slices whose
    products with _BITS-bit slices sum exactly over ``inner`` terms; returns (slices side by
    side, the scale, each slice's magnitude bound)."""
    top = np.abs(v).max(axis=0)
    _, e = np.frexp(np.where(np.isfinite(top), top, 1.0))
    scaled = np.ldexp(v, -e)
    bits = 52 - _BITS - int(np.ceil(np.log2(max(2, inner)))) - 1
    count = -(-64 // bits)
    parts = _slices(scaled, bits, count)
    bounds = [2.0 ** (-i * bits) for i in range(count + 1)]
    return np.hstack(parts), np.ldexp(1.0, e), bounds


_A_BOUNDS = np.array([1.0, 2.0**-_BITS, 2.0 ** (-2 * _BITS)])  # |slices| of a scaled block


def _dd_products(prod, bounds, k):
    """Σ_ij of the products of slice i of A with slice j of a vector, ``prod[i]`` holding
    those of slice i side by side (k columns each), as hi + lo:
    the exact products added by TwoSum, those below 2^-55 (rounding below 2^-105) in double."""
    hi = lo = None
    for i, ab in enumerate(_A_BOUNDS):
        for j, vb in enumerate(bounds):
            term = prod[i, :, j * k:(j + 1) * k]
            if hi is None:
                hi, lo = term.copy(), np.zeros(term.shape)
            elif ab * vb >= 2.0**-55:
                hi, e = two_sum(hi, term)
                lo += e
            else:
                lo += term
    return hi, lo


def augmented_residuals(X, Y, s, xr, w, fit_intercept, mean=None):
    """f = Y − s − [1, X]·xr and g = −[1, X]ᵀ·W·s, each computed in double-double (as
    Ogita, Rump & Oishi's Dot2 would) and rounded; block by block, no copy of X. With
    ``mean`` (x̄, and an intercept) g comes centred: its entries j ≥ 1 are gⱼ − x̄ⱼ·g₀.

    Column j of [1, X] is scaled by 2^c_j, the exponent of xr_j, and each row of the block
    then by 2^-e_i to a maximum below 1: the products a_ij·xr_j are then balanced, so the
    slices' bounds (relative to the largest product in the row) are those of Dot2."""
    n, d = X.shape
    k = Y.shape[1]
    p = xr.shape[0]
    if k > 1:  # the column scaling balances one target's products: one target at a time
        parts = [augmented_residuals(X, Y[:, i:i + 1], s[:, i:i + 1], xr[:, i:i + 1], w,
                                     fit_intercept, mean) for i in range(k)]
        return np.hstack([f for f, _ in parts]), np.hstack([g for _, g in parts])
    size = np.abs(xr).max(axis=1)
    c = np.frexp(np.maximum(size, 2.0**-60 * size.max()))[1].astype(np.float64)
    c = np.where(np.isfinite(c) & (size.max() > 0), c, 0.0)
    col_scale = np.ldexp(1.0, c.astype(np.int64))
    x_parts, x_scale, x_bounds = _vector_slices(xr / col_scale[:, None], p)
    f = np.empty_like(s)
    g_terms, g_lo = [], np.zeros((p, k))
    # blocks of ≤ 1 MiB, and their three slices below ~5% of X
    rows = min(n, _BLOCK_ROWS, max(256, min(_BLOCK_ELEMENTS // p, n // 60)))
    buf = np.empty((3, rows, p))  # the block's two slices and its remainder
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        m = stop - start
        parts = buf[:, :m]
        rest = parts[2]
        # this block of [1, X]·2^c, each row scaled by a power of two to a maximum below 1
        if fit_intercept:
            rest[:, 0] = col_scale[0]
        np.multiply(X[start:stop], col_scale[int(fit_intercept):], out=rest[:, int(fit_intercept):])
        top = np.abs(rest[:, 0])
        for col in rest.T[1:]:  # (faster than a reduction along rows of p entries)
            np.maximum(top, np.abs(col), out=top)
        e = np.frexp(np.where(np.isfinite(top), top, 1.0))[1][:, None]
        rest *= np.ldexp(1.0, -e)
        for i in (0, 1):  # error-free slices (ExtractScalar), in place
            sigma = 1.5 * 2.0 ** (52 - (i + 1) * _BITS)
            np.add(rest, sigma, out=parts[i])
            parts[i] -= sigma
            rest -= parts[i]
        # A·xr, scaled back row by row (exact), subtracted from Y − s in double-double
        p_hi, p_lo = _dd_products(parts @ x_parts, x_bounds, k)
        row_scale = np.ldexp(x_scale, e)
        b_hi, b_lo = two_sum(Y[start:stop], -s[start:stop])
        f_hi, err = two_sum(b_hi, -(p_hi * row_scale))
        f[start:stop] = f_hi + (err + b_lo - p_lo * row_scale)
        # Aᵀ·W·s: W·s exact in double-double, rows scaled as A's were (exact)
        sb = s[start:stop]
        if w is None:
            ws_hi, ws_lo = sb, None
        else:
            ws_hi, ws_lo = two_prod(split(w[start:stop, None]), split(sb))
        v_parts, v_scale, v_bounds = _vector_slices(np.ldexp(ws_hi, e), rows)
        g_terms.append((v_parts.T @ parts) * np.repeat(v_scale, len(v_bounds))[:, None])
        if ws_lo is not None:  # second order: the top slices suffice in double
            g_lo += (parts[0] + parts[1]).T @ np.ldexp(ws_lo, e)
    # the exact slice products of all blocks, added pairwise by TwoSum in a few array calls
    terms = np.stack(g_terms).reshape(len(g_terms), 3, len(v_bounds), k, p)
    big = np.outer(_A_BOUNDS, v_bounds) >= 2.0**-55
    g_hi, err = _tree_sum(terms[:, big].reshape(-1, k, p))
    g_lo += (err + terms[:, ~big].sum(axis=(0, 1))).T
    g_hi, g_lo = -g_hi.T / col_scale[:, None], -g_lo / col_scale[:, None]  # (exact scaling)
    if fit_intercept and mean is not None:  # centred before rounding: gⱼ − x̄ⱼ·g₀
        g_hi, g_lo = centred_dd(g_hi, g_lo, np.concatenate([[0.0], mean]))
    return f, g_hi + g_lo


def _condition(M: np.ndarray) -> float:
    sv = np.linalg.svd(M, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
