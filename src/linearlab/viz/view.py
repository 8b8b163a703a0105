"""What the figures read from a fitted model and its data, for other packages to draw with.

The public face of the figures' shared plumbing (``linearlab.viz._common``): the playground
draws its loss surfaces from the same :class:`ModelView` and :class:`PlotData` as the figures;
the command line asks :func:`stays_sparse` which figures sparse rows allow.
"""

from __future__ import annotations

from linearlab.viz._common import (
    DENSE_KINDS,
    DENSE_PLOT_NUMBERS,
    ModelView,
    PlotData,
    least_squares_optimum,
    loss_at,
    model_view,
    plot_data,
    stays_sparse,
)

__all__ = ["DENSE_KINDS", "DENSE_PLOT_NUMBERS", "ModelView", "PlotData", "least_squares_optimum",
           "loss_at", "model_view", "plot_data", "stays_sparse"]
