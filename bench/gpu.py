"""The GPU targets of issue 11, side by side in one run, plus the CUDA tests: one table.

For each workload the peer (a hand-written PyTorch loop, or linearlab on the CPU) and
linearlab ``backend="torch"`` run in this process on the same data; the table prints both times
and their ratio (linearlab / peer: below 1 is faster) next to the target.

- full batch: 1e7 x 100 float32, 50 epochs; the seeds' loop (nn.Linear, MSELoss, optim.SGD)
  with the data already on the device, against ``LinearRegression(solver="gd",
  backend="torch")`` fitted on the same device tensors. Target: within 1.5x.
- mini-batches of 1024: 1e6 x 100 float32, 2 epochs; the seeds' autograd loop, the same step
  with the hand-derived gradient, and that step captured in a CUDA graph (the limit), against
  linearlab (``engine="auto"``: hand-derived gradient + CUDA graphs; and ``engine="loop"``).
  Target: no slower than the autograd loop; moonshot within 2x of the graph limit per epoch.
- exact: 5e6 x 100 float64 from host arrays; linearlab on the CPU against linearlab on the
  device (pinned, overlapped copies; Gram and Cholesky there), and torch.linalg.lstsq on the
  device as a reference. Target: >= 4x faster than the CPU (moonshot 15x), coefficients equal
  to 1e-10.

    python bench/gpu.py                          # on a machine with a GPU (about 3 minutes)
    python bench/gpu.py --quick --device cpu     # the same script, small, on the CPU
    python bench/gpu.py --skip-tests             # the benchmarks alone
    python bench/gpu.py --only exact --skip-tests  # one workload (exact, full_batch, mini_batch)

The exact section also prints where the time of the fit from host arrays goes: the host checks
left (X's values are checked by the device's own pass), the staging of X to the device (pinned,
overlapped copies), the device Gram pass (staging included) and the rest (the small solve).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback

import numpy as np
import torch
from torch_peers import quietly, regression_data, seeds_loop, timed

from linearlab import LinearRegression
from linearlab.data.tensors import resolve_device, stream_blocks
from linearlab.design.table import validate_input
from linearlab.exact.device import device_gram

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_FILES = ["tests/test_device_exact.py", "tests/test_device_descent.py"]
WORKLOADS = ("full_batch", "mini_batch", "exact")


# --------------------------------------------------------------------------- the peers
def hand_step(X, Y, W, b, rows, lr):
    """One SGD step with the hand-derived gradient of the mean squared error."""
    xb, yb = X.index_select(0, rows), Y.index_select(0, rows)
    r = torch.addmm(b, xb, W).sub_(yb)
    g = r * (2.0 / r.numel())
    W.sub_((xb.T @ g).mul_(lr))
    b.sub_(g.sum(0).mul_(lr))


def hand_derived(X, y, epochs, batch_size, lr, graph: bool):
    """Mini-batch SGD with the hand-derived gradient; ``graph`` replays a captured epoch."""
    n, d = X.shape
    Y = y[:, None]
    W = torch.zeros((d, 1), device=X.device, dtype=X.dtype)
    b = torch.zeros(1, device=X.device, dtype=X.dtype)
    order = torch.empty(n, dtype=torch.long, device=X.device)
    starts = range(0, n, batch_size)

    def epoch():
        for s in starts:
            hand_step(X, Y, W, b, order[s:s + batch_size], lr)

    captured = None
    for e in range(epochs):
        order.copy_(torch.randperm(n, device=X.device))
        if graph and e == 1:  # epoch 0 eager: the warm-up
            captured = torch.cuda.CUDAGraph()
            torch.cuda.synchronize()
            with torch.cuda.graph(captured):
                epoch()
        if captured is not None:
            captured.replay()
        else:
            epoch()
    return W


# --------------------------------------------------------------------------- workloads
def full_batch(args, rows):
    n, d, epochs, lr = args.full_rows, 100, 50, 0.1
    X, y = regression_data(n, d, torch.float32, args.device)
    hand_s, _ = timed(lambda: seeds_loop(X, y, epochs, None, lr), args.device, args.repeats)
    model = LinearRegression(solver="gd", backend="torch", device=args.device, dtype="float32",
                             epochs=epochs, lr=lr)
    ours_s, _ = timed(quietly(lambda: model.fit(X, y)), args.device, args.repeats)
    rows.append((f"full batch {n:.0e} x {d} f32, {epochs} epochs", "seeds' loop (data on device)",
                 hand_s, "linearlab torch, fit(tensors)", ours_s, ours_s / hand_s,
                 "<= 1.5", ours_s / hand_s <= 1.5))


def mini_batch(args, rows):
    n, d, batch, lr = args.mini_rows, 100, 1024, 0.01
    X, y = regression_data(n, d, torch.float32, args.device, seed=1)
    gpu = torch.device(args.device).type == "cuda"
    autograd_s, _ = timed(lambda: seeds_loop(X, y, 2, batch, lr), args.device)
    derived_s, _ = timed(lambda: hand_derived(X, y, 2, batch, lr, graph=False), args.device)
    settings = dict(solver="gd", backend="torch", device=args.device, dtype="float32",
                    batch_size=batch, lr=lr, average=False, random_state=0)

    def ours(epochs, engine="auto"):
        model = LinearRegression(epochs=epochs, engine=engine, **settings)
        return quietly(lambda: model.fit(X, y))

    auto_s, auto = timed(ours(2), args.device)
    loop_s, loop = timed(ours(2, "loop"), args.device)
    same = float(np.max(np.abs(np.subtract(auto.history_, loop.history_))
                        / np.abs(loop.history_)))
    label = f"mini-batch 1024, {n:.0e} x {d} f32, 2 epochs"
    rows.append((label, "seeds' autograd loop", autograd_s, "linearlab auto", auto_s,
                 auto_s / autograd_s, "<= 1", auto_s <= autograd_s))
    rows.append((label, "seeds' autograd loop", autograd_s, "linearlab engine='loop'", loop_s,
                 loop_s / autograd_s, "(info)", None))
    rows.append((label, "hand-derived eager", derived_s, "linearlab auto", auto_s,
                 auto_s / derived_s, "(info)", None))
    rows.append((label, "auto vs loop engine", 0.0, "max rel. history diff", same, same,
                 "< 1e-3 (f32)", same < 1e-3))
    # steady state per epoch: (12 epochs - 2 epochs) / 10, so one-time costs cancel
    long_s, _ = timed(ours(12), args.device)
    per_epoch = (long_s - auto_s) / 10
    if gpu:
        g2, _ = timed(lambda: hand_derived(X, y, 2, batch, lr, graph=True), args.device)
        g12, _ = timed(lambda: hand_derived(X, y, 12, batch, lr, graph=True), args.device)
        limit = (g12 - g2) / 10
        rows.append(("mini-batch, per epoch (steady)", "CUDA-graph limit", limit,
                     "linearlab auto", per_epoch, per_epoch / limit, "<= 2 (moonshot)",
                     per_epoch <= 2 * limit))
    autograd_epoch = autograd_s / 2
    rows.append(("mini-batch, per epoch (steady)", "seeds' autograd loop", autograd_epoch,
                 "linearlab auto", per_epoch, per_epoch / autograd_epoch, "(info)", None))


def exact(args, rows):
    n, d = args.exact_rows, 100
    Xd, yd = regression_data(n, d, torch.float64, args.device, seed=2)
    X, y = Xd.cpu().numpy(), yd.cpu().numpy()
    cpu_s, cpu = timed(quietly(lambda: LinearRegression().fit(X, y)), "cpu")
    on_device = LinearRegression(backend="torch", device=args.device)
    LinearRegression(backend="torch", device=args.device).fit(X[:1000], y[:1000])  # warm-up
    host_s, from_host = timed(quietly(lambda: on_device.fit(X, y)), args.device, args.repeats)
    tensor_s, from_tensor = timed(
        quietly(lambda: LinearRegression(backend="torch", device=args.device).fit(Xd, yd)),
        args.device, args.repeats)
    A = torch.cat([Xd, torch.ones((n, 1), dtype=Xd.dtype, device=Xd.device)], dim=1)
    lstsq_s, _ = timed(lambda: torch.linalg.lstsq(A, yd[:, None]), args.device)

    def agree(model):
        return float(np.max(np.abs(model.coef_ - cpu.coef_)) / np.max(np.abs(cpu.coef_)))

    label = f"exact {n:.0e} x {d} f64"
    for name, seconds, model in (("linearlab torch, host arrays", host_s, from_host),
                                 ("linearlab torch, device tensors", tensor_s, from_tensor)):
        speedup = cpu_s / seconds
        rows.append((label, f"linearlab CPU ({cpu.solver_})", cpu_s,
                     f"{name} ({model.solver_})", seconds, 1.0 / speedup,
                     "<= 0.25 (4x)", speedup >= 4))
        rows.append((label, "coefficients vs CPU", 0.0, name, agree(model), agree(model),
                     "<= 1e-10", agree(model) <= 1e-10))
    rows.append((label, f"linearlab CPU ({cpu.solver_})", cpu_s, "moonshot: 15x, from host arrays",
                 host_s, host_s / cpu_s, "<= 0.067 (15x)", cpu_s / host_s >= 15))
    rows.append((label, "torch.linalg.lstsq (device)", lstsq_s, "linearlab torch, host arrays",
                 host_s, host_s / lstsq_s, "(info)", None))
    args.notes.append(host_breakdown(on_device, X, y, args.device, args.repeats, host_s))


def host_breakdown(model, X, y, device, repeats, fit_s) -> str:
    """Where the fit from host arrays spends its time (each part timed alone, best of
    ``repeats``): host checks, staging X and y to the device, the device Gram pass (staging
    included), and the rest of the fit (small solve, bookkeeping)."""
    dev = resolve_device(device)
    Y = y.reshape(-1, 1)
    check_s, _ = timed(lambda: validate_input(model, X, y, None, reset=True,
                                              defer_x_values=True), device, repeats)

    def stage():
        for _ in stream_blocks([X, Y], dev, dtype=torch.float64):
            pass

    stage_s, _ = timed(stage, device, repeats)
    gram_s, _ = timed(lambda: device_gram(X, Y, device=dev), device, repeats)
    rest_s = fit_s - check_s - gram_s
    gb = (X.nbytes + Y.nbytes) / 1e9
    return (f"exact, host arrays, breakdown ({gb:.2f} GB): fit {fit_s:.4f} s = host checks "
            f"{check_s:.4f} s + device Gram pass {gram_s:.4f} s (of which staging/copy alone "
            f"{stage_s:.4f} s, {gb / max(stage_s, 1e-9):.1f} GB/s) + solve and rest "
            f"{rest_s:.4f} s")


# --------------------------------------------------------------------------- tests
def run_tests(args) -> tuple[bool, str]:
    """pytest on the device test files (``-k`` selects the device's half); summary line."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k",
               args.tests_k or torch.device(args.device).type, *TEST_FILES]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep
               + os.environ.get("PYTHONPATH", ""),
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")  # plain pytest: no plugin needed or used
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=args.tests_timeout)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else done.stderr.strip()[-300:]
    if done.returncode not in (0, 5):  # 5: nothing selected (no CUDA device)
        print(done.stdout[-6000:], done.stderr[-3000:], sep="\n")
    return done.returncode in (0, 5), summary


