"""Which rows each step sees, and where the parameters start.

Both backends draw from the same generators, so for one ``random_state`` they start from the
same parameters and visit the same batches in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

INITS = ("zeros", "uniform", "normal")


def random_streams(random_state: Any) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent generators (initial values, batch order) derived from ``random_state``."""
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    elif isinstance(random_state, np.random.Generator):
        random_state = int(random_state.integers(np.iinfo(np.int32).max))
    init_seq, batch_seq = np.random.SeedSequence(random_state).spawn(2)
    return np.random.default_rng(init_seq), np.random.default_rng(batch_seq)


class BatchPlan:
    """The row indices of every mini-batch, epoch by epoch.

    ``batch_size=None`` is one full batch per epoch; otherwise consecutive batches of
    ``batch_size`` rows (the last one may be smaller, as ``DataLoader(drop_last=False)``), in
    order (seed 001's slicing) or reshuffled every epoch (``DataLoader(shuffle=True)``).
    """

    def __init__(
        self, n_samples: int, batch_size: int | None, shuffle: bool, rng: np.random.Generator
    ):
        self.n_samples = n_samples
        self.batch_size = None if batch_size is None or batch_size >= n_samples else batch_size
        self.shuffle = shuffle and self.batch_size is not None
        self.rng = rng
        self._block: np.ndarray | None = None  # pre-drawn shuffled orders, one row per epoch
        self._used = 0

    @property
    def full_batch(self) -> bool:
        return self.batch_size is None

    @property
    def batches_per_epoch(self) -> int:
        if self.batch_size is None:
            return 1
        return -(-self.n_samples // self.batch_size)

    def epoch(self) -> Iterator[np.ndarray | slice]:
        """Index sets of the next epoch's batches (slices when in order)."""
        n, size = self.n_samples, self.batch_size
        if size is None:
            yield slice(None)
            return
        if not self.shuffle:
            for start in range(0, n, size):
                yield slice(start, min(n, start + size))
            return
        order = self.orders(1)[0]
        for start in range(0, n, size):
            yield order[start : start + size]

    @property
    def batch_starts(self) -> np.ndarray:
        """Offset of each batch within an epoch's order."""
        return np.arange(0, self.n_samples, self.batch_size or self.n_samples)

    def orders(self, epochs: int) -> np.ndarray:
        """Row orders of the next ``epochs`` epochs, shape (epochs, n_samples).

        Shuffled orders are drawn in blocks of epochs at once (one vectorised call), so asking
        epoch by epoch or many epochs at a time gives the same sequence.
        """
        n = self.n_samples
        if not self.shuffle:
            return np.broadcast_to(np.arange(n), (epochs, n))
        parts, needed = [], epochs
        while needed:
            if self._block is None or self._used == len(self._block):
                rows = max(1, min(64, 2**20 // max(n, 1)))
                self._block = self.rng.permuted(np.tile(np.arange(n), (rows, 1)), axis=1)
                self._used = 0
            take = min(needed, len(self._block) - self._used)
            parts.append(self._block[self._used : self._used + take])
            self._used += take
            needed -= take
        return np.concatenate(parts)


def initial_parameters(
    init: Any, n_features: int, n_targets: int, rng: np.random.Generator, dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Starting weight (d, k) and bias (k,).

    ``"uniform"`` is nn.Linear's default, U(-1/√d, 1/√d) for weight and bias, drawn in torch's
    (out, in) layout; ``"normal"`` is N(0, 1) like the seeds' ``np.random.randn``; a pair
    ``(coef, intercept)`` gives explicit values (coef shaped like ``coef_``).
    """
    d, k = n_features, n_targets
    if isinstance(init, str):
        if init == "zeros":
            return np.zeros((d, k), dtype), np.zeros(k, dtype)
        if init == "uniform":
            bound = 1.0 / np.sqrt(d)
            weight = rng.uniform(-bound, bound, size=(k, d))
            bias = rng.uniform(-bound, bound, size=k)
            return weight.T.astype(dtype), bias.astype(dtype)
        if init == "normal":
            weight = rng.standard_normal(size=(k, d))
            bias = rng.standard_normal(size=k)
            return weight.T.astype(dtype), bias.astype(dtype)
        raise ValueError(f"unknown init {init!r}; choose one of {INITS} or pass (coef, intercept)")
    try:
        coef, intercept = init
    except (TypeError, ValueError):
        raise ValueError(
            f"init must be one of {INITS} or a pair (coef, intercept), got {init!r}"
        ) from None
    coef = np.asarray(coef, dtype=dtype)
    intercept = np.asarray(intercept, dtype=dtype).reshape(-1)
    if coef.size != d * k:
        raise ValueError(
            f"init coef has {coef.size} values but the model has {d} feature(s) x {k} target(s)"
        )
    weight = coef.reshape(k, d).T.copy() if coef.ndim == 2 else coef.reshape(d, k).copy()
    if intercept.size == 1 and k > 1:
        intercept = np.repeat(intercept, k)
    if intercept.size != k:
        raise ValueError(f"init intercept has {intercept.size} values but the model has {k}")
    return weight, intercept.copy()
