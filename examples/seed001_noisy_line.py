"""Seed 001: the same recipe on synthetic data, y = 7x + 5 + N(0, 2), redone with linearlab.

The post makes ``MyLinear`` around ``nn.Linear(1, 1, bias=True)`` (Kaiming-uniform start),
trains with ``MSELoss`` and ``SGD(lr=0.001)`` for 20 epochs over batches of 10 rows taken in
order by slicing, prints the mean batch loss of every epoch, then the parameters next to the
true ones (7, 5). linearlab's ``batch_size=10, shuffle=False`` is that slicing, and its history
is that per-epoch mean. The post notices the loss levelling off; here the diagnosis says why.

Run: python examples/seed001_noisy_line.py
"""

import numpy as np
from _common import backends, header, train

from linearlab import LinearRegression, load_dataset

ds = load_dataset("noisy-line")
print("first 10 rows (x, y):")
print(np.column_stack([ds.X[:10, 0], ds.y[:10]]).round(4))

for backend in backends():
    header(f"backend={backend!r}: MSELoss, SGD(lr=0.001), 20 epochs, batches of 10 in order")
    model = train(
        ds.X, ds.y, backend=backend, lr=0.001, epochs=20, batch_size=10, shuffle=False,
        init="uniform", random_state=1,
    )
    w0, b0 = model.params_history_[0].ravel()
    print(f"initial parameters (nn.Linear's init): w = {w0:.4f}, b = {b0:.4f}")
    for epoch, loss in enumerate(model.history_):
        print(f"epoch {epoch:2d}  loss {loss:.4f}")
    print(f"estimate: w = {model.coef_[0]:.4f}, b = {model.intercept_:.4f}   (true: w = 7, b = 5)")
    print(model.diagnosis_ or "converged")
    if backend == "torch":
        for p in model.to_torch().parameters():  # as the post prints model.parameters()
            print(p)

header("the same batches with lr='auto' (linearlab's step size from the curvature)")
auto = train(ds.X, ds.y, lr="auto", epochs=20, batch_size=10, shuffle=False, init="uniform",
             random_state=1)
print(f"lr = {auto.learning_rate_:.4g}: w = {auto.coef_[0]:.4f}, b = {auto.intercept_:.4f}, "
      f"last epoch loss {auto.history_[-1]:.4f}")

header("the normal equation (solver='normal')")
exact = LinearRegression(solver="normal").fit(ds.X, ds.y)
print(f"w = {exact.coef_[0]:.4f}, b = {exact.intercept_:.4f}")
