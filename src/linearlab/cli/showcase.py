"""The commands that show linearlab on its built-in data: ``demo`` and ``datasets``."""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace

from rich.console import Console
from rich.table import Table

from linearlab.cli import output as cli_output
from linearlab.cli import plots as cli_plots
from linearlab.data.datasets import load_dataset
from linearlab.errors import ConvergenceWarning
from linearlab.models import persist
from linearlab.models.linear import LinearModel

SEED_GD_SETTINGS = {  # the seed documents' own training settings, per dataset
    "salary": dict(lr=0.001, epochs=10001, init="uniform", random_state=0, log_every=1000),
    "noisy-line": dict(lr=0.001, epochs=20, batch_size=10, shuffle=False, init="uniform",
                       random_state=0, log_every=1),
    "three-points": dict(loss="sse", lr=0.001, epochs=100, random_state=0, log_every=10),
    "doubling": dict(loss="sse", lr=0.01, epochs=500, init="uniform", random_state=0,
                     log_every=100),
    "arange-line": dict(lr=0.1, epochs=100, init="normal", random_state=2021, log_every=10),
}

def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    data = load_dataset(args.dataset)
    exact = LinearModel()
    settings = SEED_GD_SETTINGS.get(data.name, dict(lr="auto", standardize=True, log_every=100))
    gd = LinearModel(solver="gd", **{k: v for k, v in settings.items() if k != "log_every"})
    names = list(data.feature_names)  # the columns of the dataset's array
    exact.fit(data.X, data.y, feature_names=names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gd.fit(data.X, data.y, feature_names=names)
    if args.output:  # the target's name, through the one path that sets fitted state
        exact.set_fitted_state(replace(exact.fitted_state_, target_names=[data.target_name]))
        persist.save(exact, args.output, training={"data": data.name, "rows": len(data.y)},
                     force=args.force)
    plots = cli_plots.demo_plots(args, data, gd)
    if args.json:
        cli_output.print_json({"dataset": data.name, "features": data.feature_names,
                     "exact": {"coef": exact.coef_.tolist(), "intercept": exact.intercept_,
                               "r2": exact.score(data.X, data.y), "solver": exact.solver_},
                     "gd": {"coef": gd.coef_.tolist(), "intercept": gd.intercept_,
                            "r2": gd.score(data.X, data.y), "epochs": gd.n_iter_,
                            "converged": gd.converged_, "diagnosis": gd.diagnosis_},
                     "model_file": args.output, "plots": [str(p) for p in plots]})
        return 0
    console.print(f"[bold]linearlab demo[/bold] — dataset [cyan]{data.name}[/cyan]: "
                  f"{data.description}", soft_wrap=True)
    console.print(f"\n[bold]Exact least squares[/bold] (solver '{exact.solver_}'):")
    equation = cli_output.equation(exact, data.feature_names, data.target_name)
    console.print("  " + equation, markup=False)
    console.print(f"  R² = {exact.score(data.X, data.y):.6f}")
    shown = ", ".join(f"{k}={v!r}" for k, v in settings.items() if k != "log_every")
    console.print(f"\n[bold]Gradient descent[/bold] with the seed's settings ({shown}):",
                  soft_wrap=True)
    cli_output.print_epoch_log(console, gd.history_, gd)
    table = Table(title="Exact vs gradient descent")
    table.add_column("parameter")
    table.add_column("exact", justify="right")
    table.add_column("gradient descent", justify="right")
    for name, a, b in zip(data.feature_names, exact.coef_, gd.coef_, strict=True):
        table.add_row(name, f"{a:.6f}", f"{b:.6f}")
    table.add_row("intercept", f"{exact.intercept_:.6f}", f"{gd.intercept_:.6f}")
    table.add_row("R²", f"{exact.score(data.X, data.y):.6f}", f"{gd.score(data.X, data.y):.6f}")
    console.print(table)
    if gd.converged_:
        console.print(f"[green]Converged[/green] in {gd.n_iter_} epochs.")
    else:
        console.print(cli_output.as_flags(gd.diagnosis_ or ""), style="yellow", markup=False,
                      soft_wrap=True)
    if args.output:
        console.print(f"Exact model saved to {args.output}", markup=False, soft_wrap=True)
    cli_plots.print_written(console, plots)
    return 0
