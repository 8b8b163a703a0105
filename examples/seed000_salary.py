"""Seed 000: PyTorch linear regression on a salary table, redone with linearlab.

The post builds ``LinearRegressionModel(nn.Module)`` around ``nn.Linear(1, 1)``, trains it with
``MSELoss`` and ``SGD(lr=0.001)`` for 10001 full-batch epochs, logs the cost and ``w, b`` every
1000 epochs, then prints ``f(x) = w x + b`` and the prediction for 8 years of experience.
linearlab runs the same loop on both engines (same start, same numbers) and also says what the
post could not: that 10001 epochs at this step size stop short of the least-squares line.

Run: python examples/seed000_salary.py
"""

from _common import backends, header, line, train

from linearlab import LinearRegression, load_dataset

ds = load_dataset("salary")
print(f"X shape {ds.X.shape}, y shape {ds.y.shape}")  # the post's torch.Size([7, 1]) twice

for backend in backends():
    header(f"backend={backend!r}: nn.Linear's init, MSELoss, SGD(lr=0.001), 10001 epochs")
    model = train(
        ds.X, ds.y, backend=backend, loss="mse", optimizer="sgd", lr=0.001, epochs=10001,
        init="uniform", random_state=0, log_every=1000,
    )
    print(line(model))
    print(f"prediction for x = 8: [{model.predict([[8.0]])[0]:.2f}]")
    print(f"converged: {model.converged_}")
    print(model.diagnosis_)

header("the exact least-squares line (solver='auto')")
exact = LinearRegression().fit(ds.X, ds.y)
print(line(exact))
print(f"prediction for x = 8: [{exact.predict([[8.0]])[0]:.2f}]")
