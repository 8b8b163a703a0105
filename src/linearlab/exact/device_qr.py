"""Least squares by a tall-skinny QR on a torch device (``solver="qr"`` and ``"svd"``).

The R factor of the weighted ``[1, X, Y]`` accumulates block by block on the device (each block
stacked under the R so far and factorised again, in float64). Its trailing block is the R
factor of the centred design, so the small QR solve or SVD that follows keeps QR's accuracy
(errors of order cond(X)·ε, not the Gram's cond(X)²·ε), and RᵀR gives the Gram statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linearlab.data.tensors import require_torch, resolve_device, stream_blocks
from linearlab.exact.device_gram import DeviceGram, host
from linearlab.exact.solvers import ExactSolution


def device_r(X, Y, sample_weight=None, *, device: Any = "cpu", rows: int | None = None):
    """R factor (upper triangular, (p, p), p = 1 + d + k) of the weighted ``[1, X, Y]``.

    Tall-skinny QR: each block is stacked under the R so far and factorised again, on the
    device in float64. Returns (R, n_rows).
    """
    torch = require_torch()
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    R, count = None, 0
    for Xb, Yb, wb in stream_blocks([X, Y, sample_weight], dev, dtype=torch.float64, rows=rows):
        ones = torch.ones((Xb.shape[0], 1), dtype=Xb.dtype, device=dev)
        A = torch.cat([ones, Xb, Yb], dim=1)
        if wb is not None:
            A = A * torch.sqrt(wb)[:, None]
        if R is not None:
            A = torch.cat([R, A])
        R = torch.linalg.qr(A, mode="r").R
        count += Xb.shape[0]
    p = R.shape[1]
    if R.shape[0] < p:  # fewer rows than columns so far
        R = torch.cat([R, torch.zeros((p - R.shape[0], p), dtype=R.dtype, device=dev)])
    return R, count


def gram_from_r(R, count: int, n_features: int) -> DeviceGram:
    """Statistics from R of [√w, √w X, √w Y]: RᵀR = [Σw, Σw zᵀ; Σw z, Σw z zᵀ]."""
    torch = require_torch()
    lead = R[0, 0]
    weight_sum = lead * lead
    safe = torch.where(lead != 0, lead, torch.ones_like(lead))
    mean = R[0, 1:] / safe
    trailing = R[1:, 1:]
    return DeviceGram(count, weight_sum, mean, trailing.T @ trailing, n_features)


def _design_r(R, fit_intercept: bool):
    """R factor of the (centred, when fitting an intercept) ``[X, Y]``."""
    torch = require_torch()
    if fit_intercept:
        return R[1:, 1:]
    return torch.linalg.qr(R[:, 1:], mode="r").R  # re-factorised without the constant column


def solve_qr(R, count, d, alpha, fit_intercept, where) -> ExactSolution | None:
    """Coefficients from the R of the centred design (None when rank-deficient)."""
    torch = require_torch()
    T = _design_r(R, fit_intercept)
    Rxx, Rxy = T[:d, :d], T[:d, d:]
    norms = torch.linalg.vector_norm(Rxx, dim=0)
    scale = torch.where(norms > 0, norms, torch.ones_like(norms))
    Rs, rhs = Rxx / scale, Rxy
    if alpha:
        Rs = torch.linalg.qr(torch.cat([Rs, torch.diag(np.sqrt(alpha) / scale)]), mode="reduced")
        rhs = Rs.Q.T @ torch.cat([Rxy, torch.zeros_like(Rxy)])
        Rs = Rs.R
    s = torch.linalg.svdvals(Rs)
    coef = torch.linalg.solve_triangular(Rs, rhs, upper=True) / scale[:, None]
    s_host = host(s)
    if not s_host[0] > 0 or (s_host > s_host[0] * max(count, d) * np.finfo(float).eps).sum() < d:
        return None
    mean = R[0, 1:] / R[0, 0]
    intercept = (mean[d:] - mean[:d] @ coef if fit_intercept
                 else torch.zeros(Rxy.shape[1], dtype=R.dtype, device=R.device))
    cov = ssr = None
    if not alpha:
        lead = R[: 1 + d, : 1 + d] if fit_intercept else Rxx
        inverse = torch.linalg.solve_triangular(
            lead, torch.eye(lead.shape[0], dtype=R.dtype, device=R.device), upper=True
        )
        cov = host(inverse @ inverse.T)
        ssr = host((T[d:, d:] ** 2).sum(dim=0))
    return ExactSolution(
        coef=host(coef), intercept=host(intercept), solver=f"qr ({where})", rank=d,
        condition_number=float(s_host[0] / s_host[-1]), cov_unscaled=cov, ssr=ssr,
    )


def solve_svd(R, count, d, alpha, fit_intercept, where) -> ExactSolution:
    """Minimum-norm (or ridge) coefficients from the SVD of the centred design's R."""
    torch = require_torch()
    T = _design_r(R, fit_intercept)
    U, s, Vh = torch.linalg.svd(T[:d, :d])
    s_max = s[0]
    keep = s > s_max * max(count, d) * np.finfo(float).eps
    if alpha:
        factor = s / (s**2 + alpha)
    else:
        factor = torch.where(keep, 1.0 / torch.where(keep, s, torch.ones_like(s)),
                             torch.zeros_like(s))
    coef = Vh.T @ (factor[:, None] * (U.T @ T[:d, d:]))
    mean = R[0, 1:] / R[0, 0]
    intercept = (mean[d:] - mean[:d] @ coef if fit_intercept
                 else torch.zeros(coef.shape[1], dtype=R.dtype, device=R.device))
    s_host, keep_host, Vh_host = host(s), host(keep), host(Vh)
    rank = int(keep_host.sum())
    null = np.abs(Vh_host[~keep_host])
    aliased = [int(j) for j in np.flatnonzero(null.max(axis=0) > 1e-8)] if null.size else []
    return ExactSolution(
        coef=host(coef), intercept=host(intercept), solver=f"svd ({where})", rank=rank,
        condition_number=float(s_host[0] / s_host[keep_host].min()) if rank == d else np.inf,
        singular_values=s_host, aliased=aliased,
    )
