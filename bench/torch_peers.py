"""What the torch benchmarks compare linearlab with: the seeds' own PyTorch loop, and timing.

Shared by ``bench/gpu.py`` and ``bench/backends.py`` (run from the repository root; the
scripts' folder is on ``sys.path``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeats: int = 1):
    """(best seconds, last result) of ``fn()`` over ``repeats`` runs."""
    best, result = np.inf, None
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        result = fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best, result


def quietly(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def regression_data(n, d, dtype, device, seed=0):
    """X ~ N(0, 1), y = X β + 0.5 + noise with |β| in [1, 2], generated on the device."""
    gen = torch.Generator(device=device).manual_seed(seed)
    X = torch.randn((n, d), generator=gen, device=device, dtype=dtype)
    beta = (torch.rand((d, 1), generator=gen, device=device, dtype=dtype) + 1.0) * torch.where(
        torch.rand((d, 1), generator=gen, device=device, dtype=dtype) < 0.5, -1.0, 1.0).to(dtype)
    y = (X @ beta)[:, 0] + 0.5 + torch.randn(n, generator=gen, device=device, dtype=dtype)
    return X, y


# --------------------------------------------------------------------------- the peers
def seeds_loop(X, y, epochs, batch_size, lr, seed=0):
    """The seeds' loop: nn.Linear, MSELoss, optim.SGD, zero_grad/backward/step."""
    torch.manual_seed(seed)
    model = torch.nn.Linear(X.shape[1], 1, device=X.device, dtype=X.dtype)
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    Y = y[:, None]
    n = X.shape[0]
    for _ in range(epochs):
        if batch_size is None:
            batches = [(X, Y)]
        else:
            order = torch.randperm(n, device=X.device)
            batches = ((X[order[s:s + batch_size]], Y[order[s:s + batch_size]])
                       for s in range(0, n, batch_size))
        for xb, yb in batches:
            loss = criterion(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return float(loss.detach())


