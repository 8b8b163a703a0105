// linearlab playground: drawing. The plots (plotly.js) and the animation overlay; the page's
// state and actions are in app.js, which this file's functions read at call time.
"use strict";

const $ = (id) => document.getElementById(id);
const COLORS = ["#d62728", "#ff7f0e", "#7b2d8e"];
const OPT = "#2ca02c";
const LOG_RATIO = 10; // loss history on a log axis when it spans a decade (as the PNGs)
// matplotlib's Blues_r, as the PNG landscapes: the valley floor dark, high loss white.
const BLUES_R = [[0, "#08306b"], [0.125, "#08519c"], [0.25, "#2171b5"], [0.375, "#4292c6"],
  [0.5, "#6baed6"], [0.625, "#9ecae1"], [0.75, "#c6dbef"], [0.875, "#deebf7"], [1, "#f7fbff"]];
const ANIMATED_ROWS = 500; // predicted-vs-actual points moved per animation frame, at most
const DURATION_MS = 2500; // an animation lasts about this long (shorter for short runs)
const PLOT_CFG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

// ------------------------------------------------------------------ numbers
function fmt(v, digits = 4) {
  if (v === null || v === undefined || !isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1).replace(/\.?0+e/, "e").replace("e+", "e");
  return String(Number(v.toPrecision(digits)));
}
// [min, max] of the finite values, by a loop: spreading a large array into Math.min(...) or
// Math.max(...) overflows the call stack (RangeError) from about 100,000 values.
function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
function dot(a, b) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; }
function project(theta) {
  const p = state.landscape.plane;
  const d = theta.map((t, i) => t - p.origin[i]);
  return [dot(d, p.u), dot(d, p.v)];
}
function lift(a, c) {
  const p = state.landscape.plane;
  return p.origin.map((o, i) => o + a * p.u[i] + c * p.v[i]);
}

// ------------------------------------------------------------------ data plot
function rows() {
  if (state.points) return { X: state.points.x.map((x) => [x]), y: state.points.y };
  if (state.table) return { X: state.table.X, y: state.table.target };
  return { X: [], y: [] };
}

// The rows an animation frame moves (predicted vs actual), kept while the same table is shown.
function animationSample() {
  const { X, y } = rows();
  const cached = state.sample;
  if (cached && cached.source === X && cached.target === y) return cached;
  const every = Math.ceil(X.length / ANIMATED_ROWS), sample = { source: X, target: y, X: [], y: [] };
  for (let i = 0; i < X.length; i += every) { sample.X.push(X[i]); sample.y.push(y[i]); }
  state.sample = sample;
  return sample;
}

function currentTheta() {
  const run = state.runs[0];
  if (run) return run.path[Math.min(state.frame, run.path.length - 1)];
  return state.start || new Array(nFeatures() + 1).fill(0);
}

// The data plot's axes: the data's range (or a fixed canvas for points clicked on an empty
// page), widened to hold every point but never moved while a point is dragged.
const CANVAS = [[-5, 5], [-10, 10]];
function dataView(xs, ys) {
  if (state.view && state.dragging) return state.view;
  const span = (v, pad) => {
    const [lo, hi] = extent(v), p = pad * (hi - lo || Math.abs(lo) || 1);
    return [lo - p, hi + p];
  };
  let view = [xs.length ? span(xs, 0.08) : CANVAS[0], ys.length ? span(ys, 0.12) : CANVAS[1]];
  if (state.table === null) { // an empty canvas keeps its frame, growing only to hold points
    view = view.map((r, i) => [Math.min(r[0], CANVAS[i][0]), Math.max(r[1], CANVAS[i][1])]);
  }
  state.view = view;
  return view;
}

