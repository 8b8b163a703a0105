"""Shared plumbing of the figures: lazy matplotlib, a fitted model's view, the loss on a grid.

matplotlib is imported only when a figure is drawn, and figures are built as plain
:class:`matplotlib.figure.Figure` objects on an Agg canvas, never through ``pyplot``: nothing here
opens a window, touches the user's backend or keeps figures alive in a global registry.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linearlab.data.validation import check_X, check_y, column_names
from linearlab.descent.losses import get_loss
from linearlab.design.table import training_rows
from linearlab.equations import format_equation
from linearlab.errors import BackendUnavailableError, NotFittedError, ParameterError
from linearlab.io.outputs import atomic_path
from linearlab.sparse import is_sparse
from linearlab.sparse.checks import as_sparse

PATH_COLOR = "#d62728"  # the seed's red dot
DATA_COLOR = "#1f77b4"
OPTIMUM_COLOR = "#2ca02c"
# One colour per optimizer when several trajectories share a plot (none blue: the contours are).
PALETTE = ("#d62728", "#ff7f0e", "#7b2d8e", "#111111", "#8c564b", "#e377c2", "#bcbd22")
STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
EXACT_LABELS = {"normal": "exact, normal equations", "qr": "exact, QR", "svd": "exact, SVD"}
# Residual matrices evaluated at once on a loss grid stay under this many numbers.
GRID_CHUNK_NUMBERS = 2_000_000
# Squared losses over more grid points × rows than this use their quadratic expansion.
DIRECT_GRID_NUMBERS = 5_000_000
# Other losses: at most about this many grid points × rows (coarser grids for big data).
GRID_BUDGET_NUMBERS = 60_000_000
#: Sparse X (scipy.sparse) is made dense for the figures while rows × features stay under this
#: (and always with one feature); a larger one stays sparse: its predictions are drawn (fit,
#: residuals), the figures that evaluate the loss over a grid refuse it (:func:`require_dense`).
DENSE_PLOT_NUMBERS = 5_000_000
#: The figures that evaluate the loss on the rows for a grid of parameters: dense rows only.
DENSE_KINDS = ("loss-curve", "landscape", "animation")


def matplotlib_modules():
    """``(Figure, FigureCanvasAgg, rc_context)``, or a clear error when matplotlib is missing."""
    try:
        from matplotlib import rc_context
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised only without the plot extra
        raise BackendUnavailableError(
            "Plotting needs matplotlib and Pillow, which are not installed. Install them with "
            "`pip install 'linearlab[plot]'`."
        ) from None
    return Figure, FigureCanvasAgg, rc_context


@contextlib.contextmanager
def style() -> Iterator[None]:
    """linearlab's figure style (readable fonts, light grid), for the duration of a drawing."""
    _, _, rc_context = matplotlib_modules()
    with rc_context(STYLE):
        yield


def new_figure(width: float, height: float, ncols: int = 1, dpi: int = 100):
    """A constrained-layout figure on an Agg canvas and its axes (a list when ``ncols > 1``)."""
    Figure, FigureCanvasAgg, _ = matplotlib_modules()
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, (list(axes) if ncols > 1 else axes[0])


def compact_ticks(ax, x: bool = True, y: bool = True) -> None:
    """Tick labels that stay short on narrow axes: at most 6 ticks per axis, and ``25k``,
    ``1.2M`` instead of ``25000``, ``1200000`` on linear axes with values of 10 000 or more."""
    from matplotlib.ticker import EngFormatter, MaxNLocator

    chosen = [(ax.xaxis, ax.get_xlim())] if x else []
    chosen += [(ax.yaxis, ax.get_ylim())] if y else []
    for axis, limits in chosen:
        if axis.get_scale() != "linear":
            continue
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        if max(abs(limits[0]), abs(limits[1])) >= 1e4:
            axis.set_major_formatter(EngFormatter(sep="", places=None))


