"""The torch backend: gradient descent on a torch device, driven by the one epoch driver.

- :mod:`.engine`: ``engine="auto"``, the NumPy engine's hand-derived step on device tensors
  (fused updates, CUDA graphs);
- :mod:`.loop`: ``engine="loop"``, the seeds' ``nn.Linear`` / criterion / ``torch.optim`` loop;
- :mod:`.steps`: the per-step numbers the host knows in advance (schedule, Adam, averaging);
- :mod:`.fit`: a whole fit with the data on the device (Gram, automatic step, diagnosis there).

Both engines keep the batch losses and the parameters after each epoch on the device and hand
them to :class:`~linearlab.descent.driver.EpochDriver` in blocks, so an epoch touches the host
only for what the user asked to see (a callback, held-out validation, ``tol``'s decision at the
end of a block).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from linearlab.data.tensors import (
    fits_on_device,
    host_tensor,
    is_tensor,
    require_torch,
    resolve_device,
    to_device,
    torch_dtype,
)
from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig, DescentResult
from linearlab.descent.driver import EpochDriver
from linearlab.descent.torch.engine import DeviceRun
from linearlab.descent.torch.loop import LoopRun

__all__ = ["train"]

# A block of epochs runs at most about this long before the driver sees it (progress, logs).
BLOCK_SECONDS = 0.25


def train(
    X, Y, sample_weight, init: tuple[np.ndarray, np.ndarray], plan: BatchPlan,
    config: DescentConfig, device="cpu", *, engine: str = "auto",
    validation: Callable[[np.ndarray, np.ndarray], float] | None = None,
    use_graphs: bool = True, resident: bool | None = None,
) -> DescentResult:
    """Gradient descent on ``(X, Y)`` on a torch device; the NumPy engine's signature and result.

    Parameters
    ----------
    X : ndarray or tensor of shape (n_samples, n_features)
        Features in the training precision (float64 or float32). Host arrays are copied to the
        device once; tensors already there are used in place.
    Y : ndarray or tensor of shape (n_samples, n_targets)
    sample_weight : ndarray or tensor of shape (n_samples,) or None
    init : (ndarray (n_features, n_targets), ndarray (n_targets,))
    plan : BatchPlan
        Which rows each step sees; consumed exactly as the NumPy engine consumes it.
    config : DescentConfig
    device : str or torch.device, default="cpu"
    engine : {"auto", "loop"}, default="auto"
        ``"loop"``: the seeds' nn.Linear / criterion / torch.optim loop. ``"auto"``: the
        hand-derived gradient with fused updates (and CUDA graphs on a GPU); same iterates.
    validation : callable (W, b) -> float, optional
        Held-out loss for early stopping (the driver calls it after every epoch).
    use_graphs : bool, default=True
        Let ``engine="auto"`` capture epochs in CUDA graphs.
    resident : bool, optional
        Copy the data to the device (True) or keep it in host memory and stream batches there
        (False). Default: resident when it fits in half of the device's free memory.

    Returns
    -------
    DescentResult
    """
    require_torch()
    dev = resolve_device(device)
    dtype = torch_dtype(X.dtype)
    arrays = (X, Y, sample_weight)
    if resident is None:
        resident = fits_on_device(arrays, dev, dtype)
    move = (lambda a: to_device(a, dev, dtype)) if resident else (lambda a: host_tensor(a, dtype))
    Xd, Yd, wd = (move(a) for a in arrays)
    if sample_weight is None:
        total_weight = float(X.shape[0])
    else:
        total_weight = float(wd.sum()) if is_tensor(wd) else float(np.sum(sample_weight))
    if engine == "loop":
        run = LoopRun(Xd, Yd, wd, init, plan, config, total_weight=total_weight, device=dev)
    else:
        run = DeviceRun(Xd, Yd, wd, init, plan, config, total_weight=total_weight,
                        use_graphs=use_graphs, device=dev, resident=resident)
    return drive(run, init, config, validation)


def drive(run, init, config: DescentConfig, validation=None) -> DescentResult:
    """Hand a run's epochs to the epoch driver in blocks (one host copy per block).

    With a callback or held-out validation every epoch is its own block (they act on each
    epoch as it ends); otherwise blocks grow as the driver allows, capped to about
    :data:`BLOCK_SECONDS` of work, so progress, logs and ``tol`` stay timely.
    """
    W0, b0 = init
    driver = EpochDriver(config, np.asarray(W0), np.asarray(b0), validation)
    numbers = (np.asarray(W0).shape[0] + 1) * np.asarray(W0).shape[1]
    per_epoch_s = None
    with driver:
        while driver.running:
            if config.callback is not None or validation is not None or per_epoch_s is None:
                size = 1
            else:
                size = min(driver.block_size(numbers), max(1, int(BLOCK_SECONDS / per_epoch_s)))
            started = time.perf_counter()
            losses, thetas = run.run(size)
            per_epoch_s = max((time.perf_counter() - started) / size, 1e-9)
            driver.lr = run.last_lr
            driver.end_block(losses, thetas)
    return driver.result()
