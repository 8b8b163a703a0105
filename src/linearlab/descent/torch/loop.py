"""The seeds' training loop in PyTorch (``engine="loop"``), with the device kept busy.

Written the way the seed documents teach::

    model = LinearModel(d, k)                      # nn.Module wrapping nn.Linear(d, k)
    criterion = nn.MSELoss()                       # or MSELoss(reduction="sum"), L1Loss, HuberLoss
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        for xb, yb in loader:                      # DataLoader over a TensorDataset
            pred = model(xb)                       # 1. forward
            loss = criterion(pred, yb)             # 2. loss
            optimizer.zero_grad()                  # 3. zero the gradients ...
            loss.backward()                        #    ... and backpropagate
            optimizer.step()                       # 4. update

The loader's sampler serves exactly the index batches of the :class:`BatchPlan` the NumPy engine
would use (one index tensor per epoch), the start is the same ``initial_parameters``, and the
step sizes and averaging weights come from the same :class:`~.steps.StepTable`, so in float64
both engines give the same numbers to rounding. The batch losses and the parameters after each
epoch stay on the device; the epoch driver receives them in blocks.
"""

from __future__ import annotations

import functools

import numpy as np

from linearlab.data.tensors import require_torch
from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig, penalty_factor
from linearlab.descent.losses import LOSSES, criterion, get_loss
from linearlab.descent.optimizers import ADAM_BETAS, ADAM_EPS, MOMENTUM
from linearlab.descent.torch.steps import AVERAGE_WEIGHT, LR, StepTable, batch_rows
from linearlab.errors import ParameterError


@functools.cache
def _nn_classes():
    """Model and loader classes, defined on first use so that importing needs no torch."""
    torch = require_torch()
    nn, data = torch.nn, torch.utils.data

    class LinearModel(nn.Module):
        """The seeds' model: ``nn.Linear(input_dim, output_dim)`` and nothing else."""

        def __init__(self, input_dim: int, output_dim: int, bias: bool = True):
            super().__init__()
            self.linear = nn.Linear(input_dim, output_dim, bias=bias)

        def forward(self, x):
            return self.linear(x)

    class PlanSampler(data.Sampler):
        """Yields a :class:`BatchPlan`'s index batches (slices or index tensors), in order.

        Handed to ``DataLoader(sampler=..., batch_size=None)``: each item is a whole batch,
        so the ``TensorDataset`` gathers it with one indexing operation instead of
        ``batch_size`` single-row look-ups plus a collate.
        """

        def __init__(self, plan: BatchPlan, device):
            self.plan, self.device = plan, device

        def __iter__(self):
            batches = list(self.plan.epoch())
            if isinstance(batches[0], slice):
                yield from batches
                return
            # one host-to-device copy per epoch, not one per batch
            order = torch.from_numpy(np.concatenate(batches)).to(self.device)
            yield from torch.split(order, [len(rows) for rows in batches])

        def __len__(self) -> int:
            return self.plan.batches_per_epoch

    class RowDataset(data.TensorDataset):
        """A ``TensorDataset`` that gathers a batch of rows with ``index_select``."""

        def __getitem__(self, index):
            if isinstance(index, torch.Tensor):
                return tuple(t.index_select(0, index) for t in self.tensors)
            return super().__getitem__(index)

    return LinearModel, PlanSampler, RowDataset


def make_loader(tensors, plan: BatchPlan, device):
    """A ``DataLoader`` over ``tensors`` whose batches are exactly ``plan.epoch()``'s, in order."""
    torch = require_torch()
    _, PlanSampler, RowDataset = _nn_classes()
    return torch.utils.data.DataLoader(
        RowDataset(*tensors), sampler=PlanSampler(plan, device), batch_size=None
    )


class Criterion:
    """A torch.nn loss, with optional sample weights: ``criterion(pred, target, weight=None)``.

    Without weights it is the torch.nn loss itself (``MSELoss()``, ``MSELoss(reduction="sum")``,
    ``L1Loss()``, ``HuberLoss(delta=1.0)``). torch's losses take no sample weights, so with
    weights the per-element losses (``reduction="none"``) are weighted by row and reduced as
    :mod:`descent.losses` does: a weighted mean over rows (a weighted sum for sse).
    """

    def __init__(self, loss: str):
        nn = require_torch().nn
        if loss not in LOSSES:
            raise ParameterError(f"unknown loss {loss!r}; choose one of {LOSSES}.")
        self.summed = get_loss(loss).reduction == "sum"
        self.reduced = criterion(nn, loss, "sum" if self.summed else "mean")
        self.pointwise = criterion(nn, loss, "none")

    def __call__(self, pred, target, weight=None):
        if weight is None:
            return self.reduced(pred, target)
        terms = (self.pointwise(pred, target) * weight[:, None]).sum()
        return terms if self.summed else terms / (weight.sum() * target.shape[1])


