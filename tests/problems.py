"""Synthetic problems shared by the tests."""

import numpy as np


def make_problem(rng, n=200, d=5, k=None, noise=0.1, offset=0.0):
    """A well-conditioned random regression problem: X (n, d), y (n,) or (n, k)."""
    X = rng.standard_normal((n, d)) + offset
    coef = rng.standard_normal((d,) if k is None else (d, k))
    y = X @ coef + 1.5 + noise * rng.standard_normal((n,) if k is None else (n, k))
    return X, y


def mixed_table(rng, n, late, positive_x2=False):
    """A DataFrame of numbers x1, x2, a text column g whose reference level ('a') first
    appears at row ``late``, missing cells in X and y, the target y and weights w."""
    import pandas as pd

    df = pd.DataFrame({"x1": rng.normal(size=n), "g": rng.choice(["b", "c", "d"], n),
                       "x2": rng.uniform(1, 3, size=n) if positive_x2 else rng.normal(size=n)})
    df.loc[late, "g"] = "a"
    df["y"] = 1 + 2 * df.x1 - df.x2 + (df.g == "c") * 0.5 + rng.normal(scale=0.1, size=n)
    df["w"] = rng.uniform(0.5, 2.0, n)
    df.loc[[3, 77], "x2"] = np.nan
    df.loc[10, "g"] = None
    df.loc[20, "y"] = np.nan
    return df
