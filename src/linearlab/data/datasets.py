"""Built-in datasets: the seed documents' examples plus a real multi-feature table.

``load_dataset(name)`` returns a :class:`Dataset` with ``X`` (2-D), ``y``, ``feature_names``,
``target_name`` and ``description``. Randomly generated seed data were drawn once with PyTorch
(the seeds' own generators) and are shipped as CSV files, so they are identical everywhere and
need no torch at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from linearlab.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """A named regression table."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str
    description: str
    source: str = field(default="")

    @property
    def shape(self) -> tuple[int, int]:
        return self.X.shape

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, {self.X.shape[0]} rows, features={self.feature_names}, "
            f"target={self.target_name!r})"
        )


def _csv(filename: str) -> np.ndarray:
    text = resources.files("linearlab").joinpath("data", filename).read_text()
    return np.loadtxt(text.splitlines(), delimiter=",", skiprows=1, ndmin=2)


def _salary() -> Dataset:
    X = np.arange(1.0, 8.0).reshape(-1, 1)
    y = np.array([25000, 55000, 75000, 110000, 128000, 155000, 180000], dtype=float)
    return Dataset(
        "salary", X, y, ["experience"], "salary",
        "Salary by years of experience (seed 000): 7 rows. The least-squares line is "
        "salary = 25642.857·experience + 1428.571; the seed's SGD(lr=0.001) for 10001 epochs "
        "stops short of it.",
        "seed 000",
    )


def _noisy_line() -> Dataset:
    data = _csv("noisy_line.csv")
    return Dataset(
        "noisy-line", data[:, :1], data[:, 1], ["x"], "y",
        "y = 7x + 5 + N(0, 2) with x ~ N(0, 1), 100 rows (seed 001), drawn with "
        "torch.manual_seed(1).",
        "seed 001",
    )


def _three_points() -> Dataset:
    return Dataset(
        "three-points", np.array([[1.0], [2.0], [3.0]]), np.array([3.0, 5.0, 7.0]), ["x"], "y",
        "X = [1, 2, 3], Y = [3, 5, 7]: the exact line y = 2x + 1 (seed 002).",
        "seed 002",
    )


def _doubling() -> Dataset:
    return Dataset(
        "doubling", np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]), ["x"], "y",
        "x = [1, 2, 3], y = [2, 4, 6]: y = 2x, prediction 8 at x = 4 (seed 003).",
        "seed 003",
    )


def _arange_line() -> Dataset:
    data = _csv("arange_line.csv")
    return Dataset(
        "arange-line", data[:, :1], data[:, 1], ["x"], "y",
        "X = arange(-3, 3, 0.3) (20 rows), Y = 2X - 1 + N(0, 1) drawn with "
        "torch.manual_seed(2021), in float32 as the seed (seed 004).",
        "seed 004",
    )


_DIABETES_ABOUT = (
    "Diabetes progression one year after baseline: 442 patients, 10 standardized features "
    "(age, sex, bmi, bp, s1-s6). Shipped with scikit-learn (Efron et al., 2004).")


def _diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes

    raw = load_diabetes()
    return Dataset(
        "diabetes", np.asarray(raw.data, dtype=float), np.asarray(raw.target, dtype=float),
        list(raw.feature_names), "progression", _DIABETES_ABOUT, "scikit-learn",
    )


#: How ``linearlab datasets`` lists a dataset whose loading imports scikit-learn (most of a
#: second): ``(rows, feature names, target name, description)``. A test checks each entry
#: against the loaded data.
LISTED_WITHOUT_LOADING = {
    "diabetes": (442, ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"],
                 "progression", _DIABETES_ABOUT),
}


_REGISTRY = {
    "salary": _salary,
    "noisy-line": _noisy_line,
    "three-points": _three_points,
    "doubling": _doubling,
    "arange-line": _arange_line,
    "diabetes": _diabetes,
}


def list_datasets() -> list[str]:
    """Names of the built-in datasets."""
    return list(_REGISTRY)


def describe_dataset(name: str) -> tuple[int, list[str], str, str]:
    """``(rows, feature names, target name, description)`` of a built-in dataset, without
    importing scikit-learn for the one it ships."""
    if name in LISTED_WITHOUT_LOADING:
        return LISTED_WITHOUT_LOADING[name]
    data = load_dataset(name)
    return data.X.shape[0], list(data.feature_names), data.target_name, data.description


def load_dataset(name: str) -> Dataset:
    """Load a built-in dataset by name (see :func:`list_datasets`)."""
    key = name.strip().lower().replace("_", "-")
    if key not in _REGISTRY:
        raise DataError(
            f"Unknown dataset {name!r}. Built-in datasets: {', '.join(_REGISTRY)}."
        )
    return _REGISTRY[key]()
