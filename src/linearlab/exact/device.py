"""Exact least squares on a torch device: one pass over the data there, then a small solve there.

``LinearRegression(backend="torch", device=...)`` with an exact solver lands here.

- ``"auto"`` and ``"normal"``: the Gram statistics accumulate on the device in float64, block by
  block (centred per block and merged with Chan's update, as :class:`~linearlab.gram.Gram`
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

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.tensors import is_tensor, require_torch, resolve_device, stream_blocks
from ..gram import Gram
from . import solvers
from .accuracy import TARGET_ERROR, normal_equation_errors
from .solvers import ExactSolution

SOLVERS = ("auto", "normal", "qr", "svd")
# float32 host rows are widened to float64 this many bytes at a time for the host Gram pass
# (large enough for its parallel blocks, small next to the data)
HOST_WIDEN_BYTES = 64 * 2**20


@dataclass
class DeviceGram:
    """:class:`~linearlab.gram.Gram`'s statistics of ``Z = [X, Y]`` as float64 device tensors."""

    count: int
    weight_sum: Any  # 0-d tensor
    mean: Any  # (d + k,)
    cross: Any  # (d + k, d + k) centred cross-products Σ w (z - z̄)(z - z̄)ᵀ
    n_features: int

    def merge(self, other: DeviceGram) -> DeviceGram:
        """Statistics of the union of two disjoint sets of rows (Chan's pairwise update)."""
        torch = require_torch()
        na, nb = self.weight_sum, other.weight_sum
        total = na + nb
        safe = torch.clamp(total, min=torch.finfo(total.dtype).tiny)  # both empty: no shift
        delta = other.mean - self.mean
        return DeviceGram(
            count=self.count + other.count,
            weight_sum=total,
            mean=self.mean + delta * (nb / safe),
            cross=self.cross + other.cross + (na * nb / safe) * torch.outer(delta, delta),
            n_features=self.n_features,
        )

    @classmethod
    def from_host(cls, gram: Gram, dev) -> DeviceGram:
        """The statistics of a host :class:`~linearlab.gram.Gram`, as tensors on ``dev``."""
        torch = require_torch()
        cross = np.block([[gram.sxx, gram.sxy], [gram.sxy.T, gram.syy]])
        return cls(
            count=gram.count,
            weight_sum=torch.tensor(float(gram.weight_sum), dtype=torch.float64, device=dev),
            mean=torch.as_tensor(np.concatenate([gram.mean_x, gram.mean_y]), device=dev),
            cross=torch.as_tensor(cross, device=dev),
            n_features=gram.n_features,
        )

    def to_host(self) -> Gram:
        """The host :class:`~linearlab.gram.Gram` (a few small arrays copied back)."""
        d = self.n_features
        torch = require_torch()
        packed = _host(torch.cat([self.weight_sum.reshape(1), self.mean, self.cross.reshape(-1)]))
        p = self.mean.shape[0]
        mean, cross = packed[1 : 1 + p], packed[1 + p :].reshape(p, p)
        return Gram(
            count=self.count, weight_sum=float(packed[0]), mean_x=mean[:d].copy(),
            mean_y=mean[d:].copy(), sxx=cross[:d, :d].copy(), sxy=cross[:d, d:].copy(),
            syy=cross[d:, d:].copy(),
        )


def host_float64(a) -> np.ndarray | None:
    """A NumPy view of ``a`` when it is float64 in host memory (array or CPU tensor), else
    None."""
    if is_tensor(a):
        if a.device.type != "cpu" or str(a.dtype) != "torch.float64":
            return None
        a = a.detach().numpy()
    if isinstance(a, np.ndarray) and a.dtype == np.float64:
        return a
    return None


