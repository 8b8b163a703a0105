"""The playground's defences, kept apart from its endpoints.

- **Only its own page.** A request is served only when its ``Host`` is the address the server
  bound (``localhost``, ``127.0.0.1`` and ``[::1]`` are one address for a loopback bind) and its
  ``Origin``, when the browser sends one, is the page's own. Any other web page the user visits
  (DNS rebinding, a cross-site form or ``fetch``) gets 403.
- **No simple cross-site POSTs.** A POST must say ``Content-Type: application/json`` (an upload:
  ``text/csv``), types a browser never sends to another site without asking it first; else 415.
- **Work that ends.** Fits run on a small pool of threads, each with a time cap, and a request
  whose client went away is cancelled, queued or running: abandoned requests do not pile up.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from linearlab.errors import ParameterError

#: Seconds one request's work may run before it is stopped with a message.
TIME_CAP_S = 20.0
#: Fits running at once; more requests wait their turn (and are dropped if their client leaves).
WORK_THREADS = 2
#: How often a running request checks whether its client is still there (seconds).
POLL_S = 0.05
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("", "0.0.0.0", "::")


def host_names(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` header values that name this server (lower case, with the port)."""
    names = {host.lower(), *(h.lower() for h in extra)}
    if names & set(LOOPBACK) or host.startswith("127."):
        names |= set(LOOPBACK)
    allowed = set()
    for name in names:
        bracketed = f"[{name}]" if ":" in name else name
        allowed.add(f"{bracketed}:{port}")
        if port == 80:
            allowed.add(bracketed)
    return frozenset(allowed)


def refusal(method: str, path: str, headers: dict[str, str],
            hosts: frozenset[str]) -> tuple[int, str] | None:
    """``(status, message)`` when a request must not be served, else None."""
    own = sorted(hosts)[0]
    host = headers.get("host", "").strip().lower()
    if host not in hosts:
        return 403, (
            f"This playground answers only its own page (http://{own}/); this request named "
            f"the host {host or 'nothing'!r}, so it came from somewhere else (another web site "
            "or a DNS name pointing here) and is refused. Open the address the command printed."
        )
    origin = headers.get("origin")
    if origin is not None and origin.strip().lower() not in {f"http://{h}" for h in hosts}:
        return 403, (
            f"This playground answers only its own page (http://{own}/); this request came "
            f"from the page {origin!r} and is refused. Use the playground's own page."
        )
    if method == "POST":
        wanted = "text/csv" if path == "/api/upload" else "application/json"
        given = headers.get("content-type", "").split(";")[0].strip().lower()
        if given != wanted:
            return 415, (
                f"POST {path} needs Content-Type: {wanted} (got {given or 'none'!r}). The "
                "playground's page sends that; other pages cannot."
            )
    return None


class Guard:
    """ASGI middleware: :func:`refusal` before the app, and headers that keep the page out of
    other sites' frames."""

    def __init__(self, app: Any, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        problem = refusal(scope["method"], scope["path"], headers, self.hosts)
        if problem is not None:
            from starlette.responses import JSONResponse

            await JSONResponse({"error": problem[1]}, status_code=problem[0])(scope, receive, send)
            return

        async def send_guarded(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"x-frame-options", b"DENY"),
                                      (b"x-content-type-options", b"nosniff")]
            await send(message)

        await self.app(scope, receive, send_guarded)


# --------------------------------------------------------------------------- cancellable work
class Cancelled(BaseException):
    """Raised inside a worker thread to stop its work (a BaseException: no ``except Exception``
    in the engine swallows it)."""


class WorkStopped(ParameterError):
    """A request's work was stopped: its client went away, or it ran past the time cap."""


class Job:
    """One request's work on a thread, which another thread may cancel at any time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: int | None = None
        self._fired = False
        self.reason: str | None = None

    def cancel(self, reason: str) -> None:
        """Stop the work: before it starts, or (an asynchronous exception) while it runs."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
            if self._thread is not None and not self._fired:
                self._fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread),
                                                           ctypes.py_object(Cancelled))

    def run(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the calling thread, unless cancelled (then :class:`WorkStopped`)."""
        thread = threading.get_ident()
        try:
            with self._lock:
                if self.reason is not None:
                    raise Cancelled
                self._thread = thread
            try:
                return fn()
            finally:
                with self._lock:
                    self._thread = None
                    if self._fired:  # fired but not yet delivered: withdraw it
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), None)
        except Cancelled:
            raise WorkStopped(self.reason or "The request was stopped.") from None


def time_cap_message(seconds: float) -> str:
    return (
        f"This request ran past the playground's time cap of {seconds:g} s and was stopped. "
        "Ask for fewer epochs, a larger batch size or fewer rows, or fit from the command line "
        "(`linearlab fit DATA`), which has no cap."
    )


async def run_work(fn: Callable[[], Any], is_disconnected: Callable, limiter: Any,
                   time_cap: float) -> Any:
    """``fn()`` on a worker thread (at most ``limiter``'s count at once), cancelled when the
    client disconnects or after ``time_cap`` seconds of running."""
    import anyio
    import anyio.to_thread

    job, outcome, done = Job(), {}, anyio.Event()
    started: list[float] = []

    def body() -> Any:
        started.append(time.monotonic())
        return fn()

    async def worker() -> None:
        try:
            outcome["value"] = await anyio.to_thread.run_sync(job.run, body, limiter=limiter)
        except Exception as exc:  # delivered to the caller below
            outcome["error"] = exc
        finally:
            done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(worker)
        while not done.is_set():
            with anyio.move_on_after(POLL_S):
                await done.wait()
            if done.is_set():
                break
            if await is_disconnected():
                job.cancel("The client went away; its request was cancelled.")
            elif started and time.monotonic() - started[0] > time_cap:
                job.cancel(time_cap_message(time_cap))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
