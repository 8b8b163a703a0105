"""Gram statistics on a torch device: one float64 pass over the rows, block by block.

Blocks come from :func:`~linearlab.data.tensors.stream_blocks` (host arrays staged through
pinned buffers, or tensors already on the device); each is centred and merged with Chan's
update, as :class:`~linearlab.exact.gram.Gram` does on the host. On ``device="cpu"`` the host's own
pass (BLAS syrk, parallel blocks) runs instead.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from linearlab.data.tensors import is_tensor, require_torch, resolve_device, stream_blocks
from linearlab.exact.gram import Gram

# float32 host rows are widened to float64 this many bytes at a time for the host Gram pass
# (large enough for its parallel blocks, small next to the data)
HOST_WIDEN_BYTES = 64 * 2**20


@dataclass
class DeviceGram:
    """The :class:`~linearlab.exact.gram.Gram` statistics of ``Z = [X, Y]`` on the device."""

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
        """The statistics of a host :class:`~linearlab.exact.gram.Gram`, as tensors on ``dev``."""
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
        """The host :class:`~linearlab.exact.gram.Gram` (a few small arrays copied back)."""
        d = self.n_features
        torch = require_torch()
        packed = host(torch.cat([self.weight_sum.reshape(1), self.mean, self.cross.reshape(-1)]))
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
    """The host :class:`~linearlab.exact.gram.Gram` pass (BLAS syrk) over host arrays or CPU
    tensors; float32 blocks are widened to float64 one block at a time (no float64 copy of X)."""
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


def host(tensor) -> np.ndarray:
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
        ``.to_host()`` gives the :class:`~linearlab.exact.gram.Gram`.
    """
    torch = require_torch()
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    if dev.type == "cpu" and rows is None:  # rows in host memory: the host's own Gram pass
        with warnings.catch_warnings():  # NaN, inf, overflow: the caller checks the result
            warnings.simplefilter("ignore", RuntimeWarning)
            return DeviceGram.from_host(host_gram(X, Y, sample_weight), dev)
    total = None
    for Xb, Yb, wb in stream_blocks([X, Y, sample_weight], dev, dtype=torch.float64, rows=rows):
        block = block_gram(Xb, Yb, wb, X.shape[1])
        total = block if total is None else total.merge(block)
    return total
