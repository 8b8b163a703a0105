"""Exact least squares on a torch device: one pass over the data there, then a small solve there.

``LinearRegression(backend="torch", device=...)`` with an exact solver lands here.

- ``"auto"`` and ``"normal"``: the Gram statistics accumulate on the device in float64, block by
  block (centred per block and merged with Chan's update, as :class:`~linearlab.exact.gram.Gram`
  does on the host), from host arrays staged through pinned buffers or from tensors already on
  the device. The Cholesky factorisation of the column-scaled Gram matrix runs on the device.
  When the normal equations cannot promise 12 digits (the CPU's own rule:
  :func:`~linearlab.exact.accuracy.normal_equation_errors`), ``"auto"`` escalates exactly as on
  the CPU (QR polished by iterative refinement in double-double, or SVD), on the host, and
  ``solver_`` says so: ``"qr (cpu, escalated from cuda:0)"``. That is the only case where X
  itself comes back to the host.
- ``"qr"`` and ``"svd"``: a tall-skinny QR on the device (the R factor of the weighted
  ``[1, X, Y]``, block by block), whose trailing block is the R factor of the centred design;
  the small QR solve or SVD of that R runs on the device. The Gram statistics come from R.

Only d x d (or (d + k) x (d + k)) matrices travel back to the host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg as sla

from linearlab.data.tensors import is_tensor, require_torch, resolve_device, stream_blocks
from linearlab.exact import solvers
from linearlab.exact.accuracy import TARGET_ERROR, normal_equation_errors
from linearlab.exact.device_gram import DeviceGram, block_gram, device_gram, host, host_gram
from linearlab.exact.device_qr import device_r, gram_from_r, solve_qr, solve_svd
from linearlab.exact.fastpath import PassResult, describe, refine_normal
from linearlab.exact.gram import Gram, require_finite
from linearlab.exact.solvers import ExactSolution

__all__ = ["DeviceGram", "block_gram", "device_gram", "host_gram", "predict", "solve"]

SOLVERS = ("auto", "normal", "qr", "svd")


# --------------------------------------------------------------------------- normal equations
def _cholesky(stats: DeviceGram, alpha: float, fit_intercept: bool):
    """Cholesky solve of the column-scaled Gram matrix on the device.

    Returns (coef (d, k) tensor, 1-norm condition number of the scaled Gram, usable) where
    ``usable`` is False when the factorisation failed or a column is constant.
    """
    torch = require_torch()
    d = stats.n_features
    cross = stats.cross
    if not fit_intercept:  # raw cross-products Σ w z zᵀ
        cross = cross + stats.weight_sum * torch.outer(stats.mean, stats.mean)
    G, H = cross[:d, :d], cross[:d, d:]
    diag = torch.diagonal(G)
    scale = torch.where(diag > 0, torch.sqrt(diag), torch.ones_like(diag))
    Gs = G / torch.outer(scale, scale)
    if alpha:
        Gs = Gs + torch.diag(alpha / scale**2)
    factor, info = torch.linalg.cholesky_ex(Gs)
    # (cholesky_inverse would stop on a failed factorisation; the flags below report it)
    inverse = torch.cholesky_solve(torch.eye(d, dtype=Gs.dtype, device=Gs.device), factor)
    condition = torch.linalg.matrix_norm(Gs, ord=1) * torch.linalg.matrix_norm(inverse, ord=1)
    coef = torch.cholesky_solve(H / scale[:, None], factor) / scale[:, None]
    flags = torch.stack([info.to(torch.float64), condition, (diag == 0).any().to(torch.float64)])
    info_v, condition_v, constant = host(flags).tolist()  # the one sync of the solve
    usable = info_v == 0 and np.isfinite(condition_v) and not (constant and not alpha)
    return coef, (condition_v if usable else np.inf), usable


def _normal_solution(stats, coef, condition, fit_intercept, where) -> ExactSolution:
    torch = require_torch()
    d = stats.n_features
    intercept = (stats.mean[d:] - stats.mean[:d] @ coef if fit_intercept
                 else torch.zeros(coef.shape[1], dtype=coef.dtype, device=coef.device))
    return ExactSolution(
        coef=host(coef), intercept=host(intercept), solver=f"normal ({where})",
        rank=d, condition_number=float(np.sqrt(condition)),
    )


# --------------------------------------------------------------------------- dispatch
def solve(solver: str, X, Y, sample_weight=None, *, alpha: float = 0.0,
          fit_intercept: bool = True, device: Any = "cpu",
          check_x: Callable[[], None] | None = None) -> tuple[ExactSolution, Gram]:
    """Fit by the named exact solver with the heavy pass on ``device``.

    Parameters
    ----------
    solver : {"auto", "normal", "qr", "svd"}
    X : ndarray or tensor of shape (n_samples, n_features)
        Host arrays are staged to the device in blocks; tensors on the device stay there.
    Y : ndarray or tensor of shape (n_samples, n_targets)
    sample_weight : ndarray or tensor of shape (n_samples,), optional
    alpha : float, default=0.0
    fit_intercept : bool, default=True
    device : str or torch.device, default="cpu"
    check_x : callable, optional
        For an X whose values were not checked on the host (NaN, inf, overflowing squares):
        called when the device's Gram statistics come out non-finite, to raise the host
        checks' own error (located). Without it, or when it finds nothing, a non-finite Gram
        is a :class:`~linearlab.errors.NumericalError`.

    Returns
    -------
    (ExactSolution, Gram)
        ``solution.solver`` names the method and where it ran, e.g. ``"normal (cuda:0)"``,
        or ``"qr (cpu, escalated from cuda:0)"`` when ``"auto"`` escalated to the host's
        accurate path. The Gram statistics are those of the whole data (for summaries and
        diagnoses).
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown exact solver {solver!r}; choose one of {SOLVERS}")
    dev = resolve_device(device)
    where = str(dev)
    d = X.shape[1]
    if solver in ("qr", "svd"):
        R, count = device_r(X, Y, sample_weight, device=dev)
        gram = require_finite(gram_from_r(R, count, d).to_host(), check_x)
        solution = solve_qr(R, count, d, alpha, fit_intercept, where) if solver == "qr" else None
        if solution is None:
            solution = solve_svd(R, count, d, alpha, fit_intercept, where)
    else:
        stats = device_gram(X, Y, sample_weight, device=dev)
        gram = require_finite(stats.to_host(), check_x)
        coef, condition, usable = _cholesky(stats, alpha, fit_intercept)
        limit = np.inf if solver == "normal" else solvers.NORMAL_SAFE_CONDITION
        solution = None
        if solver == "auto" and not alpha:  # the CPU's rule: measured by residual passes
            solution = _measured(X, Y, sample_weight, gram, fit_intercept, dev)
            usable = False
        if usable and condition <= limit:
            solution = _normal_solution(stats, coef, condition, fit_intercept, where)
            # the CPU's own rule: keep the fast path while it promises TARGET_ERROR
            errors = normal_equation_errors(gram, solution.coef, solution.intercept, condition,
                                            fit_intercept)
            solution.error_estimate = errors.worst
            if solver == "auto" and not alpha and errors.worst > TARGET_ERROR:
                solution = None
            elif np.any(errors.ssr > 2 * TARGET_ERROR):  # the Gram's SSR cancels: sum residuals
                solution.ssr = _residual_ssr(X, Y, sample_weight, solution, dev)
        if solution is not None:
            pass
        elif solver == "normal":  # singular Gram: minimum-norm eigen-solution of the d x d Gram
            solution = solvers.solve_normal(gram, alpha=alpha, fit_intercept=fit_intercept)
            solution.solver = "normal (cpu, singular)"
        else:  # exactly the CPU's "auto" from here: refined QR, QR with alpha, or SVD
            Xh, Yh, wh = (_to_numpy(a) for a in (X, Y, sample_weight))
            solution = solvers.solve_auto(Xh, Yh, wh, alpha=alpha, fit_intercept=fit_intercept,
                                          gram=gram)
            solution.solver = f"{solution.solver} (cpu, escalated from {where})"
    if solution.rank < d and not alpha:
        solution.raw_condition_number = np.inf
    elif np.isnan(solution.raw_condition_number):
        solution.raw_condition_number = solvers.raw_condition_number(gram, fit_intercept)
    return solution, gram


