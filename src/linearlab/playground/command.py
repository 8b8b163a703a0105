"""``linearlab playground [DATA] [--port N] [--host H] [--no-browser]``: the sub-command, kept
here so the command line needs only one line to register it (and nothing heavy at start)."""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_PORT = 8765


def add_playground_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``playground`` on the command line's sub-parsers."""
    play = sub.add_parser(
        "playground", parents=parents, help="watch gradient descent live in the browser",
        description="Start a local web page on linearlab's engine: drag points, change the "
        "learning rate, step through updates, compare optimizers on the loss landscape. "
        "Ctrl-C stops it.",
    )
    play.add_argument("data", metavar="DATA", nargs="?", default=None,
                      help="built-in dataset or CSV/Parquet file (default: an empty canvas)")
    play.add_argument("--port", type=int, default=DEFAULT_PORT,
                      help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    play.add_argument("--host", default="127.0.0.1",
                      help="address to bind (default 127.0.0.1: this machine only)")
    play.add_argument("--no-browser", action="store_true", help="do not open a browser")
    play.set_defaults(handler=run_playground)


def run_playground(args: argparse.Namespace, console: Any) -> int:
    from linearlab.playground.server import serve

    def log(message: str) -> None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)

    serve(args.data, host=args.host, port=args.port, open_browser=not args.no_browser, log=log)
    console.print("playground stopped", markup=False, highlight=False)
    return 0
