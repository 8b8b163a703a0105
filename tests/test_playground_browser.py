"""The playground page in a real browser: headless Chromium (the system's ``chromium`` package)
driven by Playwright. Load, Train (the loss falls, the epoch count rises), Step (the gradient's
numbers and arrow), divergence, compare, upload, columns, point and start dragging, code and
model download, and no console errors anywhere.

Without Chromium these tests are skipped with a plain reason, except under CI (``CI=true``),
where ``.ci/run`` installs it and a missing browser is a failure. Set
``LINEARLAB_SCREENSHOTS=DIR`` to keep the screenshots (``docs/gallery/`` holds some).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from linearlab import load, load_dataset

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("LINEARLAB_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return ("Chromium is not installed (Debian: apt-get install chromium); the playground's "
                "browser tests need it")
    return None


REASON = _unavailable()
if REASON and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    pytest.fail(f"CI must run the browser tests, but {REASON}.", pytrace=False)
if REASON:
    pytest.skip(f"browser tests skipped: {REASON}.", allow_module_level=True)
pytest.importorskip("starlette")

from playwright.sync_api import sync_playwright  # noqa: E402

from linearlab.playground.server import Background  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with Background("noisy-line") as bg:
        yield bg


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, server, request, tmp_path):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(f"{m.type}: {m.text}")
           if m.type in ("error", "warning") else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    elsewhere: list[str] = []  # the page works offline: everything comes from the server
    tab.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:"))
           else elsewhere.append(r.url))
    tab.problems = problems
    tab.goto(server.url)
    tab.wait_for_selector("body[data-ready='1']")
    tab.wait_for_selector("#landscape-plot .contour")
    yield tab
    shots = Path(os.environ.get("LINEARLAB_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(shots / f"playground-{request.node.name.removeprefix('test_')}.png"))
    context.close()
    assert not problems, problems  # no console errors or warnings, in any test
    assert not elsewhere, elsewhere


def finished(page) -> None:
    page.wait_for_function("() => !state.playing && state.runs.length > 0 && "
                           "state.frame >= state.runs[0].path.length - 1")


def number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def test_load_draws_data_line_landscape_and_optimum(page):
    assert page.inner_text("#status") == "ready"
    assert "noisy-line: 100 rows" in page.inner_text("#datainfo")
    names = page.evaluate("document.getElementById('landscape-plot').data.map(t => t.name)")
    assert names[0] == "loss" and "optimum" in names and "start (drag)" in names
    assert page.evaluate("document.getElementById('data-plot').data[0].x.length") == 100
    title = page.evaluate("document.getElementById('landscape-plot').layout.title.text")
    assert title.startswith("Loss landscape over (w, b)<br>") and "exact optimum" in title


def test_train_the_loss_falls_and_the_epoch_count_rises(page):
    page.fill("#epochs", "300")
    page.uncheck("#lr-auto")
    page.fill("#lr-value", "0.02")
    page.dispatch_event("#lr-value", "change")
    page.click("#train")
    samples = []
    for _ in range(200):
        text = page.inner_text("#epoch")
        if "epoch" in text and "/" in text:
            epoch = int(text.split("epoch ")[1].split(" /")[0])
            loss = page.inner_text("#loss-value")
            if loss != "–":
                samples.append((epoch, number(loss)))
        if page.evaluate("!state.playing && state.runs.length > 0"):
            break
        time.sleep(0.03)
    finished(page)
    final_epoch = int(page.inner_text("#epoch").split("epoch ")[1].split(" /")[0])
    final_loss = number(page.inner_text("#loss-value"))
    samples.append((final_epoch, final_loss))
    epochs = [e for e, _ in samples]
    assert final_epoch == 300 and len(set(epochs)) >= 2 and epochs == sorted(epochs)
    assert final_loss < samples[0][1]
    history = page.evaluate("state.runs[0].history")
    assert history[-1] < history[0] and len(history) == 300  # the loss at each epoch's start
    path = page.evaluate("document.getElementById('landscape-plot').data[1].x.length")
    assert path == 301  # the whole recorded path is drawn once training stops
    assert page.inner_text("#status").startswith(("converged", "not converged"))
    assert page.inner_text("#diagnosis")


def test_step_shows_prediction_loss_and_gradient_numbers(page):
    page.uncheck("#lr-auto")
    page.fill("#lr-value", "0.01")
    page.dispatch_event("#lr-value", "change")
    page.click("#step")
    page.wait_for_selector("#dldb")
    data = load_dataset("noisy-line")
    x, y = data.X[:, 0], data.y
    residual = 0.0 * x - y  # the start is w = b = 0
    assert number(page.inner_text("#dldb")) == pytest.approx(np.mean(2 * residual), rel=1e-5)
    assert number(page.inner_text(".dldw")) == pytest.approx(np.mean(2 * residual * x), rel=1e-5)
    assert number(page.inner_text("#step-loss")) == pytest.approx(np.mean(residual**2), rel=1e-5)
    info = page.inner_text("#step-info")
    assert "pred" in info and "before weight" in info and "after weight" in info
    assert "exactly this step" in info  # full-batch SGD: the arrow is the engine's update
    arrows = page.evaluate("document.getElementById('landscape-plot').layout.annotations")
    assert len(arrows) == 1 and arrows[0]["showarrow"]
    assert page.inner_text("#epoch").startswith("epoch 1 /")
    page.click("#step")
    page.wait_for_function("document.getElementById('epoch').textContent.startsWith('epoch 2')")
    assert "Step 2" in page.inner_text("#step-info")


def test_divergence_is_shown_as_a_state(page):
    page.uncheck("#lr-auto")
    page.fill("#lr-value", "1.5")
    page.dispatch_event("#lr-value", "change")
    page.click("#train")
    finished(page)
    assert page.inner_text("#status") == "diverged"
    assert page.get_attribute("#status", "class") == "diverged"
    assert "diverged" in page.inner_text("#diagnosis") and "lr=" in page.inner_text("#diagnosis")
    assert page.is_hidden("#error")


def test_compare_draws_three_paths(page):
    page.click("#compare")
    finished(page)
    paths = page.evaluate("document.getElementById('landscape-plot').data"
                          ".filter(t => t.meta === 'path' && t.x.length > 1).map(t => t.name)")
    assert len(paths) == 3
    assert sorted(p.split(",")[0] for p in paths) == ["adam", "momentum", "sgd"]
    assert page.evaluate("document.getElementById('history-plot').data.length") == 3


def test_upload_a_csv_and_choose_columns(page, tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    target = 3 * a - 2 * b + 1 + 0.1 * rng.normal(size=50)
    csv = tmp_path / "two.csv"
    csv.write_text("a,b,target\n" + "".join(f"{p},{q},{t}\n" for p, q, t in
                                            zip(a, b, target, strict=True)))
    page.set_input_files("#upload", str(csv))
    page.wait_for_function("document.getElementById('datainfo').textContent.includes('two.csv')")
    assert "50 rows" in page.inner_text("#datainfo")
    page.wait_for_function("document.getElementById('data-plot').layout.title.text"
                           " === 'predicted vs actual'")
    assert page.evaluate("[state.table.x, state.table.y]") == [["a", "b"], "target"]
    page.click("#xpick summary")
    page.uncheck("#xcols input[value='b']")
    page.wait_for_function("state.table && state.table.x.length === 1")
    page.wait_for_function("document.getElementById('data-plot').layout.title.text"
                           ".startsWith('data and line')")
    page.click("#train")
    finished(page)
    assert page.evaluate("state.runs[0].path[0].length") == 2


def test_points_added_and_dragged_refit_live(page):
    page.select_option("#dataset", "")
    page.wait_for_function("state.points && state.points.x.length === 0")
    box = page.locator("#data-plot .nsewdrag").bounding_box()
    for fx, fy in ((0.2, 0.8), (0.5, 0.5), (0.8, 0.25)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.wait_for_function("state.exact && state.points.x.length === 3")
    slope = page.evaluate("state.exact.coef[0]")
    assert slope > 0
    x0 = box["x"] + 0.8 * box["width"]
    page.mouse.move(x0, box["y"] + 0.25 * box["height"])
    page.mouse.down()
    page.mouse.move(x0, box["y"] + 0.9 * box["height"], steps=5)
    page.mouse.up()
    page.wait_for_function(f"state.exact.coef[0] < {slope}")
    xs, ys = page.evaluate("[state.points.x, state.points.y]")
    expected = np.polyfit(xs, ys, 1)[0]
    page.wait_for_function(f"Math.abs(state.exact.coef[0] - ({expected})) < 1e-9 * "
                           f"(1 + Math.abs({expected}))")  # the last drag position, fitted


def test_start_point_dragged_on_the_landscape(page):
    start = page.evaluate("""() => { const d = document.getElementById('landscape-plot');
        const t = d.data.find(t => t.name === 'start (drag)');
        const box = d.querySelector('.nsewdrag').getBoundingClientRect();
        const ax = d._fullLayout.xaxis, ay = d._fullLayout.yaxis;
        return [box.left + ax.l2p(t.x[0]), box.top + ay.l2p(t.y[0]),
                box.left + box.width * 0.3, box.top + box.height * 0.8]; }""")
    page.mouse.move(start[0], start[1])
    page.mouse.down()
    page.mouse.move(start[2], start[3], steps=4)
    page.mouse.up()
    page.wait_for_function("state.start !== null")
    moved = page.evaluate("state.start")
    page.click("#train")
    finished(page)
    assert page.evaluate("state.runs[0].path[0]") == pytest.approx(moved)
    assert page.evaluate("state.runs[0].settings.start") == pytest.approx(moved)


def test_show_code_and_download_the_model(page, tmp_path):
    page.click("#show-code")
    page.wait_for_selector("#code-box:not([hidden])")
    code = page.inner_text("#code")
    assert "LinearRegression(" in code and 'solver="gd"' in code
    # The code has room: a panel over the plots, not a strip of the sidebar.
    assert page.evaluate("document.getElementById('code').closest('aside') === null")
    box = page.locator("#code").bounding_box()
    aside = page.locator("aside").bounding_box()
    assert box["width"] >= 600 and box["x"] >= aside["x"] + aside["width"]
    lines = code.splitlines()
    assert page.evaluate("(() => { const e = document.getElementById('code');"
                         " return e.scrollWidth <= e.clientWidth; })()"), lines
    page.click("#code-close")
    page.wait_for_selector("#code-box", state="hidden")
    with page.expect_download() as download:
        page.click("#download-model")
    target = tmp_path / "model.json"
    download.value.save_as(str(target))
    assert json.loads(target.read_text())["format"].startswith("linearlab.model")
    assert load(target).coef_.shape == (1,)
    with page.expect_download() as png:
        page.click("#download-png")
    saved = tmp_path / "landscape.png"
    png.value.save_as(str(saved))
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_refusals_are_messages_on_the_page(page):
    page.fill("#epochs", "100000000")
    page.click("#train")
    page.wait_for_selector("#error:not([hidden])")
    assert "epochs" in page.inner_text("#error") and "refused" in page.inner_text("#error")
    # The browser logs the refusal's HTTP status (400); nothing else may appear.
    assert all("status of 400" in p for p in page.problems), page.problems
    page.problems.clear()


def test_pause_resume_and_reset(page):
    page.fill("#epochs", "5000")
    page.uncheck("#lr-auto")
    page.fill("#lr-value", "0.001")
    page.dispatch_event("#lr-value", "change")
    page.click("#train")
    page.wait_for_function("state.playing && state.frame > 0")
    page.click("#pause")
    assert page.inner_text("#status") == "paused"
    stopped = page.evaluate("state.frame")
    assert 0 < stopped < 5000
    time.sleep(0.3)
    assert page.evaluate("state.frame") == stopped  # paused means paused
    page.click("#train")  # same settings: resumes the same run
    finished(page)
    assert page.evaluate("state.runs[0].epochs") == 5000
    page.click("#reset")
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")
    assert page.inner_text("#epoch") == "epoch 0"


# --------------------------------------------------------------------------- the learner's path
def write_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """``rows`` x 4 numeric columns: three features and the target, named as a user would."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3)) * [1.0, 2.0, 0.5] + [0.0, 5.0, -1.0]
    price = X @ [3.0, -1.5, 2.0] + 4.0 + rng.normal(0, 0.5, rows)
    table = np.column_stack([X, price])
    np.savetxt(path, table, delimiter=",", header="size,rooms,age,price", comments="", fmt="%.6g")
    return path