def _measured(X, Y, sample_weight, gram: Gram, fit_intercept: bool, dev):
    """The CPU's measured fast path (:mod:`linearlab.exact.fastpath`), each residual pass
    over the blocks on the device; None when it must escalate."""
    try:
        factor, scale, Hs, condition = solvers.cholesky_factor(
            gram, 0.0, fit_intercept, solvers.REFINE_SAFE_CONDITION
        )
    except solvers.NotSafe:
        return None
    coef = sla.cho_solve((factor, False), Hs, check_finite=False) / scale[:, None]
    torch = require_torch()

    def run_pass(coef, offset, shift_x, shift_y, centre):
        B = torch.as_tensor(coef, device=dev)
        sx, sy = torch.as_tensor(shift_x, device=dev), torch.as_tensor(shift_y, device=dev)
        const = offset + (0.0 if centre else shift_y - shift_x @ coef)
        c = torch.as_tensor(np.asarray(const, dtype=np.float64), device=dev)
        d, k = coef.shape
        ssr = torch.zeros(k, dtype=torch.float64, device=dev)
        grad = torch.zeros((d, k), dtype=torch.float64, device=dev)
        rsum = torch.zeros(k, dtype=torch.float64, device=dev)
        for Xb, Yb, wb in stream_blocks([X, Y, sample_weight], dev, dtype=torch.float64):
            if centre:
                Xb = Xb - sx
                r = (Yb - sy) - Xb @ B - c
            else:
                r = Yb - Xb @ B - c
            wr = r if wb is None else r * wb[:, None]
            ssr += (wr * r).sum(dim=0)
            grad += Xb.T @ wr
            rsum += wr.sum(dim=0)
        g, total = host(grad), host(rsum)
        if not centre:
            g = g - np.outer(shift_x, total)
        return PassResult(host(ssr), g, total)

    fast = refine_normal(run_pass, gram, factor, scale, condition, coef, fit_intercept)
    if fast is None:
        return None
    solution = ExactSolution(
        coef=fast.coef, intercept=fast.intercept, rank=gram.n_features,
        solver=f"{describe(fast.passes, False)} ({dev})", ssr=fast.ssr,
        condition_number=float(np.sqrt(condition)),
        error_estimate=max(fast.error, fast.covariance_error),
    )
    if not fast.ssr_accurate:  # a tight fit: sum the residuals directly
        solution.ssr = _residual_ssr(X, Y, sample_weight, solution, dev)
    return solution


