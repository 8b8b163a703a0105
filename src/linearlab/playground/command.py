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
    play.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                      help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    play.add_argument("--host", type=host_address, default="127.0.0.1",
                      help="address to bind (default 127.0.0.1: this machine only)")
    play.add_argument("--no-browser", action="store_true", help="do not open a browser")
    play.set_defaults(handler=run_playground)


def port_number(text: str) -> int:
    """``--port``: a TCP port, 0 to 65535 (argparse turns the error into a usage error)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a TCP port: give 0 to 65535 (0 picks a free one)")
    return port


def host_address(text: str) -> str:
    """``--host``: one address to serve on, not a wildcard (the page checks the Host header)."""
    if text.strip() in ("", "0.0.0.0", "::"):
        raise argparse.ArgumentTypeError(
            f"{text!r} would listen on every network; the playground serves one address "
            "(127.0.0.1, the default, or this machine's address on your network)")
    return text.strip()


def run_playground(args: argparse.Namespace, console: Any) -> int:
    from linearlab.playground.server import serve

    def log(message: str) -> None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)

    serve(args.data, host=args.host, port=args.port, open_browser=not args.no_browser, log=log)
    console.print("playground stopped", markup=False, highlight=False)
    return 0