def upload_file(page, path: Path) -> None:
    page.set_input_files("#upload", str(path))
    page.wait_for_function(f"state.table && state.table.name === '{path.name}' && state.landscape")
    page.wait_for_selector("#landscape-plot .contour")


@pytest.mark.parametrize("rows", [1_000, 5_000, 50_000])
def test_uploads_of_many_rows_train_and_every_plot_draws(page, tmp_path, rows):
    upload_file(page, write_csv(tmp_path / f"rows{rows}.csv", rows))
    assert f"{rows} rows" in page.inner_text("#datainfo")
    page.click("#train")  # used to throw RangeError (Math.max(...array)) from 1,000 rows
    finished(page)
    drawn = min(rows, 2_000)
    data = page.evaluate("document.getElementById('data-plot').data.map(t => t.x.length)")
    assert data[0] == drawn  # every (sampled) row, predicted vs actual
    epochs = page.evaluate("state.runs[0].epochs")
    path = page.evaluate("document.getElementById('landscape-plot').data"
                         ".filter(t => t.meta === 'path')[0].x.length")
    assert path == epochs + 1
    assert page.evaluate("document.getElementById('history-plot').data[0].y.length") == epochs
    assert page.evaluate("document.querySelectorAll('#landscape-plot .contour').length") >= 1
    assert page.inner_text("#status") != "paused" and page.is_hidden("#error")
    assert page.evaluate("window.__frameTimes.length") > 0  # the animation ran