def _residual_ssr(X, Y, sample_weight, solution: ExactSolution, dev) -> np.ndarray:
    """Σ w (y - Xβ - β₀)² per target from the residuals, in float64 on the device."""
    torch = require_torch()
    coef = torch.as_tensor(solution.coef, device=dev)
    intercept = torch.as_tensor(np.asarray(solution.intercept, dtype=np.float64), device=dev)
    total = torch.zeros(coef.shape[1], dtype=torch.float64, device=dev)
    for Xb, Yb, wb in stream_blocks([X, Y, sample_weight], dev, dtype=torch.float64):
        r = torch.addmm(intercept, Xb, coef).sub_(Yb)
        total += (r * r).sum(dim=0) if wb is None else wb @ (r * r)
    return host(total)


def _to_numpy(a):
    """Host float64 copy of a tensor (the escalation path), NumPy arrays as they are."""
    if a is None or not is_tensor(a):
        return a
    torch = require_torch()
    return a.detach().to(device="cpu", dtype=torch.float64).numpy()


def predict(X, coef: np.ndarray, intercept) -> Any:
    """``X @ coef.T + intercept`` on X's device and in X's dtype; shapes as ``coef_``.

    ``coef`` is ``coef_`` (n_features,) or (n_targets, n_features); the result is (n,) or
    (n, n_targets) like the NumPy prediction.
    """
    from linearlab.data.tensors import check_tensor
    from linearlab.errors import DataError

    torch = require_torch()
    Xa = check_tensor(X, "X", ndims=(2,))
    coef = np.asarray(coef, dtype=np.float64)
    if Xa.shape[1] != coef.shape[-1]:
        raise DataError(f"X has {Xa.shape[1]} features, but the model is expecting "
                        f"{coef.shape[-1]} features as input.")
    W = torch.as_tensor(coef.reshape(1, -1) if coef.ndim == 1 else coef, dtype=Xa.dtype,
                        device=Xa.device)
    b = torch.as_tensor(np.atleast_1d(np.asarray(intercept, dtype=np.float64)), dtype=Xa.dtype,
                        device=Xa.device)
    out = torch.addmm(b, Xa, W.T)
    return out[:, 0] if coef.ndim == 1 else out
