"""Ctrl-C while the ``linearlab`` command is still importing: a word, not a traceback.

Imported first by ``linearlab/__init__.py`` (standard library only, so it is in place before the
heavy imports). It changes nothing for programs that import linearlab: only when the running
program is the ``linearlab`` command (or ``python -m linearlab``) does an interrupt that reaches
the top level print ``interrupted`` instead of a traceback; the exit status is still the one of
SIGINT.
"""

from __future__ import annotations

import os
import sys


def is_command() -> bool:
    """Whether this process is the ``linearlab`` command line."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    if name in ("linearlab", "linearlab.exe"):
        return True
    argv = getattr(sys, "orig_argv", [])
    return any(a == "-m" and b == "linearlab" for a, b in zip(argv, argv[1:], strict=False))


def _hook(kind, value, tb, _previous=sys.excepthook):
    if issubclass(kind, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        return
    _previous(kind, value, tb)


def install() -> None:
    """Print ``interrupted`` for a KeyboardInterrupt at the top level of the command."""
    if is_command() and sys.excepthook is sys.__excepthook__:
        sys.excepthook = _hook


install()
