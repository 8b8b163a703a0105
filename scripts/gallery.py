"""Regenerate the README gallery: ``docs/gallery/*.png`` and ``docs/gallery/*.gif``.

    python scripts/gallery.py [OUT_DIR]

Every figure comes from the built-in datasets (the seed documents' examples) with fixed seeds,
so running it again gives the same pictures.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from linearlab import LinearRegression, load_dataset, viz
from linearlab.errors import ConvergenceWarning

DPI = 100


def fitted(name: str, **params) -> tuple[LinearRegression, object]:
    data = load_dataset(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearRegression(**params).fit(data.X, data.y)
    return model, data


def save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def seed_002_start() -> tuple[np.ndarray, np.ndarray]:
    """Seed 002's starting point: ``np.random.seed(220102)``, W then B from ``randn``."""
    rng = np.random.RandomState(220102)
    W = rng.randn(1, 1)
    B = rng.randn(1, 1)
    return W[0], B[0]


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []

    # Seed 001: the exact line through noisy data.
    model, data = fitted("noisy-line")
    written.append(save(viz.plot_fit(model, data.X, data.y), out / "fit-noisy-line.png"))

    # Seed 000: the salary table with the seed's own SGD, which stops short of the optimum.
    model, data = fitted("salary", solver="gd", lr=0.001, epochs=10001, init="uniform",
                         random_state=0)
    names = dict(feature_names=data.feature_names, target_name=data.target_name)
    written.append(save(viz.plot_fit(model, data.X, data.y, **names), out / "fit-salary-gd.png"))
    written.append(save(viz.plot_loss_history(model, data.X, data.y),
                        out / "loss-history-salary.png"))

    # Seed 002: the loss along w with the gradient-descent iterates (the red dot), from the
    # seed's own start, sum-of-squares gradient and lr = 0.001 for 100 steps.
    model, data = fitted("three-points", solver="gd", loss="sse", lr=0.001, epochs=100,
                         init=seed_002_start())
    written.append(save(viz.plot_loss_curve(model, data.X, data.y), out / "loss-curve-seed002.png"))

    # Seed 004: three optimizers on one landscape.
    data = load_dataset("arange-line")
    runs = [("sgd", 0.05), ("momentum", 0.01), ("adam", 0.15)]
    models = [fitted("arange-line", solver="gd", optimizer=opt, lr=lr, epochs=60, init="normal",
                     random_state=2021)[0] for opt, lr in runs]
    labels = [f"{opt} (lr={lr})" for opt, lr in runs]
    written.append(save(viz.plot_landscape(models, data.X, data.y, labels=labels),
                        out / "landscape-optimizers.png"))

    # A real table with ten features: predicted vs actual, residuals, projected landscape.
    model, data = fitted("diabetes", solver="gd", standardize=True, epochs=200)
    names = dict(feature_names=data.feature_names, target_name=data.target_name)
    written.append(save(viz.plot_fit(model, data.X, data.y, **names),
                        out / "predicted-vs-actual-diabetes.png"))
    written.append(save(viz.plot_residuals(model, data.X, data.y, target_name=data.target_name),
                        out / "residuals-diabetes.png"))
    written.append(save(viz.plot_landscape(model, data.X, data.y), out / "landscape-diabetes.png"))

    # The animation: seed 004's lr = 0.1 for 100 epochs from a normal start.
    model, data = fitted("arange-line", solver="gd", lr=0.1, epochs=100, init="normal",
                         random_state=2021)
    written.append(viz.animate_training(model, data.X, data.y, out / "training-arange-line.gif",
                                        frames=40, dpi=72))
    return written


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "docs" / "gallery"
    for path in main(target):
        print(f"{path}  ({path.stat().st_size // 1024} KiB)")