def print_table(rows) -> None:
    head = (f"{'workload':<44}{'peer':<32}{'peer':>10}  {'linearlab':<44}{'linearlab':>10}"
            f"{'ratio':>8}  {'target':<16}{'met':<5}")
    print(head)
    print(f"{'':<76}{'(s)':>10}  {'':<44}{'(s)':>10}")
    print("-" * len(head))
    for workload, peer, peer_s, name, ours, ratio, target, met in rows:
        mark = "" if met is None else ("yes" if met else "NO")
        peer_cell = f"{peer_s:>10.4f}" if peer_s else f"{'':>10}"
        ours_cell = f"{ours:>10.4f}" if ours >= 1e-3 or ours == 0 else f"{ours:>10.1e}"
        print(f"{workload:<44}{peer:<32}{peer_cell}  {name:<44}{ours_cell}{ratio:>8.2f}  "
              f"{target:<16}{mark:<5}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="torch device (default cuda)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a check of the script)")
    parser.add_argument("--skip-tests", action="store_true", help="benchmarks only")
    parser.add_argument("--tests-k", default=None, help="pytest -k (default: the device type)")
    parser.add_argument("--tests-timeout", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help=f"comma-separated workloads to run, of {', '.join(WORKLOADS)} "
                        "(default: all)")
    args = parser.parse_args(argv)
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(only) - set(WORKLOADS))
    if unknown or not only:
        parser.error(f"--only takes workloads among {', '.join(WORKLOADS)}; got {args.only!r}")
    args.notes = []
    big = not args.quick
    args.full_rows = 10_000_000 if big else 20_000
    args.mini_rows = 1_000_000 if big else 20_000
    args.exact_rows = 5_000_000 if big else 100_000
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}, device {args.device} ({name}), "
          f"{torch.get_num_threads()} CPU threads, numpy {np.__version__}")
    started = time.perf_counter()
    ok = True
    if not args.skip_tests:
        t0 = time.perf_counter()
        passed, summary = run_tests(args)
        ok &= passed
        print(f"device tests (-k {args.tests_k or dev.type}): {summary} "
              f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    rows: list = []
    chosen = {"full_batch": full_batch, "mini_batch": mini_batch, "exact": exact}
    for workload in (chosen[w] for w in WORKLOADS if w in only):
        t0 = time.perf_counter()
        try:
            workload(args, rows)
        except Exception:  # noqa: BLE001 - report and go on to the next workload
            ok = False
            print(f"{workload.__name__} FAILED:\n{traceback.format_exc()}", flush=True)
        print(f"[{workload.__name__}: {time.perf_counter() - t0:.0f} s]", flush=True)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    print()
    print_table(rows)
    for note in args.notes:
        print(note)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
