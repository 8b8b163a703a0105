"""The NumPy engine's step on device tensors: hand-derived gradient, fused update, CUDA graphs.

``engine="auto"`` with ``backend="torch"`` runs this. It is :func:`linearlab.descent.loop.
forward_backward` and the torch.optim update written with torch operations on tensors that
live on the device::

    pred = X_b @ W + b;  r = pred - y_b                       # forward
    loss = reduce(ℓ(r));  g = ℓ'(r) · normaliser               # loss and dloss/dpred
    dW = X_bᵀ g + 2c·W;  db = Σ g                              # backward, by the chain rule
    θ ← update(θ, [dW; db], step table)                        # SGD / momentum / Nesterov / Adam

W and b are one tensor θ = [W; b] (d + 1, k), so an update is one kernel per state tensor.
The step sizes, Adam's bias corrections and the averaging weights come from a
:class:`~.steps.StepTable` (computed on the host with the NumPy engine's formulas), so the
device never waits for the host inside an epoch.

Epochs run in blocks: the batch losses and the parameters after every epoch stay on the device
and come back in one copy per block, which the epoch driver then records (history, path, tol,
divergence, logs, callbacks). On CUDA, the steps of one epoch are captured once in a CUDA graph
and replayed every epoch (the batch order and the step table are copied into its static input
buffers); the first epoch runs eagerly and doubles as the capture's warm-up.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from linearlab.data.tensors import require_torch, stream_blocks
from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig, penalty_factor
from linearlab.descent.losses import get_loss, pointwise
from linearlab.descent.optimizers import ADAM_BETAS, ADAM_EPS, MOMENTUM
from linearlab.descent.torch.steps import (
    ADAM_BC2_SQRT,
    ADAM_STEP,
    AVERAGE_WEIGHT,
    LR,
    StepTable,
    batch_rows,
)

# CUDA graphs pay off from this many steps per epoch (a full batch is one step: nothing to gain)
# and when at least this many epochs remain to replay (capturing costs about one eager epoch).
GRAPH_MIN_STEPS = 8
GRAPH_MIN_EPOCHS = 3


class DeviceRun:
    """One gradient-descent run on tensors that live on one device (see the module docstring).

    Parameters
    ----------
    X, Y : tensors (n, d) and (n, k) on the device, in the training dtype
    w : tensor (n,) or None
    init : (ndarray (d, k), ndarray (k,))
    plan : BatchPlan
    config : DescentConfig
    total_weight : float
        Σw over the epoch's rows (the ridge penalty's scale).
    use_graphs : bool
        Capture an epoch in a CUDA graph when the device is a GPU and it pays off.
    device : torch.device, optional
        Where to compute (default: X's device).
    resident : bool, optional
        False keeps the rows in host memory (data larger than the device): batches are
        gathered on the host and cross in pinned buffers, a full batch streams through in
        blocks (:func:`~linearlab.data.tensors.stream_blocks`). Default: whether X is on the
        device.
    """

    def __init__(self, X, Y, w, init, plan: BatchPlan, config: DescentConfig, *,
                 total_weight: float, use_graphs: bool = True, device=None,
                 resident: bool | None = None):
        torch = require_torch()
        self.torch, self.X, self.Y, self.w = torch, X, Y, w
        self.plan, self.config = plan, config
        self.dev = X.device if device is None else torch.device(device)
        self.dtype = X.dtype
        self.resident = X.device == self.dev if resident is None else resident
        k = Y.shape[1]
        W0, b0 = init
        bias = np.asarray(b0) if config.fit_intercept else np.zeros(k)
        self.theta = torch.as_tensor(np.vstack([np.asarray(W0), bias[None, :]]),
                                     dtype=self.dtype).to(self.dev)
        self.grad = torch.zeros_like(self.theta)
        self.state = [torch.zeros_like(self.theta) for _ in range(
            {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2}[config.optimizer])]
        self.table = StepTable(config, plan)
        self.average = self.theta.clone() if self.table.averaging else None
        self.rows = batch_rows(plan)
        self.loss_fn = get_loss(config.loss)
        self.penalty = penalty_factor(config, k, total_weight)
        self.total_weight = total_weight
        nb = len(self.rows)
        self.batch_losses = torch.zeros(nb, dtype=self.dtype, device=self.dev)
        self.steps = torch.zeros((nb, 4), dtype=torch.float64, device=self.dev)
        self.order = (torch.zeros(plan.n_samples, dtype=torch.long, device=X.device)
                      if plan.shuffle else None)
        self.uploads = _Uploader(torch, self.dev)
        self.stager = None if self.resident else _Stager(torch, self.dev, (X, Y, w),
                                                         max(self.rows))
        self.graph: Any = None
        self.graph_error: str | None = None
        self.use_graphs = (use_graphs and self.dev.type == "cuda" and nb >= GRAPH_MIN_STEPS
                           and self.resident)
        self.epochs_done = 0

    # ------------------------------------------------------------------ parameters
    def current(self):
        """θ the model reports: the Polyak-Ruppert average when averaging, else the iterate."""
        return self.average if self.average is not None else self.theta

    # ------------------------------------------------------------------ one step
    def _batch(self, s: int):
        lo = s * (self.plan.batch_size or 0)
        hi = lo + self.rows[s]
        w = self.w
        if self.plan.batch_size is None:
            return self.X, self.Y, w
        rows = slice(lo, hi) if self.order is None else self.order[lo:hi]
        if not self.resident:  # gathered on the host, across in pinned buffers
            return self.stager.batch(rows)
        if self.order is None:  # in order: views, no gather
            return self.X[lo:hi], self.Y[lo:hi], None if w is None else w[lo:hi]
        return (self.X.index_select(0, rows), self.Y.index_select(0, rows),
                None if w is None else w.index_select(0, rows))

    def _forward_backward(self, Xb, Yb, wb, norm, accumulate: bool):
        """Σ (weighted) pointwise losses of a batch; writes (or adds) its gradient into grad."""
        torch, grad = self.torch, self.grad
        W, b = self.theta[:-1], self.theta[-1]
        residual = torch.addmm(b, Xb, W).sub_(Yb)  # forward: r = X_b W + b - y_b
        total, slope = self._loss_terms(residual, wb, norm)
        if wb is not None:
            slope = slope * wb[:, None]
        if accumulate:  # a full batch streamed through in blocks
            grad[:-1].addmm_(Xb.T, slope)
            if self.config.fit_intercept:
                grad[-1].add_(slope.sum(dim=0))
        else:
            torch.mm(Xb.T, slope, out=grad[:-1])  # backward: dW = X_bᵀ g
            if self.config.fit_intercept:
                torch.sum(slope, dim=0, out=grad[-1])
        return total

    def _loss_terms(self, residual, wb, norm):
        """(Σ w ℓ(r), ℓ'(r)·normaliser): the loss before normalising and dloss/dpred."""
        if self.config.loss in ("mse", "sse") and isinstance(norm, float):
            terms = residual * residual  # (2r)·c == r·(2c) exactly: one kernel fewer
            slope = residual * (2.0 * norm)
        else:
            terms, slope = pointwise(self.torch, self.config.loss, residual)
            slope = slope * norm
        return (terms.sum() if wb is None else (wb @ terms).sum()), slope

    def _step(self, s: int) -> None:
        """forward, loss, hand-derived gradient, update: every operation stays on the device."""
        grad, W = self.grad, self.theta[:-1]
        k = self.Y.shape[1]
        summed = self.loss_fn.reduction == "sum"
        if self.plan.batch_size is None and not self.resident:
            share = self.total_weight
            norm = 1.0 if summed else (1.0 / (share * k))
            grad.zero_()
            total = 0.0
            for Xb, Yb, wb in stream_blocks([self.X, self.Y, self.w], self.dev,
                                            dtype=self.dtype):
                total = total + self._forward_backward(Xb, Yb, wb, norm, accumulate=True)
        else:
            Xb, Yb, wb = self._batch(s)
            share = float(Xb.shape[0]) if wb is None else wb.sum()
            norm = 1.0 if summed else (1.0 / (share * k))
            total = self._forward_backward(Xb, Yb, wb, norm, accumulate=False)
        loss = total * norm
        if self.penalty:
            c = self.penalty * share / self.total_weight if summed else self.penalty
            loss = loss + c * (W * W).sum()
            grad[:-1].add_(W * (2.0 * c))
        self.batch_losses[s].copy_(loss)
        self._update(self.steps[s])

    def _update(self, row) -> None:
        """torch.optim's formulas (as :mod:`linearlab.descent.optimizers`), fused on θ."""
        theta, grad, name = self.theta, self.grad, self.config.optimizer
        if name == "sgd":
            theta.sub_(grad * row[LR])
        elif name in ("momentum", "nesterov"):
            buf = self.state[0]
            buf.mul_(MOMENTUM).add_(grad)  # the first step gives buf = g exactly
            step = grad + MOMENTUM * buf if name == "nesterov" else buf
            theta.sub_(step * row[LR])
        else:
            m, v = self.state
            beta1, beta2 = ADAM_BETAS
            m.mul_(beta1).add_(grad * (1 - beta1))
            v.mul_(beta2).addcmul_(grad * (1 - beta2), grad)
            denom = v.sqrt().div_(row[ADAM_BC2_SQRT]).add_(ADAM_EPS)
            theta.sub_((m / denom).mul_(row[ADAM_STEP]))
        if self.average is not None:
            self.average.lerp_(theta, row[AVERAGE_WEIGHT].to(theta.dtype))

    def _epoch_steps(self) -> None:
        for s in range(len(self.rows)):
            self._step(s)

    # ------------------------------------------------------------------ epochs
    def run(self, epochs: int):
        """Run ``epochs`` epochs; returns (losses (epochs,), θ after each (epochs, d + 1, k)).

        Losses are the epoch means of the batch losses, as the NumPy loop records them. One
        device-to-host copy for the whole block.
        """
        torch = self.torch
        nb = len(self.rows)
        losses = torch.empty((epochs, nb), dtype=self.dtype, device=self.dev)
        thetas = torch.empty((epochs, *self.theta.shape), dtype=self.dtype, device=self.dev)
        self.last_lr = self.config.lr
        for e in range(epochs):
            epoch = self.epochs_done
            table = self.table.epoch(epoch)
            self.last_lr = self.table.last_lr(table)
            self.uploads.put(table, self.steps)
            if self.order is not None and self.resident:
                self.uploads.put(self.plan.orders(1)[0], self.order)
            elif self.order is not None:  # host-resident rows: the order stays on the host
                self.order.copy_(torch.from_numpy(self.plan.orders(1)[0]))
            if (self.graph is None and self.use_graphs and epoch >= 1
                    and self.config.epochs - epoch >= GRAPH_MIN_EPOCHS):
                self._capture()
            if self.graph is not None:
                self.graph.replay()
            else:
                self._epoch_steps()
            losses[e].copy_(self.batch_losses)
            thetas[e].copy_(self.current())
            self.epochs_done += 1
        host_losses = losses.to("cpu", torch.float64).numpy()
        return host_losses.mean(axis=1), thetas.to("cpu", torch.float64).numpy()

    def _capture(self) -> None:
        """Record one epoch's steps as a CUDA graph (after an eager epoch warmed everything up).

        Capture records kernels without running them, so the state is untouched. If the capture
        fails, the run goes on eagerly (same numbers) and ``graph_error`` says why.
        """
        torch = self.torch
        try:
            graph = torch.cuda.CUDAGraph()
            torch.cuda.synchronize(self.dev)
            with torch.cuda.graph(graph):
                self._epoch_steps()
            self.graph = graph
        except Exception as exc:  # noqa: BLE001 - any capture failure falls back to eager
            self.use_graphs = False
            self.graph_error = f"{type(exc).__name__}: {exc}"
            torch.cuda.synchronize(self.dev)
            warnings.warn(f"CUDA graph capture failed ({self.graph_error}); training goes on "
                          "without graphs (the same numbers, more launch overhead).",
                          RuntimeWarning, stacklevel=2)


class _Uploader:
    """Host arrays into device buffers without stalling the host: on CUDA through pinned
    staging buffers (two per shape, reused once their previous copy is done)."""

    def __init__(self, torch, dev):
        self.torch, self.dev = torch, dev
        self.staging: dict = {}

    def put(self, array: np.ndarray, target) -> None:
        torch = self.torch
        source = torch.from_numpy(np.ascontiguousarray(array))
        if self.dev.type != "cuda":
            target.copy_(source)
            return
        key = (tuple(source.shape), source.dtype)
        slots = self.staging.setdefault(key, [[None, None], 0])
        pair, turn = slots
        if pair[turn] is None:
            pair[turn] = (torch.empty(source.shape, dtype=source.dtype, pin_memory=True), None)
        buffer, done = pair[turn]
        if done is not None:
            done.synchronize()  # the copy that last read this buffer has run
        buffer.copy_(source)
        target.copy_(buffer, non_blocking=True)
        event = torch.cuda.Event()
        event.record(torch.cuda.current_stream(self.dev))
        pair[turn] = (buffer, event)
        slots[1] = 1 - turn


class _Stager:
    """Mini-batches of host-resident rows: gathered on the host into one of two pinned buffers
    and copied to the device without blocking (on the CPU: the gather alone)."""

    def __init__(self, torch, dev, arrays, rows: int):
        self.torch, self.dev = torch, dev
        self.arrays = arrays
        self.pinned = dev.type == "cuda"
        self.slots = [[None if a is None else torch.empty((rows, *a.shape[1:]), dtype=a.dtype,
                                                          pin_memory=self.pinned)
                       for a in arrays] for _ in range(2)]
        self.done: list = [None, None]
        self.turn = 0

    def batch(self, rows):
        torch, turn = self.torch, self.turn
        if self.done[turn] is not None:
            self.done[turn].synchronize()  # the copy out of this buffer has run
        out = []
        for a, buffer in zip(self.arrays, self.slots[turn], strict=True):
            if a is None:
                out.append(None)
                continue
            if isinstance(rows, slice):
                part = buffer[: rows.stop - rows.start]
                part.copy_(a[rows])
            else:
                part = buffer[: rows.shape[0]]
                torch.index_select(a, 0, rows, out=part)
            out.append(part.to(self.dev, non_blocking=True) if self.pinned else part)
        if self.pinned:
            self.done[turn] = torch.cuda.Event()
            self.done[turn].record(torch.cuda.current_stream(self.dev))
        self.turn = 1 - turn
        return tuple(out)
