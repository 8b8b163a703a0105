"""How the coefficients of a fit were obtained: :class:`TrainingRecord`.

It lives beside gradient descent, whose fits leave most of it (history, path, step size and a
diagnosis computed when first read), so that :mod:`linearlab.descent` needs nothing from
:mod:`linearlab.models`; :mod:`linearlab.state.fitted` re-exports it for every other fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TrainingRecord"]


@dataclass
class TrainingRecord:
    """How the coefficients were obtained.

    ``solver`` is "normal", "qr", "svd", "gd" or "external"; exact solvers leave ``rank``,
    ``condition_number`` (and ``singular_values``, ``aliased``); gradient descent leaves the
    loss ``history``, the parameter path, the step size and the convergence diagnosis.
    """

    solver: str | None
    n_iter: int = 1
    converged: bool = True
    diagnosis: str | None = None
    learning_rate: float | None = None
    history: list[float] = field(default_factory=list)
    params_history: np.ndarray | None = field(default=None, repr=False)
    optimum: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    rank: int | None = None
    condition_number: float | None = None
    singular_values: np.ndarray | None = field(default=None, repr=False)
    aliased: list[int] | None = None
    stopped_by: str | None = None  # GD: "tol", "callback", "early_stopping", "interrupted"
    history_stride: int | None = None  # GD: history keeps every history_stride-th epoch
    interrupted: bool = False  # a KeyboardInterrupt to re-raise once this state is set
    # GD: computes (converged, diagnosis, optimum) when first read (see settle)
    pending: Any = field(default=None, repr=False, compare=False)

    def settle(self) -> TrainingRecord:
        """Fill ``converged``, ``diagnosis`` and ``optimum`` if they were deferred (gradient
        descent diagnoses on first read, not on every fit); returns the record."""
        if self.pending is not None:
            self.converged, self.diagnosis, self.optimum = self.pending()
            self.pending = None
        return self

    def __getstate__(self) -> dict:
        return self.settle().__dict__.copy()  # a deferred diagnosis is never pickled