def check_kind(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(
            f"Unknown {name} {value!r}; choose one of {', '.join(repr(c) for c in choices)}."
        )
    return value


# --------------------------------------------------------------------------- model view
@dataclass
class ModelView:
    """What the figures need from a fitted model, for one target column."""

    coef: np.ndarray  # (d,)
    intercept: float
    path: np.ndarray | None  # (T, d + 1): [coef, intercept] per recorded epoch, row 0 the start
    history: list[float]
    loss: str
    alpha: float
    fit_intercept: bool
    standardize: bool
    solver: str
    label: str  # e.g. "sgd, lr=0.01"
    model: Any

    @property
    def n_features(self) -> int:
        return self.coef.shape[0]

    @property
    def theta(self) -> np.ndarray:
        return np.append(self.coef, self.intercept)

    def free(self) -> np.ndarray:
        """Indices of the trained parameters in ``[coef, intercept]`` (no intercept if not fit)."""
        n = self.n_features + (1 if self.fit_intercept else 0)
        return np.arange(n)


def model_view(model: Any, target: int = 0) -> ModelView:
    """Read a fitted :class:`~linearlab.LinearRegression` for plotting target column ``target``."""
    if not hasattr(model, "coef_"):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet. Call 'fit' before plotting."
        )
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    if coef.ndim == 1:
        coef = coef[None, :]
    n_targets = coef.shape[0]
    if not 0 <= target < n_targets:
        raise ParameterError(
            f"target={target} is out of range: the model has {n_targets} target(s); "
            f"pass target between 0 and {n_targets - 1}."
        )
    path = getattr(model, "params_history_", None)
    if path is not None:
        path = np.asarray(path, dtype=np.float64)[:, :, target]
    history = [float(v) for v in (getattr(model, "history_", None) or [])]
    solver = getattr(model, "solver_", getattr(model, "solver", "auto"))
    if solver == "gd":
        lr = getattr(model, "learning_rate_", getattr(model, "lr", None))
        label = f"{getattr(model, 'optimizer', 'sgd')}, lr={lr:.3g}"
        if getattr(model, "batch_size", None):
            label += f", batch {model.batch_size}"
    else:
        label = EXACT_LABELS.get(solver, f"exact, {solver}")
    return ModelView(
        coef=coef[target].copy(),
        intercept=float(intercept[target]) if intercept.size > 1 else float(intercept[0]),
        path=path,
        history=history,
        loss=getattr(model, "loss", "mse"),
        alpha=float(getattr(model, "alpha", 0.0) or 0.0),
        fit_intercept=bool(getattr(model, "fit_intercept", True)),
        standardize=bool(getattr(model, "standardize", False)),
        solver=solver,
        label=label,
        model=model,
    )


def require_path(view: ModelView, what: str) -> np.ndarray:
    if view.path is None or view.path.shape[0] < 2:
        raise ParameterError(
            f"The {what} needs the parameters recorded during gradient descent, but this model "
            f"has none (solver {view.solver!r}). Fit with solver='gd' (parameters are recorded "
            "per epoch unless the run is too large to keep)."
        )
    return view.path


# --------------------------------------------------------------------------- data
@dataclass
class PlotData:
    """Validated training data for one target column, with display names."""

    X: Any  # (n, d): an ndarray, or scipy.sparse CSR when too large to make dense
    y: np.ndarray  # (n,)
    feature_names: list[str]
    target_name: str