def host_gram(X, Y, sample_weight=None) -> Gram:
    """The host :class:`~linearlab.gram.Gram` pass (BLAS syrk) over host arrays or CPU tensors;
    float32 blocks are widened to float64 one block at a time (no float64 copy of X)."""
    views = [host_float64(a) for a in (X, Y, sample_weight)]
    if all(v is not None or a is None for v, a in zip(views, (X, Y, sample_weight),
                                                      strict=True)):
        return Gram.from_arrays(*views)
    torch = require_torch()
    gram = Gram.empty(X.shape[1], 1 if Y.ndim == 1 else Y.shape[1])
    cpu = torch.device("cpu")
    rows = max(256, HOST_WIDEN_BYTES // (8 * (X.shape[1] + gram.n_targets)))
    for blocks in stream_blocks([X, Y, sample_weight], cpu, dtype=torch.float64, rows=rows):
        gram.update(*(None if b is None else b.numpy() for b in blocks))
    return gram


def _host(tensor) -> np.ndarray:
    return tensor.detach().to("cpu").numpy()


def block_gram(Xb, Yb, wb, n_features: int) -> DeviceGram:
    """Centred statistics of one device block (explicit centring: no cancellation for offsets)."""
    torch = require_torch()
    Z = torch.cat([Xb, Yb], dim=1)
    if wb is None:
        weight_sum = torch.tensor(float(Z.shape[0]), dtype=Z.dtype, device=Z.device)
        mean = Z.mean(dim=0)
        Zc = Z - mean
    else:
        weight_sum = wb.sum()
        mean = (wb @ Z) / torch.clamp(weight_sum, min=torch.finfo(Z.dtype).tiny)
        Zc = (Z - mean) * torch.sqrt(wb)[:, None]
    return DeviceGram(Z.shape[0], weight_sum, mean, Zc.T @ Zc, n_features)


def device_gram(X, Y, sample_weight=None, *, device: Any = "cpu", rows: int | None = None
                ) -> DeviceGram:
    """Gram statistics of ``(X, Y)`` accumulated on ``device`` in float64.

    Parameters
    ----------
    X : ndarray or tensor of shape (n_samples, n_features)
    Y : ndarray or tensor of shape (n_samples, n_targets)
    sample_weight : ndarray or tensor of shape (n_samples,), optional
    device : str or torch.device
    rows : int, optional
        Rows per block (default: about 64 MB per block on CUDA, 8 MB on the CPU).

    Returns
    -------
    DeviceGram
        ``.to_host()`` gives the :class:`~linearlab.gram.Gram`.
    """
    torch = require_torch()
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    if dev.type == "cpu" and rows is None:  # rows in host memory: the host's own Gram pass
        return DeviceGram.from_host(host_gram(X, Y, sample_weight), dev)
    total = None
    for Xb, Yb, wb in stream_blocks([X, Y, sample_weight], dev, dtype=torch.float64, rows=rows):
        block = block_gram(Xb, Yb, wb, X.shape[1])
        total = block if total is None else total.merge(block)
    return total


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
    info_v, condition_v, constant = _host(flags).tolist()  # the one sync of the solve
    usable = info_v == 0 and np.isfinite(condition_v) and not (constant and not alpha)
    return coef, (condition_v if usable else np.inf), usable


def _normal_solution(stats, coef, condition, fit_intercept, where) -> ExactSolution:
    torch = require_torch()
    d = stats.n_features
    intercept = (stats.mean[d:] - stats.mean[:d] @ coef if fit_intercept
                 else torch.zeros(coef.shape[1], dtype=coef.dtype, device=coef.device))
    return ExactSolution(
        coef=_host(coef), intercept=_host(intercept), solver=f"normal ({where})",
        rank=d, condition_number=float(np.sqrt(condition)),
    )


# --------------------------------------------------------------------------- QR and SVD
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


def _gram_from_r(R, count: int, n_features: int) -> DeviceGram:
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


def _solve_qr(R, count, d, alpha, fit_intercept, where) -> ExactSolution | None:
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
    s_host = _host(s)
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
        cov = _host(inverse @ inverse.T)
        ssr = _host((T[d:, d:] ** 2).sum(dim=0))
    return ExactSolution(
        coef=_host(coef), intercept=_host(intercept), solver=f"qr ({where})", rank=d,
        condition_number=float(s_host[0] / s_host[-1]), cov_unscaled=cov, ssr=ssr,
    )


def _solve_svd(R, count, d, alpha, fit_intercept, where) -> ExactSolution:
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
    s_host, keep_host, Vh_host = _host(s), _host(keep), _host(Vh)
    rank = int(keep_host.sum())
    null = np.abs(Vh_host[~keep_host])
    aliased = [int(j) for j in np.flatnonzero(null.max(axis=0) > 1e-8)] if null.size else []
    return ExactSolution(
        coef=_host(coef), intercept=_host(intercept), solver=f"svd ({where})", rank=rank,
        condition_number=float(s_host[0] / s_host[keep_host].min()) if rank == d else np.inf,
        singular_values=s_host, aliased=aliased,
    )


# --------------------------------------------------------------------------- dispatch
def solve(solver: str, X, Y, sample_weight=None, *, alpha: float = 0.0,
          fit_intercept: bool = True, device: Any = "cpu") -> tuple[ExactSolution, Gram]:
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
        gram = _gram_from_r(R, count, d).to_host()
        solution = _solve_qr(R, count, d, alpha, fit_intercept, where) if solver == "qr" else None
        if solution is None:
            solution = _solve_svd(R, count, d, alpha, fit_intercept, where)
    else:
        stats = device_gram(X, Y, sample_weight, device=dev)
        gram = stats.to_host()
        coef, condition, usable = _cholesky(stats, alpha, fit_intercept)
        limit = np.inf if solver == "normal" else solvers.NORMAL_SAFE_CONDITION
        solution = None
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


def _residual_ssr(X, Y, sample_weight, solution: ExactSolution, dev) -> np.ndarray:
    """Σ w (y - Xβ - β₀)² per target from the residuals, in float64 on the device."""
    torch = require_torch()
    coef = torch.as_tensor(solution.coef, device=dev)
    intercept = torch.as_tensor(np.asarray(solution.intercept, dtype=np.float64), device=dev)
    total = torch.zeros(coef.shape[1], dtype=torch.float64, device=dev)
    for Xb, Yb, wb in stream_blocks([X, Y, sample_weight], dev, dtype=torch.float64):
        r = torch.addmm(intercept, Xb, coef).sub_(Yb)
        total += (r * r).sum(dim=0) if wb is None else wb @ (r * r)
    return _host(total)


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
    from ..data.tensors import check_tensor
    from ..errors import DataError

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
