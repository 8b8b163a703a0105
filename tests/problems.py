"""Synthetic problems shared by the tests."""



def make_problem(rng, n=200, d=5, k=None, noise=0.1, offset=0.0):
    """A well-conditioned random regression problem: X (n, d), y (n,) or (n, k)."""
    X = rng.standard_normal((n, d)) + offset
    coef = rng.standard_normal((d,) if k is None else (d, k))
    y = X @ coef + 1.5 + noise * rng.standard_normal((n,) if k is None else (n, k))
    return X, y
