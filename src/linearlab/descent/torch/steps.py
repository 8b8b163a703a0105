"""What every step of a device run needs to know that the host already knows.

The step size (schedule), Adam's bias corrections and the Polyak-Ruppert averaging weight depend
only on the step's position and the batch sizes, never on the data. The host computes them with
the NumPy engine's formulas, one small table per epoch, and the device reads them from a buffer:
so a CUDA graph captured once replays every epoch, and the numbers are the NumPy engine's.
"""

from __future__ import annotations

import numpy as np

from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig
from linearlab.descent.optimizers import ADAM_BETAS
from linearlab.descent.schedules import LearningRateSchedule

# columns of a step table
LR, ADAM_STEP, ADAM_BC2_SQRT, AVERAGE_WEIGHT = range(4)


def batch_rows(plan: BatchPlan) -> list[int]:
    """Rows of each batch of an epoch (the same every epoch)."""
    n, size = plan.n_samples, plan.batch_size
    if size is None:
        return [n]
    return [min(size, n - start) for start in range(0, n, size)]


class StepTable:
    """Per-step numbers of a run, produced epoch by epoch (see the module docstring).

    ``average`` is the run's ``config.average``: False, True (from the first step) or the
    number of samples seen before averaging starts, as ``SGDRegressor(average=...)``.
    """

    def __init__(self, config: DescentConfig, plan: BatchPlan):
        self.schedule = LearningRateSchedule(config.lr_schedule, config.lr, config.epochs)
        self.rows = batch_rows(plan)
        self.adam = config.optimizer == "adam"
        self.average_start = None if config.average is False else (
            0 if config.average is True else int(config.average))
        self.seen = 0  # samples used so far (invscaling's t - 1)
        self.steps = 0  # steps taken so far (Adam's t before the step)
        self.averaged = 0  # steps averaged so far

    @property
    def averaging(self) -> bool:
        return self.average_start is not None

    def epoch(self, epoch: int) -> np.ndarray:
        """The (batches, 4) table of epoch ``epoch``: lr, Adam step, Adam √bc2, average weight."""
        table = np.zeros((len(self.rows), 4))
        lr = self.schedule.at_epoch(epoch)
        beta1, beta2 = ADAM_BETAS
        for s, rows in enumerate(self.rows):
            if self.schedule.per_step:
                lr = self.schedule.at_sample(self.seen)
            self.steps += 1
            table[s, LR] = lr
            if self.adam:
                table[s, ADAM_STEP] = lr / (1 - beta1**self.steps)
                table[s, ADAM_BC2_SQRT] = np.sqrt(1 - beta2**self.steps)
            self.seen += rows
            if self.averaging:
                if self.seen <= self.average_start:
                    table[s, AVERAGE_WEIGHT] = 1.0  # not started: the average is the iterate
                else:
                    self.averaged += 1
                    table[s, AVERAGE_WEIGHT] = 1.0 / self.averaged
        return table

    def last_lr(self, table: np.ndarray) -> float:
        """The step size a callback reports for the epoch of ``table``."""
        return float(table[-1, LR])
