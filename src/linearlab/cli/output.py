"""How ``linearlab`` commands show results: equations, tables, epoch logs, JSON payloads."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from .. import streaming
from ..data import sources as io
from ..estimator import LinearRegression

EPOCH_LOG_ROWS = 11


def equation(model: LinearRegression, names: list[str], target: str, row: int | None = None):
    """The fitted equation as text, e.g. ``y = 2·x + 1`` (``row`` picks a target)."""
    coef = model.coef_ if row is None else model.coef_[row]
    intercept = model.intercept_ if row is None else model.intercept_[row]
    terms = " + ".join(f"{c:.6g}·{n}" for c, n in zip(coef, names, strict=True))
    return f"{target} = {terms} + {intercept:.6g}"


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
        "learning_rate": getattr(model, "learning_rate_", None),
        "history": [float(v) for v in model.history_],
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
    skipped = [c for c in source.columns if c not in features + targets]
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
    print_epoch_log(console, model.history_)
    if model.converged_:
        console.print("[green]Converged.[/green]")
    else:
        console.print(model.diagnosis_, style="yellow", markup=False, soft_wrap=True)


def print_epoch_log(console: Console, history: list[float]) -> None:
    """About a dozen evenly spaced epochs of the loss history."""
    n = len(history)
    if not n:
        return
    step = max(1, -(-(n - 1) // (EPOCH_LOG_ROWS - 1)))
    epochs = sorted({*range(0, n, step), n - 1})
    table = Table(title="Epoch log")
    table.add_column("epoch", justify="right")
    table.add_column("loss", justify="right")
    for epoch in epochs:
        table.add_row(str(epoch), f"{history[epoch]:.8g}")
    console.print(table)


def print_warnings(messages: list[str]) -> None:
    """Each distinct warning once, on stderr."""
    err = Console(stderr=True)
    for message in dict.fromkeys(messages):
        err.print(f"warning: {message}", style="yellow", markup=False, soft_wrap=True)
