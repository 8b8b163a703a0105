"""The ``linearlab`` command line: arguments in, library calls, rich output out."""

from linearlab.cli.main import main

__all__ = ["main"]
