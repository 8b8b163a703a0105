"""The gradient-descent engine, from scratch in NumPy.

It reads like the seed documents' training loop: forward, loss, gradient, update.

- :mod:`.losses`: loss values and their gradients with respect to the predictions,
- :mod:`.optimizers`: update rules with torch.optim's exact formulas, and Polyak-Ruppert averaging,
- :mod:`.batches`: which rows each step sees (full batch, in order, reshuffled) and initial values,
- :mod:`.schedules`: the automatic step size and the learning-rate schedules,
- :mod:`.driver`: the one epoch driver (history, parameter path, tol, divergence, logs,
  callbacks, progress) and the batch-source protocol,
- :mod:`.loop`: the plain loop over any batch source (``train``, ``train_loop``),
- :mod:`.fastpaths`: closed-form and affine-map evaluations of plain SGD's iterates,
- :mod:`.config`: the settings and result of a run,
- :mod:`.fit`: the setup and diagnosis every gradient-descent fit shares,
- :mod:`.diagnosis`: how far a run ended from the exact optimum.
"""

__all__ = ["DescentConfig", "DescentResult", "train"]


def __getattr__(name: str):
    """The engine's names, imported on first use: an exact fit that only reads
    :mod:`.record` does not load the loop, the driver and the optimizers."""
    if name in ("DescentConfig", "DescentResult"):
        from linearlab.descent import config

        return getattr(config, name)
    if name == "train":
        from linearlab.descent.loop import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
