"""How ``linearlab`` commands show results: equations, tables, epoch logs, JSON payloads."""

from __future__ import annotations

import json
import math
import re
import sys

from rich.console import Console
from rich.table import Table

from linearlab.data import sources as io
from linearlab.equations import format_equation
from linearlab.errors import DivergenceError
from linearlab.models.linear import LinearModel
from linearlab.pipeline import streaming

EPOCH_LOG_ROWS = 11
#: The epoch log shows the parameters (as ``log_every`` does) for at most this many features.
LOG_PARAMETERS_UP_TO = 3
#: A mini-batch run "rose" when its last epoch's mean loss passes the first's by this fraction
#: (epoch means are noisy); a full-batch run when it passes it at all (beyond rounding).
MINIBATCH_RISE = 0.25
FULL_BATCH_RISE = 1e-9
#: A run that is not converged and ends this many times above its lowest loss gets a note.
OVERSHOOT_FACTOR = 1.5

# Python spellings of parameters in library messages, and the command line's flags for them.
_FLAG_NAMES = {"batch_size": "batch-size", "lr_schedule": "lr-schedule", "l1_ratio": "l1-ratio",
               "random_state": "seed"}
_PARAM = re.compile(
    r"\b(standardize|fit_intercept|lr|epochs|batch_size|optimizer|loss|solver|alpha|tol|"
    r"lr_schedule|penalty|l1_ratio|missing|backend|device|engine|random_state)"
    r"(?:=(?:'([^']*)'|\"([^\"]*)\"|(True|False|None)|([-+]?(?:\d+\.?\d*|\.\d+)"
    r"(?:[eE][-+]?\d+)?))|( > 0))"
)


def _flag(match: re.Match) -> str:
    name, quoted, dquoted, constant, number, positive = match.groups()
    flag = "--" + _FLAG_NAMES.get(name, name)
    if name == "fit_intercept":
        return "--no-intercept" if constant == "False" else "(without --no-intercept)"
    if constant is not None:
        return flag if constant == "True" else f"no {flag}"
    if positive:
        return f"{flag} above 0"
    value = next(v for v in (quoted, dquoted, number) if v is not None)
    return f"{flag} {value}"


def as_flags(message: str) -> str:
    """A library message with its advice spelled as command-line flags.

    ``standardize=True`` becomes ``--standardize``, ``lr='auto'`` becomes ``--lr auto``,
    ``batch_size=32`` becomes ``--batch-size 32`` and ``alpha > 0`` becomes ``--alpha above 0``.
    """
    return _PARAM.sub(_flag, message)


def equation(model: LinearModel, names: list[str], target: str, row: int | None = None):
    """The fitted equation as text, e.g. ``y = 2·x + 1`` (``row`` picks a target)."""
    coef = model.coef_ if row is None else model.coef_[row]
    intercept = model.intercept_ if row is None else model.intercept_[row]
    return format_equation(coef, intercept, names, target)


def print_json(payload: dict) -> None:
    """Write ``payload`` as JSON to standard output (results only)."""
    sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False, default=float) + "\n")


def fit_payload(args, source: io.Source, outcome: streaming.FitOutcome) -> dict:
    """The JSON results of ``fit``."""
    model = outcome.model
    single = len(outcome.targets) == 1
    coef = model.coef_.tolist()
    return {
        "data": args.data,
        "rows": outcome.rows,
        "streamed": outcome.streamed,
        "features": outcome.features,
        "targets": outcome.targets,
        "coef": dict(zip(outcome.features, coef, strict=True)) if single else coef,
        "intercept": model.intercept_ if single else model.intercept_.tolist(),
        "solver": model.solver_,
        "metrics": outcome.metrics,
        "n_iter": model.n_iter_,
        "converged": model.converged_,
        "diagnosis": model.diagnosis_,
        "dropped": int(getattr(model, "n_dropped_", 0)),  # rows with missing values
        "learning_rate": getattr(model, "learning_rate_", None),
        "history": [float(v) for v in model.history_],
        "history_stride": int(getattr(model, "history_stride_", 1) or 1),  # >1: thinned
        "stopped_by": getattr(model, "stopped_by_", None),
        "model_file": args.output,
        "warnings": outcome.warnings,
    }


