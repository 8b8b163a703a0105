"""Small helpers shared by the example scripts (not part of linearlab)."""

from __future__ import annotations

import importlib.util
import warnings

from linearlab import ConvergenceWarning, LinearRegression


def backends() -> list[str]:
    """Both engines when PyTorch is installed, else the NumPy engine alone."""
    if importlib.util.find_spec("torch") is None:
        print("(PyTorch is not installed: showing backend='numpy' only. "
              "pip install 'linearlab[torch]' for the PyTorch runs.)")
        return ["numpy"]
    return ["numpy", "torch"]


def train(X, y, **params) -> LinearRegression:
    """``LinearRegression(solver="gd", **params).fit(X, y)``; the scripts print the diagnosis."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LinearRegression(solver="gd", **params).fit(X, y)


def header(text: str) -> None:
    print(f"\n=== {text} ===")


def line(model: LinearRegression) -> str:
    """The fitted line as the seeds print it: f(x) = w x + b."""
    return f"f(x) = {model.coef_[0]:.2f}x + {model.intercept_:.2f}"
