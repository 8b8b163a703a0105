"""The seed documents' PyTorch training loops, as they wrote them, vs linearlab's NumPy engine.

Each case runs the seed's own loop (float32 tensors, nn.Linear or hand-made parameters,
MSELoss, optim.SGD, slicing or a DataLoader) and linearlab's ``LinearRegression(solver="gd")``
with the same settings and the same starting parameters, then compares the end point and time.
Three timings per seed, side by side:

- ``torch loop``: the seed's own loop, as written;
- ``linearlab loop``: ``engine="loop"``, linearlab's plain NumPy loop (forward, loss, gradient,
  update, one Python-level step per batch) — the like-for-like comparison of two loops;
- ``linearlab auto``: ``engine="auto"``, which evaluates plain SGD on a squared loss in closed
  form (full batch) or through per-batch affine maps (small mini-batch problems): the same
  iterates computed by an algorithm, not a loop, so its speed-up is the algorithm's.

- salary (seed 000): full batch, lr=0.001, 10001 epochs;
- noisy-line (seed 001): batches of 10 taken in order by slicing, lr=0.001, 20 epochs;
- arange-line (seed 004): DataLoader(batch_size=5, shuffle=True), lr=0.1, 100 epochs.

In-order runs must end at the same parameters (1e-4 relative: the seeds compute in float32);
the shuffled run visits batches in a different random order, so it must end at the same loss
level within 1%: the mean epoch loss of the last 10 epochs (as the seed's history records it),
averaged over 20 batch orders for each.

    python bench/seed_loops.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

from linearlab import ConvergenceWarning, LinearRegression, load_dataset


class LinearRegressionModel(nn.Module):  # seed 000 / 001: a class around nn.Linear
    def __init__(self, input_dim, output_dim):
        super().__init__()
        self.linear = nn.Linear(input_dim, output_dim)

    def forward(self, x):
        return self.linear(x)


def seed000_salary(start):
    data = load_dataset("salary")
    x = torch.tensor(data.X, dtype=torch.float32)
    y = torch.tensor(data.y, dtype=torch.float32).view(-1, 1)
    model = LinearRegressionModel(1, 1)
    with torch.no_grad():
        model.linear.weight.fill_(start[0])
        model.linear.bias.fill_(start[1])
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.001)
    for _epoch in range(10001):
        hypothesis = model(x)
        cost = criterion(hypothesis, y)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
    return model.linear.weight.item(), model.linear.bias.item()


def seed001_noisy_line(start):
    data = load_dataset("noisy-line")
    x = torch.tensor(data.X, dtype=torch.float32)
    y = torch.tensor(data.y, dtype=torch.float32).view(-1, 1)
    model = LinearRegressionModel(1, 1)
    with torch.no_grad():
        model.linear.weight.fill_(start[0])
        model.linear.bias.fill_(start[1])
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.001)
    EPOCH, BATCH_SIZE = 20, 10
    for _e in range(EPOCH):
        epoch_loss = 0
        batch = int(len(x) / BATCH_SIZE)
        batch_start = 0
        for _i in range(batch):
            x_data = x[batch_start : batch_start + BATCH_SIZE]
            y_data = y[batch_start : batch_start + BATCH_SIZE]
            pred = model(x_data)
            loss = loss_fn(pred, y_data)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss / 10
            batch_start += BATCH_SIZE
    return model.linear.weight.item(), model.linear.bias.item()


def seed004_arange_line(start):
    data = load_dataset("arange-line")
    X = torch.tensor(data.X, dtype=torch.float32)
    Y = torch.tensor(data.y, dtype=torch.float32).view(-1, 1)
    dataset = TensorDataset(X, Y)
    trainloader = DataLoader(dataset=dataset, batch_size=5, shuffle=True)
    beta = torch.tensor([[start[0]]], requires_grad=True)
    beta0 = torch.tensor([[start[1]]], requires_grad=True)

    def model(x):  # the seed adds beta0 a second time in its loop; here the model adds it once
        return x @ beta + beta0

    def criterion(yhat, y):
        return torch.mean((yhat - y) ** 2)

    my_optimizer = optim.SGD([beta, beta0], lr=0.1)
    history, n = [], len(X)
    for _epoch in range(100):
        LOSS_sum = 0
        for xx, yy in trainloader:
            yhat = model(xx)
            loss = criterion(yhat, yy)
            LOSS_sum = LOSS_sum + loss * len(yy)
            my_optimizer.zero_grad()
            loss.backward()
            my_optimizer.step()
        history.append(LOSS_sum.item() / n)
    seed004_arange_line.history = history
    return beta.item(), beta0.item()


CASES = [
    ("salary (seed 000)", "salary", seed000_salary,
     dict(lr=0.001, epochs=10001), "params"),
    ("noisy-line (seed 001)", "noisy-line", seed001_noisy_line,
     dict(lr=0.001, epochs=20, batch_size=10, shuffle=False), "params"),
    ("arange-line (seed 004)", "arange-line", seed004_arange_line,
     dict(lr=0.1, epochs=100, batch_size=5, shuffle=True, random_state=0), "loss"),
]


def _timed(fn, repeats):
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _mean_final_loss_level(seed_loop, start, data, settings, seeds):
    """Mean over random batch orders of the last 10 epochs' loss, torch vs linearlab."""
    ours, theirs = [], []
    for seed in range(seeds):
        torch.manual_seed(seed)
        seed_loop(start)
        theirs.append(np.mean(seed_loop.history[-10:]))
        params = {**settings, "random_state": seed}
        model = LinearRegression(solver="gd", init=([start[0]], [start[1]]), **params)
        ours.append(np.mean(model.fit(data.X, data.y).history_[-10:]))
    return float(np.mean(theirs)), float(np.mean(ours))


