"""The seeds' training loop in PyTorch, step for step the same as the NumPy engine.

``train`` has :func:`linearlab.descent.loop.train`'s signature and returns the same
:class:`~linearlab.descent.loop.DescentResult`. It is written the way the seed documents teach::

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
would use, the start is the same ``initial_parameters``, and history, logging, stopping and
divergence follow the NumPy engine's conventions (its helpers are reused, not copied), so in
float64 both engines give the same numbers to rounding.

torch is optional: it is imported only when this module's functions run, and a missing torch or
device ends in a :class:`~linearlab.errors.BackendUnavailableError`.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, ParameterError
from .batches import BatchPlan
from .config import DescentConfig, DescentResult, penalty_factor
from .driver import EpochDriver
from .losses import HUBER_DELTA, get_loss
from .optimizers import ADAM_BETAS, ADAM_EPS, MOMENTUM


# --------------------------------------------------------------------------- availability
def require_torch():
    """The ``torch`` module, or a :class:`BackendUnavailableError` saying how to install it."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise BackendUnavailableError(
            f"backend='torch' needs PyTorch, which is not installed ({exc}). Install it with "
            "`pip install 'linearlab[torch]'` (or `pip install torch`), or use backend='numpy'."
        ) from None


def resolve_device(device: Any):
    """A ``torch.device`` that exists on this machine, else :class:`BackendUnavailableError`."""
    torch = require_torch()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise BackendUnavailableError(
            f"device={device!r} is not a valid torch device ({exc}). Use 'cpu', 'cuda', "
            "'cuda:0', 'mps', ..."
        ) from None
    try:
        torch.empty(1, device=dev)  # the one reliable test: allocate on it
    except (RuntimeError, AssertionError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendUnavailableError(
            f"device={device!r} is not available on this machine ({reason}). Use "
            "device='cpu', or install a PyTorch build for that device."
        ) from None
    return dev


def _torch_dtype(torch, dtype: Any):
    name = np.dtype(dtype).name
    if name not in ("float64", "float32"):
        raise ParameterError(f"dtype must be float64 or float32, got {name}.")
    return getattr(torch, name)


# --------------------------------------------------------------------------- the pieces
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
        """A ``TensorDataset`` that gathers a batch of rows with ``index_select``.

        Same items as ``TensorDataset``; on the CPU one ``index_select`` is about twice as
        fast as advanced indexing ``tensor[rows]`` for a batch of random rows.
        """

        def __getitem__(self, index):
            if isinstance(index, torch.Tensor):
                return tuple(t.index_select(0, index) for t in self.tensors)
            return super().__getitem__(index)

    return LinearModel, PlanSampler, RowDataset


def make_loader(tensors, plan: BatchPlan, device):
    """A ``DataLoader`` over ``tensors`` whose batches are exactly ``plan.epoch()``'s, in order.

    The plan's index batches are the sampler's items (``batch_size=None``), so each batch is one
    gather rather than one ``__getitem__`` per row followed by a collate.
    """
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
        table = {
            "mse": lambda reduction: nn.MSELoss(reduction=reduction),
            "sse": lambda reduction: nn.MSELoss(reduction=reduction),
            "mae": lambda reduction: nn.L1Loss(reduction=reduction),
            "huber": lambda reduction: nn.HuberLoss(reduction=reduction, delta=HUBER_DELTA),
        }
        if loss not in table:
            raise ParameterError(f"unknown loss {loss!r}; choose one of {tuple(table)}.")
        self.summed = get_loss(loss).reduction == "sum"
        self.reduced = table[loss]("sum" if self.summed else "mean")
        self.pointwise = table[loss]("none")

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


def _parameters(model, k: int):
    """Current (weight (d, k), bias (k,)) as a stacked device tensor (d + 1, k)."""
    torch = require_torch()
    weight = model.linear.weight.detach().T
    bias = model.linear.bias
    bias = torch.zeros(k, dtype=weight.dtype, device=weight.device) if bias is None else bias
    return torch.cat([weight, bias.detach()[None, :]])  # a new tensor, not a view


# --------------------------------------------------------------------------- training
def train(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    init: tuple[np.ndarray, np.ndarray],
    plan: BatchPlan,
    config: DescentConfig,
    device: Any = "cpu",
) -> DescentResult:
    """Gradient descent on ``(X, Y)`` with nn.Linear, torch.nn losses and torch.optim.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features, float64 or float32 (the training precision).
    Y : ndarray of shape (n_samples, n_targets)
    sample_weight : ndarray of shape (n_samples,) or None
    init : (ndarray (n_features, n_targets), ndarray (n_targets,))
        Starting weight and bias, as from :func:`descent.batches.initial_parameters`.
    plan : BatchPlan
        Which rows each step sees; consumed exactly as the NumPy engine consumes it.
    config : DescentConfig
    device : str or torch.device, default="cpu"

    Returns
    -------
    DescentResult
        As :func:`descent.loop.train`: final parameters, per-epoch history, parameter path.
    """
    torch = require_torch()
    dev = resolve_device(device)
    dtype = _torch_dtype(torch, X.dtype)
    k = Y.shape[1]

    tensors = [torch.as_tensor(np.ascontiguousarray(a), device=dev).to(dtype) for a in (X, Y)]
    weighted = sample_weight is not None
    if weighted:
        tensors.append(torch.as_tensor(np.ascontiguousarray(sample_weight), device=dev).to(dtype))
    loader = make_loader(tensors, plan, dev)

    model = make_model(init, config.fit_intercept, dtype, dev)
    criterion = Criterion(config.loss)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    total_weight = X.shape[0] if not weighted else float(sample_weight.sum())
    penalty = penalty_factor(config, k, total_weight)
    per_batch_share = config.loss == "sse" and bool(penalty)  # sse: penalty ∝ the batch's rows
    start = _parameters(model, k).cpu().numpy()
    driver = EpochDriver(config, start[:-1], start[-1])  # history, stopping, logs: shared
    with driver:
        while driver.running:
            batch_losses = []
            for xb, yb, *wb in loader:
                pred = model(xb)  # 1. forward
                loss = criterion(pred, yb, *wb)  # 2. loss
                if penalty:
                    step_penalty = penalty
                    if per_batch_share:
                        rows = xb.shape[0] if not weighted else wb[0].sum()
                        step_penalty = penalty * rows / total_weight
                    loss = loss + step_penalty * model.linear.weight.pow(2).sum()
                optimizer.zero_grad()  # 3. zero the gradients, backpropagate
                loss.backward()
                optimizer.step()  # 4. update
                batch_losses.append(loss.detach())
            # one transfer per epoch: the batch losses, as the NumPy engine saw them
            losses = torch.stack(batch_losses).cpu().numpy().astype(np.float64)
            if not np.isfinite(losses).all():
                raise driver.diverged(float(losses[~np.isfinite(losses)][0]))
            theta = _parameters(model, k).cpu().numpy()
            driver.end_epoch(float(np.mean(losses)), theta[:-1], theta[-1])
    return driver.result()


# --------------------------------------------------------------------------- interop
def to_linear(coef: np.ndarray, intercept: np.ndarray, fit_intercept: bool, dtype, device):
    """An ``nn.Linear(d, k)`` holding weight ``coef``ᵀ (coef (d, k)) and bias ``intercept``."""
    torch = require_torch()
    dev = resolve_device(device)
    tdtype = _torch_dtype(torch, dtype)
    W = np.asarray(coef, dtype=np.float64)
    linear = torch.nn.Linear(W.shape[0], W.shape[1], bias=fit_intercept, device=dev, dtype=tdtype)
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(W.T.copy(), dtype=tdtype))
        if fit_intercept:
            linear.bias.copy_(torch.as_tensor(np.asarray(intercept, dtype=np.float64)))
    return linear


