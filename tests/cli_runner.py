"""Run ``linearlab ARGV`` in the test's own process, as a separate process would see it.

:func:`run_cli` calls :func:`linearlab.cli.main.main` with standard output and error sent to real
(anonymous) files, the working folder changed and ``COLUMNS`` set, then puts everything back. It
checks what a subprocess would (exit status, both streams byte for byte, the files written)
without paying the interpreter's and the libraries' start-up for every call. Tests whose subject
is the process itself (a signal, the ``python -m`` entry, a fresh interpreter's imports, stdout
being a pipe) still start one.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class CliResult:
    """What one run of the command left: its exit status and its two streams."""

    status: int
    stdout: str
    stderr: str
    raw_err: bytes
    warnings: list = field(default_factory=list)

    @property
    def returncode(self) -> int:
        """The exit status, under :class:`subprocess.CompletedProcess`'s name."""
        return self.status


def run_cli(argv, cwd: str | Path | None = None, columns: str = "200",
            ignore_warnings: bool = True) -> CliResult:
    """``linearlab ARGV`` (items turned into ``str``) as a call of ``main``, in folder ``cwd``.

    Warnings are ignored, as ``PYTHONWARNINGS=ignore`` would; with ``ignore_warnings=False`` the
    ones a fresh interpreter's default filters would print are kept in ``.warnings`` instead.
    """
    from linearlab.cli.main import main

    saved = sys.stdout, sys.stderr, os.getcwd(), os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = columns
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            streams = [io.TextIOWrapper(f, encoding="utf-8", write_through=True)
                       for f in (out, err)]
            sys.stdout, sys.stderr = streams
            if cwd is not None:
                os.chdir(cwd)
            try:
                with warnings.catch_warnings(record=True) as seen:
                    warnings.resetwarnings()
                    if ignore_warnings:
                        warnings.simplefilter("ignore")
                    else:  # a fresh interpreter's defaults
                        for category in (DeprecationWarning, PendingDeprecationWarning,
                                         ImportWarning, ResourceWarning):
                            warnings.simplefilter("ignore", category)
                    status = main([str(arg) for arg in argv])
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            finally:
                for stream in streams:  # flushed and let go of, leaving the files open
                    stream.flush()
                    stream.detach()
            out.seek(0)
            err.seek(0)
            raw_out, raw_err = out.read(), err.read()
    finally:
        sys.stdout, sys.stderr = saved[0], saved[1]
        os.chdir(saved[2])
        if saved[3] is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved[3]
    return CliResult(status, raw_out.decode("utf-8", "replace"),
                     raw_err.decode("utf-8", "replace"), raw_err, [str(w.message) for w in seen])
