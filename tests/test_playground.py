"""linearlab.playground's server: the JSON API runs the real engine (trajectories, landscape,
step), refuses what it should with a message, never opens a path the page sends, serves its own
files, and the command starts, prints its URL and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest

from linearlab import LinearRegression, load, load_dataset
from linearlab.playground import runs
from linearlab.playground.server import Api, Background
from linearlab.playground.tables import MAX_UPLOAD_BYTES, TableStore
from linearlab.viz.surface import contour_levels, loss_grid, make_plane
from linearlab.viz.view import PlotData

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def server():
    with Background("noisy-line") as bg:
        yield bg


def post(url: str, name: str, body, raw: bytes | None = None, headers=None):
    data = raw if raw is not None else json.dumps(body).encode()
    if headers is None:
        headers = {"Content-Type": "text/csv" if name == "upload" else "application/json"}
    request = urllib.request.Request(f"{url}api/{name}", data=data, method="POST",
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def post_json(url, name, body):
    status, payload, _ = post(url, name, body)
    return status, json.loads(payload)


@pytest.fixture()
def api():
    return Api(TableStore(), None)


def table_spec(api: Api, name: str) -> dict:
    return {"table": api.dataset({"name": name})["id"]}


# --------------------------------------------------------------------------- the engine's numbers
def test_train_returns_the_estimators_recorded_path_and_history(api):
    spec = table_spec(api, "noisy-line")
    out = api.train({"data": spec, "runs": [{"epochs": 300, "lr": 0.05, "optimizer": "momentum"}]})
    (run,) = out["runs"]
    data = load_dataset("noisy-line")
    X = np.ascontiguousarray(data.X)  # the server's table stores columns and stacks them
    model = LinearRegression(solver="gd", epochs=300, lr=0.05, optimizer="momentum",
                             random_state=runs.RANDOM_STATE).fit(X, data.y)
    np.testing.assert_array_equal(run["path"], model.params_history_[:, :, 0])
    np.testing.assert_array_equal(run["history"], model.history_)
    assert run["epochs"] == model.n_iter_ and run["lr"] == model.learning_rate_
    assert run["message"] == (model.diagnosis_ or runs.converged_message(run))
    assert not run["diverged"]
    assert out["exact"]["coef"][0] == pytest.approx(LinearRegression().fit(data.X, data.y).coef_[0])


def test_landscape_grid_is_the_viz_grid(api):
    spec = table_spec(api, "noisy-line")
    out = api.train({"data": spec, "runs": [{"epochs": 50, "lr": 0.1}]})
    land = out["landscape"]
    data = load_dataset("noisy-line")
    model = LinearRegression(solver="gd", epochs=50, lr=0.1, random_state=0).fit(data.X, data.y)
    from linearlab.viz.view import model_view

    view = model_view(model)
    pdata = PlotData(np.asarray(data.X, float), np.asarray(data.y, float), ["x"], "y")
    plane = make_plane([view], pdata)
    a, c, Z = loss_grid(plane, view, pdata, land["xlim"], land["ylim"], len(land["a"]))
    np.testing.assert_allclose(land["a"], a)
    levels = contour_levels(Z)
    np.testing.assert_allclose(land["z"], levels.coordinate(Z))
    assert land["ticks"]["labels"] == levels.labels
    assert len(set(levels.labels)) == len(levels.labels)
    assert (land["xlabel"], land["ylabel"]) == ("weight w (x)", "intercept b")
    np.testing.assert_allclose(land["paths"][0], np.asarray(out["runs"][0]["path"]))
    exact = LinearRegression().fit(data.X, data.y)
    np.testing.assert_allclose(land["optimum"], [exact.coef_[0], exact.intercept_], rtol=1e-9)


def test_several_features_get_a_slice_through_the_optimum(api):
    spec = table_spec(api, "diabetes")
    out = api.landscape({"data": spec, "settings": {}})
    land = out["landscape"]
    assert land["plane"]["projected"] and "slice through the optimum" in land["title"]
    assert land["xlabel"] == "direction 1 (steepest curvature)"
    out = api.train({"data": spec, "runs": [{"epochs": 60, "standardize": True},
                                            {"epochs": 60, "standardize": True,
                                             "optimizer": "adam"}]})
    assert len(out["landscape"]["paths"]) == 2
    assert "of the path's length" in out["landscape"]["xlabel"]


def test_step_is_the_engines_update(api):
    spec = table_spec(api, "three-points")
    out = api.train({"data": spec, "runs": [{"epochs": 5, "lr": 0.01}]})
    path = np.asarray(out["runs"][0]["path"])
    info = api.step({"data": spec, "settings": {"lr": 0.01}, "theta": path[0].tolist(),
                     "lr": 0.01})
    data = load_dataset("three-points")
    x, y = data.X[:, 0], data.y
    residual = path[0, 0] * x + path[0, 1] - y
    assert info["loss"] == pytest.approx(np.mean(residual**2))
    assert info["grad_w"][0] == pytest.approx(np.mean(2 * residual * x))
    assert info["grad_b"] == pytest.approx(np.mean(2 * residual))
    np.testing.assert_allclose(info["next"], path[1], rtol=1e-12)  # full-batch SGD's step
    assert [r["prediction"] for r in info["rows"]] == pytest.approx(
        list(path[0, 0] * x[:3] + path[0, 1]))


def test_divergence_is_a_state_with_the_path_before_it(api):
    spec = table_spec(api, "noisy-line")
    (run,) = api.train({"data": spec, "runs": [{"epochs": 200, "lr": 1.5}]})["runs"]
    assert run["diverged"] and not run["converged"]
    assert "diverged" in run["message"] and run["suggested_lr"] > 0
    history = np.asarray(run["history"])
    assert len(run["path"]) >= 3 and history[-1] > 100 * history[0]  # the overshoot, drawn


def test_code_reproduces_the_run_and_model_file_loads(api, tmp_path):
    spec = table_spec(api, "noisy-line")
    settings = {"epochs": 40, "lr": 0.05, "batch_size": 10, "start": [1.0, -2.0]}
    (run,) = api.train({"data": spec, "runs": [settings]})["runs"]
    code = api.code({"data": spec, "settings": settings})["code"]
    data = load_dataset("noisy-line")
    scope = {"X": data.X, "y": data.y, "print": lambda *a: None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(code, scope)  # the page's own snippet, run as a user would
    np.testing.assert_array_equal(scope["model"].params_history_[:, :, 0], run["path"])
    target = tmp_path / "model.json"
    target.write_bytes(api.model({"data": spec, "settings": settings}))
    assert load(target).coef_[0] == pytest.approx(run["path"][-1][0])


def test_points_from_the_page_are_fitted_exactly(api):
    points = {"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]}
    out = api.exact({"data": {"points": points}})
    assert out["coef"][0] == pytest.approx(2.0) and out["intercept"] == pytest.approx(1.0)
    with pytest.raises(Exception, match="at least two points"):
        api.exact({"data": {"points": {"x": [1.0], "y": [2.0]}}})


# --------------------------------------------------------------------------- limits and safety
def test_absurd_epochs_and_bad_settings_are_refused_with_a_message(server):
    spec = {"table": post_json(server.url, "dataset", {"name": "noisy-line"})[1]["id"]}
    status, out = post_json(server.url, "train", {"data": spec, "runs": [{"epochs": 10**9}]})
    assert status == 400 and "epochs" in out["error"] and str(runs.MAX_EPOCHS) in out["error"]
    status, out = post_json(server.url, "train", {"data": spec, "runs": [{"optimizer": "rmsprop"}]})
    assert status == 400 and "Unknown optimizer" in out["error"]
    status, out = post_json(server.url, "train", {"data": spec, "runs": [{}] * 4})
    assert status == 400 and "1 to 3 runs" in out["error"]


def test_uploads_over_the_limit_are_refused(server):
    status, payload, _ = post(server.url, "upload", None, raw=b"x,y\n" + b"1,2\n" * 10,
                              headers={"Content-Length": str(MAX_UPLOAD_BYTES + 1),
                                       "X-Filename": "big.csv", "Content-Type": "text/csv"})
    assert status == 400 and "over the playground's limit of 52 MB" in json.loads(payload)["error"]


def test_upload_reads_the_numeric_columns(server):
    body = b"size,colour,rooms,price\n1,red,2,10\n2,blue,3,14\n3,red,3,17\n4,red,5,25\n"
    status, payload, _ = post(server.url, "upload", None, raw=body,
                              headers={"X-Filename": "../../etc/homes.csv",
                                       "Content-Type": "text/csv"})
    table = json.loads(payload)
    assert status == 200, table
    assert table["name"] == "homes.csv" and table["columns"] == ["size", "rooms", "price"]
    assert (table["x"], table["y"], table["rows"]) == (["size", "rooms"], "price", 4)
    status, out = post_json(server.url, "columns", {"table": table["id"], "x": ["size"],
                                                    "y": "price"})
    assert out["X"] == [[1.0], [2.0], [3.0], [4.0]]
    status, payload, _ = post(server.url, "upload", None, raw=b"a,b\nx,y\n")
    assert status == 400 and "two numeric columns" in json.loads(payload)["error"]


def test_the_server_never_opens_a_path_the_page_sends(server, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("x,y\n1,2\n2,4\n3,6\n")
    status, out = post_json(server.url, "dataset", {"name": str(secret)})
    assert status == 400 and "Unknown dataset" in out["error"]
    status, out = post_json(server.url, "train", {"data": {"table": str(secret)}})
    assert status == 400 and "no longer loaded" in out["error"]
    status, out = post_json(server.url, "columns", {"table": "nope", "x": [str(secret)]})
    assert status == 400


def test_concurrent_requests_get_their_own_answers(server):
    spec = {"table": post_json(server.url, "dataset", {"name": "noisy-line"})[1]["id"]}
    lrs = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3]
    results: dict[float, list] = {}

    def one(lr):
        status, out = post_json(server.url, "train", {"data": spec, "runs": [{"lr": lr,
                                                                             "epochs": 100}]})
        results[lr] = out["runs"][0]["path"]

    threads = [threading.Thread(target=one, args=(lr,)) for lr in lrs * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = load_dataset("noisy-line")
    for lr in lrs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LinearRegression(solver="gd", lr=lr, epochs=100, random_state=0)
            X = np.ascontiguousarray(data.X)
            expected = model.fit(X, data.y).params_history_[:, :, 0]
        np.testing.assert_array_equal(results[lr], expected)


def test_page_and_plotting_library_are_served_from_the_package(server):
    with urllib.request.urlopen(server.url, timeout=30) as response:
        page = response.read().decode()
    assert "/static/plotly-cartesian.min.js" in page and "/static/plots.js" in page
    assert "http" not in page.split("<body>")[1]  # nothing from a CDN
    for asset in ("app.js", "plots.js", "style.css", "plotly-cartesian.min.js"):
        with urllib.request.urlopen(f"{server.url}static/{asset}", timeout=30) as response:
            assert response.status == 200 and len(response.read()) > 1000
    with urllib.request.urlopen(f"{server.url}api/init", timeout=30) as response:
        init = json.loads(response.read())
    assert init["table"]["name"] == "noisy-line" and init["limits"]["epochs"] == runs.MAX_EPOCHS


# --------------------------------------------------------------------------- the command
def test_command_prints_its_url_binds_localhost_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "linearlab", "playground", "three-points", "--port", "0",
         "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("linearlab playground at http://127.0.0.1:"), line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(f"{url}api/init", timeout=30) as response:
            assert json.loads(response.read())["table"]["name"] == "three-points"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "playground stopped" in out


def test_command_reports_a_missing_file_plainly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "linearlab", "playground", str(tmp_path / "none.csv"),
         "--no-browser", "--port", "0"], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "none.csv" in result.stderr


def test_torch_backend_draws_the_same_path(api):
    pytest.importorskip("torch")
    spec = table_spec(api, "three-points")
    runs_out = api.train({"data": spec, "runs": [{"epochs": 30, "lr": 0.05},
                                                 {"epochs": 30, "lr": 0.05,
                                                  "backend": "torch"}]})["runs"]
    np.testing.assert_allclose(runs_out[1]["path"], runs_out[0]["path"], rtol=1e-10)
    assert "backend=\"torch\"" in runs_out[1]["code"]


def test_command_line_data_may_be_a_parquet_or_csv_file(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from linearlab.playground.server import load_initial

    pq.write_table(pa.table({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 0, 3], "y": [3.0, 4, 5, 7]}),
                   tmp_path / "t.parquet")
    (tmp_path / "t.csv").write_text("size,price\n1,10\n2,14\n3,17\n")
    store = TableStore()
    table = store.get(load_initial(store, str(tmp_path / "t.parquet")))
    assert (table.x, table.y) == (["a", "b"], "y")
    np.testing.assert_array_equal(table.columns["b"], [2.0, 1, 0, 3])
    table = store.get(load_initial(store, str(tmp_path / "t.csv")))
    assert (table.x, table.y, table.columns["price"].tolist()) == (["size"], "price",
                                                                   [10.0, 14.0, 17.0])
    assert load_initial(store, None) is None  # no DATA: the empty canvas


# --------------------------------------------------------------------------- only its own page
def raw_request(url: str, request: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """Send ``request`` (bytes, any headers) to the server; (status, body)."""
    host, port = url.split("//")[1].strip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def http(method: str, path: str, host: str, headers: dict | None = None,
         body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("method,path", [("GET", "/api/init"), ("POST", "/api/init"),
                                         ("GET", "/"), ("GET", "/static/app.js")])
def test_dns_rebinding_another_host_is_refused(server, method, path):
    json_type = {"Content-Type": "application/json"}
    status, body = raw_request(server.url, http(method, path, f"evil.example:{server.port}",
                                                json_type, b"{}"))
    assert status == 403 and b"only its own page" in body and b"noisy-line" not in body
    status, body = raw_request(server.url, http(method, path, f"127.0.0.1:{server.port + 1}",
                                                json_type, b"{}"))
    assert status == 403
    for own in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        status, body = raw_request(server.url, http(method, path, own, json_type, b"{}"))
        assert status == 200, body


def test_cross_site_requests_are_refused(server):
    own = f"127.0.0.1:{server.port}"
    form = http("POST", "/api/dataset", own, {"Content-Type": "text/plain"}, b'{"name": "x"}')
    status, body = raw_request(server.url, form)  # a no-cors fetch or a plain form
    assert status == 415 and b"application/json" in body
    for kind in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""):
        status, _ = raw_request(server.url, http("POST", "/api/train", own,
                                                 {"Content-Type": kind} if kind else {}, b"{}"))
        assert status == 415
    status, body = raw_request(server.url, http("POST", "/api/upload", own,
                                                {"Content-Type": "text/plain"}, b"a,b\n1,2\n"))
    assert status == 415 and b"text/csv" in body
    evil = {"Content-Type": "application/json", "Origin": "http://evil.example"}
    status, body = raw_request(server.url, http("POST", "/api/init", own, evil, b"{}"))
    assert status == 403 and b"evil.example" in body
    status, _ = raw_request(server.url, http("POST", "/api/init", own, {
        "Content-Type": "application/json", "Origin": "null"}, b"{}"))
    assert status == 403
    mine = {"Content-Type": "application/json", "Origin": f"http://{own}"}
    assert raw_request(server.url, http("POST", "/api/init", own, mine, b"{}"))[0] == 200
    status, _ = raw_request(server.url, http("GET", "/api/train", own))
    assert status == 405  # only init may be read with GET; the rest are POSTs


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


MALFORMED = [
    ("train", deep(100_000)),
    ("train", b'{"data": ' + deep(50_000) + b"}"),
    ("train", b"not json"),
    ("train", b"\xff\xfe{}"),
    ("train", b"[1, 2]"),
    ("train", {"runs": [{"start": [1e308, 1e308]}]}),
    ("landscape", {"settings": {"start": [1e308, 1e308]}}),
    ("landscape", {"settings": {"start": 5}}),
    ("landscape", {"settings": {"start": [1, 2, 3]}}),
    ("train", {"runs": [{"start": 5}]}),
    ("train", {"runs": [{"start": "ab"}]}),
    ("train", {"runs": 5}),
    ("train", {"runs": [5]}),
    ("train", {"runs": [{"epochs": True}]}),
    ("train", {"runs": [{"epochs": [1]}]}),
    ("train", {"runs": [{"epochs": 1e400}]}),
    ("train", {"runs": [{"lr": [0.1]}]}),
    ("train", {"runs": [{"batch_size": {}}]}),
    ("train", {"runs": [{"batch_size": 1e300}]}),
    ("train", {"runs": [{"standardize": "no"}]}),
    ("train", {"runs": [{"alpha": 1e308}]}),
    ("train", {"settings": [1]}),
    ("step", {"theta": [1e308, 1e308], "lr": 0.1}),
    ("step", {"theta": [1e16, 1e16], "lr": 0.1}),
    ("step", {"theta": 5}),
    ("step", {"theta": None}),
    ("step", {"theta": [0, 0], "lr": -1}),
    ("step", {"theta": [0, 0], "lr": "fast"}),
    ("exact", {"settings": {"loss": ["mse"]}}),
    ("columns", {"x": 5}),
    ("columns", {"y": {}}),
    ("columns", {"x": ["x"], "y": ["y"]}),
    ("dataset", {"name": {"a": 1}}),
    ("code", {"settings": {"start": {"a": 1}}}),
    ("model", {"settings": {"optimizer": None}}),
]


@pytest.mark.parametrize("name,body", MALFORMED, ids=[f"{n}-{i}" for i, (n, _) in
                                                      enumerate(MALFORMED)])
def test_malformed_requests_are_400_with_a_message(server, name, body):
    table = post_json(server.url, "dataset", {"name": "noisy-line"})[1]["id"]
    if isinstance(body, dict):
        key = "table" if name == "columns" else "data"
        body = {key: table if key == "table" else {"table": table}, **body}
        raw = json.dumps(body).encode()
    else:
        raw = body
    status, payload, _ = post(server.url, name, None, raw=raw)
    assert status == 400, payload
    message = json.loads(payload)["error"]
    assert message and "Internal error" not in message and "Traceback" not in message


# --------------------------------------------------------------------------- limits
def upload(url: str, text: str, name: str = "up.csv"):
    status, payload, _ = post(url, "upload", None, raw=text.encode(),
                              headers={"Content-Type": "text/csv", "X-Filename": name})
    return status, json.loads(payload)


def test_wide_uploads_are_refused_before_parsing(server):
    for columns in (20_000, 100_000):
        header = ",".join(f"c{j}" for j in range(columns))
        row = ",".join("1" for _ in range(columns))
        status, out = upload(server.url, f"{header}\n{row}\n{row}\n")
        assert status == 400 and f"{columns} columns" in out["error"]
        assert "200 columns" in out["error"]
    for end in ("\n", "\r"):
        status, out = upload(server.url, f"a,b{end}" + f"1,2{end}" * 2_600_000)
        assert status == 400 and "5,000,000 values" in out["error"]


def test_total_work_is_bounded_with_a_message(server):
    header = ",".join(f"c{j}" for j in range(150))
    row = ",".join("1" for _ in range(150))
    status, wide = upload(server.url, f"{header}\n{row}\n{row}\n")
    assert status == 200
    status, out = post_json(server.url, "train", {"data": {"table": wide["id"]},
                                                  "runs": [{"epochs": 20_000}]})
    assert status == 400 and "too much work" in out["error"] and "at most 6665" in out["error"]
    assert "150 parameters to record" in out["error"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=100_000)
    status, tall = upload(server.url, "x,y\n" + "".join(f"{v:.4f},{2 * v:.4f}\n" for v in x))
    assert status == 200 and tall["rows"] == 100_000
    spec = {"table": tall["id"]}
    status, out = post_json(server.url, "train", {"data": spec, "runs": [
        {"epochs": 20_000, "batch_size": 1, "lr": 0.001}]})
    assert status == 400 and "100000 updates per epoch" in out["error"]
    assert "at most 5 epochs" in out["error"]
    status, out = post_json(server.url, "train", {"data": spec, "runs": [{"epochs": 20_000}]})
    assert status == 400 and "at most 2500 epochs" in out["error"]


def test_a_request_past_the_time_cap_is_stopped_and_the_server_goes_on():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    with Background(time_cap=1.5) as bg:
        status, table = upload(bg.url, "x,y\n" + "".join(f"{v:.4f},{3 * v:.4f}\n" for v in x))
        # 500,000 momentum updates: seconds of work in the plain loop (plain SGD would take
        # the compiled kernel, milliseconds once numba has compiled it)
        slow = {"data": {"table": table["id"]},
                "runs": [{"epochs": 25, "batch_size": 1, "lr": 0.001, "optimizer": "momentum"}]}
        status, out = post_json(bg.url, "train", slow)
        assert status == 400 and "time cap of 1.5 s" in out["error"]
        status, out = post_json(bg.url, "dataset", {"name": "three-points"})
        assert status == 200 and out["rows"] == 3, out


def test_abandoned_requests_are_cancelled_and_the_page_still_answers():
    rng = np.random.default_rng(1)
    x = rng.normal(size=20_000)
    with Background() as bg:
        status, table = upload(bg.url, "x,y\n" + "".join(f"{v:.4f},{3 * v:.4f}\n" for v in x))
        body = json.dumps({"data": {"table": table["id"]}, "runs": [
            {"epochs": 20, "batch_size": 1, "lr": 0.001, "optimizer": "momentum"}]}).encode()
        own = f"127.0.0.1:{bg.port}"
        for _ in range(45):
            with socket.create_connection(("127.0.0.1", bg.port), timeout=10) as conn:
                conn.sendall(http("POST", "/api/train", own,
                                  {"Content-Type": "application/json"}, body))
            # closed at once: the client went away
        with urllib.request.urlopen(bg.url, timeout=30) as response:
            assert response.status == 200 and b"playground" in response.read()
        status, out = post_json(bg.url, "train", {"data": {"table": table["id"]},
                                                  "runs": [{"epochs": 3}]})
        assert status == 200


def test_bad_command_line_options_are_usage_errors():
    for args in (["--port", "99999"], ["--port", "-1"], ["--port", "http"],
                 ["--host", "0.0.0.0"], ["--host", "no.such.host.invalid", "--port", "0"]):
        result = subprocess.run([sys.executable, "-m", "linearlab", "playground", "--no-browser",
                                 *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr and "numerically" not in result.stderr
        assert args[1] in result.stderr


def test_the_page_never_spreads_an_array_into_math_min_or_max():
    """``Math.max(...values)`` throws RangeError past ~100,000 values (issue 22's crash on a
    1,000-row upload); the page's scripts use a loop (``extent``) instead."""
    import re
    from pathlib import Path

    from linearlab.playground.server import STATIC

    for script in ("app.js", "plots.js"):
        code = Path(STATIC / script).read_text()
        code = "\n".join(line.split("//")[0] for line in code.splitlines())  # not comments
        assert not re.search(r"Math\.(min|max)\([^)]*\.\.\.", code), script
