"""The ``linearlab`` command: arguments → library calls → readable output. No math here."""

from __future__ import annotations

import argparse
import sys
import warnings

from rich.console import Console
from rich.table import Table

from . import __version__
from .datasets import list_datasets, load_dataset
from .errors import ConvergenceWarning, LinearLabError
from .estimator import LinearRegression

SEED_GD_SETTINGS = {  # the seed documents' own training settings, per dataset
    "salary": dict(lr=0.001, epochs=10001, init="uniform", random_state=0, log_every=1000),
    "noisy-line": dict(lr=0.001, epochs=20, batch_size=10, shuffle=False, init="uniform",
                       random_state=0, log_every=1),
    "three-points": dict(loss="sse", lr=0.001, epochs=100, random_state=0, log_every=10),
    "doubling": dict(loss="sse", lr=0.01, epochs=500, init="uniform", random_state=0,
                     log_every=100),
    "arange-line": dict(lr=0.1, epochs=100, init="normal", random_state=2021, log_every=10),
}


def _equation(model: LinearRegression, names: list[str], target: str) -> str:
    coef = model.coef_
    terms = " + ".join(f"{c:.6g}·{n}" for c, n in zip(coef, names, strict=True))
    return f"{target} = {terms} + {model.intercept_:.6g}"


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    data = load_dataset(args.dataset)
    console.print(f"[bold]linearlab demo[/bold] — dataset [cyan]{data.name}[/cyan]: "
                  f"{data.description}")
    exact = LinearRegression().fit(data.X, data.y)
    console.print(f"\n[bold]Exact least squares[/bold] (solver '{exact.solver_}'):")
    console.print("  " + _equation(exact, data.feature_names, data.target_name))
    console.print(f"  R² = {exact.score(data.X, data.y):.6f}")

    settings = SEED_GD_SETTINGS.get(data.name, dict(lr="auto", standardize=True, log_every=100))
    shown = ", ".join(f"{k}={v!r}" for k, v in settings.items() if k != "log_every")
    console.print(f"\n[bold]Gradient descent[/bold] with the seed's settings ({shown}):")
    gd = LinearRegression(solver="gd", **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gd.fit(data.X, data.y)

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
        console.print(f"[yellow]{gd.diagnosis_}[/yellow]")
    return 0


def cmd_datasets(args: argparse.Namespace, console: Console) -> int:
    table = Table(title="Built-in datasets")
    for column in ("name", "rows", "features", "description"):
        table.add_column(column)
    for name in list_datasets():
        data = load_dataset(name)
        table.add_row(name, str(data.X.shape[0]), ", ".join(data.feature_names), data.description)
    console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linearlab",
        description="Linear regression: exact solvers, gradient descent, statistics and plots.",
    )
    parser.add_argument("--version", action="version", version=f"linearlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="fit a built-in dataset end to end")
    demo.add_argument("dataset", nargs="?", default="salary", help="built-in dataset name")
    demo.set_defaults(handler=cmd_demo)
    datasets = sub.add_parser("datasets", help="list the built-in datasets")
    datasets.set_defaults(handler=cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``linearlab`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    try:
        return args.handler(args, console)
    except LinearLabError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        return exc.exit_status


if __name__ == "__main__":
    sys.exit(main())
