"""A whole gradient-descent fit with the data on a torch device.

``LinearRegression(solver="gd", backend="torch")`` lands here: the one descent shell
(:func:`linearlab.descent.shell.run`, written once for every engine) with :class:`TensorData`,
whose work touches the rows on the device:

1. host arrays cross to the device once, in pinned blocks; when training needs the Gram
   statistics (``lr="auto"``, ``standardize``, early stopping) they accumulate there in float64
   during that same pass, otherwise they are computed only when first read (tensors already on
   the device are read in place);
2. standardization, the steepest row (for ``lr="auto"`` on mini-batches) and the training;
3. the trained objective at the end point and at the exact optimum (the diagnosis, when read).

Only d x d statistics, per-epoch losses and parameters come back to the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linearlab.data.tensors import (
    fits_on_device,
    host_tensor,
    is_tensor,
    require_torch,
    resolve_device,
    stream_blocks,
    to_device,
    torch_dtype,
)
from linearlab.data.validation import resolve_dtype
from linearlab.descent import fit as host_fit
from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import penalty_factor
from linearlab.descent.losses import get_loss, pointwise
from linearlab.descent.shell import run
from linearlab.descent.spec import DescentFit, DescentSpec, LazyGram
from linearlab.descent.torch import train
from linearlab.exact.device_gram import DeviceGram, block_gram, device_gram, host_gram

# The objective comes from the Gram statistics while their error bound stays below this
# (relative); otherwise one float64 pass over the rows on the device computes it. The diagnosis
# compares the final and the optimal loss with a 1e-6 relative tolerance and prints their gap
# to 3 digits: 1e-10 keeps both exact.
GRAM_SSR_ACCURACY = 1e-10
SSR_FACTOR = 8.0  # per ε and per unit of (Σ of the terms' magnitudes) / SSR, as exact.accuracy


def fit_descent(model: Any, X, Y, w, *, warm_start=None, partial: bool = False,
                feature_names: list[str] | None = None) -> DescentFit:
    """Train ``model``'s settings on ``(X, Y)`` (arrays or tensors) on ``model.device``.

    Same contract as :func:`linearlab.descent.fit.fit_descent`: the one shell
    (:func:`linearlab.descent.shell.run`) with :class:`TensorData`.
    """
    spec = DescentSpec.of(model)
    data = TensorData(X, Y, w, resolve_device(spec.device), resolve_dtype(spec.dtype))
    return run(spec, data, warm_start=warm_start, partial=partial, feature_names=feature_names)


class TensorData(host_fit.HostRows):
    """Rows on a torch device for the shell: host arrays cross once (with the Gram pass when
    training needs the statistics), tensors already there are used in place."""

    def __init__(self, X, Y, w, dev, dtype):
        self.X, self.Y, self.w = X, (Y.reshape(-1, 1) if Y.ndim == 1 else Y), w
        self.dev, self.dtype, self.tdtype = dev, dtype, torch_dtype(dtype)
        self.Xd = self.Yd = self.wd = None
        self.eager = True

    def gram(self, eager: bool):
        X, Y, w, dev = self.X, self.Y, self.w, self.dev
        self.eager = eager
        if eager:  # the statistics accumulate during the upload
            self.Xd, self.Yd, self.wd, stats = upload(X, Y, w, dev, self.tdtype)
            return stats.to_host()
        self.Xd, self.Yd, self.wd = place(X, Y, w, dev, self.tdtype)
        if dev.type == "cpu":
            return LazyGram(lambda: host_gram(X, Y, w))
        return LazyGram(lambda: device_gram(X, Y, w, device=dev).to_host())

    def standardize(self, shift: np.ndarray, scale: np.ndarray) -> None:
        # in place only on a copy of ours, never on the caller's memory
        self.Xd = standardized(self.Xd, shift, scale, own=not shares_memory(self.Xd, self.X))

    def max_row_norm2(self, spec: DescentSpec) -> float:
        return max_row_norm2(self.Xd, spec.fit_intercept, spec.batch_size)

    def validation(self, spec: DescentSpec, setup, held):
        return held_out_loss(spec, setup, held, self.dev)

    def train(self, spec: DescentSpec, setup, batch_rng, validation):
        plan = BatchPlan(self.Xd.shape[0], spec.batch_size, spec.shuffle, batch_rng)
        return train(self.Xd, self.Yd, self.wd, setup.init, plan, setup.config, self.dev,
                     engine=spec.engine, validation=validation)

    def objective(self, spec: DescentSpec, setup):
        """The trained objective: from the statistics when they give it accurately, else one
        float64 pass over the rows on the device (the caller's rows when no copy was kept for
        standardization, so a deferred diagnosis holds no device copy)."""
        rows = (self.Xd, self.Yd, self.wd) if self.eager else (self.X, self.Y, self.w)
        factor = penalty_factor(setup.config, self.n_targets, self.total_weight())
        summed = get_loss(spec.loss).reduction == "sum"
        k, dev, fit_intercept, total = self.n_targets, self.dev, spec.fit_intercept, \
            self.total_weight()
        train_gram = setup.train_gram

        def objective(W, b):  # the trained objective on the training scale
            ssr = gram_ssr(train_gram, W, b, fit_intercept)  # no pass when accurate
            if ssr is None:
                ssr = squared_residuals(*rows, W, b, dev)  # in float64 on the device
            norm = 1.0 if summed else 1.0 / (total * k)
            return norm * ssr + factor * float((W * W).sum())

        return objective

    def exact_rows(self, spec: DescentSpec):
        # the exact optimum may refine with the rows when they are float64 host arrays already
        # (no copy); otherwise it comes from the Gram statistics alone
        if is_tensor(self.X) or spec.standardize or self.dtype != np.float64:
            return None
        return self.X, self.Y, self.w


def place(X, Y, w, dev, dtype):
    """(X, Y, w) on ``dev`` in ``dtype`` without the statistics (no pass when already there)."""
    torch = require_torch()
    if dev.type == "cpu":
        return tuple(None if a is None else (a.detach() if is_tensor(a) else torch.from_numpy(a))
                     .to(dtype) for a in (X, Y, w))
    if not fits_on_device([X, Y, w], dev, dtype):  # larger than the device: rows stay home
        return tuple(host_tensor(a, dtype) for a in (X, Y, w))
    return tuple(None if a is None else to_device(a, dev, dtype) for a in (X, Y, w))


def upload(X, Y, w, dev, dtype):
    """(X, Y, w) on ``dev`` in ``dtype`` and their float64 Gram statistics, in one pass.

    Host arrays are staged in pinned blocks; each block is added to the statistics and written
    into the device copy. Tensors already on the device are read block by block for the
    statistics and used in place (converted once if their dtype differs).
    """
    torch = require_torch()
    Y2 = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    if dev.type == "cpu":  # host memory: the host's Gram pass, and no copy when float64
        stats = DeviceGram.from_host(host_gram(X, Y2, w), dev)
        Xd, Yd, wd = (None if a is None else (a.detach() if is_tensor(a) else torch.from_numpy(a))
                      .to(dtype) for a in (X, Y2, w))
        return Xd, Yd, wd, stats

    if not fits_on_device([X, Y2, w], dev, dtype):  # larger than the device: rows stay home
        stats = device_gram(X, Y2, w, device=dev)  # the Gram pass streams through the device
        return host_tensor(X, dtype), host_tensor(Y2, dtype), host_tensor(w, dtype), stats

    def target(a):  # (the device tensor, whether the pass below must fill it)
        if a is None:
            return None, False
        if is_tensor(a) and a.device == dev:
            return a.detach().to(dtype), False
        return torch.empty(tuple(a.shape), dtype=dtype, device=dev), True

    targets = [target(a) for a in (X, Y2, w)]
    stats: DeviceGram | None = None
    start = 0
    for blocks in stream_blocks([X, Y2, w], dev, dtype=torch.float64):
        block = block_gram(*blocks, X.shape[1])
        stats = block if stats is None else stats.merge(block)
        stop = start + blocks[0].shape[0]
        for (tensor, fill), source in zip(targets, blocks, strict=True):
            if fill:
                tensor[start:stop].copy_(source)
        start = stop
    (Xd, _), (Yd, _), (wd, _) = targets
    return Xd, Yd, wd, stats


def shares_memory(tensor, a) -> bool:
    """Whether ``tensor`` is (a view of) the caller's ``a`` (an array or a tensor)."""
    if is_tensor(a):
        return tensor.data_ptr() == a.data_ptr()
    return tensor.device.type == "cpu" and np.shares_memory(tensor.numpy(), a)