def from_linear(module) -> dict:
    """Weight (d, k), bias (k,), fit_intercept, dtype and device of an ``nn.Linear``.

    ``module`` may also be a model wrapping exactly one ``nn.Linear`` (like the seeds'
    ``LinearRegressionModel``).
    """
    torch = require_torch()
    linear = module
    if not isinstance(module, torch.nn.Linear):
        found = (
            [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
            if isinstance(module, torch.nn.Module)
            else []
        )
        if len(found) != 1:
            raise ParameterError(
                f"from_torch expects an nn.Linear (or a module holding exactly one), got "
                f"{type(module).__name__} with {len(found)} nn.Linear layer(s)."
            )
        linear = found[0]
    weight = linear.weight.detach().to("cpu", torch.float64).numpy()
    bias = linear.bias
    if not np.isfinite(weight).all() or (
        bias is not None and not torch.isfinite(bias.detach()).all()
    ):
        raise ParameterError("from_torch: the nn.Linear holds NaN or infinite parameters.")
    k = weight.shape[0]
    return {
        "coef": weight.T.copy(),
        "intercept": np.zeros(k)
        if bias is None
        else bias.detach().to("cpu", torch.float64).numpy().copy(),
        "fit_intercept": bias is not None,
        "dtype": "float64" if linear.weight.dtype == torch.float64 else "float32",
        "device": str(linear.weight.device),
    }
