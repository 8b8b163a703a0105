"""The torch backend's public face: training on a torch device, and ``nn.Linear`` interop.

``train`` has :func:`linearlab.descent.loop.train`'s signature and returns the same
:class:`~linearlab.descent.config.DescentResult`. The engines live in :mod:`.torch`:

- ``engine="loop"``: the seeds' loop, ``nn.Linear`` + a torch.nn criterion + ``torch.optim``
  (``zero_grad`` / ``backward`` / ``step``) over a ``DataLoader`` that serves the NumPy engine's
  batch plan;
- ``engine="auto"``: the NumPy engine's hand-derived gradient on device tensors, with fused
  updates and, on a GPU, each epoch captured once in a CUDA graph.

Both give the NumPy engine's iterates (to rounding in float64), keep history and parameters on
the device and report them to the one epoch driver in blocks.

torch is optional: it is imported only when these functions run, and a missing torch or device
ends in a :class:`~linearlab.errors.BackendUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from linearlab.data.tensors import require_torch, resolve_device, torch_dtype
from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig, DescentResult
from linearlab.descent.torch import train as _train_on_device
from linearlab.descent.torch.loop import Criterion, make_loader, make_model, make_optimizer
from linearlab.errors import ParameterError

__all__ = [
    "Criterion", "from_linear", "make_loader", "make_model", "make_optimizer", "require_torch",
    "resolve_device", "to_linear", "train",
]


def train(
    X,
    Y,
    sample_weight,
    init: tuple[np.ndarray, np.ndarray],
    plan: BatchPlan,
    config: DescentConfig,
    device: Any = "cpu",
    *,
    engine: str = "auto",
    validation: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> DescentResult:
    """Gradient descent on ``(X, Y)`` on a torch device.

    :func:`linearlab.descent.torch.train` with its defaults for the tuning knobs
    (``use_graphs``, ``resident``): the same parameters, and the same
    :class:`~linearlab.descent.config.DescentResult` as :func:`linearlab.descent.loop.train`.
    """
    return _train_on_device(X, Y, sample_weight, init, plan, config, device, engine=engine,
                            validation=validation)


# --------------------------------------------------------------------------- interop
def to_linear(coef: np.ndarray, intercept: np.ndarray, fit_intercept: bool, dtype, device):
    """An ``nn.Linear(d, k)`` holding weight ``coef``ᵀ (coef (d, k)) and bias ``intercept``."""
    torch = require_torch()
    dev = resolve_device(device)
    tdtype = torch_dtype(dtype)
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
