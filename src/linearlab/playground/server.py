"""The playground's web server: a Starlette app with a small JSON API, and the page it serves.

Everything comes from the package (the page, its script, the plotting library): it works
offline. Requests are independent: every run builds its own estimator, and the only shared
state, the table store, is guarded by a lock. :mod:`.guard` keeps other web pages out and
bounds each request's work; every refusal is a 4xx answer with a one-paragraph message.
"""

from __future__ import annotations

import json
import warnings
import webbrowser
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from linearlab.errors import BackendUnavailableError, LinearLabError, ParameterError
from linearlab.playground import runs
from linearlab.playground.guard import (
    TIME_CAP_S,
    WILDCARD,
    WORK_THREADS,
    Guard,
    host_names,
    run_work,
)
from linearlab.playground.landscape import base_view, landscape, run_view
from linearlab.playground.tables import (
    MAX_UPLOAD_BYTES,
    TableStore,
    inline_points,
    table_payload,
    too_large,
)
from linearlab.viz.view import PlotData

STATIC = Path(__file__).with_name("static")
#: JSON request bodies larger than this are refused (uploads have their own limit).
MAX_JSON_BYTES = 4 * 1024 * 1024
#: Errors from numbers out of float range (a request's values, or the loss they lead to).
OUT_OF_RANGE = (
    "The numbers in this request overflow (they lead to a loss or a parameter beyond the range "
    "of floating point). Use smaller start values or learning rate, or rescale the data."
)


def _starlette():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise BackendUnavailableError(
            "The playground needs Starlette and uvicorn, which are not installed. Install them "
            "with `pip install 'linearlab[playground]'`."
        ) from None


class Api:
    """The JSON endpoints, as plain functions of a request's decoded body."""

    def __init__(self, store: TableStore, initial: str | None) -> None:
        self.store = store
        self.initial = initial

    def data(self, body: dict) -> tuple[np.ndarray, np.ndarray, list[str], str]:
        spec = body.get("data") or {}
        if not isinstance(spec, dict):
            raise ParameterError("data must be an object naming a table or holding points.")
        if spec.get("points") is not None:
            X, y = inline_points(spec["points"])
            if X.shape[0] < 2:
                raise ParameterError("Add at least two points (click on the data plot).")
            return X, y, [str(spec.get("xname") or "x")], str(spec.get("yname") or "y")
        if "table" not in spec:
            raise ParameterError("No data yet: choose a dataset, upload a CSV or add points.")
        x, y = columns_choice(spec)
        return self.store.get(spec["table"]).select(x, y)

    def init(self, body: dict) -> dict:
        from linearlab.data.datasets import list_datasets

        table = self.store.get(self.initial) if self.initial else None
        return {
            "datasets": list_datasets(),
            "losses": list(runs.LOSSES),
            "optimizers": list(runs.OPTIMIZERS),
            "backends": ["numpy", "torch"] if runs.torch_available() else ["numpy"],
            "limits": {"epochs": runs.MAX_EPOCHS, "upload_bytes": MAX_UPLOAD_BYTES,
                       "runs": runs.MAX_RUNS},
            "table": table_payload(table) if table else None,
        }

    def dataset(self, body: dict) -> dict:
        return table_payload(self.store.add_dataset(str(body.get("name", ""))))

    def columns(self, body: dict) -> dict:
        return table_payload(self.store.get(body.get("table")), *columns_choice(body))

    def upload(self, name: str, payload: bytes) -> dict:
        return table_payload(self.store.add_csv(name, payload))

    def landscape(self, body: dict) -> dict:
        X, y, names, target = self.data(body)
        settings = runs.parse_settings(body.get("settings") or {}, X.shape[1])
        data = PlotData(X, y, names, target)
        start = settings.start or [0.0] * (X.shape[1] + 1)
        view = base_view(settings, X.shape[1], data)
        return {"landscape": landscape([view], data, [start]),
                "exact": runs.exact_fit(X, y, settings.loss)}

    def train(self, body: dict) -> dict:
        X, y, names, target = self.data(body)
        raw = body.get("runs") or [body.get("settings") or {}]
        if not isinstance(raw, list) or not 1 <= len(raw) <= runs.MAX_RUNS:
            raise ParameterError(f"Compare draws 1 to {runs.MAX_RUNS} runs at a time.")
        all_settings = [runs.parse_settings(r, X.shape[1]) for r in raw]
        if len({(s.loss, s.alpha) for s in all_settings}) > 1:
            raise ParameterError("Runs compared on one landscape must share the loss and alpha.")
        records, views = [], []
        for settings in all_settings:
            model, record = runs.train(settings, X, y, names, target)
            records.append(record)
            views.append(run_view(model, record, settings, X.shape[1]))
        starts = [r["path"][0] for r in records]
        data = PlotData(X, y, names, target)
        return {"runs": records, "landscape": landscape(views, data, starts),
                "exact": runs.exact_fit(X, y, all_settings[0].loss)}

    def step(self, body: dict) -> dict:
        X, y, _, _ = self.data(body)
        settings = runs.parse_settings(body.get("settings") or {}, X.shape[1])
        lr = body.get("lr")
        lr = None if lr is None or lr == "auto" else runs.number(lr, "lr")
        return runs.step(settings, X, y, body.get("theta"), lr)

    def exact(self, body: dict) -> dict:
        X, y, _, _ = self.data(body)
        return runs.exact_fit(X, y, runs.parse_settings(body.get("settings") or {}).loss)

    def code(self, body: dict) -> dict:
        X, _, names, target = self.data(body)
        settings = runs.parse_settings(body.get("settings") or {}, X.shape[1])
        return {"code": settings.code(names, target)}

    def model(self, body: dict) -> bytes:
        X, y, names, target = self.data(body)
        settings = runs.parse_settings(body.get("settings") or {}, X.shape[1])
        model, record = runs.train(settings, X, y, names, target)
        return runs.model_file(model, record)


