"""The one way linearlab writes files: checked targets, atomic replacement, nothing left behind.

Every file linearlab writes (model files, predictions, figures, animations) goes through
:func:`atomic_path` or :func:`open_output`. They apply one set of rules to the path given:

- ``-`` and ``/dev/stdout`` mean standard output.
- An output that is the same file as an input (:func:`os.path.samefile`, links included) is an
  :class:`~linearlab.errors.OutputError`, and nothing is touched.
- A symbolic link is resolved: the link stays, its target is replaced.
- A path that exists but is not a regular file (a device such as ``/dev/null``, a FIFO) is written
  in place, as a stream; it is never replaced by a regular file.
- A regular file is replaced atomically: the output is written to a hidden temporary file in the
  same directory, then renamed over the target, keeping the target's permissions. A failure, an
  interrupt (SIGINT, SIGTERM, SIGHUP) or the interpreter's exit removes the temporary file.
- A read-only file is refused unless ``force=True``.
- A folder of partitioned outputs (:func:`atomic_directory`) is written beside the target and
  renamed into place; it may not be, or hold, an input, and an existing non-empty folder is
  replaced only with ``force=True``.
- The directory a file goes into must exist; linearlab names it when it does not. A folder of
  outputs (``--plots DIR``) is created, but not the directories above it (as ``mkdir``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from linearlab.errors import OutputError

#: Paths that mean standard output.
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
_TEMP_PREFIX = ".tmp-"
_PENDING: set[str] = set()  # temporary files being written: removed on exit or on a signal
_PENDING_DIRS: set[str] = set()  # temporary folders of partitioned outputs, likewise
_CLEANUP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class Target:
    """A checked output destination.

    ``kind`` is ``"stdout"``, ``"stream"`` (a device or FIFO, written in place) or ``"file"``
    (a regular file, replaced atomically); ``path`` is where the bytes go (links resolved) and
    ``given`` the path as the user wrote it, for messages. ``mode`` is the file's permissions.
    """

    given: str
    kind: str
    path: str | None = None
    mode: int = 0o644

    @property
    def is_stream(self) -> bool:
        """Whether the output is written in place (standard output, a device, a FIFO)."""
        return self.kind != "file"


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_not_input(given: str, real: str, inputs: Iterable[str | os.PathLike | None]) -> None:
    for source in inputs:
        if source is None:
            continue
        source = os.fspath(source)
        if _same_file(real, source):
            raise OutputError(
                f"The output {given!r} is the same file as the input {source!r}; writing it "
                "would destroy the input. Nothing was written: choose another output name."
            )


def _stdout_is_input(inputs: Iterable[str | os.PathLike | None]) -> str | None:
    try:
        out = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    if not stat.S_ISREG(out.st_mode):
        return None
    for source in inputs:
        if source is None:
            continue
        with contextlib.suppress(OSError):
            st = os.stat(source)
            if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
                return os.fspath(source)
    return None


def resolve(
    path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
) -> Target:
    """Check an output path against the rules of this module and say how it is written.

    Parameters
    ----------
    path : str or path-like
        The output as given (``-`` for standard output).
    inputs : iterable of paths
        Files this run reads; the output must not be one of them.
    force : bool, default=False
        Replace a read-only file.

    Raises
    ------
    OutputError
        The output is an input, a directory, read-only, or its directory does not exist.
    """
    inputs = [i for i in inputs if i is not None]
    given = os.fspath(path)
    if not given:
        raise OutputError("The output path is empty; name a file, or '-' for standard output.")
    if given in STDOUT_NAMES:
        clash = _stdout_is_input(inputs)
        if clash:
            raise OutputError(
                f"Standard output is the input file {clash!r}; writing it would destroy the "
                "input. Nothing was written: redirect the output to another file."
            )
        return Target(given, "stdout")
    real = os.path.realpath(given)
    _check_not_input(given, real, inputs)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"Cannot write {given!r}: {exc.strerror}.") from None
    if st is None:
        directory = os.path.dirname(real)
        if not os.path.isdir(directory):
            shown = os.path.dirname(given) or "."
            raise OutputError(
                f"Cannot write {given!r}: directory {shown!r} does not exist. Create it first "
                f"(mkdir -p {shown}), or choose another output path."
            )
        return Target(given, "file", real, 0o666 & ~_umask())
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"The output {given!r} is a directory; name a file inside it.")
    if not stat.S_ISREG(st.st_mode):
        return Target(given, "stream", real)
    mode = stat.S_IMODE(st.st_mode)
    read_only = not mode & 0o222 or not os.access(real, os.W_OK)
    if read_only and not force:
        raise OutputError(
            f"The output {given!r} is read-only (mode {mode:04o}); nothing was written. Pass "
            "--force (force=True) to replace it, or choose another output name."
        )
    return Target(given, "file", real, mode)


# --------------------------------------------------------------------------- cleanup
def _remove_pending() -> None:
    for tmp in list(_PENDING):
        with contextlib.suppress(OSError):
            os.remove(tmp)
        _PENDING.discard(tmp)
    for tmp in list(_PENDING_DIRS):
        shutil.rmtree(tmp, ignore_errors=True)
        _PENDING_DIRS.discard(tmp)


atexit.register(_remove_pending)


def _exit_on_signal(signum, frame):  # noqa: ARG001  (signal handler signature)
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals_end_cleanly() -> Iterator[None]:
    """While a temporary file exists, SIGTERM/SIGHUP unwind the stack as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in _CLEANUP_SIGNALS:
        if signal.getsignal(sig) is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, _exit_on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _temporary(target: Target) -> str:
    name = os.path.basename(target.given) or "output"
    directory = os.path.dirname(target.path) if target.kind == "file" else None
    try:
        fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix="-" + name, dir=directory)
    except OSError as exc:
        where = os.path.dirname(target.given) or "."
        raise OutputError(
            f"Cannot write {target.given!r}: {exc.strerror} in directory {where!r}. Check that "
            "the directory is writable, or choose another output path."
        ) from None
    os.close(fd)
    _PENDING.add(tmp)
    return tmp


