// linearlab playground: the page. Every number comes from the server (linearlab's engine);
// this script only draws, animates the recorded paths and sends the controls' settings.
"use strict";

const state = {
  init: null, table: null, points: null, runs: [], landscape: null, exact: null,
  frame: 0, playing: false, animating: false, timer: null, start: null, stepInfo: null,
  view: null, dragging: false,
};

// ------------------------------------------------------------------ server
async function api(name, body) {
  const res = await fetch(`/api/${name}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
  });
  const out = await res.json();
  if (!res.ok) throw new Error(out.error || res.statusText);
  return out;
}

function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  box.textContent = err.message || String(err);
}

function dataSpec() {
  if (state.points) return { points: state.points, xname: "x", yname: "y" };
  if (!state.table) return {};
  return { table: state.table.id, x: state.table.x, y: state.table.y };
}

function nFeatures() { return state.points ? 1 : (state.table ? state.table.x.length : 1); }
function hasData() {
  return state.points ? state.points.x.length >= 2 : !!state.table;
}

function settings(overrides) {
  const s = {
    loss: $("loss").value, optimizer: $("optimizer").value,
    lr: $("lr-auto").checked ? "auto" : Number($("lr-value").value),
    batch_size: $("batch").value ? Number($("batch").value) : null,
    epochs: Number($("epochs").value), standardize: $("standardize").checked,
    backend: $("backend").value, start: state.start,
  };
  return Object.assign(s, overrides || {});
}

// ------------------------------------------------------------------ status
function showStatus() {
  const run = state.runs[0];
  const status = $("status");
  const diag = $("diagnosis");
  status.className = "";
  diag.className = "";
  if (!run) {
    status.textContent = hasData() ? "ready" : "add points";
    $("epoch").textContent = "epoch 0";
    $("loss-label").textContent = "loss";
    $("loss-value").textContent = "–";
    diag.textContent = "";
    return;
  }
  const last = run.path.length - 1;
  const k = Math.min(state.frame, last);
  $("epoch").textContent = `epoch ${k} / ${run.epochs}`;
  // One loss on the status line: the loss at the parameters drawn (after k epochs), the same
  // number the diagnosis and the step panel's "after" line give for them.
  const loss = lossAt(run, k);
  $("loss-label").textContent = lossLabel(run, k);
  $("loss-value").textContent = loss === undefined || loss === null ? "–" : fmt(loss, 6);
  const done = state.frame >= last;
  const n = state.runs.length, converged = state.runs.filter((r) => r.converged).length;
  if (done && state.runs.some((r) => r.diverged)) {
    status.textContent = n > 1 ? `${state.runs.filter((r) => r.diverged).length} of ${n} diverged` : "diverged";
    status.className = "diverged";
  } else if (done && n > 1) { // Compare: "converged" only when every run did
    status.textContent = converged === n ? `all ${n} converged` : `${converged} of ${n} converged`;
    status.className = converged === n ? "converged" : "";
  } else if (done) {
    const at = run.converged_at;
    status.textContent = !run.converged ? "not converged" :
      (at !== null && at !== undefined && at < run.epochs ? `converged at epoch ${at}` : "converged");
    status.className = run.converged ? "converged" : "";
  } else {
    status.textContent = state.playing ? "training" : "paused";
    status.className = "training";
  }
  if (done) {
    diag.innerHTML = "";
    state.runs.forEach((r) => {
      const p = document.createElement("div");
      const text = r.message || (r.converged ? `Converged after ${r.epochs} epochs.` : "");
      p.textContent = (n > 1 ? `${r.label}: ` : "") + text;
      diag.appendChild(p);
    });
    if (state.runs.some((r) => r.diverged)) diag.className = "diverged";
  } else {
    diag.textContent = "";
  }
}

// During an animation, only the epoch and the loss change: written only when they differ
// (a frame's DOM writes stay a few text nodes).
function showProgress() {
  const run = state.runs[0];
  if (!run || state.frame >= run.path.length - 1) { showStatus(); return; }
  const k = state.frame, loss = lossAt(run, k);
  const put = (id, text) => { const el = $(id); if (el.textContent !== text) el.textContent = text; };
  put("status", state.playing ? "training" : "paused");
  put("epoch", `epoch ${k} / ${run.epochs}`);
  put("loss-label", lossLabel(run, k));
  put("loss-value", loss === undefined || loss === null ? "–" : fmt(loss, 6));
}

// The loss at the parameters after k epochs: the engine's history (the loss at each epoch's
// start) and, after the last epoch, the final loss the diagnosis reports.
function lossAt(run, k) {
  if (k < run.history.length) return run.history[k];
  return run.final_loss !== undefined && run.final_loss !== null ? run.final_loss : run.history[run.history.length - 1];
}
function lossLabel(run, k) {
  if (k >= run.history.length) return `loss after epoch ${k}`;
  if (run.settings.batch_size) return `mean batch loss in epoch ${k + 1}`; // mini-batches
  return k === 0 ? "loss at the start" : `loss after epoch ${k}`;
}

// Where the animation stops: the last epoch, or the epoch a converged run stopped changing
// (the later epochs draw a flat line).
function stopFrame() {
  return state.runs.reduce((m, r) => Math.max(m, r.converged && r.converged_at !== null &&
    r.converged_at !== undefined ? r.converged_at : r.path.length - 1), 0);
}

function render() {
  drawData();
  drawLandscape();
  drawHistory();
  showStatus();
  $("start").textContent = (state.start || new Array(nFeatures() + 1).fill(0)).map((v) => fmt(v, 3)).join(", ");
}

// ------------------------------------------------------------------ actions
async function refreshLandscape() {
  if (!hasData()) { state.landscape = null; state.exact = null; render(); return; }
  try {
    const out = await api("landscape", { data: dataSpec(), settings: settings() });
    state.landscape = out.landscape;
    state.exact = out.exact;
    showError(null);
  } catch (err) { showError(err); }
  render();
}

function resetRuns() {
  stopAnimation();
  state.runs = [];
  state.frame = 0;
  state.stepInfo = null;
  $("step-info").innerHTML = "";
  $("lr-chosen").textContent = "";
}

async function train(runs) {
  if (!hasData()) { showError(new Error("Add at least two points first (click on the data plot).")); return false; }
  resetRuns();
  $("status").textContent = "training";
  try {
    const out = await api("train", { data: dataSpec(), runs });
    state.sent = JSON.stringify(runs);
    state.runs = out.runs;
    showChosenLr();
    state.landscape = out.landscape;
    state.exact = out.exact;
    showError(null);
    return true;
  } catch (err) { showError(err); render(); return false; }
}

// With "auto", the step the engine chose: shown next to the box, and put in it (so unticking
// "auto" keeps that step).
function showChosenLr() {
  const run = state.runs[0], box = $("lr-chosen");
  if (!run || run.settings.lr !== "auto" || run.lr === null || run.lr === undefined) { box.textContent = ""; return; }
  box.textContent = state.runs.length > 1
    ? `auto chose ${state.runs.map((r) => `lr = ${fmt(r.lr, 3)} (${r.settings.optimizer})`).join(", ")}`
    : `auto chose lr = ${fmt(run.lr, 4)}`;
  $("lr-value").value = fmt(run.lr, 3);
  sliderFromLr();
}

function stopAnimation() {
  state.playing = false;
  if (state.timer) cancelAnimationFrame(state.timer);
  state.timer = null;
  if (state.animating) {
    state.animating = false;
    document.querySelectorAll("canvas.overlay").forEach((c) => c.getContext("2d").clearRect(0, 0, c.width, c.height));
    render();
  }
}

function play() {
  const end = state.runs.reduce((m, r) => Math.max(m, r.path.length - 1), 0);
  const last = Math.max(state.frame, Math.min(end, stopFrame()));
  state.animatedTo = last;
  const duration = Math.min(DURATION_MS, 40 * Math.max(last - state.frame, 1));
  const from = state.frame, t0 = performance.now();
  state.playing = true;
  state.animating = true;
  render(); // the still parts, once: data, contours, optimum, axes fixed for the whole run
  const tick = (now) => {
    if (!state.playing) return;
    const k = from + Math.ceil(((now - t0) / duration) * (last - from));
    state.frame = Math.max(state.frame, Math.min(last, k));
    drawFrame();
    if (state.frame >= last) { state.frame = end; stopAnimation(); return; }
    state.timer = requestAnimationFrame(tick);
  };
  state.timer = requestAnimationFrame(tick);
}

async function onTrain() {
  const wanted = JSON.stringify([settings()]);
  if (state.runs.length && state.sent === wanted && !state.playing &&
      state.frame < state.runs[0].path.length - 1) {
    play(); // resume after Pause or Step, with the same settings
    return;
  }
  if (await train([settings()])) { render(); play(); }
}

async function onStep() {
  stopAnimation();
  if (!state.runs.length || state.sent !== JSON.stringify([settings()])) {
    if (!(await train([settings()]))) return;
  }
  const run = state.runs[0];
  if (state.frame >= run.path.length - 1) { render(); return; }
  try {
    const info = await api("step", { data: dataSpec(), settings: run.settings,
      theta: run.path[state.frame], lr: run.lr });
    state.stepInfo = info;
    state.frame += 1;
    showStep(info, run);
  } catch (err) { showError(err); }
  render();
}

// One update in seed 002's words: pred, loss, dL_dW, dL_dB, then W = W - lr * dL_dW.
function showStep(info, run) {
  const d = info.grad_w.length, list = (v) => v.map((x) => fmt(x)).join(", ");
  const before = info.theta, after = run.path[state.frame];
  let html = `<div><b>Step ${state.frame}</b>: one update from the parameters of epoch ${state.frame - 1}</div>`;
  html += `<div class="grad">before weight : ${list(before.slice(0, d))}, before bias : ${fmt(before[d])}</div>`;
  html += "<table><tr><th>x</th><th>y</th><th>pred</th></tr>";
  info.rows.forEach((r) => {
    html += `<tr><td>${list(r.x)}</td><td>${fmt(r.y)}</td><td>${fmt(r.prediction)}</td></tr>`;
  });
  html += "</table>";
  html += `<div class="grad">loss before the update : <span id="step-loss">${fmt(info.loss, 6)}</span></div>`;
  info.grad_w.forEach((g, j) => {
    html += `<div class="grad">dL/dW${d > 1 ? `[${j}]` : ""} : <span class="dldw">${fmt(g, 6)}</span></div>`;
  });
  html += `<div class="grad">dL/dB : <span id="dldb">${fmt(info.grad_b, 6)}</span></div>`;
  if (info.next) {
    html += `<div class="grad" id="update-rule">W = W − lr·dL/dW, B = B − lr·dL/dB (lr = ${fmt(info.lr)}): ` +
      `${list(info.next.slice(0, d))}, ${fmt(info.next[d])} (the arrow)</div>`;
    if (info.next_loss !== null && info.next_loss !== undefined) {
      html += `<div class="grad">loss after the update : <span id="step-loss-after">${fmt(info.next_loss, 6)}</span></div>`;
    }
  }
  const plain = run.settings.optimizer === "sgd" && !run.settings.batch_size && !run.settings.standardize;
  html += `<div class="grad">after weight : ${list(after.slice(0, d))}, after bias : ${fmt(after[d])}</div>`;
  html += `<div class="hint">${plain ? "The engine's epoch is exactly this step." :
    `The engine's epoch (${run.settings.optimizer}${run.settings.batch_size ? ", mini-batches" : ""}` +
    `${run.settings.standardize ? ", standardized features" : ""}) differs from the plain step.`}</div>`;
  $("step-info").innerHTML = html;
}

function onPause() {
  stopAnimation();
  showStatus();
}

function onReset() {
  resetRuns();
  refreshLandscape();
}

async function onCompare() {
  const base = settings();
  const runs = ["cmp0", "cmp1", "cmp2"].map((id) => $(id).value).filter((v) => v)
    .map((opt) => Object.assign({}, base, { optimizer: opt }));
  if (await train(runs)) { render(); play(); }
}

async function onCode() {
  const box = $("code-box");
  if (!box.hidden) { box.hidden = true; return; }
  try {
    $("code").textContent = (await api("code", { data: dataSpec(), settings: settings() })).code;
    box.hidden = false;
  } catch (err) { showError(err); }
}

async function onModel() {
  try {
    const res = await fetch("/api/model", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ data: dataSpec(), settings: settings() }) });
    if (!res.ok) throw new Error((await res.json()).error);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url; a.download = "model.json"; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (err) { showError(err); }
}

function onPng() {
  Plotly.downloadImage("landscape-plot", { format: "png", filename: "landscape", width: 900, height: 650 });
}

// ------------------------------------------------------------------ data choice
// The data menu names what is shown: a built-in dataset, the uploaded (or command-line) file,
// or the empty canvas.
function showDataChoice(table) {
  const menu = $("dataset");
  let file = $("file-option");
  if (table && !state.init.datasets.includes(table.name)) {
    if (!file) {
      file = new Option("", "__file__");
      file.id = "file-option";
      menu.add(file, 1);
    }
    file.textContent = `file: ${table.name}`;
    state.fileTable = table;
    menu.value = "__file__";
  } else {
    menu.value = table ? table.name : "";
  }
}

function setTable(table) {
  state.table = table;
  showDataChoice(table);
  state.points = null;
  state.start = null;
  const xs = $("xcols"), ys = $("ycol");
  xs.innerHTML = ""; ys.innerHTML = "";
  $("xsummary").textContent = table ? table.x.join(", ") : "x";
  if (table) {
    table.columns.forEach((c) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox"; box.value = c; box.checked = table.x.includes(c);
      box.addEventListener("change", onColumns);
      label.append(box, " " + c);
      xs.appendChild(label);
      ys.add(new Option(c, c, false, c === table.y));
    });
    $("datainfo").textContent = `${table.name}: ${table.rows} rows` + (table.sampled ? " (drawing a sample)" : "");
  } else {
    state.points = { x: [], y: [] };
    $("datainfo").textContent = "click on the data plot to add points";
  }
  resetRuns();
  refreshLandscape();
}

async function onDataset() {
  const name = $("dataset").value;
  if (name === "__file__") { setTable(state.fileTable); return; }
  try { setTable(name ? await api("dataset", { name }) : null); showError(null); } catch (err) { showError(err); }
}

async function onColumns() {
  const x = [...$("xcols").querySelectorAll("input:checked")].map((o) => o.value)
    .filter((c) => c !== $("ycol").value);
  try {
    const table = await api("columns", { table: state.table.id, x: x.length ? x : null, y: $("ycol").value });
    const keepName = state.table.name;
    setTable(Object.assign(table, { name: keepName }));
  } catch (err) { showError(err); }
}

async function onUpload() {
  const file = $("upload").files[0];
  if (!file) return;
  if (file.size > state.init.limits.upload_bytes) {
    showError(new Error(`The file is ${(file.size / 1e6).toFixed(1)} MB, over the ${state.init.limits.upload_bytes / 1e6} MB limit.`));
    return;
  }
  try {
    const res = await fetch("/api/upload", { method: "POST", body: file,
      headers: { "Content-Type": "text/csv", "X-Filename": file.name } });
    const out = await res.json();
    if (!res.ok) throw new Error(out.error);
    setTable(out);
    showError(null);
  } catch (err) { showError(err); }
}

// ------------------------------------------------------------------ dragging
function axisCoords(div, event) {
  const full = div._fullLayout;
  const box = div.querySelector(".nsewdrag") || div;
  const rect = box.getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  if (px < 0 || py < 0 || px > rect.width || py > rect.height) return null;
  return { x: full.xaxis.p2l(px), y: full.yaxis.p2l(py), px, py };
}

function editablePoints() {
  if (nFeatures() !== 1) return false;
  if (!state.points) {
    if (state.table.sampled) { showError(new Error("This table is too large to edit point by point.")); return false; }
    state.points = { x: state.table.X.map((r) => r[0]), y: state.table.target.slice() };
  }
  return true;
}

// The exact fit follows a dragged point: one request at a time, the latest points always last.
let liveBusy = false, livePending = false;
async function liveExact() {
  if (state.points.x.length < 2) return;
  if (liveBusy) { livePending = true; return; }
  liveBusy = true;
  try { state.exact = await api("exact", { data: dataSpec(), settings: settings() }); } catch (err) { /* keep last */ }
  liveBusy = false;
  drawData();
  if (livePending) { livePending = false; liveExact(); }
}

function setupDataDrag() {
  const div = $("data-plot");
  let dragging = -1;
  div.addEventListener("mousedown", (ev) => {
    if (nFeatures() !== 1 || ev.button !== 0) return;
    const at = axisCoords(div, ev);
    if (!at || !editablePoints()) return;
    const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis;
    let best = -1, bestD = 10;
    state.points.x.forEach((x, i) => {
      const d = Math.hypot(xa.l2p(x) - at.px, ya.l2p(state.points.y[i]) - at.py);
      if (d < bestD) { bestD = d; best = i; }
    });
    if (ev.shiftKey) {
      if (best >= 0) { state.points.x.splice(best, 1); state.points.y.splice(best, 1); }
      resetRuns(); refreshLandscape();
      return;
    }
    if (best < 0) {
      state.points.x.push(at.x); state.points.y.push(at.y);
      best = state.points.x.length - 1;
    }
    dragging = best;
    state.dragging = !!state.view;
    resetRuns();
    liveExact();
    drawData();
    ev.preventDefault();
  });
  window.addEventListener("mousemove", (ev) => {
    if (dragging < 0) return;
    const at = axisCoords(div, ev);
    if (!at) return;
    state.points.x[dragging] = at.x; state.points.y[dragging] = at.y;
    drawData();
    liveExact();
  });
  window.addEventListener("mouseup", () => {
    if (dragging < 0) return;
    dragging = -1;
    state.dragging = false;
    refreshLandscape();
  });
}

function setupStartDrag() {
  const div = $("landscape-plot");
  let dragging = false;
  div.addEventListener("mousedown", (ev) => {
    if (!state.landscape || ev.button !== 0) return;
    const at = axisCoords(div, ev);
    if (!at) return;
    const start = state.runs.length ? state.landscape.paths[0][0] : (state.landscape.starts[0] || [0, 0]);
    const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis;
    const near = Math.hypot(xa.l2p(start[0]) - at.px, ya.l2p(start[1]) - at.py) < 14;
    if (!near && !ev.altKey) return;
    dragging = true;
    resetRuns();
    ev.preventDefault();
    moveStart(at);
  });
  window.addEventListener("mousemove", (ev) => {
    if (!dragging) return;
    const at = axisCoords(div, ev);
    if (at) moveStart(at);
  });
  window.addEventListener("mouseup", () => {
    if (!dragging) return;
    dragging = false;
    refreshLandscape();
  });
}

function moveStart(at) {
  state.start = lift(at.x, at.y);
  state.landscape.starts = [[at.x, at.y]];
  Plotly.restyle("landscape-plot", { x: [[at.x]], y: [[at.y]] }, [1 + state.runs.length]);
  $("start").textContent = state.start.map((v) => fmt(v, 3)).join(", ");
  drawData();
}

// ------------------------------------------------------------------ controls
function lrFromSlider() { $("lr-value").value = fmt(10 ** Number($("lr-slider").value), 3); }
function sliderFromLr() {
  const v = Number($("lr-value").value);
  if (v > 0) $("lr-slider").value = Math.log10(v);
}

async function main() {
  state.init = await api("init");
  const fill = (id, values, chosen) => {
    values.forEach((v) => $(id).add(new Option(v, v, false, v === chosen)));
  };
  fill("dataset", state.init.datasets, "");
  fill("loss", state.init.losses, "mse");
  fill("optimizer", state.init.optimizers, "sgd");
  fill("backend", state.init.backends, "numpy");
  ["sgd", "momentum", "adam"].forEach((chosen, j) => fill(`cmp${j}`, state.init.optimizers, chosen));
  $("epochs").max = state.init.limits.epochs;
  $("lr-auto").addEventListener("change", () => {
    $("lr-slider").disabled = $("lr-value").disabled = $("lr-auto").checked;
  });
  $("lr-slider").addEventListener("input", lrFromSlider);
  $("lr-value").addEventListener("change", sliderFromLr);
  $("loss").addEventListener("change", onReset);
  $("standardize").addEventListener("change", onReset);
  $("dataset").addEventListener("change", onDataset);
  $("upload").addEventListener("change", onUpload);
  $("ycol").addEventListener("change", onColumns);
  $("train").addEventListener("click", onTrain);
  $("pause").addEventListener("click", onPause);
  $("step").addEventListener("click", onStep);
  $("reset").addEventListener("click", onReset);
  $("compare").addEventListener("click", onCompare);
  $("show-code").addEventListener("click", onCode);
  $("download-model").addEventListener("click", onModel);
  $("download-png").addEventListener("click", onPng);
  setupDataDrag();
  setupStartDrag();
  $("code-close").addEventListener("click", () => { $("code-box").hidden = true; });
  if (state.init.table) {
    setTable(state.init.table);
  } else {
    setTable(null);
  }
  document.body.dataset.ready = "1";
}

main().catch(showError);