def columns_choice(spec: dict) -> tuple[list[str] | None, str | None]:
    """A request's ``x`` (list of column names or None) and ``y`` (a column name or None)."""
    x, y = spec.get("x"), spec.get("y")
    if x is not None and not (isinstance(x, list) and all(isinstance(c, str) for c in x)):
        raise ParameterError("x must be a list of column names.")
    if y is not None and not isinstance(y, str):
        raise ParameterError(f"y must be a column name (got {y!r}).")
    return x, y


def create_app(store: TableStore | None = None, initial: str | None = None, *,
               address: tuple[str, int] = ("127.0.0.1", 8765),
               time_cap: float = TIME_CAP_S):
    """The Starlette application (``initial``: id of a table in ``store`` to open with).

    It answers only requests addressed to ``address`` (the host and port it is served on) from
    its own page; each request's work stops after ``time_cap`` seconds or when its client leaves.
    """
    _starlette()
    import anyio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    api = Api(store or TableStore(), initial)

    limiter: list[Any] = []  # the fits' own threads, made on the server's event loop

    def failure(exc: Exception) -> JSONResponse:
        if isinstance(exc, LinearLabError):
            return JSONResponse({"error": str(exc)}, status_code=400)
        if isinstance(exc, (OverflowError, FloatingPointError)) or (
                isinstance(exc, ValueError) and "Out of range float" in str(exc)):
            return JSONResponse({"error": OUT_OF_RANGE}, status_code=400)
        return JSONResponse({"error": f"Internal error: {type(exc).__name__}: {exc}"},
                            status_code=500)

    async def read_body(request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ParameterError(too_large(int(declared)) if limit == MAX_UPLOAD_BYTES else
                                 f"The request is over {limit // 1_000_000} MB.")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ParameterError(too_large(size) if limit == MAX_UPLOAD_BYTES else
                                     f"The request is over {limit // 1_000_000} MB.")
            chunks.append(chunk)
        return b"".join(chunks)

    async def work(request: Request, fn) -> Any:
        if not limiter:
            limiter.append(anyio.CapacityLimiter(WORK_THREADS))
        return await run_work(fn, request.is_disconnected, limiter[0], time_cap)

    def endpoint(name: str):
        method = getattr(api, name)

        async def handle(request: Request) -> Response:
            try:
                raw = await read_body(request, MAX_JSON_BYTES) if request.method == "POST" else b""
                result = await work(request, partial(method, parse_body(raw)))
                if isinstance(result, bytes):
                    return Response(result, media_type="application/json", headers={
                        "Content-Disposition": 'attachment; filename="model.json"'})
                return JSONResponse(result)
            except Exception as exc:  # every failure is a message for the page
                return failure(exc)

        return handle

    async def upload(request: Request) -> Response:
        try:
            payload = await read_body(request, MAX_UPLOAD_BYTES)
            name = Path(request.headers.get("x-filename", "upload.csv")).name or "upload.csv"
            return JSONResponse(await work(request, partial(api.upload, name, payload)))
        except Exception as exc:
            return failure(exc)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    names = ("init", "dataset", "columns", "landscape", "train", "step", "exact", "code", "model")
    routes = [Route("/", index), Route("/api/upload", upload, methods=["POST"])]
    routes += [Route(f"/api/{n}", endpoint(n), methods=["GET", "POST"] if n == "init" else
                     ["POST"]) for n in names]
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    return Guard(Starlette(routes=routes), host_names(*address))


def parse_body(raw: bytes) -> dict:
    """A request's JSON object; anything else (or JSON nested too deep) is a ParameterError."""
    try:
        body: Any = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):
        raise ParameterError(
            "The request body is not valid JSON (or is nested too deeply); send one JSON "
            "object, as the playground's page does."
        ) from None
    if not isinstance(body, dict):
        raise ParameterError("The request body must be a JSON object.")
    return body