function drawData() {
  const { X, y } = rows();
  const theta = currentTheta();
  const traces = [];
  const layout = {
    margin: { l: 52, r: 10, t: 30, b: 40 }, dragmode: false, showlegend: true,
    legend: { x: 0, y: 1, bgcolor: "rgba(255,255,255,0.7)", font: { size: 10 } },
  };
  if (nFeatures() === 1) {
    const xs = X.map((r) => r[0]);
    const [[lo, hi], [ylo, yhi]] = dataView(xs, y);
    traces.push({ x: xs, y, mode: "markers", type: "scatter", name: "data",
      marker: { color: "#1f77b4", size: 8, opacity: 0.8 } });
    if (state.exact) {
      const [w] = state.exact.coef, b = state.exact.intercept;
      const best = state.exact.kind === "numerical" ? `best ${state.exact.loss_name} fit` : "exact fit";
      traces.push({ x: [lo, hi], y: [w * lo + b, w * hi + b], mode: "lines", name: best,
        line: { color: OPT, dash: "dash", width: 2 } });
    }
    const moving = state.animating ? [[], []] : [[lo, hi], [theta[0] * lo + theta[1], theta[0] * hi + theta[1]]];
    traces.push({ x: moving[0], y: moving[1],
      mode: "lines", name: state.runs.length ? "GD line" : "start line",
      line: { color: COLORS[0], width: 2.5 } });
    const name = state.table && !state.points ? state.table.x[0] : "x";
    Object.assign(layout, {
      title: { text: "data and line (click to add, drag to move, shift-click to delete)", font: { size: 12 } },
      xaxis: { title: { text: name }, range: [lo, hi], fixedrange: true, zeroline: false,
        exponentformat: "e" },
      yaxis: { title: { text: state.table && !state.points ? state.table.y : "y" },
        range: [ylo, yhi], fixedrange: true, zeroline: false, exponentformat: "e" },
    });
  } else {
    const pred = X.map((r) => dot(r, theta) + theta[theta.length - 1]);
    const [lo, hi] = extent(y);
    const span = (v) => { const [a, b] = extent(v), p = 0.06 * (b - a || 1); return [a - p, b + p]; };
    // While animating, the axis holds the predictions of the whole path: of a few dozen of its
    // points (every row at every epoch would be rows x epochs numbers).
    const path = state.animating ? state.runs[0].path : [];
    const every = Math.max(1, Math.ceil(path.length / 40));
    const thetas = path.filter((_, i) => i % every === 0 || i === path.length - 1);
    const limit = 1e3 * (Math.abs(hi) + Math.abs(lo) + 1);
    const shown = y.slice();
    (state.animating ? thetas : [theta]).forEach((t) => X.forEach((r) => {
      const v = dot(r, t) + t[t.length - 1];
      if (isFinite(v) && Math.abs(v) < limit) shown.push(v);
    }));
    const yr = span(shown);
    traces.push({ x: state.animating ? [] : y, y: state.animating ? [] : pred, mode: "markers", type: "scatter", name: "rows",
      marker: { color: "#1f77b4", size: 6, opacity: 0.7 } });
    traces.push({ x: [lo, hi], y: [lo, hi], mode: "lines", name: "perfect", line: { color: OPT, dash: "dash" } });
    Object.assign(layout, {
      title: { text: "predicted vs actual", font: { size: 12 } },
      xaxis: { title: { text: `actual ${state.table.y}` }, range: span(y), fixedrange: true },
      yaxis: { title: { text: "predicted" }, range: yr, fixedrange: true },
    });
  }
  Plotly.react("data-plot", traces, layout, PLOT_CFG);
}

// ------------------------------------------------------------------ landscape
function drawLandscape() {
  const L = state.landscape;
  if (!L) { Plotly.react("landscape-plot", [], { title: { text: "loss landscape" } }, PLOT_CFG); return; }
  const traces = [{
    type: "contour", x: L.a, y: L.c, z: L.z, name: "loss", hoverinfo: "skip",
    colorscale: BLUES_R, autocontour: false, contours: L.contours,
    line: { color: "rgba(255,255,255,0.6)", width: 0.6 },
    colorbar: { tickvals: L.ticks.values, ticktext: L.ticks.labels, thickness: 12,
      title: { text: L.colorbar, side: "right", font: { size: 10 } } },
  }];
  // The first run is drawn last, on top: compared paths often overlap near the optimum.
  state.runs.map((run, j) => [run, j]).reverse().forEach(([run, j]) => {
    const pts = L.paths[j] || [];
    const shown = state.animating ? [] : pts.slice(0, state.frame + 1);
    traces.push({ x: shown.map((p) => p[0]), y: shown.map((p) => p[1]), mode: "lines+markers",
      name: run.label, meta: "path", line: { color: COLORS[j], width: 2 },
      marker: { size: pts.length > 150 ? 0 : 4 } });
  });
  const start = state.runs.length ? L.paths[0][0] : (L.starts[0] || [0, 0]);
  traces.push({ x: [start[0]], y: [start[1]], mode: "markers", name: "start (drag)",
    marker: { size: 13, color: "rgba(0,0,0,0)", line: { color: "#111", width: 2.2 } } });
  if (L.optimum) {
    traces.push({ x: [L.optimum[0]], y: [L.optimum[1]], mode: "markers", name: "optimum",
      marker: { symbol: "star", size: 17, color: OPT, line: { color: "#fff", width: 1 } } });
  }
  const annotations = [];
  const info = state.stepInfo;
  if (info && info.next) {
    const [x0, y0] = project(info.theta), [x1, y1] = project(info.next);
    annotations.push({ x: x1, y: y1, ax: x0, ay: y0, xref: "x", yref: "y", axref: "x", ayref: "y",
      showarrow: true, arrowhead: 3, arrowsize: 1.3, arrowwidth: 2.2, arrowcolor: "#111", text: "" });
  }
  Plotly.react("landscape-plot", traces, {
    // No legend over (or under) the paths: the key is a line under the title, and each run's
    // colour is named in the loss history's legend and the diagnosis.
    title: { text: `${L.title}<br><span style="font-size:10px;color:#555">○ start (drag it)` +
      ` · ${optimumKey(L)}${info && info.next ? " · ➔ one gradient step" : ""}` +
      `${state.runs.length ? " · paths: " + state.runs.map((r, j) => `<span style="color:${COLORS[j]}">` +
        `${r.settings.optimizer}</span>`).join(", ") : ""}</span>`, font: { size: 12 } },
    margin: { l: 56, r: 10, t: 44, b: 40 },
    xaxis: { title: { text: L.xlabel }, range: L.xlim, fixedrange: true, exponentformat: "e" },
    yaxis: { title: { text: L.ylabel }, range: L.ylim, fixedrange: true, exponentformat: "e" },
    dragmode: false, showlegend: false, annotations,
  }, PLOT_CFG);
}

