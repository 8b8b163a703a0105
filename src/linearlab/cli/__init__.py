"""The ``linearlab`` command line: arguments in, library calls, rich output out."""

from .main import main

__all__ = ["main"]