def make_optimizer(name: str, params, lr: float):
    """The torch.optim optimizer named like :data:`descent.optimizers.OPTIMIZERS`."""
    optim = require_torch().optim
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=MOMENTUM)
    if name == "nesterov":
        return optim.SGD(params, lr=lr, momentum=MOMENTUM, nesterov=True)
    if name == "adam":
        return optim.Adam(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS)
    raise ParameterError(
        f"unknown optimizer {name!r}; choose one of ('sgd', 'momentum', 'nesterov', 'adam')."
    )


def make_model(init: tuple[np.ndarray, np.ndarray], fit_intercept: bool, dtype, device):
    """``LinearModel(d, k)`` holding ``init`` = (weight (d, k), bias (k,))."""
    torch = require_torch()
    LinearModel = _nn_classes()[0]
    W0, b0 = np.asarray(init[0]), np.asarray(init[1])
    model = LinearModel(W0.shape[0], W0.shape[1], bias=fit_intercept)
    model = model.to(device=device, dtype=dtype)
    with torch.no_grad():
        model.linear.weight.copy_(torch.as_tensor(W0.T.copy(), dtype=dtype))
        if fit_intercept:
            model.linear.bias.copy_(torch.as_tensor(b0, dtype=dtype))
    return model


def parameters(model, k: int, out=None):
    """Current θ = [weight (d, k); bias (k,)] of the model, (d + 1, k), on its device."""
    torch = require_torch()
    weight = model.linear.weight.detach()
    if out is None:
        out = torch.empty((weight.shape[1] + 1, k), dtype=weight.dtype, device=weight.device)
    out[:-1].copy_(weight.T)
    if model.linear.bias is None:
        out[-1].zero_()
    else:
        out[-1].copy_(model.linear.bias.detach())
    return out


class LoopRun:
    """The seeds' loop over device tensors, run a block of epochs at a time.

    Same interface as :class:`~.engine.DeviceRun`: ``run(epochs)`` returns the epoch losses and
    the parameters after each epoch, copied to the host once per block.
    """

    def __init__(self, X, Y, w, init, plan: BatchPlan, config: DescentConfig, *,
                 total_weight: float, device=None):
        torch = require_torch()
        self.torch, self.config, self.plan = torch, config, plan
        self.k = Y.shape[1]
        self.dev = X.device if device is None else torch.device(device)
        tensors = [X, Y] if w is None else [X, Y, w]
        self.loader = make_loader(tensors, plan, X.device)  # host rows: batches cross per step
        self.model = make_model(init, config.fit_intercept, X.dtype, self.dev)
        self.criterion = Criterion(config.loss)
        self.optimizer = make_optimizer(config.optimizer, self.model.parameters(), config.lr)
        self.penalty = penalty_factor(config, self.k, total_weight)
        self.total_weight = total_weight
        self.weighted = w is not None
        self.table = StepTable(config, plan)
        self.theta = parameters(self.model, self.k)
        self.average = self.theta.clone() if self.table.averaging else None
        self.nb = len(batch_rows(plan))
        self.epochs_done = 0
        self.last_lr = config.lr

    def run(self, epochs: int):
        torch, model, optimizer = self.torch, self.model, self.optimizer
        dev, dtype = self.theta.device, self.theta.dtype
        losses = torch.empty((epochs, self.nb), dtype=dtype, device=dev)
        thetas = torch.empty((epochs, *self.theta.shape), dtype=dtype, device=dev)
        for e in range(epochs):
            steps = self.table.epoch(self.epochs_done)
            self.last_lr = self.table.last_lr(steps)
            for s, batch in enumerate(self.loader):
                xb, yb, *wb = (t.to(dev, non_blocking=True) for t in batch)
                for group in optimizer.param_groups:
                    group["lr"] = float(steps[s, LR])
                pred = model(xb)  # 1. forward
                loss = self.criterion(pred, yb, *wb)  # 2. loss
                if self.penalty:
                    c = self.penalty
                    if self.criterion.summed:  # sse: the penalty of the batch's share of rows
                        rows = xb.shape[0] if not self.weighted else wb[0].sum()
                        c = self.penalty * rows / self.total_weight
                    loss = loss + c * model.linear.weight.pow(2).sum()
                optimizer.zero_grad()  # 3. zero the gradients, backpropagate
                loss.backward()
                optimizer.step()  # 4. update
                losses[e, s] = loss.detach()
                if self.average is not None:
                    self.average.lerp_(parameters(model, self.k, self.theta),
                                       float(steps[s, AVERAGE_WEIGHT]))
            thetas[e].copy_(self.average if self.average is not None
                            else parameters(model, self.k, self.theta))
            self.epochs_done += 1
        host_losses = losses.to("cpu", torch.float64).numpy()
        return host_losses.mean(axis=1), thetas.to("cpu", torch.float64).numpy()
