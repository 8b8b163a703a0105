"""Epoch time of the two gradient-descent engines: NumPy (from scratch) vs PyTorch.

Both engines get the same data, start, batch plan and settings (they compute the same numbers;
the table's last column shows the largest relative difference of their loss histories), so
the only difference is the machinery: NumPy arrays and hand-derived gradients, or nn.Linear,
autograd, torch.optim and a DataLoader.

- small: the seed documents' problems at their own settings (seconds per epoch are tiny; the
  per-step overhead of each framework is what is measured). Full-batch plain SGD on a squared
  loss is evaluated in closed form by the NumPy engine, so its "epoch" there costs almost nothing.
- large: 1,000,000 x 100 float64, mini-batches of 1024, reshuffled every epoch.

A second table times the DataLoader alone over one large epoch, serving the plan's batches
through ``sampler=..., batch_size=None`` (one gather per batch, what the torch backend does) and
through ``batch_sampler=...`` (one ``__getitem__`` per row, then a collate).

    python bench/backends.py                  # default: large = 1,000,000 x 100, 2 epochs
    python bench/backends.py --rows 100000    # shrink the large problem
    python bench/backends.py --device cuda    # torch on a GPU (NumPy stays on the CPU)
    python bench/backends.py --threads 1      # steadier on a machine shared with other work

The first table is issue 11's CPU target: the seeds' hand-written PyTorch loop (nn.Linear,
MSELoss, optim.SGD on tensors) against ``LinearRegression(solver="gd", backend="torch",
device=...)`` fitted on the same tensors (float32, torch's default), for 200,000 x 100 full
batch (50 epochs) and 100,000 x 100 in batches of 1024 (2 epochs). The fit includes what the
hand loop does not do (validation, the epoch driver's history and checks); with ``lr`` given it
makes no Gram pass and no diagnosis (both computed when ``diagnosis_`` is first read, issue 18).
Target: within 1.5x.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch_peers import quietly, regression_data, seeds_loop, timed

from linearlab import LinearRegression, load_dataset
from linearlab.descent import DescentConfig, torch_backend
from linearlab.descent import train as numpy_train
from linearlab.descent.batches import BatchPlan, initial_parameters


def _run(engine, X, Y, config, batch_size, shuffle, device):
    init = initial_parameters("uniform", X.shape[1], Y.shape[1], np.random.default_rng(0), X.dtype)
    plan = BatchPlan(X.shape[0], batch_size, shuffle, np.random.default_rng(1))
    start = time.perf_counter()
    if engine == "numpy":
        result = numpy_train(X, Y, None, init, plan, config)
    else:
        result = torch_backend.train(X, Y, None, init, plan, config, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def measure(name, X, Y, *, lr, epochs, batch_size, shuffle, optimizer, loss, repeats, device):
    config = DescentConfig(lr=lr, loss=loss, optimizer=optimizer, epochs=epochs, log=lambda s: None)
    row = {"problem": name, "shape": f"{X.shape[0]:,} x {X.shape[1]}",
           "batch": "full" if batch_size is None else str(batch_size),
           "optimizer": optimizer, "loss": loss, "epochs": epochs}
    results = {}
    for engine in ("numpy", "torch"):
        times = []
        for _ in range(repeats):
            elapsed, results[engine] = _run(engine, X, Y, config, batch_size, shuffle, device)
            times.append(elapsed)
        row[engine] = min(times) / epochs
    a, b = np.asarray(results["numpy"].history), np.asarray(results["torch"].history)
    row["ratio"] = row["torch"] / row["numpy"]
    row["diff"] = float(np.max(np.abs(a - b) / np.abs(a)))
    return row


def seed_problems():
    """(name, X, Y, settings) at the seeds' own settings."""
    salary, noisy = load_dataset("salary"), load_dataset("noisy-line")
    doubling, arange = load_dataset("doubling"), load_dataset("arange-line")
    col = lambda v: v.reshape(-1, 1)  # noqa: E731
    return [
        ("salary (seed 000)", salary.X, col(salary.y),
         dict(lr=0.001, epochs=10001, batch_size=None, shuffle=False, optimizer="sgd", loss="mse")),
        ("noisy-line (seed 001)", noisy.X, col(noisy.y),
         dict(lr=0.001, epochs=200, batch_size=10, shuffle=False, optimizer="sgd", loss="mse")),
        ("doubling (seed 003)", doubling.X, col(doubling.y),
         dict(lr=0.01, epochs=500, batch_size=None, shuffle=False, optimizer="sgd", loss="sse")),
        ("arange-line (seed 004)", arange.X, col(arange.y),
         dict(lr=0.1, epochs=100, batch_size=5, shuffle=True, optimizer="sgd", loss="mse")),
        ("arange-line, adam", arange.X, col(arange.y),
         dict(lr=0.01, epochs=100, batch_size=5, shuffle=True, optimizer="adam", loss="mse")),
    ]


