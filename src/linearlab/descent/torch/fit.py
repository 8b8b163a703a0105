"""A whole gradient-descent fit with the data on a torch device.

``LinearRegression(solver="gd", backend="torch")`` lands here. The setup and the diagnosis are
:func:`linearlab.descent.fit.prepare` and :func:`~linearlab.descent.fit.finish` (written once
for every engine); what touches the rows runs on the device:

1. host arrays cross to the device once, in pinned blocks, and the Gram statistics accumulate
   there in float64 during that same pass (tensors already on the device are read in place);
2. standardization, the steepest row (for ``lr="auto"`` on mini-batches) and the training;
3. the trained objective at the end point and at the exact optimum (the diagnosis).

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
    torch_dtype,
)
from linearlab.data.validation import resolve_dtype
from linearlab.descent import fit as host_fit
from linearlab.descent.batches import BatchPlan, random_streams
from linearlab.descent.config import penalty_factor
from linearlab.descent.losses import get_loss
from linearlab.descent.torch import train
from linearlab.descent.torch.engine import pointwise
from linearlab.exact.device_gram import DeviceGram, block_gram, device_gram, host_gram

# The objective comes from the Gram statistics while their error bound stays below this
# (relative); otherwise one float64 pass over the rows on the device computes it. The diagnosis
# compares the final and the optimal loss with a 1e-6 relative tolerance and prints their gap
# to 3 digits: 1e-10 keeps both exact.
GRAM_SSR_ACCURACY = 1e-10
SSR_FACTOR = 8.0  # per ε and per unit of (Σ of the terms' magnitudes) / SSR, as exact.accuracy


def fit_descent(model: Any, X, Y, w, *, warm_start=None, partial: bool = False,
                feature_names: list[str] | None = None) -> host_fit.DescentFit:
    """Train ``model``'s settings on ``(X, Y)`` (arrays or tensors) on ``model.device``.

    Same contract as :func:`linearlab.descent.fit.fit_descent`.
    """
    dev = resolve_device(model.device)
    dtype = resolve_dtype(model.dtype)
    tdtype = torch_dtype(dtype)
    init_rng, batch_rng = random_streams(model.random_state)
    held = None
    if model.early_stopping and not partial:
        X, Y, w, held = host_fit.hold_out(model, X, Y, w)  # the NumPy fit's seeded split
    Xd, Yd, wd, stats = upload(X, Y, w, dev, tdtype)
    gram = stats.to_host()
    if model.standardize:  # in place only on a copy of ours, never on the caller's memory
        shift, scale = gram.feature_scaling(model.fit_intercept)
        Xd = standardized(Xd, shift, scale, own=not shares_memory(Xd, X))
    row_norm2 = (max_row_norm2(Xd, model.fit_intercept, model.batch_size) if model.batch_size
                 else None)
    setup = host_fit.prepare(model, gram, init_rng=init_rng, dtype=dtype, partial=partial,
                             warm_start=warm_start, max_row_norm2=row_norm2,
                             feature_names=feature_names)
    validation = None
    if held is not None:
        validation = held_out_loss(model, setup, held, dev)
    plan = BatchPlan(Xd.shape[0], model.batch_size, model.shuffle, batch_rng)
    result = train(Xd, Yd, wd, setup.init, plan, setup.config, dev, engine=model.engine,
                   validation=validation)
    factor = penalty_factor(setup.config, Yd.shape[1], gram.weight_sum)
    loss_fn = get_loss(model.loss)

    def objective(W, b):  # the trained objective on the training scale
        ssr = gram_ssr(setup.train_gram, W, b, model.fit_intercept)  # no pass when accurate
        if ssr is None:
            ssr = squared_residuals(Xd, Yd, wd, W, b, dev)  # in float64 on the device
        norm = 1.0 if loss_fn.reduction == "sum" else 1.0 / (gram.weight_sum * Yd.shape[1])
        return norm * ssr + factor * float((W * W).sum())

    # The exact optimum may refine with the rows when they are float64 host arrays already
    # (no copy); otherwise it comes from the Gram statistics alone.
    host_rows = (not is_tensor(X) and not model.standardize and dtype == np.float64)
    rows = (X, Y, w) if host_rows else None
    return host_fit.finish(model, setup, gram, result, objective, feature_names, rows=rows)


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


def held_out_loss(model, setup, held, dev):
    """The loss on the held-out rows as a function of (W, b), evaluated on the device."""
    torch = require_torch()
    Xv, Yv, wv = held
    Yv = Yv.reshape(-1, 1) if Yv.ndim == 1 else Yv
    Xv, Yv = (torch.as_tensor(a, device=dev).to(torch.float64) for a in (Xv, Yv))
    wv = None if wv is None else torch.as_tensor(wv, device=dev).to(torch.float64)
    if model.standardize:
        Xv = standardized(Xv, setup.shift, setup.scale, own=False)
    loss_fn = get_loss(model.loss)

    def loss(W, b) -> float:
        W_t = torch.as_tensor(np.asarray(W, dtype=np.float64), device=dev)
        b_t = torch.as_tensor(np.asarray(b, dtype=np.float64), device=dev)
        r = torch.addmm(b_t, Xv, W_t).sub_(Yv)
        terms, _ = pointwise(torch, model.loss, r)
        total = terms.sum() if wv is None else (wv @ terms).sum()
        share = float(r.shape[0]) if wv is None else float(wv.sum())
        norm = 1.0 if loss_fn.reduction == "sum" else 1.0 / (share * r.shape[1])
        return float(total) * norm

    return loss