def test_labels_follow_the_upload(page, tmp_path):
    upload_file(page, write_csv(tmp_path / "homes.csv", 300))
    menu = page.evaluate("(() => { const m = document.getElementById('dataset');"
                         " return m.options[m.selectedIndex].text; })()")
    assert menu == "file: homes.csv"
    page.uncheck("#lr-auto")
    page.fill("#lr-value", "0.001")
    page.dispatch_event("#lr-value", "change")
    page.fill("#epochs", "50")
    page.click("#train")
    finished(page)
    diagnosis = page.inner_text("#diagnosis")
    assert "Not converged" in diagnosis
    assert "·size" in diagnosis and "·rooms" in diagnosis and "·age" in diagnosis
    assert "x0" not in diagnosis and "x1" not in diagnosis
    page.select_option("#dataset", "three-points")
    page.wait_for_function("state.table && state.table.name === 'three-points'")
    page.select_option("#dataset", "__file__")  # the file stays in the menu
    page.wait_for_function("state.table && state.table.name === 'homes.csv'")


def test_one_loss_per_screen_or_each_labelled(page):
    page.uncheck("#lr-auto")
    page.fill("#lr-value", "0.01")
    page.dispatch_event("#lr-value", "change")
    page.click("#train")
    finished(page)
    status_loss = page.inner_text("#loss-value")
    assert page.inner_text("#loss-label") == "loss after epoch 200"
    diagnosis = page.inner_text("#diagnosis")
    assert f"the loss is {status_loss}," in diagnosis  # the same number (4.54002), not 4.54339
    page.click("#reset")
    for k in (1, 2, 3):
        page.click("#step")
        page.wait_for_function(f"document.getElementById('epoch').textContent"
                               f".startsWith('epoch {k} ')")
    info = page.inner_text("#step-info")
    assert "loss before the update" in info and "loss after the update" in info
    assert page.inner_text("#loss-label") == "loss after epoch 3"
    assert page.inner_text("#step-loss-after") == page.inner_text("#loss-value")
    assert number(page.inner_text("#step-loss")) > number(page.inner_text("#loss-value"))


