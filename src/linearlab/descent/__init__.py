"""The gradient-descent engine, from scratch in NumPy.

It reads like the seed documents' training loop: forward, loss, gradient, update.

- :mod:`.losses`: loss values and their gradients with respect to the predictions,
- :mod:`.optimizers`: update rules with torch.optim's exact formulas,
- :mod:`.batches`: which rows each step sees (full batch, in order, reshuffled) and initial values,
- :mod:`.schedules`: the automatic step size,
- :mod:`.loop`: the epoch loop with history, logging, stopping and divergence checks.
"""

from .loop import DescentConfig, DescentResult, train

__all__ = ["DescentConfig", "DescentResult", "train"]