def plot_data(
    model: Any,
    X: Any,
    y: Any,
    *,
    target: int = 0,
    feature_names: list[str] | None = None,
    target_name: str | None = None,
) -> PlotData:
    """Validate ``X, y`` against ``model`` and name the axes.

    A model with a design (a formula, text columns) is drawn on its design's columns: ``X`` is
    the table as the model was fitted on it (a formula model reads y from it when ``y`` is
    None); rows with a missing value are left out when the model drops them or has a design.
    """
    design = getattr(model, "design_", None)
    formula = getattr(design, "kind", None) == "formula"
    if X is None or (y is None and not formula):
        raise ParameterError(
            "This plot needs the data: pass X and y (the training data, or any data with the "
            "same columns)."
        )
    if design is not None or getattr(model, "missing", "error") == "drop":
        X, y, _ = training_rows(model, X, y)
        if design is not None and feature_names is None:
            feature_names = list(design.names)
    if is_sparse(X):  # kept sparse when large: never a dense copy of a wide matrix here
        Xa = as_sparse(X)
        if not stays_sparse(Xa):
            Xa = Xa.toarray()
    else:
        Xa = check_X(X, dtype="float64")
    ya = check_y(y, Xa.shape[0], dtype="float64")
    Y = ya.reshape(-1, 1) if ya.ndim == 1 else ya
    d = np.asarray(model.coef_).shape[-1]
    if Xa.shape[1] != d:
        raise ParameterError(
            f"X has {Xa.shape[1]} feature(s) but the model was fitted with {d}; pass data with "
            "the training columns."
        )
    if not 0 <= target < Y.shape[1]:
        raise ParameterError(f"target={target} is out of range for y with {Y.shape[1]} column(s).")
    names = feature_names or column_names(X)
    if names is None and getattr(model, "feature_names_in_", None) is not None:
        names = [str(n) for n in model.feature_names_in_]
    if names is None:
        names = ["x"] if d == 1 else [f"x{j + 1}" for j in range(d)]
    if len(names) != d:
        raise ParameterError(f"feature_names has {len(names)} names for {d} feature(s).")
    if target_name is None:
        y_names = column_names(y)
        target_name = getattr(y, "name", None) if y_names is None else y_names[target]
        if not isinstance(target_name, str):
            target_name = "y" if Y.shape[1] == 1 else f"y{target + 1}"
    return PlotData(Xa, Y[:, target].copy(), [str(n) for n in names], str(target_name))


def stays_sparse(X: Any) -> bool:
    """Whether the figures keep ``X`` sparse (see :data:`DENSE_PLOT_NUMBERS`)."""
    if not is_sparse(X):
        return False
    n, d = X.shape
    return d > 1 and n * d > DENSE_PLOT_NUMBERS


def require_dense(data: PlotData, what: str) -> None:
    """Refuse, in one paragraph, to draw ``what`` on rows that stayed sparse."""
    if is_sparse(data.X):
        n, d = data.X.shape
        raise ParameterError(
            f"The {what} evaluates the loss over a grid of parameters on dense rows, but X is "
            f"a sparse {n:,} x {d:,} matrix (over {DENSE_PLOT_NUMBERS:,} numbers dense). Pass "
            "fewer rows (e.g. X[:1000]), or draw kind='fit', 'residuals' or 'history'."
        )


# --------------------------------------------------------------------------- loss values
def loss_at(view: ModelView, data: PlotData, thetas: np.ndarray) -> np.ndarray:
    """The model's training loss (its own loss function, with its ridge penalty) at each row of
    ``thetas`` (m, d + 1) = ``[coef, intercept]``, on ``data``.

    Large grids of a squared loss are evaluated through the loss's exact quadratic expansion
    around the least-squares point (O(d²) per grid point instead of O(n·d)); everything else
    residual by residual. With ``standardize=True`` the ridge penalty acted on standardized
    coefficients during training and is left out here, as the estimator's own objective does.
    """
    thetas = np.atleast_2d(np.asarray(thetas, dtype=np.float64))
    loss_fn = get_loss(view.loss)
    n, d = data.X.shape
    if loss_fn.quadratic and thetas.shape[0] * n > DIRECT_GRID_NUMBERS:
        out = quadratic_loss(loss_fn, view.fit_intercept, data, thetas)
    else:
        out = direct_loss(loss_fn, view.fit_intercept, data, thetas)
    if view.alpha and not view.standardize:
        factor = 1.0 if view.loss == "sse" else 1.0 / n
        out += view.alpha * factor * (thetas[:, :d] ** 2).sum(axis=1)
    return out


