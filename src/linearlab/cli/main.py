"""The ``linearlab`` command: parse the arguments, run the command, turn errors into words.

Errors a user can fix end in one paragraph on stderr with exit status 2 (usage or input) or 1 (a
fit that failed, e.g. diverging gradient descent); ``--debug`` adds the traceback. This module
imports only the parser (:mod:`linearlab.cli.parser`); the command that runs is imported when it
runs, so ``linearlab --help`` never pays for scikit-learn, SciPy or pandas.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback

from rich.console import Console

from linearlab.cli.parser import build_parser, formula_hint
from linearlab.errors import LinearLabError, NumericalError, printable


def _handler(name):
    """The function a sub-command names as ``"module:function"`` (or the function itself)."""
    if callable(name):
        return name
    module, function = name.split(":")
    return getattr(importlib.import_module(module), function)


def _report_error(exc: BaseException, debug: bool) -> None:
    err = Console(stderr=True)
    if debug:
        err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
    from linearlab.cli.output import as_flags

    text = printable(as_flags(str(exc)))  # never let a file's bytes reach the terminal
    err.print(f"error: {text}", style="red", markup=False, highlight=False, soft_wrap=True)


def _os_error_message(exc: OSError) -> str:
    name = exc.filename if isinstance(exc.filename, str) else None
    if name and os.path.basename(name).startswith(".tmp-"):
        name = None  # a temporary file means nothing to the user
    where = f" ({name!r})" if name else ""
    return f"{exc.strerror or exc}{where}. Check the path and its permissions."


def _numerical_errors() -> tuple[type[BaseException], ...]:
    """Failures of the arithmetic itself (NumPy's, when a command has imported it)."""
    numpy = sys.modules.get("numpy")
    linalg = (numpy.linalg.LinAlgError,) if numpy is not None else ()
    return (ArithmeticError, MemoryError, *linalg)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``linearlab`` console script; returns the exit status."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help/--version
            if exc.code:
                formula_hint(sys.argv[1:] if argv is None else argv)
            return exc.code if isinstance(exc.code, int) else 2
        console = Console(highlight=False)
        if isinstance(getattr(args, "data", None), str) and os.path.isdir(args.data):
            from linearlab.cli.predictions import refuse_output_inside_data

            refuse_output_inside_data(getattr(args, "output", None), args.data)
        handler = _handler(args.handler)
        quiet = contextlib.nullcontext()
        if getattr(args, "json", False):  # --json: results only, no training progress bar
            from linearlab.descent.driver import quiet_progress

            quiet = quiet_progress()
        with quiet:
            return handler(args, console)
    except LinearLabError as exc:
        _report_error(exc, debug)
        return exc.exit_status
    except BrokenPipeError:  # `linearlab predict ... | head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (silence the flush at exit)
        return 0
    except OSError as exc:  # e.g. a disk that is full
        _report_error(OSError(_os_error_message(exc)), debug)
        return 2
    except _numerical_errors() as exc:
        _report_error(NumericalError(
            f"The fit failed numerically ({type(exc).__name__}: {exc}). The data's scale may be "
            "beyond float64 (values near 1e308 or 1e-308), or the problem too large for memory; "
            "rescale the columns or choose fewer with -x."), debug)
        return 1
    except KeyboardInterrupt as exc:  # during training: "interrupted at epoch N, ..."
        Console(stderr=True).print(f"{exc}; nothing was saved" if str(exc) else "interrupted",
                                   markup=False, highlight=False, soft_wrap=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())

