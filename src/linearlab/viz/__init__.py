"""Figures and animations of a fitted model and its training: ``linearlab.viz``.

Every function returns a :class:`matplotlib.figure.Figure` drawn on an Agg canvas (headless, no
``pyplot`` state), so it works on servers and in notebooks alike. matplotlib is imported only
when something is drawn; ``import linearlab`` never needs it.

==========================  ===========================================================
``plot_fit``                data with the fitted line, or predicted vs actual
``plot_residuals``          residuals vs fitted values and a normal Q-Q plot
``plot_loss_history``       the training loss per epoch (log scale when it spans decades)
``plot_loss_curve``         the loss along one parameter with the GD iterates on it
``plot_landscape``          loss contours over (w, b) with one or several optimizers' paths
``animate_training``        a GIF: the line moving over the data beside the descending point
``plot``                    any of the above by name (``kind``)
``save_plots``              every figure that applies, written to a folder
==========================  ===========================================================
"""

from __future__ import annotations

from linearlab.viz.animation import animate_training
from linearlab.viz.diagnostics import plot_loss_history, plot_residuals
from linearlab.viz.files import KINDS, plot, save_plots
from linearlab.viz.fit import plot_fit
from linearlab.viz.landscape import plot_landscape, plot_loss_curve

__all__ = [
    "KINDS",
    "animate_training",
    "plot",
    "plot_fit",
    "plot_landscape",
    "plot_loss_curve",
    "plot_loss_history",
    "plot_residuals",
    "save_plots",
]