// What the star is: the exact optimum (squared losses), a numerical minimum (mae, huber), or
// why there is none.
function optimumKey(L) {
  if (L.optimum_kind === "exact") return "★ exact optimum";
  if (L.optimum_kind === "numerical") return "★ optimum (numerical minimum of the loss)";
  return L.optimum_kind || "no optimum marked";
}

// ------------------------------------------------------------------ history
function historyAxis() {
  const all = state.runs.flatMap((r) => r.history).filter((v) => isFinite(v));
  const [lo, hi] = extent(all);
  const log = all.length > 0 && all.every((v) => v > 0) && hi >= LOG_RATIO * lo;
  if (!all.length) return { log, range: undefined };
  const pad = 0.05 * (hi - lo || 1);
  return { log, range: log ? [Math.log10(lo) - 0.1, Math.log10(hi) + 0.1] : [lo - pad, hi + pad] };
}

// Log-axis ticks at 1, 2 and 5 per decade (1 per decade when it spans many), labelled in
// full: Plotly's own log ticks label the minor ones "2", "5", which read as the wrong numbers.
function logTicks(range) {
  if (!range) return {};
  const [a, b] = range, decades = b - a;
  const steps = decades > 6 ? [1] : decades > 2 ? [1, 3] : [1, 2, 5];
  const pick = (ms) => {
    const vals = [];
    for (let k = Math.floor(a); k <= Math.ceil(b); k++) {
      ms.forEach((m) => { const v = m * 10 ** k; if (Math.log10(v) >= a && Math.log10(v) <= b) vals.push(v); });
    }
    return vals;
  };
  let vals = pick(steps);
  if (vals.length < 3) vals = pick([1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]); // less than a decade
  return { tickvals: vals, ticktext: vals.map((v) => fmt(v, 3)) };
}

function drawHistory() {
  const shown = state.animating ? 0 : state.frame + 1;
  const traces = state.runs.map((run, j) => ({
    x: run.history.slice(0, shown).map((_, i) => i),
    y: run.history.slice(0, shown), mode: "lines", name: run.label,
    line: { color: COLORS[j], width: 2 },
  }));
  const { log, range } = historyAxis();
  let maxEpochs = Math.max(1, extent(state.runs.map((r) => r.history.length - 1))[1]);
  if (!state.animating && state.frame < maxEpochs) { // stepping or paused: zoom to the epochs seen
    maxEpochs = Math.min(maxEpochs, Math.max(10, Math.ceil(1.25 * state.frame)));
  }
  Plotly.react("history-plot", traces, {
    title: { text: `loss history${log ? " (log scale)" : ""}`, font: { size: 12 } },
    margin: { l: 56, r: 10, t: 30, b: 40 }, showlegend: state.runs.length > 1,
    legend: { x: 1, xanchor: "right", y: 1, font: { size: 10 } },
    xaxis: { title: { text: "epoch" }, range: [0, maxEpochs], fixedrange: true },
    yaxis: Object.assign({ title: { text: `loss (${$("loss").value})` }, type: log ? "log" : "linear",
      exponentformat: "e", fixedrange: true }, log ? logTicks(range) : {}, {
      range: state.animating ? range : undefined, autorange: !state.animating }),
  }, PLOT_CFG);
}