def standardized(Xd, shift: np.ndarray, scale: np.ndarray, *, own: bool):
    """(X - shift) / scale on the device (in place when the tensor is ours)."""
    torch = require_torch()
    shift_t = torch.as_tensor(shift, dtype=Xd.dtype, device=Xd.device)
    scale_t = torch.as_tensor(scale, dtype=Xd.dtype, device=Xd.device)
    if own:
        return Xd.sub_(shift_t).div_(scale_t)
    return (Xd - shift_t) / scale_t


def max_row_norm2(Xd, fit_intercept: bool, batch_size: int | None = None) -> float:
    """max‖[x, 1]‖² over the rows (over the NumPy fit's evenly spaced sample of the rows for
    large batches, so that both backends find the same automatic step)."""
    torch = require_torch()
    n = Xd.shape[0]
    if (batch_size and batch_size >= host_fit.SAMPLED_ROW_NORMS_BATCH
            and n > host_fit.ROW_NORM_SAMPLE):
        Xd = Xd[:: n // host_fit.ROW_NORM_SAMPLE]
    best = torch.zeros((), dtype=torch.float64, device=Xd.device)
    for (block,) in stream_blocks([Xd], Xd.device, dtype=Xd.dtype):
        best = torch.maximum(best, torch.linalg.vector_norm(block, dim=1).max())
    return float(best) ** 2 + (1.0 if fit_intercept else 0.0)


def gram_ssr(gram, W: np.ndarray, b: np.ndarray, fit_intercept: bool) -> float | None:
    """Σ w r² from the Gram statistics when they give it to :data:`GRAM_SSR_ACCURACY` (None
    otherwise).

    Σ r² = Σ y² - 2 bᵀ Xᵀy + bᵀ XᵀX b cancels when the fit is tight; the bound is the sum of
    the terms' magnitudes over the result, times a few ε (:mod:`linearlab.exact.accuracy`).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64) if fit_intercept else np.zeros(W.shape[1])
    ssr = gram.residual_sum_of_squares(W, b)
    G, H, Syy = gram.cross_products(True)
    offset = gram.mean_y - gram.mean_x @ W - b
    magnitude = (np.diag(Syy) + 2 * np.einsum("ik,ik->k", np.abs(W), np.abs(H))
                 + np.einsum("ik,ij,jk->k", np.abs(W), np.abs(G), np.abs(W))
                 + gram.weight_sum * offset**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = SSR_FACTOR * np.finfo(float).eps * magnitude / ssr
    if not np.all(np.isfinite(bound)) or bound.max() > GRAM_SSR_ACCURACY:
        return None
    return float(ssr.sum())


def squared_residuals(Xd, Yd, wd, W: np.ndarray, b: np.ndarray, dev=None) -> float:
    """Σ w (X W + b - Y)² over all rows and targets, in float64 on ``dev`` (X's device)."""
    torch = require_torch()
    dev = Xd.device if dev is None else dev
    W_t = torch.as_tensor(np.asarray(W, dtype=np.float64), device=dev)
    b_t = torch.as_tensor(np.asarray(b, dtype=np.float64), device=dev)
    total = torch.zeros((), dtype=torch.float64, device=dev)
    for Xb, Yb, wb in stream_blocks([Xd, Yd, wd], dev, dtype=torch.float64):
        r = torch.addmm(b_t, Xb, W_t).sub_(Yb)
        terms = r * r
        total += terms.sum() if wb is None else (wb @ terms).sum()
    return float(total)


def held_out_loss(spec, setup, held, dev):
    """The loss on the held-out rows as a function of (W, b), evaluated on the device."""
    torch = require_torch()
    Xv, Yv, wv = held
    Yv = Yv.reshape(-1, 1) if Yv.ndim == 1 else Yv
    Xv, Yv = (torch.as_tensor(a, device=dev).to(torch.float64) for a in (Xv, Yv))
    wv = None if wv is None else torch.as_tensor(wv, device=dev).to(torch.float64)
    if spec.standardize:
        Xv = standardized(Xv, setup.shift, setup.scale, own=False)
    loss_fn = get_loss(spec.loss)

    def loss(W, b) -> float:
        W_t = torch.as_tensor(np.asarray(W, dtype=np.float64), device=dev)
        b_t = torch.as_tensor(np.asarray(b, dtype=np.float64), device=dev)
        r = torch.addmm(b_t, Xv, W_t).sub_(Yv)
        terms, _ = pointwise(torch, spec.loss, r)  # the loss table's formula, on the device
        total = terms.sum() if wv is None else (wv @ terms).sum()
        return float(total) * loss_fn.normaliser(r, wv)

    return loss
