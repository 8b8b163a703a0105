"""Seed 002: linear regression from scratch in NumPy, then checked with PyTorch, with linearlab.

The post fits X = [1, 2, 3], Y = [3, 5, 7] from W, B drawn by ``np.random.seed(220102)``. Its
NumPy loop uses the gradient of the *sum* of squared errors with lr = 0.001 for 100 steps; its
PyTorch loop uses the *mean* squared error with lr = 0.01 for 100 steps. linearlab's
``loss="sse"`` and ``loss="mse"`` are those two losses, and ``gradcheck`` is the post's check of
its hand-derived gradient against autograd.

Run: python examples/seed002_three_points.py
"""

import numpy as np
from _common import backends, header, train

from linearlab import gradcheck, load_dataset

ds = load_dataset("three-points")
legacy = np.random.RandomState(220102)  # the post's np.random.seed(220102)
W = legacy.randn(1, 1)
B = legacy.randn(1, 1)
print(f"before weight : {W}  correct value = 2")
print(f"before bias   : {B}  correct value = 1")
print(f"pred : {ds.X[:, 0] * W[0, 0] + B[0, 0]}")
print(f"loss : {float(np.mean((ds.X[:, 0] * W[0, 0] + B[0, 0] - ds.y) ** 2)):.12g}")

header("NumPy from scratch: sum of squared errors, lr = 0.001, 100 steps")
# engine="loop": the plain loop of forward, loss, gradient and update, step by step as the post
# writes it (engine="auto" would evaluate plain full-batch steps in closed form instead)
model = train(ds.X, ds.y, loss="sse", lr=0.001, epochs=100, init=(W, B), engine="loop")
pred = model.predict(ds.X)
print(f"after weight : [[{model.coef_[0]:.8f}]]")
print(f"after bias   : [[{model.intercept_:.8f}]]")
print(f"pred : {pred}")
print(f"loss : {float(np.mean((pred - ds.y) ** 2)):.12g}")
path = model.params_history_[:, 0, 0]
print(f"W during the first steps (the animation's red dot): {np.round(path[:6], 5)}")

for backend in backends():
    header(f"backend={backend!r}: mean squared error, lr = 0.01, 100 steps")
    model = train(ds.X, ds.y, backend=backend, loss="mse", lr=0.01, epochs=100, init=(W, B),
                  engine="loop")
    print(f"after pred : {np.round(model.predict(ds.X), 4)}")

header("is the hand-derived gradient right? (NumPy vs torch autograd vs finite differences)")
print(gradcheck(ds.X, ds.y, W.ravel(), B.ravel(), loss="sse"))
