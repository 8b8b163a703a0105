"""Seed 004: loss functions and training for a statistics course, redone with linearlab.

Data: X = arange(-3, 3, 0.3) (20 rows), Y = 2X - 1 + N(0, 1) drawn with torch.manual_seed(2021).
The post (1) trains w, b by hand with the mean squared error, lr = 0.1, 100 epochs, (2) does the
same with ``optim.SGD`` (``step``/``zero_grad``), (3) serves mini-batches of 5 from a
``DataLoader(TensorDataset(X, Y), shuffle=True)``, (4) adds a column of ones so the intercept is
an ordinary coefficient, and (5) uses ``nn.Linear(1, 1, bias=True)`` as the same model.

Run: python examples/seed004_arange_line.py
"""

import numpy as np
from _common import backends, header, train

from linearlab import LinearRegression, gradcheck, load_dataset

ds = load_dataset("arange-line")
X, y = ds.X, ds.y
print(f"{len(X)} rows, X from {X[0, 0]:.1f} to {X[-1, 0]:.1f}")


def show(model, every=20):
    for epoch in range(0, len(model.history_), every):
        print(f"epoch {epoch:3d}  loss {model.history_[epoch]:.6f}")
    print(f"w = {model.coef_[-1]:.4f}, b = {model.intercept_:.4f}  (true: w = 2, b = -1)")


header("(1) by hand: full batch, mean squared error, lr = 0.1, 100 epochs (backend='numpy')")
by_hand = train(X, y, lr=0.1, epochs=100, init="normal", random_state=2021)
show(by_hand)

if "torch" in backends():
    header("(2) the same with optim.SGD: step() and zero_grad() (backend='torch')")
    with_optim = train(X, y, backend="torch", lr=0.1, epochs=100, init="normal",
                       random_state=2021)
    show(with_optim)
    gap = np.max(np.abs(np.subtract(with_optim.history_, by_hand.history_)))
    print(f"largest difference between the two loss histories: {gap:.2e}")

for backend in backends():
    header(f"(3) DataLoader(batch_size=5, shuffle=True), lr = 0.1 (backend={backend!r})")
    minibatch = train(X, y, backend=backend, lr=0.1, epochs=100, batch_size=5, shuffle=True,
                      init="normal", random_state=2021)
    show(minibatch)

header("(4) design matrix [1, x] with no separate intercept (fit_intercept=False)")
design = np.column_stack([np.ones(len(X)), X[:, 0]])
no_bias = train(design, y, fit_intercept=False, lr=0.1, epochs=100, init="normal",
                random_state=2021)
print(f"beta = [{no_bias.coef_[0]:.4f}, {no_bias.coef_[1]:.4f}]  (the intercept is beta[0])")

if "torch" in backends():
    header("(5) nn.Linear(1, 1, bias=True) is the same model")
    print(list(by_hand.to_torch().parameters()))
    import torch

    torch.manual_seed(2021)
    fresh = LinearRegression.from_torch(torch.nn.Linear(1, 1, bias=True))
    print(f"a fresh nn.Linear as an estimator: w = {fresh.coef_[0]:.4f}, "
          f"b = {fresh.intercept_:.4f}, R^2 = {fresh.score(X, y):.3f}")
    header("the NumPy gradient against autograd, at the start of (1)")
    start = by_hand.params_history_[0]
    print(gradcheck(X, y, start[0], start[1]))

header("the exact answer (solver='auto')")
exact = LinearRegression().fit(X, y)
print(f"w = {exact.coef_[0]:.4f}, b = {exact.intercept_:.4f}")