// A transparent canvas over a plot, in its data coordinates (Plotly's axis conversions): an
// animation frame draws only the moving parts there, so the plots are not redrawn per frame.
function overlay(id) {
  const div = $(id);
  let cv = div.parentElement.querySelector("canvas.overlay");
  const w = div.clientWidth, h = div.clientHeight, dpr = window.devicePixelRatio || 1;
  if (!cv) {
    cv = document.createElement("canvas");
    cv.className = "overlay";
    div.parentElement.appendChild(cv);
  }
  if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
    cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr);
    cv.style.width = `${w}px`; cv.style.height = `${h}px`;
  }
  const ctx = cv.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const L = div._fullLayout, size = L._size;
  ctx.save();
  ctx.beginPath(); ctx.rect(size.l, size.t, size.w, size.h); ctx.clip();
  // Data to pixels once per frame from each axis's range (what Plotly's c2p computes, without
  // its per-call cost: thousands of points a frame).
  const scale = (ax, offset, length, flip) => {
    const [a, b] = ax.range, log = ax.type === "log", k = length / (b - a);
    return (v) => { const u = log ? Math.log10(v) : v; return offset + (flip ? b - u : u - a) * k; };
  };
  return {
    ctx, X: scale(L.xaxis, size.l, size.w, false), Y: scale(L.yaxis, size.t, size.h, true),
    // A polyline through points 0..n-1 given by accessors (no arrays built per frame); past
    // a few thousand points, every k-th one (and the last), which the eye cannot tell apart.
    line(n, xAt, yAt, color, width) {
      ctx.beginPath();
      let open = false;
      const every = Math.max(1, Math.floor(n / 3000));
      for (let i = 0; i < n; i += (i + every < n || i === n - 1 ? every : n - 1 - i)) {
        const px = this.X(xAt(i)), py = this.Y(yAt(i));
        if (!isFinite(px) || !isFinite(py)) { open = false; continue; }
        if (open) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        open = true;
      }
      ctx.strokeStyle = color; ctx.lineWidth = width; ctx.stroke();
    },
    dot(x, y, color, r) {
      ctx.beginPath(); ctx.arc(this.X(x), this.Y(y), r, 0, 2 * Math.PI); ctx.fillStyle = color; ctx.fill();
    },
    // Many points as small squares: thousands of arcs cost a software-rendered frame
    // milliseconds; squares cost a fraction of that.
    dots(xs, ys, color, r) {
      ctx.fillStyle = color;
      for (let i = 0; i < xs.length; i++) {
        const px = this.X(xs[i]), py = this.Y(ys[i]);
        if (isFinite(px) && isFinite(py)) ctx.fillRect(px - r, py - r, 2 * r, 2 * r);
      }
    },
    done() { ctx.restore(); },
  };
}

function drawFrame() {
  const t0 = performance.now();
  const L = state.landscape;
  const land = overlay("landscape-plot");
  state.runs.map((_, j) => j).reverse().forEach((j) => {
    const pts = L.paths[j], n = Math.min(state.frame + 1, pts.length);
    land.line(n, (i) => pts[i][0], (i) => pts[i][1], COLORS[j], 2);
    const at = pts[n - 1];
    land.dot(at[0], at[1], COLORS[j], 4.5);
  });
  land.done();
  const theta = currentTheta();
  const data = overlay("data-plot");
  if (nFeatures() === 1) {
    const [lo, hi] = $("data-plot")._fullLayout.xaxis.range;
    data.line(2, (i) => (i ? hi : lo), (i) => theta[0] * (i ? hi : lo) + theta[1], COLORS[0], 2.5);
  } else {
    // A frame moves an even sample of the rows drawn (the plot shows all of them once the
    // animation stops): a frame's cost stays that of a small table however many rows. The
    // sample and its actual values are taken once per animation.
    const sample = animationSample();
    const d = theta.length - 1, ys = new Float64Array(sample.X.length);
    for (let i = 0; i < ys.length; i++) {
      const r = sample.X[i];
      let v = theta[d];
      for (let j = 0; j < d; j++) v += r[j] * theta[j];
      ys[i] = v;
    }
    data.dots(sample.y, ys, "rgba(31,119,180,0.7)", 2.5);
  }
  data.done();
  const hist = overlay("history-plot");
  state.runs.forEach((run, j) => {
    const h = run.history;
    hist.line(Math.min(state.frame + 1, h.length), (i) => i, (i) => h[i], COLORS[j], 2);
  });
  hist.done();
  showProgress();
  window.__frameTimes = window.__frameTimes || [];
  window.__frameTimes.push(performance.now() - t0);
}
