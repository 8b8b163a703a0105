"""Every row of ``tests/cli_cases.py`` run as the ``linearlab`` command.

Rows whose subject is the process itself (a signal, a FIFO reader, ``python -c``, the terminal's
``/dev/stdout``) run as a real process; the others call :func:`linearlab.cli.main.main` in the
test's own process with standard output and error sent to files, which checks the same things
without paying the interpreter's start-up for every row.

For each case: the exit status; one paragraph on stderr, no ``Traceback``, no control bytes; the
expected piece of the message; every file that existed before unchanged byte for byte (links still
links to the same target, devices and FIFOs still devices and FIFOs) except the ones the case
writes; and no temporary file left anywhere.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_cases import CASES, Case, expand_model_text
from cli_runner import run_cli

TIMEOUT = 120


def snapshot(root: Path) -> dict[str, tuple]:
    """What each path under ``root`` is: bytes of regular files, link targets, node kinds."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                seen[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    head = f.read(64 * 2**20)
                seen[key] = ("file", st.st_size, head, stat.S_IMODE(st.st_mode))
            elif stat.S_ISDIR(st.st_mode):
                seen[key] = ("dir",)
            else:
                seen[key] = ("node", stat.S_IFMT(st.st_mode), st.st_rdev)
    return seen


def _read_fifo(path: Path, sink: dict) -> None:
    with open(path, "rb") as f:
        sink["fifo"] = f.read()


def needs_process(case: Case) -> bool:
    """Whether a row tests something only a separate process shows."""
    return bool(case.python or case.interrupt or case.fifo_reader
                or any(arg.startswith("/dev/std") for arg in case.argv))


def run_in_process(case: Case, root: Path) -> dict:
    """``linearlab ARGV`` as a call of ``main``, with its own stdout/stderr files and folder."""
    result = run_cli(case.argv, cwd=root / case.env.get("cwd", "."),
                     columns=case.env.get("COLUMNS", "200"))
    return {"status": result.status, "stdout": result.stdout, "stderr": result.stderr,
            "raw_err": result.raw_err}


def run_case(case: Case, root: Path) -> dict:
    if not needs_process(case):
        return run_in_process(case, root)
    cwd = root / case.env.get("cwd", ".")
    env = {**os.environ, "COLUMNS": case.env.get("COLUMNS", "200"), "PYTHONWARNINGS": "ignore"}
    command = ([sys.executable, "-c", case.python] if case.python
               else [sys.executable, "-m", "linearlab", *case.argv])
    result: dict = {}
    reader = None
    if case.fifo_reader:
        reader = threading.Thread(target=_read_fifo, args=(root / case.fifo_reader, result),
                                  daemon=True)
        reader.start()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if case.interrupt:
        deadline = time.monotonic() + TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if any(p.name.startswith(".tmp-") for p in root.iterdir()):
                process.send_signal(case.interrupt)
                break
            time.sleep(0.005)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"failed": f"{case.id}: still running after {TIMEOUT} s (a hang)"}
    if reader is not None:
        if reader.is_alive():  # the command never opened the FIFO: release the reader
            with contextlib.suppress(OSError):
                os.close(os.open(root / case.fifo_reader, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(TIMEOUT)
    code = process.returncode
    result.update(status=128 - code if code < 0 else code, stdout=out.decode("utf-8", "replace"),
                  stderr=err.decode("utf-8", "replace"), raw_err=err)
    return result


def _prepare(case: Case, root: Path) -> dict:
    try:
        case.setup(root)
    except PermissionError as exc:  # mknod outside root
        return {"skip": f"needs root: {exc}"}
    expand_model_text(root)
    before = snapshot(root)
    result = run_case(case, root)
    return {**result, "before": before, "after": snapshot(root), "root": root}


def _allowed(path: str, writes: tuple[str, ...]) -> bool:
    return any(path == w or path == os.path.dirname(w)
               or (w.endswith("/*") and os.path.dirname(path) == w[:-2]) for w in writes)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, tmp_path: Path):
    # pytest-xdist spreads the cases over its workers
    result = _prepare(case, tmp_path)
    if "skip" in result:
        pytest.skip(result["skip"])
    if "failed" in result:
        pytest.fail(result["failed"])
    before, after = result["before"], result["after"]
    out, err = result["stdout"], result["stderr"]

    assert result["status"] == case.status, (out, err)
    assert "Traceback" not in out + err
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", result["raw_err"]), err  # no raw bytes
    if case.status != 0:
        assert "\n\n" not in err.strip(), err  # one paragraph
        if case.says:
            assert case.says in " ".join(err.split()), err
    elif case.says:
        assert case.says in " ".join((out + err).split()), (out, err)

    leftovers = [p for p in after if os.path.basename(p).startswith(".tmp-")]
    assert not leftovers, leftovers
    for path, what in before.items():
        if not _allowed(path, case.writes):
            assert after.get(path) == what, f"{path} was changed"
    created = [p for p in set(after) - set(before) if not _allowed(p, case.writes)]
    assert not created, created
    if case.check is not None:
        case.check(result["root"], result)


def test_errors_doc_is_generated_from_this_table():
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "scripts"))
    import errors_table

    assert (root / "docs" / "errors.md").read_text() == errors_table.render(), (
        "docs/errors.md is out of date: run python scripts/errors_table.py")