def load_initial(store: TableStore, data: str | None) -> str | None:
    """Put the command line's DATA (a built-in dataset or a CSV/Parquet file) in the store."""
    if not data:
        return None
    from linearlab.data import reading, sources

    source = sources.open_source(data)
    features, targets = sources.select_columns(source, None, None)
    values = reading.read_columns(source, [*features, *targets[:1]])
    table = store.add_arrays(source.name, values[:, :-1], values[:, -1], features, targets[0])
    return table.id


class Background:
    """A playground server on a thread (tests, benchmarks, notebooks): ``url`` and ``stop()``."""

    def __init__(self, data: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 time_cap: float = TIME_CAP_S):
        _starlette()
        import socket
        import threading
        import time

        import uvicorn

        store = TableStore()
        self._sock = socket.socket(socket.AF_INET)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}/"
        self.app = create_app(store, load_initial(store, data), address=(host, self.port),
                              time_cap=time_cap)
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(data: str | None = None, *, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = True, log=print) -> None:
    """Run the playground until Ctrl-C.

    Parameters
    ----------
    data : str, optional
        A built-in dataset name or a CSV/Parquet file to open with; None opens an empty canvas.
    host : str, default="127.0.0.1"
        Address to bind; the default is reachable from this machine only.
    port : int, default=8765
        TCP port (0 picks a free one).
    open_browser : bool, default=True
        Open the page in the default web browser.
    """
    _starlette()
    import socket

    import uvicorn

    if host.strip() in WILDCARD:
        raise ParameterError(
            f"--host {host!r} would listen on every network, and the playground answers only "
            "requests addressed to the one address it serves. Give that address (127.0.0.1, "
            "the default, or this machine's address on your network)."
        )
    # The page shows every run's diagnosis; fits on two threads would otherwise leak their
    # warnings to this console (warnings.catch_warnings is not thread-safe).
    from linearlab.errors import ConditioningWarning, ConvergenceWarning

    for category in (ConvergenceWarning, ConditioningWarning):
        warnings.filterwarnings("ignore", category=category)
    store = TableStore()
    initial = load_initial(store, data)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        raise ParameterError(
            f"Cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc}); choose "
            "another --host or --port (--port 0 picks any free one)."
        ) from None
    sock.listen(128)  # connections wait in the backlog until the server runs
    bound_host, bound = sock.getsockname()[:2]
    app = create_app(store, initial, address=(bound_host, bound))
    app.hosts = host_names(bound_host, bound, [host])
    url = f"http://{'[' + host + ']' if ':' in host else host}:{bound}/"
    log(f"linearlab playground at {url}  (Ctrl-C stops it)")
    if open_browser:
        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