def metrics_table(metrics: dict, title: str) -> Table:
    """A table of rows, R², RMSE and MAE."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("rows", str(metrics["rows"]))
    table.add_row("R²", f"{metrics['r2']:.6f}")
    table.add_row("RMSE", f"{metrics['rmse']:.6g}")
    mae = metrics.get("mae")
    table.add_row("MAE", "—  (streamed: run `linearlab evaluate`)" if mae is None
                  else f"{mae:.6g}")
    return table


def print_fit(console: Console, source: io.Source, outcome: streaming.FitOutcome) -> None:
    """The human-readable report of ``fit``."""
    model, features, targets = outcome.model, outcome.features, outcome.targets
    how = "streamed in chunks" if outcome.streamed else "read whole"
    console.print(f"[bold]{source.name}[/bold]: {outcome.rows} rows ({how}); features "
                  f"{', '.join(features)} → target {', '.join(targets)}", soft_wrap=True)
    if getattr(model, "n_dropped_", 0):
        console.print(f"Dropped {model.n_dropped_} row(s) with missing values (--missing drop)")
    used = [*features, *targets, *getattr(model, "feature_names_in_", [])]  # formula: inputs
    skipped = [c for c in source.columns if c not in used]
    if skipped:
        console.print(f"Not used: {', '.join(skipped)} (choose columns with -x/-y)",
                      soft_wrap=True)
    console.print("\n[bold]Fitted equation[/bold]")
    for j, target in enumerate(targets):
        console.print("  " + equation(model, features, target, None if len(targets) == 1
                                       else j), soft_wrap=True, markup=False)
    table = Table(title="Coefficients")
    table.add_column("term")
    for target in targets:
        table.add_column(target, justify="right")
    rows = model.coef_.reshape(len(targets), -1)
    for i, name in enumerate(features):
        table.add_row(name, *(f"{rows[j, i]:.10g}" for j in range(len(targets))))
    intercepts = [model.intercept_] if len(targets) == 1 else list(model.intercept_)
    table.add_row("intercept", *(f"{b:.10g}" for b in intercepts))
    console.print(table)
    console.print(metrics_table(outcome.metrics, "Training fit"))
    if model.solver_ != "gd":
        console.print(f"Solver: [cyan]{model.solver_}[/cyan] (exact least squares)")
        return
    console.print(f"Solver: [cyan]gradient descent[/cyan] ({model.optimizer}, {model.loss} "
                  f"loss, lr={model.learning_rate_:.6g}), {model.n_iter_} epochs")
    print_epoch_log(console, model.history_, model, features)
    if model.converged_:
        console.print("[green]Converged.[/green]")
    else:
        console.print(as_flags(model.diagnosis_ or ""), style="yellow", markup=False,
                      soft_wrap=True)
        overshoot = overshoot_note(model)
        if overshoot:
            console.print(overshoot, style="yellow", markup=False, soft_wrap=True)


def print_epoch_log(console: Console, history: list[float], model=None,
                    names: list[str] | None = None) -> None:
    """About a dozen evenly spaced epochs of the loss history.

    With ``model`` (fitted by gradient descent, at most :data:`LOG_PARAMETERS_UP_TO` features,
    one target) each row also shows the parameters after that epoch, as ``log_every`` prints
    them (``names`` label the coefficients, ``b`` the intercept). A thinned history (very
    long runs) numbers its rows by epoch and says so.
    """
    n = len(history)
    if not n:
        return
    stride = int(getattr(model, "history_stride_", 1) or 1)
    numbers = _epoch_numbers(n, stride, getattr(model, "n_iter_", n))
    step = max(1, -(-(n - 1) // (EPOCH_LOG_ROWS - 1)))
    rows = sorted({*range(0, n, step), n - 1})
    path = _logged_path(model, names, n, stride)
    table = Table(title="Epoch log")
    table.add_column("epoch", justify="right")
    table.add_column("loss", justify="right")
    labels = [] if path is None else [*(names or []), "b"]
    for label in labels:
        table.add_column(label, justify="right")
    for i in rows:
        after = [] if path is None else [f"{v:.8g}" for v in path[i + 1, :, 0]]
        table.add_row(str(numbers[i]), f"{history[i]:.8g}", *after)
    console.print(table)
    if stride > 1:
        console.print(f"History thinned to bound memory: one epoch in every {stride} is kept, "
                      "plus the last.", soft_wrap=True)


def _epoch_numbers(n: int, stride: int, n_iter: int) -> list[int]:
    """The epoch of each history entry: every ``stride``-th, the last one the final epoch."""
    numbers = [i * stride for i in range(n)]
    numbers[-1] = n_iter - 1 if n_iter else numbers[-1]
    return numbers


def _logged_path(model, names, n: int, stride: int):
    """The parameter path to show beside the losses, or None (too many features, several
    targets, a thinned or missing path)."""
    path = getattr(model, "params_history_", None)
    if (model is None or path is None or stride > 1 or not names
            or len(names) > LOG_PARAMETERS_UP_TO or path.shape[2] != 1
            or path.shape[1] != len(names) + 1 or path.shape[0] != n + 1):
        return None
    return path


def overshoot_note(model) -> str | None:
    """For a run that is not converged and ended well above the lowest loss it reached: a
    line saying the steps overshoot and naming a smaller ``--lr`` (None otherwise)."""
    history = list(getattr(model, "history_", None) or [])
    if len(history) < 3 or not all(math.isfinite(v) for v in history):
        return None
    best = min(range(len(history)), key=history.__getitem__)
    if not history[-1] > OVERSHOOT_FACTOR * history[best] > 0:
        return None
    stride = int(getattr(model, "history_stride_", 1) or 1)
    lr = float(model.learning_rate_)
    return (f"The loss ended at {history[-1]:.6g}, {history[-1] / history[best]:.3g} times the "
            f"lowest value it reached ({history[best]:.6g}, epoch {best * stride}): the steps "
            f"overshoot the minimum. A smaller learning rate (e.g. --lr {lr / 10:.3g}) settles "
            "lower; with --optimizer momentum or nesterov, so may more epochs.")


def check_descent(model) -> None:
    """Refuse a gradient-descent run whose loss ended above where it started.

    Such a run did not descend: the step size is too large for the optimizer (Adam's steps
    stay bounded, so it rises without exploding). Raises :class:`DivergenceError` (exit 1),
    whatever stopped the run (the epoch budget, ``--tol``), with advice that names ``--lr``.
    """
    if getattr(model, "solver_", None) != "gd" or getattr(model, "stopped_by_", None) == \
            "interrupted":
        return
    history = list(getattr(model, "history_", None) or [])
    if len(history) < 2 or not all(math.isfinite(v) for v in (history[0], history[-1])):
        return
    first, last = history[0], history[-1]
    minibatch = getattr(model, "batch_size", None) is not None
    margin = MINIBATCH_RISE if minibatch else FULL_BATCH_RISE
    if not last > first * (1 + margin) + 1e-300:
        return
    if getattr(model, "stopped_by_", None) is None and model.converged_:
        return  # at the exact optimum (a start there, rounding noise): nothing rose
    lr = float(model.learning_rate_)
    raise DivergenceError(
        f"Gradient descent did not descend: over {model.n_iter_} epochs the {model.loss} loss "
        f"rose from {first:.6g} to {last:.6g} (--optimizer {model.optimizer}, --lr {lr:.6g}"
        f"{', by mini-batch epoch means' if minibatch else ''}). The step size is too large "
        f"for this data; lower the learning rate (try --lr {lr / 10:.3g}) or use --lr auto, "
        "and --standardize when the features have different scales. Nothing was saved.",
        epoch=int(model.n_iter_), suggested_lr=lr / 10,
    )


def print_warnings(messages: list[str]) -> None:
    """Each distinct warning once, on stderr."""
    err = Console(stderr=True)
    for message in dict.fromkeys(messages):
        err.print(f"warning: {as_flags(message)}", style="yellow", markup=False, soft_wrap=True)