def _publish(tmp: str, target: Target) -> None:
    if target.kind == "file":
        os.chmod(tmp, target.mode)
        os.replace(tmp, target.path)
        return
    with open(tmp, "rb") as src, open_output(target) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike | Target, *, inputs: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
) -> Iterator[str]:
    """Yield a temporary path to write the whole output to; publish it when the block ends.

    For a regular file the temporary file is renamed over the target (atomically); for standard
    output, a device or a FIFO its bytes are copied there. If the block raises (or the process
    is interrupted) the temporary file is removed and the target is untouched.
    """
    target = path if isinstance(path, Target) else resolve(path, inputs=inputs, force=force)
    with _signals_end_cleanly():
        tmp = _temporary(target)
        try:
            yield tmp
            _publish(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            _PENDING.discard(tmp)


@contextlib.contextmanager
def open_output(
    path: str | os.PathLike | Target, *, inputs: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
) -> Iterator[IO[bytes]]:
    """A binary file object for the output: streams are written in place, files atomically."""
    target = path if isinstance(path, Target) else resolve(path, inputs=inputs, force=force)
    if target.kind == "stdout":
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    elif target.kind == "stream":
        with open(target.path, "wb") as f:
            yield f
    else:
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            yield f


def write_text(path: str | os.PathLike, text: str, *, inputs=(), force: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` under the rules of this module."""
    with open_output(path, inputs=inputs, force=force) as f:
        f.write(text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
) -> Iterator[str]:
    """Yield a temporary folder to write a partitioned output into; it replaces ``path`` when
    the block ends, and is removed (the target untouched) if the block raises or is interrupted.

    A link to a folder is followed (the link stays). Refused: a target that is an input or holds
    one, a target that is not a folder, and an existing non-empty folder unless ``force=True``.
    """
    given = os.fspath(path)
    final = os.path.realpath(given)
    for source in inputs:
        if source is None:
            continue
        real = os.path.realpath(os.fspath(source))
        if real == final or real.startswith(final.rstrip(os.sep) + os.sep):
            raise OutputError(
                f"The output folder {given!r} is, or holds, the input {os.fspath(source)!r}; "
                "replacing it would destroy the input. Nothing was written: choose another "
                "output folder."
            )
    if os.path.lexists(final) and not os.path.isdir(final):
        raise OutputError(f"{given!r} exists and is not a folder; choose a new folder name.")
    if os.path.isdir(final) and os.listdir(final) and not force:
        raise OutputError(
            f"The output folder {given!r} already exists and is not empty; choose a new folder, "
            "or pass --force (force=True) to replace it."
        )
    parent = os.path.dirname(final)
    if not os.path.isdir(parent):
        shown = os.path.dirname(os.path.normpath(given)) or "."
        raise OutputError(f"Cannot write {given!r}: directory {shown!r} does not exist.")
    with _signals_end_cleanly():
        tmp = tempfile.mkdtemp(prefix=_TEMP_PREFIX, suffix="-" + os.path.basename(final),
                               dir=parent)
        _PENDING_DIRS.add(tmp)
        try:
            os.chmod(tmp, 0o777 & ~_umask())  # a normal folder, not mkdtemp's private 0700
            yield tmp
            if os.path.isdir(final):
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            _PENDING_DIRS.discard(tmp)


def prepare_directory(path: str | os.PathLike) -> Path:
    """The folder ``path`` for a set of outputs, created if missing (its parent must exist)."""
    given = os.fspath(path)
    folder = Path(os.path.realpath(given))
    if folder.is_dir():
        return Path(given)
    if folder.exists():
        raise OutputError(f"{given!r} exists and is not a directory; choose a folder name.")
    if not folder.parent.is_dir():
        shown = os.path.dirname(os.path.normpath(given)) or "."
        raise OutputError(
            f"Cannot create the folder {given!r}: directory {shown!r} does not exist. Create it "
            f"first (mkdir -p {shown}), or choose another folder."
        )
    try:
        folder.mkdir()
    except OSError as exc:
        raise OutputError(f"Cannot create the folder {given!r}: {exc.strerror}.") from None
    return Path(given)


__all__ = ["STDOUT_NAMES", "Target", "atomic_directory", "atomic_path", "open_output",
           "prepare_directory", "resolve", "write_text"]