def large_problem(rows, features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    Y = (X @ rng.standard_normal(features) + 0.5 + rng.standard_normal(rows)).reshape(-1, 1)
    return X, Y


def loader_epoch(X, Y, batch_size, how: str) -> float:
    """Seconds to iterate one shuffled epoch of a DataLoader alone."""
    plan = BatchPlan(X.shape[0], batch_size, True, np.random.default_rng(1))
    tensors = [torch.from_numpy(X), torch.from_numpy(Y)]
    dataset = torch.utils.data.TensorDataset(*tensors)
    if how == "backend":
        loader = torch_backend.make_loader(tensors, plan, "cpu")
    elif how == "sampler":
        batches = [r if isinstance(r, slice) else torch.from_numpy(r) for r in plan.epoch()]
        loader = torch.utils.data.DataLoader(dataset, sampler=batches, batch_size=None)
    else:
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=list(plan.epoch()))
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def versus_hand_loop(device: str, repeats: int, scale: float = 1.0) -> None:
    """Issue 11's CPU target: the seeds' loop vs linearlab's torch backend, same tensors."""
    print(f"The seeds' hand-written loop vs LinearRegression(backend='torch', device={device!r}),"
          " float32 tensors:")
    head = (f"  {'workload':<42}{'hand loop s':>12}{'auto s':>9}{'ratio':>7}{'loop s':>9}"
            f"{'ratio':>7}  target")
    print(head)
    for label, n, batch, epochs in (("full batch, 50 epochs", 200_000, None, 50),
                                    ("batches of 1024, 2 epochs", 100_000, 1024, 2)):
        n = max(2048, int(n * scale))
        X, y = regression_data(n, 100, torch.float32, device)
        hand, _ = timed(lambda X=X, y=y, e=epochs, b=batch: seeds_loop(X, y, e, b, 0.01),
                        device, repeats)
        ours = {}
        for engine in ("auto", "loop"):
            model = LinearRegression(solver="gd", backend="torch", device=device, engine=engine,
                                     dtype="float32", epochs=epochs, batch_size=batch, lr=0.01)
            ours[engine], _ = timed(quietly(lambda m=model, X=X, y=y: m.fit(X, y)), device,
                                    repeats)
        print(f"  {f'{n:,} x 100, {label}':<42}{hand:>12.3f}{ours['auto']:>9.3f}"
              f"{ours['auto'] / hand:>7.2f}{ours['loop']:>9.3f}{ours['loop'] / hand:>7.2f}"
              f"  <= 1.5 ({'met' if ours['auto'] <= 1.5 * hand else 'NOT met'})")
    print()


def print_table(rows, device):
    head = (f"{'problem':<24}{'rows x features':>18}{'batch':>7}{'optimizer':>10}{'loss':>6}"
            f"{'epochs':>7}{'numpy s/epoch':>15}{f'torch({device}) s/epoch':>22}"
            f"{'torch/numpy':>13}{'max rel diff':>14}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['problem']:<24}{r['shape']:>18}{r['batch']:>7}{r['optimizer']:>10}"
              f"{r['loss']:>6}{r['epochs']:>7}{r['numpy']:>15.3e}{r['torch']:>22.3e}"
              f"{r['ratio']:>13.2f}{r['diff']:>14.1e}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="large problem rows")
    parser.add_argument("--features", type=int, default=100, help="large problem features")
    parser.add_argument("--batch-size", type=int, default=1024, help="large problem batch size")
    parser.add_argument("--epochs", type=int, default=2, help="large problem epochs")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each small problem")
    parser.add_argument("--device", default="cpu", help="torch device (numpy stays on the CPU)")
    parser.add_argument("--skip-loader", action="store_true", help="skip the DataLoader table")
    parser.add_argument("--hand-only", action="store_true",
                        help="only the table against the hand-written loop")
    parser.add_argument("--hand-scale", type=float, default=1.0,
                        help="scale the rows of the hand-loop workloads (e.g. 0.1 for a check)")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="intra-op threads for torch and BLAS (on a busy machine 1 gives steadier numbers)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    versus_hand_loop(args.device, args.repeats, args.hand_scale)
    if args.hand_only:
        return
    rows = []
    for name, X, Y, settings in seed_problems():
        rows.append(measure(name, X, Y, repeats=args.repeats, device=args.device, **settings))
    X, Y = large_problem(args.rows, args.features)
    settings = dict(lr=0.01, epochs=args.epochs, batch_size=args.batch_size, shuffle=True,
                    optimizer="sgd", loss="mse")
    rows.append(measure("large", X, Y, repeats=1, device=args.device, **settings))
    rows.append(measure("large, adam", X, Y, repeats=1, device=args.device,
                        **{**settings, "optimizer": "adam", "lr": 0.001}))
    print_table(rows, args.device)

    if not args.skip_loader:
        print(f"\nDataLoader alone, one shuffled epoch of {args.rows:,} x {args.features}, "
              f"batches of {args.batch_size}:")
        ways = [
            ("backend", "torch backend: plan sampler, index_select per batch"),
            ("sampler", "TensorDataset, sampler=plan batches, batch_size=None"),
            ("batch_sampler", "TensorDataset, batch_sampler=plan batches (per row)"),
        ]
        first = None
        for how, label in ways:
            seconds = loader_epoch(X, Y, args.batch_size, how)
            first = first or seconds
            print(f"  {label:<56}{seconds:8.3f} s  ({seconds / first:.1f}x)")


if __name__ == "__main__":
    main()
