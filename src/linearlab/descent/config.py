"""Settings and result of one gradient-descent run, shared by every engine and batch source.

:class:`DescentConfig` is what the epoch driver (:mod:`.driver`) and the compute backends read;
:class:`DescentResult` is what they return. ``penalty_factor`` says how the ridge term is
scaled so that the optimum is scikit-learn's ``Ridge(alpha)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class DescentConfig:
    """Settings of one gradient-descent run (already validated, lr already resolved).

    ``callback(state)`` runs after every epoch with a :class:`~.driver.TrainingState`; returning
    ``False`` stops training. ``n_iter_no_change`` is the patience of the ``tol`` rule (as
    scikit-learn's SGDRegressor): training stops once that many consecutive epochs failed to
    improve the best loss by ``tol``. ``progress`` None shows a progress bar on a terminal for
    fits longer than about a second; False never does. ``keep_on_interrupt``: a
    ``KeyboardInterrupt`` after a finished epoch ends the run with those epochs kept
    (``stopped_by="interrupted"``) instead of losing them; the caller re-raises it.
    """

    lr: float
    loss: str = "mse"
    optimizer: str = "sgd"
    epochs: int = 1000
    tol: float | None = None
    alpha: float = 0.0
    fit_intercept: bool = True
    log_every: int = 0
    log: Callable[[str], None] = print
    stable_lr: float | None = None  # suggested in divergence errors
    feature_names: list[str] | None = None
    n_iter_no_change: int = 1
    callback: Callable[[Any], Any] | None = None
    progress: bool | None = None
    lr_schedule: str = "constant"
    average: bool | int = False
    schedule_options: dict = field(default_factory=dict)
    keep_on_interrupt: bool = False


@dataclass
class DescentResult:
    """Final parameters, per-epoch loss history and, when small enough, per-epoch parameters
    (both thinned to every ``history_stride``-th epoch past a budget: :mod:`.history`)."""

    coef: np.ndarray  # (d, k)
    intercept: np.ndarray  # (k,)
    history: list[float]
    n_iter: int
    stopped_by_tol: bool
    # θ after each epoch, θ[0] the start: shape (n_iter + 1, d + 1, k), last row of axis 1 = bias
    params_history: np.ndarray | None = field(default=None, repr=False)
    # "tol", "callback", "early_stopping", "interrupted" or None (the epoch budget ran out)
    stopped_by: str | None = None
    validation_history: list[float] | None = None
    # history[i] is epoch i * history_stride (and history[-1] the last epoch): see .history
    history_stride: int = 1


def penalty_factor(config: DescentConfig, n_targets: int, total_weight: float) -> float:
    """c in the penalty c·α‖W‖², chosen so the optimum is scikit-learn's Ridge(alpha).

    For ``loss="sse"`` the factor is α itself and a batch takes its share of the rows.
    """
    if not config.alpha:
        return 0.0
    if config.loss == "sse":
        return config.alpha
    return config.alpha / (total_weight * n_targets)
