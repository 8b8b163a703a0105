import numpy as np
import pytest
from sklearn.linear_model import Ridge

from linearlab.exact import solvers as exact
from linearlab.exact.gram import Gram


def _lstsq(X, Y, w=None, fit_intercept=True):
    A = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    if w is not None:
        A, Y = A * np.sqrt(w)[:, None], Y * np.sqrt(w)[:, None]
    sol = np.linalg.lstsq(A, Y, rcond=None)[0]
    return (sol[:-1], sol[-1]) if fit_intercept else (sol, np.zeros(Y.shape[1]))


@pytest.mark.parametrize("solver", ["auto", "normal", "qr", "svd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_lstsq_on_well_conditioned_problems(solver, fit_intercept, weighted, seed):
    rng = np.random.default_rng(seed)
    n, d, k = rng.integers(20, 300), rng.integers(1, 12), rng.integers(1, 4)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-5, 5, d)
    Y = X @ rng.standard_normal((d, k)) + rng.standard_normal((n, k))
    w = rng.uniform(0.2, 2.0, n) if weighted else None
    sol = exact.solve(solver, X, Y, w, fit_intercept=fit_intercept)
    coef, intercept = _lstsq(X, Y, w, fit_intercept)
    np.testing.assert_allclose(sol.coef, coef, rtol=1e-10, atol=1e-12 * np.abs(coef).max())
    np.testing.assert_allclose(sol.intercept, intercept, rtol=1e-10, atol=1e-10)
    assert sol.rank == d


def test_auto_uses_normal_equations_when_safe_and_qr_when_not():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 3))
    Y = X @ [[1.0], [2.0], [3.0]] + 1.0  # an intercept of exactly 0 has no digits to keep
    assert exact.solve_auto(X, Y).solver == "normal, 1 refinement pass"
    x = np.linspace(-9, -3, 60)
    V = np.vander(x, 9, increasing=True)[:, 1:]  # raw powers: badly conditioned
    assert exact.solve_auto(V, np.sin(x)[:, None]).solver in ("qr", "svd")


@pytest.mark.parametrize("solver", ["auto", "normal", "qr", "svd"])
def test_rank_deficient_gives_minimum_norm_solution(solver):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((40, 2))
    X = np.column_stack([a[:, 0], a[:, 1], a[:, 0] + a[:, 1], np.full(40, 3.0)])
    Y = (X[:, :2] @ [2.0, -1.0] + 0.5 + 0.01 * rng.standard_normal(40))[:, None]
    sol = exact.solve(solver, X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    ref = np.linalg.lstsq(Xc, Yc, rcond=None)[0]  # minimum-norm
    np.testing.assert_allclose(sol.coef, ref, rtol=1e-8, atol=1e-10)
    assert sol.rank == 2


def test_more_features_than_rows():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 12))
    Y = rng.standard_normal((5, 1))
    sol = exact.solve("auto", X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    np.testing.assert_allclose(sol.coef, np.linalg.lstsq(Xc, Yc, rcond=None)[0], atol=1e-10)
    np.testing.assert_allclose(X @ sol.coef + sol.intercept, Y, atol=1e-10)  # interpolates


@pytest.mark.parametrize("solver", ["auto", "normal", "qr", "svd"])
def test_ridge_matches_scikit_learn(solver):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 6)) * [1, 2, 3, 4, 5, 6]
    Y = rng.standard_normal((80, 2))
    w = rng.uniform(0.5, 1.5, 80)
    sol = exact.solve(solver, X, Y, w, alpha=3.0)
    ref = Ridge(alpha=3.0, solver="cholesky", tol=1e-14).fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(sol.coef, ref.coef_.T, rtol=1e-10)
    np.testing.assert_allclose(sol.intercept, ref.intercept_, rtol=1e-10)


def test_streamed_gram_solution_equals_whole_fit():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((1000, 4))
    Y = X @ [[1.0], [0.0], [-2.0], [0.5]] + 3
    gram = Gram.empty(4)
    for chunk in np.array_split(np.arange(1000), 7):
        gram = gram.merge(Gram.from_arrays(X[chunk], Y[chunk]))
    sol = exact.solve_auto(None, None, gram=gram)
    np.testing.assert_allclose(sol.coef, exact.solve_svd(X, Y).coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.intercept, [3.0], rtol=1e-10)


def test_unknown_solver_is_rejected():
    with pytest.raises(ValueError, match="unknown exact solver"):
        exact.solve("lu", np.eye(3), np.ones((3, 1)))


def _csv_source(tmp_path, X, y):
    from linearlab.data import sources

    names = [f"x{j}" for j in range(X.shape[1])]
    rows = [",".join([*names, "y"])] + [
        ",".join(repr(v) for v in row) for row in np.column_stack([X, y]).tolist()
    ]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows) + "\n")
    return sources.open_source(str(path)), names


def test_streamed_auto_passes_over_the_file_only_when_the_estimate_asks(tmp_path):
    """A file read in chunks: the statistics' normal equations when their estimate promises 12
    digits (no second pass), else residual passes over the file, which solver_ reports."""
    from linearlab import LinearRegression
    from linearlab.pipeline import streaming

    rng = np.random.default_rng(3)
    X = rng.standard_normal((3000, 3))
    y = X @ [1.0, 2.0, 3.0] + 1.0 + rng.standard_normal(3000)
    source, names = _csv_source(tmp_path, X, y)
    easy = streaming.fit_source(LinearRegression(), source, names, ["y"], stream=True).model
    assert easy.solver_ == "normal"

    x = np.sort(rng.uniform(-9, -3, 3000))
    V = np.vander(x, 4, increasing=True)[:, 1:]  # a cubic in raw powers: cond(XᵀX) ~ 4e4
    t = np.cos(x / 3) + 0.01 * rng.standard_normal(3000)
    source, names = _csv_source(tmp_path, V, t)
    hard = streaming.fit_source(LinearRegression(), source, names, ["y"], stream=True).model
    assert hard.solver_.startswith("normal, ") and "refinement pass" in hard.solver_
    memory = LinearRegression().fit(V, t)
    np.testing.assert_allclose(hard.coef_, memory.coef_, rtol=1e-12)
    assert hard.intercept_ == pytest.approx(memory.intercept_, rel=1e-12)
    assert hard.summary().ssr == pytest.approx(memory.summary().ssr, rel=1e-12)