def direct_loss(loss_fn, fit_intercept: bool, data: PlotData, thetas: np.ndarray) -> np.ndarray:
    """``loss_fn`` of the residuals of every parameter row, in memory-bounded blocks."""
    X, y = data.X, data.y
    n, d = X.shape
    norm = loss_fn.normaliser(np.empty((n, 1)), None)
    out = np.empty(thetas.shape[0])
    chunk = max(1, GRID_CHUNK_NUMBERS // max(n, 1))
    for start in range(0, thetas.shape[0], chunk):
        block = thetas[start:start + chunk]
        b = block[:, d:d + 1] if fit_intercept else 0.0
        residual = block[:, :d] @ X.T + b - y[None, :]
        out[start:start + chunk] = loss_fn.pointwise(residual).sum(axis=1) * norm
    return out


def quadratic_loss(loss_fn, fit_intercept: bool, data: PlotData, thetas: np.ndarray):
    """A squared loss c·‖Aθ − y‖² as c·(‖r₀‖² + 2δᵀAᵀr₀ + δᵀAᵀAδ), δ = θ − θ₀, around the
    least-squares θ₀ (small r₀ and Aᵀr₀ ≈ 0, so nothing large cancels)."""
    X, y = data.X, data.y
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    T = thetas[:, :A.shape[1]]
    theta0 = np.linalg.lstsq(A, y, rcond=None)[0]
    r0 = A @ theta0 - y
    g, H = A.T @ r0, A.T @ A
    delta = T - theta0
    quad = np.einsum("ij,jk,ik->i", delta, H, delta)
    norm = loss_fn.normaliser(np.empty((n, 1)), None)
    return norm * (float(r0 @ r0) + 2.0 * (delta @ g) + quad)


def least_squares_optimum(view: ModelView, data: PlotData) -> np.ndarray | None:
    """``[coef, intercept]`` minimising the model's loss when it is quadratic, else None (also
    for rows that stayed sparse)."""
    if not get_loss(view.loss).quadratic or is_sparse(data.X):
        return None
    from linearlab.exact.solvers import solve_auto

    alpha = 0.0 if view.standardize else view.alpha
    solution = solve_auto(
        data.X, data.y.reshape(-1, 1), None, alpha=alpha, fit_intercept=view.fit_intercept
    )
    intercept = float(solution.intercept[0]) if view.fit_intercept else 0.0
    return np.append(solution.coef[:, 0], intercept)


# --------------------------------------------------------------------------- text
def fmt(value: float, digits: int = 4) -> str:
    """A number for a label: ``digits`` significant digits, plain notation between 1e-3 and
    1e6 (``25627``, ``0.9378``, ``2``), scientific outside, and a true minus sign."""
    value = float(value)
    magnitude = abs(value)
    if magnitude == 0 or not np.isfinite(value):
        text = f"{value:g}"
    elif 1e-3 <= magnitude < 1e6:
        decimals = max(0, digits - 1 - int(np.floor(np.log10(magnitude))))
        text = f"{value:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", "\u2212")


def equation(coef: np.ndarray, intercept: float, names: list[str], target: str,
             fit_intercept: bool = True, max_terms: int = 3) -> str:
    """``y = 2.052·x + 0.7792``, abbreviated with ``…`` after ``max_terms`` terms."""
    return format_equation(coef, intercept, names, target, fit_intercept=fit_intercept,
                           number=fmt, minus="\u2212", max_terms=max_terms)


# --------------------------------------------------------------------------- files
def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)``, then publish the finished file at ``path`` (never half-written;
    the rules of :mod:`linearlab.io.outputs`: links followed, devices written in place)."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)
