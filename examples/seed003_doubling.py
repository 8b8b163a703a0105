"""Seed 003: PyTorch's three rhythms on x = [1, 2, 3], y = [2, 4, 6], with linearlab.

1. the model: ``nn.Linear(1, 1)`` with its default initialisation (``init="uniform"``),
2. loss and optimizer: ``MSELoss(reduction='sum')`` (``loss="sse"``), ``SGD(lr=0.01)``,
3. the training cycle: 500 epochs, the loss printed every 100, then the prediction at x = 4
   (the post got 7.98; the exact answer is 8).

Run: python examples/seed003_doubling.py
"""

from _common import backends, header, train

from linearlab import load_dataset

ds = load_dataset("doubling")
for backend in backends():
    header(f"backend={backend!r}: MSELoss(reduction='sum'), SGD(lr=0.01), 500 epochs")
    model = train(
        ds.X, ds.y, backend=backend, loss="sse", lr=0.01, epochs=500, init="uniform",
        random_state=0, log_every=100,
    )
    print("Prediction (after training)", 4, model.predict([[4.0]])[0])
