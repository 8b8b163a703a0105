"""Figures by name, and every figure that applies to a model written to a folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from linearlab.errors import ParameterError
from linearlab.io.outputs import prepare_directory
from linearlab.viz._common import (
    DENSE_KINDS,
    atomic_write,
    check_kind,
    model_view,
    stays_sparse,
)
from linearlab.viz.animation import animate_training
from linearlab.viz.diagnostics import plot_loss_history, plot_residuals
from linearlab.viz.fit import plot_fit
from linearlab.viz.landscape import plot_landscape, plot_loss_curve
from linearlab.viz.path import has_path, plot_path

#: Figure names accepted by :func:`plot`, ``LinearRegression.plot`` and ``linearlab plot``.
KINDS = ("fit", "residuals", "history", "loss-curve", "landscape", "path")
#: ``kind`` for the GIF written by :func:`save_plots` (``linearlab plot --kind animation``).
ANIMATION = "animation"
FILENAMES = {
    "fit": "fit.png",
    "residuals": "residuals.png",
    "history": "loss-history.png",
    "loss-curve": "loss-curve.png",
    "landscape": "landscape.png",
    "path": "path.png",
    ANIMATION: "training.gif",
}
WHY_NOT = {
    "history": "the loss history needs a model trained with solver='gd'",
    ANIMATION: "the animation needs the per-epoch parameters that solver='gd' records during "
    "fit (model files do not store them: draw it from DATA)",
    "landscape": "a 2-D landscape needs two trained parameters (draw the loss-curve instead)",
    "path": "the regularization path needs a penalized model (--penalty l1|l2|elasticnet)",
}
_DRAW = {
    "fit": plot_fit,
    "residuals": plot_residuals,
    "history": plot_loss_history,
    "loss-curve": plot_loss_curve,
    "landscape": plot_landscape,
    "path": plot_path,
}


def plot(model: Any, kind: str = "fit", X: Any = None, y: Any = None, **kwargs: Any):
    """Draw one figure by name.

    Parameters
    ----------
    model : LinearRegression
        A fitted model.
    kind : {"fit", "residuals", "history", "loss-curve", "landscape"}, default="fit"
    X, y : array-like
        The data (every kind but ``"history"`` needs them).
    **kwargs
        Passed to the drawing function (``plot_fit``, ``plot_residuals``, ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_kind("plot kind", kind, KINDS)
    return _DRAW[kind](model, X, y, **kwargs)


def applicable_kinds(model: Any) -> list[str]:
    """The figures (and ``"animation"``) that make sense for ``model``."""
    if has_path(model):  # penalized models: the regularization path, not training plots
        return ["fit", "residuals", "path"]
    view = model_view(model)
    kinds = ["fit", "residuals", "loss-curve"]
    if view.history:
        kinds.append("history")
    if view.free().size >= 2:
        kinds.append("landscape")
    if view.path is not None and view.path.shape[0] >= 2:
        kinds.append(ANIMATION)
    return [k for k in (*KINDS, ANIMATION) if k in kinds]


def save_plots(
    model: Any,
    X: Any,
    y: Any,
    directory: str | os.PathLike,
    *,
    kinds: list[str] | None = None,
    frames: int | None = None,
    every: int | None = None,
    dpi: int = 110,
    feature_names: list[str] | None = None,
    target_name: str | None = None,
) -> list[Path]:
    """Write figures of ``model`` on ``(X, y)`` into ``directory`` (created if missing; the
    directories above it must exist).

    Parameters
    ----------
    model : LinearRegression
        A fitted model.
    X, y : array-like
        The training data.
    directory : str or path-like
    kinds : list of str, optional
        Which figures (names of :data:`KINDS` and ``"animation"``); default: every one that
        applies (loss history, trajectory plots and the GIF need ``solver="gd"``; a sparse X
        too large to make dense gets the fit, residuals, history and path only).
    frames, every : int, optional
        Frames of the animation (see :func:`animate_training`).
    dpi : int, default=110
        Resolution of the PNG files.
    feature_names, target_name : optional
        Axis labels.

    Returns
    -------
    list of pathlib.Path
        The files written: ``fit.png``, ``residuals.png``, ``loss-history.png``,
        ``loss-curve.png``, ``landscape.png``, ``training.gif``.
    """
    wanted = applicable_kinds(model) if kinds is None else list(kinds)
    if kinds is None and stays_sparse(X):  # wide sparse rows: the figures of predictions
        wanted = [k for k in wanted if k not in DENSE_KINDS]
    for kind in wanted:
        check_kind("plot kind", kind, (*KINDS, ANIMATION))
    available = set(applicable_kinds(model))
    missing = [k for k in wanted if k not in available]
    if missing:
        raise ParameterError(
            f"Cannot draw {', '.join(missing)} for this model: "
            + "; ".join(WHY_NOT[k] for k in missing) + "."
        )
    out = prepare_directory(directory)
    names = {"feature_names": feature_names}
    written = []
    for kind in wanted:
        target = out / FILENAMES[kind]
        if kind == ANIMATION:
            written.append(animate_training(
                model, X, y, target, frames=frames, every=every,
                feature_names=feature_names, target_name=target_name,
            ))
            continue
        kwargs: dict[str, Any] = {}
        if kind in ("fit", "loss-curve", "landscape"):
            kwargs.update(names)
        if kind in ("fit", "residuals"):
            kwargs["target_name"] = target_name
        fig = plot(model, kind, X, y, **kwargs)
        written.append(atomic_write(target, lambda tmp, f=fig: f.savefig(tmp, dpi=dpi,
                                                                       format="png")))
    return written
