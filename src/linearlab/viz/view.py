"""What the figures read from a fitted model and its data, for other packages to draw with.

The public face of the figures' shared plumbing (``linearlab.viz._common``): the playground
draws its loss surfaces from the same :class:`ModelView` and :class:`PlotData` as the figures.
"""

from __future__ import annotations

from linearlab.viz._common import (
    ModelView,
    PlotData,
    least_squares_optimum,
    loss_at,
    model_view,
    plot_data,
)

__all__ = ["ModelView", "PlotData", "least_squares_optimum", "loss_at", "model_view",
           "plot_data"]