def main() -> None:
    parser = argparse.ArgumentParser(description="seed loops: PyTorch vs linearlab")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)

    header = (f"{'case':24} {'torch loop s':>12} {'linearlab loop s':>16} "
              f"{'linearlab auto s':>16}   {'torch w, b':>22} {'linearlab w, b':>22} "
              f"{'check':>22}")
    print(header + "\n" + "-" * len(header))
    for label, name, seed_loop, settings, compare in CASES:
        data = load_dataset(name)
        torch.manual_seed(0)
        start = (nn.Linear(1, 1).weight.item(), nn.Linear(1, 1).bias.item())
        t_torch, (tw, tb) = _timed(lambda: seed_loop(start), args.repeats)  # noqa: B023
        times, models = {}, {}
        for engine in ("loop", "auto"):
            model = LinearRegression(solver="gd", init=([start[0]], [start[1]]), engine=engine,
                                     **settings)
            times[engine], models[engine] = _timed(
                lambda: model.fit(data.X, data.y), args.repeats)  # noqa: B023
        checks = []
        for engine in ("loop", "auto"):
            ow, ob = float(models[engine].coef_[0]), float(models[engine].intercept_)
            if compare == "params":
                rel = max(abs(ow - tw) / abs(tw), abs(ob - tb) / abs(tb))
                checks.append(f"params rel {rel:.1e} {'ok' if rel < 1e-4 else 'FAIL'}")
        if compare == "loss":  # random batch orders differ: compare the loss level
            lt, lo = _mean_final_loss_level(seed_loop, start, data, settings, seeds=20)
            rel = abs(lo - lt) / lt
            checks.append(f"loss rel {rel:.1e} {'ok' if rel < 0.01 else 'FAIL'}")
        ow, ob = float(models["loop"].coef_[0]), float(models["loop"].intercept_)
        print(f"{label:24} {t_torch:12.4f} {times['loop']:9.4f} ({t_torch / times['loop']:3.0f}x)"
              f" {times['auto']:9.5f} ({t_torch / times['auto']:3.0f}x)   "
              f"{tw:>11.5g},{tb:>10.5g} {ow:>11.5g},{ob:>10.5g} {checks[0]:>22}")
    print("\n(Nx) = the seed's torch loop time / linearlab's time. 'loop' runs the same number "
          "of Python-level steps as the seed; 'auto' is the closed-form / affine-map "
          "evaluation of the same iterates.")


if __name__ == "__main__":
    main()