def test_compare_says_converged_only_when_every_run_did(page):
    page.fill("#epochs", "200")
    page.click("#compare")
    finished(page)
    runs = page.evaluate("state.runs.map(r => r.converged)")
    status = page.inner_text("#status")
    if all(runs):
        assert status == "all 3 converged"
    else:
        assert status == f"{sum(runs)} of 3 converged"
        assert page.get_attribute("#status", "class") != "converged"
    for line, converged in zip(page.inner_text("#diagnosis").splitlines(), runs, strict=True):
        assert ("Not converged" in line) != converged


def test_auto_step_is_shown_and_a_converged_run_stops(page):
    assert page.is_checked("#lr-auto")
    page.click("#train")
    finished(page)
    run = page.evaluate("({lr: state.runs[0].lr, at: state.runs[0].converged_at, epochs:"
                        " state.runs[0].epochs, frames: window.__frameTimes.length,"
                        " animated: state.animatedTo})")
    assert f"auto chose lr = {run['lr']:.4g}" == page.inner_text("#lr-chosen")
    assert number(page.input_value("#lr-value")) == pytest.approx(run["lr"], rel=1e-2)
    assert run["at"] is not None and run["at"] < 20 < run["epochs"]
    assert page.inner_text("#status") == f"converged at epoch {run['at']}"
    assert f"Converged at epoch {run['at']} of {run['epochs']}" in page.inner_text("#diagnosis")
    assert "converged_" not in page.inner_text("#diagnosis")
    # The animation ran to the epoch it converged at (40 ms an epoch), not over 200 flat ones.
    assert run["animated"] == run["at"] and page.evaluate("state.frame") == run["epochs"]
    assert run["frames"] <= 3 * (run["at"] + 2) + 10


