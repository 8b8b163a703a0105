"""``linearlab datasets``: the built-in datasets as a table (light: no model is imported)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from linearlab.data.datasets import describe_dataset, list_datasets


def cmd_datasets(args: argparse.Namespace, console: Console) -> int:
    """List the built-in datasets (``--json``: as records)."""
    found = [(name, *describe_dataset(name)) for name in list_datasets()]
    if args.json:
        from linearlab.cli.output import print_json

        print_json({"datasets": [{"name": name, "rows": int(rows), "features": features,
                                  "target": target, "description": about}
                                 for name, rows, features, target, about in found]})
        return 0
    table = Table(title="Built-in datasets")  # short columns: readable at 80 characters
    for column in ("name", "rows", "features", "target"):
        table.add_column(column, overflow="fold")
    for name, rows, names, target, _ in found:
        shown = ", ".join(names) if len(names) <= 4 else f"{len(names)}: {names[0]} ... {names[-1]}"
        table.add_row(name, str(rows), shown, target)
    console.print(table)
    for name, *_, about in found:
        console.print(f"[bold]{name}[/bold]: {about}")
    return 0