def test_wording_of_the_update_and_robust_optimum(page):
    page.uncheck("#lr-auto")
    page.fill("#lr-value", "0.05")
    page.dispatch_event("#lr-value", "change")
    page.click("#step")
    page.wait_for_selector("#update-rule")
    rule = page.inner_text("#update-rule")
    assert rule.startswith("W = W − lr·dL/dW, B = B − lr·dL/dB") and "-1" not in rule
    for loss in ("mae", "huber"):
        page.select_option("#loss", loss)
        page.wait_for_function("state.landscape && state.landscape.optimum_kind === 'numerical'")
        names = page.evaluate("document.getElementById('landscape-plot').data.map(t => t.name)")
        assert "optimum" in names
        title = page.evaluate("document.getElementById('landscape-plot').layout.title.text")
        assert "optimum (numerical minimum of the loss)" in title
        assert page.evaluate("state.exact.kind") == "numerical"
    page.select_option("#loss", "mae")
    page.fill("#lr-value", "0.5")
    page.dispatch_event("#lr-value", "change")
    page.click("#train")
    finished(page)
    assert page.inner_text("#status") == "not converged"  # mae's plateau rule: still changing
    loss = page.inner_text("#loss-value")  # the diagnosis quotes the status line's loss
    assert f"the loss is {loss} after the last epoch" in page.inner_text("#diagnosis")
