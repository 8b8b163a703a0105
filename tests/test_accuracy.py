"""solver="auto" on ill-conditioned problems against 50-digit mpmath references.

Target: ≥ 12 correct significant digits in every coefficient (intercept included), every
standard error, the residual standard deviation and R², for condition numbers (as statsmodels
reports them, raw design with its constant) up to ~2e15 — polynomials in raw powers on shifted
ranges and data with large offsets included — and a ConditioningWarning only where digits are
genuinely lost.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("mpmath")

from accuracy_problems import Problem, correct_digits, problems, reference  # noqa: E402

from linearlab import ConditioningWarning, LinearRegression  # noqa: E402
from linearlab.exact import solvers as exact  # noqa: E402
from linearlab.exact.accuracy import TARGET_ERROR, normal_equation_errors  # noqa: E402
from linearlab.exact.conditioning import conditioning_message  # noqa: E402
from linearlab.exact.gram import Gram  # noqa: E402

DIGITS = 12

PROBLEMS = {p.name: p for p in problems()}


def _weights(n):
    return np.random.default_rng(42).uniform(0.25, 4.0, n)


def _check(problem: Problem, weights=None, solver="auto", dps=50):
    ref = reference(problem, weights, dps=dps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        model = LinearRegression(solver=solver, fit_intercept=problem.fit_intercept).fit(
            problem.X, problem.y, sample_weight=weights
        )
    summary = model.summary()
    digits = {
        "coef": correct_digits(summary.params, ref.params),
        "bse": correct_digits(summary.bse, ref.bse),
        "resid_sd": correct_digits(np.sqrt(summary.scale), ref.resid_sd),
        "rsquared": correct_digits(summary.rsquared, ref.rsquared),
    }
    assert min(digits.values()) >= DIGITS, digits
    # the estimator's own attributes carry the same digits as the summary
    coef = np.atleast_1d(model.coef_)
    params = np.concatenate([[model.intercept_], coef]) if problem.fit_intercept else coef
    assert correct_digits(params, ref.params) >= DIGITS
    return model, summary


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_auto_solver_digits(name):
    _check(PROBLEMS[name])


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_auto_solver_digits_weighted(name):
    problem = PROBLEMS[name]
    _check(problem, _weights(len(problem.y)))


@pytest.mark.parametrize("name", ["degree-10 polynomial", "degree-5 polynomial"])
def test_without_intercept(name):
    p = PROBLEMS[name]
    _check(Problem(p.name, p.description, p.X, p.y, fit_intercept=False))


@pytest.mark.parametrize("name", ["degree-10 polynomial", "degree-10 polynomial, x in [-9, -3]"])
def test_hard_polynomial_is_refined_without_a_warning(name):
    """Fitted to full precision: no ConditioningWarning, whatever statsmodels' number says."""
    problem = PROBLEMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConditioningWarning)
        model = LinearRegression().fit(problem.X, problem.y)
    assert model.solver_ == "qr" and model.fitted_state_.solution.refined
    summary = model.summary()
    assert summary.condition_number > 1e15  # statsmodels' raw number is still reported
    assert "Cond. No." in str(summary) and "The condition number is large" in str(summary)


@pytest.mark.parametrize("name", ["degree-10 polynomial, x in [-9, -3]",
                                  "degree-6 polynomial, x in [3, 9]", "degree-5 polynomial"])
def test_warning_still_fires_where_digits_are_lost(name):
    """The normal equations on the same data keep few digits: that warns, and says how many.

    The degree-10 polynomial's scaled Gram has smallest exact eigenvalue 1.3e-16: numerically
    singular, so Cholesky may fail on a correctly rounded Gram and the warning then says the
    Gram is rank-deficient instead (still a warning, still few digits)."""
    problem = PROBLEMS[name]
    pattern = r"solver 'normal'.*only about \d+ correct|rank-deficient"
    with pytest.warns(ConditioningWarning, match=pattern):
        model = LinearRegression(solver="normal").fit(problem.X, problem.y)
    ref = reference(problem)
    params = np.r_[model.intercept_, model.coef_]
    assert correct_digits(params, ref.params) < 10  # the warning is not a false alarm


def test_streamed_fit_of_a_hard_polynomial_carries_its_error_estimate():
    """partial_fit has only the Gram statistics, so it cannot refine: its estimate says so."""
    problem = PROBLEMS["degree-6 polynomial, x in [3, 9]"]
    model = LinearRegression().partial_fit(problem.X, problem.y)
    solution = model.fitted_state_.solution
    assert solution.solver == "normal" and solution.error_estimate > 1e-10
    message = conditioning_message(solution, problem.X.shape[1], 0.0, None)
    assert message is not None and "correct significant digits" in message
    ref = reference(problem)
    assert correct_digits(np.r_[model.intercept_, model.coef_], ref.params) < 10


def test_moderately_conditioned_cubic_is_measured_on_the_fast_path():
    """A cubic on [-9, -3] (cond(XᵀX) ~ 4e4 after scaling): the Cholesky answer alone keeps ~9
    digits; one residual pass measures and corrects it, and one covariance pass (semi-normal
    products) gives its standard errors, so it stays on the normal path with ≥ 12 digits."""
    problem = PROBLEMS["degree-3 polynomial, x in [-9, -3]"]
    ref = reference(problem)
    Y = problem.y[:, None]
    normal = exact.solve("normal", problem.X, Y)
    assert normal.error_estimate > TARGET_ERROR
    assert correct_digits(np.r_[normal.intercept, normal.coef[:, 0]], ref.params) < 12
    auto = exact.solve("auto", problem.X, Y)
    assert auto.solver == "normal, 1 refinement pass, covariance refined"
    assert correct_digits(np.r_[auto.intercept, auto.coef[:, 0]], ref.params) >= 13
    _check(problem)


# The path each problem takes. Well-conditioned problems must never drift onto the slow
# (QR refined in double-double) path again; the hard ones must not leave it.
PATHS = {
    "degree-10 polynomial": "qr",
    "degree-5 polynomial": "qr",
    "large offsets": "normal, 1 refinement pass",
    "nearly collinear": "qr",
    "Longley": "normal, 1 refinement pass, covariance refined",
    "degree-10 polynomial, x in [-9, -3]": "qr",
    "degree-3 polynomial, x in [-9, -3]": "normal, 1 refinement pass, covariance refined",
    "degree-6 polynomial, x in [3, 9]": "qr",
    "degree-2 polynomial, x in [100, 110]": "normal, 1 refinement pass, covariance refined",
    "degree-4 polynomial, x in [100, 110]": "qr",
    "offsets 1e4, tight fit": "qr",  # the intercept is below the rounding of ȳ − x̄ᵀβ
    "offsets, correlated": "normal, 1 refinement pass, covariance refined",
    "offsets, mixed scales": "normal, 1 refinement pass",
}


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_each_problem_takes_its_path(name):
    problem = PROBLEMS[name]
    solution = exact.solve("auto", problem.X, problem.y[:, None],
                           fit_intercept=problem.fit_intercept)
    assert solution.solver == PATHS[name]
    assert (solution.solver == "qr") == solution.refined


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("noise", [0.1, 1.0])
def test_ordinary_data_stay_on_the_fast_path_over_random_draws(rho, noise):
    """Whether a fit is fast must not depend on the draw of β or on the noise level."""
    for seed in range(4):
        rng = np.random.default_rng(seed)
        d = 20
        C = rho * np.ones((d, d)) + (1 - rho) * np.eye(d)
        X = rng.standard_normal((5000, d)) @ np.linalg.cholesky(C).T
        y = X @ rng.standard_normal(d) + 3.0 + noise * rng.standard_normal(5000)
        solution = exact.solve("auto", X, y[:, None])
        assert solution.solver == "normal, 1 refinement pass", (seed, solution.solver)
        assert solution.ssr is not None and solution.error_estimate <= TARGET_ERROR


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_normal_equation_error_estimate_is_not_optimistic(name):
    """Where the Cholesky factorisation succeeds, the estimate bounds the measured error."""
    problem = PROBLEMS[name]
    gram = Gram.from_arrays(problem.X, problem.y[:, None])
    solution = exact.solve("normal", problem.X, problem.y[:, None], gram=gram)
    if solution.rank < problem.X.shape[1]:
        pytest.skip("the Gram matrix is numerically singular: no Cholesky solution")
    ref = reference(problem)
    params = np.r_[solution.intercept, solution.coef[:, 0]]
    error = np.max(np.abs(params - ref.params) / np.abs(ref.params))
    errors = normal_equation_errors(
        gram, solution.coef, solution.intercept, solution.condition_number**2, True
    )
    assert error <= errors.params
    ssr = gram.residual_sum_of_squares(solution.coef, solution.intercept)[0]
    ref_ssr = ref.resid_sd**2 * (len(problem.y) - problem.X.shape[1] - 1)
    if errors.params < 1e-6:  # (the SSR of a wildly wrong solution is not what is estimated)
        assert abs(ssr - ref_ssr) / ref_ssr <= errors.ssr[0]


def test_one_ulp_in_the_data_moves_the_exact_answer_of_a_hard_polynomial():
    """Powers computed by ``x**k`` (as a formula's ``I(x**k)`` does) differ from repeated
    multiplication by an ulp; at condition 1.5e15 that moves the exact answer in the 8th digit.
    A comparison must use a reference for the same doubles: then the fit keeps every digit."""
    problem = PROBLEMS["degree-10 polynomial, x in [-9, -3]"]
    x = problem.X[:, 0]
    powers = np.column_stack([x**k for k in range(1, 11)])
    assert 0 < np.max(np.abs(powers - problem.X) / np.abs(problem.X)) <= 4 * np.finfo(float).eps
    model = LinearRegression().fit(powers, problem.y)
    params = np.r_[model.intercept_, model.coef_]
    assert correct_digits(params, reference(problem).params) < 9  # another problem's answer
    assert correct_digits(params, reference(Problem("", "", powers, problem.y)).params) >= 15


def test_double_precision_alone_is_not_enough_here():
    """The problem is genuinely hard: plain least squares in double loses most digits."""
    problem = PROBLEMS["degree-10 polynomial"]
    ref = reference(problem)
    A = np.hstack([np.ones((len(problem.y), 1)), problem.X])
    plain = np.linalg.lstsq(A, problem.y, rcond=None)[0]
    assert correct_digits(plain, ref.params) < 6


def test_well_conditioned_data_keep_the_fast_normal_path():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 6))
    y = X @ rng.standard_normal(6) + rng.standard_normal(500)
    solution = exact.solve("auto", X, y[:, None])
    assert solution.solver == "normal, 1 refinement pass" and solution.cov_unscaled is None
    assert solution.ssr is not None  # the residual pass's own sum of squares
    ref = reference(Problem("random", "", X, y))
    summary = LinearRegression().fit(X, y).summary()
    assert correct_digits(summary.params, ref.params) >= 13
    assert correct_digits(summary.bse, ref.bse) >= 12


def test_near_perfect_fit_keeps_residual_digits_on_the_normal_path():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = X @ [1.0, 2.0, 3.0] + 1.0 + 1e-7 * rng.standard_normal(200)
    model = LinearRegression().fit(X, y)
    assert model.solver_ == "normal, 1 refinement pass"
    ref = reference(Problem("tight", "", X, y))
    summary = model.summary()
    assert correct_digits(np.sqrt(summary.scale), ref.resid_sd) >= 12
    assert correct_digits(summary.bse, ref.bse) >= 12


def test_multi_output_refined_fit():
    problem = PROBLEMS["degree-10 polynomial"]
    Y = np.column_stack([problem.y, 1e-9 * problem.y[::-1], 1e9 * np.cos(problem.y)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        summaries = LinearRegression().fit(problem.X, Y).summary()
    for t in range(3):  # targets of very different sizes each converge
        ref = reference(Problem("", "", problem.X, Y[:, t]))
        assert correct_digits(summaries[t].params, ref.params) >= DIGITS
        assert correct_digits(summaries[t].bse, ref.bse) >= DIGITS


# ------------------------------------------------------------------ rank deficiency
def _min_norm(X, y, w=None, fit_intercept=True):
    Xc, yc = X, y
    if fit_intercept:
        wt = np.ones(len(y)) if w is None else w
        Xc, yc = X - wt @ X / wt.sum(), y - wt @ y / wt.sum()
    if w is not None:
        Xc, yc = Xc * np.sqrt(w)[:, None], yc * np.sqrt(w)
    return np.linalg.lstsq(Xc, yc, rcond=None)[0]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_rank_deficient_designs_give_minimum_norm_and_name_columns(weighted, fit_intercept):
    import pandas as pd

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 50))
    X = pd.DataFrame({"a": a, "b": b, "dup_a": a, "a_minus_b": a - b, "c": rng.uniform(1, 2, 50)})
    y = 1 + a - 2 * b + X["c"] + 0.1 * rng.standard_normal(50)
    w = _weights(50) if weighted else None
    with pytest.warns(ConditioningWarning, match=r"rank 3 < 5.*'a'.*'b'.*'dup_a'.*'a_minus_b'"):
        model = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    ref = _min_norm(X.to_numpy(), y.to_numpy(), w, fit_intercept)
    np.testing.assert_allclose(model.coef_, ref, rtol=1e-9, atol=1e-12)
    summary = model.summary()
    assert summary.aliased == ["dup_a", "a_minus_b"]
    np.testing.assert_allclose(summary.predict(X), model.predict(X), rtol=1e-9)


def test_fewer_rows_than_features():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((6, 10)), rng.standard_normal(6)
    with pytest.warns(ConditioningWarning, match="rank-deficient"):
        model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, _min_norm(X, y), atol=1e-10)
    np.testing.assert_allclose(model.predict(X), y, atol=1e-10)


def test_ill_conditioned_but_full_rank_is_not_aliased():
    problem = PROBLEMS["nearly collinear"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        model = LinearRegression().fit(problem.X, problem.y)
    assert model.rank_ == 3 and model.summary().aliased == []


@pytest.mark.parametrize("degree", [13, 15])
def test_refinement_reaches_scaled_condition_numbers_near_1e15(degree):
    """Raw condition numbers 1e20-1e23 (centred and scaled: ~5e12-7e14) keep full digits."""
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-8.78, -3.13, 120))
    y = 0.85 + 0.02 * np.sin(2 * x) + 0.003 * rng.standard_normal(120)
    problem = Problem("", "", np.vander(x, degree + 1, increasing=True)[:, 1:], y)
    model, summary = _check(problem, dps=90)  # cond(XᵀX) ~ 1e46: more reference digits
    assert model.fitted_state_.solution.refined and summary.condition_number > 1e19


def test_beyond_double_precision_the_summary_still_works():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-8.78, -3.13, 120))
    X = np.vander(x, 19, increasing=True)[:, 1:]
    with pytest.warns(ConditioningWarning, match="rank-deficient"):
        model = LinearRegression().fit(X, np.sin(x))
    summary = model.summary()
    assert summary.aliased and np.isfinite(summary.bse[~np.isnan(summary.params)]).all()
    # no exact answer exists in double precision; the summary's reduced fit is still a good fit
    summary_ssr = ((np.sin(x) - summary.predict(X)) ** 2).sum()
    assert summary_ssr <= 1.5 * ((np.sin(x) - model.predict(X)) ** 2).sum()
    assert summary.ssr == pytest.approx(summary_ssr, rel=1e-3)


@pytest.mark.parametrize("solver", ["auto", "normal", "qr", "svd"])
def test_no_warning_on_well_conditioned_data_with_large_offsets(solver):
    """statsmodels' number is ~1e9 here (offsets 1e4), but every solver keeps its digits."""
    rng = np.random.default_rng(5)
    X = 1e4 + rng.standard_normal((200, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.standard_normal(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConditioningWarning)
        model = LinearRegression(solver=solver).fit(X, y)
    assert model.summary().condition_number > 1e8


def test_solutions_without_an_estimate_fall_back_to_the_condition_number():
    from dataclasses import replace

    problem = PROBLEMS["nearly collinear"]
    solution = exact.solve("qr", problem.X, problem.y[:, None])
    unknown = replace(solution, error_estimate=np.nan)
    assert conditioning_message(unknown, 3, 0.0, None) is not None  # cond ~1e7 after scaling
    refined = replace(unknown, refined=True)
    assert conditioning_message(refined, 3, 0.0, None) is None


@pytest.mark.parametrize("with_gram", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_lean_accurate_path_keeps_every_digit(name, weighted, with_gram):
    """The tall-data accurate path (one copy of X, Q applied from its reflectors, residuals in
    double-double block by block) solves every problem as the small-data one does, whether it
    measures the column means and norms itself or takes them from the Gram."""
    from linearlab.exact.refine_lean import solve_accurate_lean

    problem = PROBLEMS[name]
    w = _weights(len(problem.y)) if weighted else None
    gram = Gram.from_arrays(problem.X, problem.y[:, None], w) if with_gram else None
    fit = solve_accurate_lean(problem.X, problem.y[:, None], w,
                              fit_intercept=problem.fit_intercept, gram=gram)
    ref = reference(problem, w)
    # 12 digits are promised: a pass settles at an estimated 1e-12, which overstates the error
    # left 100x and more (the hardest problem keeps 13.97 digits; most keep all 16)
    assert correct_digits(fit.params[:, 0], ref.params) >= 13
    dof = len(problem.y) - fit.params.shape[0]
    assert correct_digits(np.sqrt(fit.ssr[0] / dof), ref.resid_sd) >= 13


def test_the_accurate_path_on_tall_data_keeps_one_copy_of_x():
    """cond(X) ~ 1e8: past the residual passes, so QR runs; its extra memory stays near one
    copy of X (the small-data path held ~9 copies)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    a = rng.standard_normal(50_000)  # 40 columns: a few n-vectors (y, residuals) are small
    X = np.column_stack([a + 1e-8 * rng.standard_normal(50_000), a,
                         rng.standard_normal((50_000, 38))])
    y = X @ rng.standard_normal(40) + rng.standard_normal(50_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        model = LinearRegression().fit(X, y)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    assert model.solver_ == "qr" and model.fitted_state_.solution.refined
    assert peak <= 1.4 * X.nbytes
    reference_fit = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[model.intercept_, model.coef_], reference_fit, rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("spread", [0, 25])
def test_lean_residuals_are_double_double_against_exact_rationals(weighted, spread):
    """The QR path's residuals f = y − s − [1, X]x and g = −[1, X]ᵀWs, from exact BLAS products
    of slices, carry ~100 bits: their error is at most the final rounding plus 1e-28 of
    Σ|a||x| (Dot2's bound is ~1e-31), on a polynomial and on entries spread over 2^±spread,
    with s the least-squares residual (g cancels to ~ε of its terms)."""
    from fractions import Fraction

    from linearlab.exact.refine_lean import augmented_residuals

    rng = np.random.default_rng(spread + weighted)
    n, d = 200, 5
    t = rng.uniform(3, 9, n)
    X = np.column_stack([t**j for j in range(1, d + 1)])
    X *= 2.0 ** rng.integers(-spread, spread + 1, (n, d))
    A = np.column_stack([np.ones(n), X])
    w = rng.uniform(0.5, 2.0, n) if weighted else np.ones(n)
    y = np.cos(t / 3)[:, None]
    x = np.linalg.lstsq(A * np.sqrt(w)[:, None], y * np.sqrt(w)[:, None], rcond=None)[0]
    s = y - A @ x
    f, g = augmented_residuals(X, y, s, x, w if weighted else None, True)
    exact_f = [Fraction(y[i, 0]) - Fraction(s[i, 0])
               - sum(Fraction(A[i, j]) * Fraction(x[j, 0]) for j in range(d + 1))
               for i in range(n)]
    ws = [Fraction(w[i]) * Fraction(s[i, 0]) for i in range(n)]
    exact_g = [-sum(Fraction(A[i, j]) * ws[i] for i in range(n)) for j in range(d + 1)]
    f_scale = np.abs(A) @ np.abs(x[:, 0])
    g_scale = np.abs(A).T @ np.abs(w * s[:, 0])
    for got, want, scale in ((f[:, 0], exact_f, f_scale), (g[:, 0], exact_g, g_scale)):
        error = np.array([abs(float(Fraction(a) - b)) for a, b in zip(got, want, strict=True)])
        assert np.all(error <= 1.2e-16 * np.abs(got) + 1e-28 * scale)


def test_lean_path_with_several_targets_solves_each_as_alone():
    """Several targets on the tall-data QR path (a noise target beside a fitted one: their
    coefficients differ by orders of magnitude) converge, each as when fitted alone."""
    from linearlab.exact.refine_lean import solve_accurate_lean

    rng = np.random.default_rng(5)
    n = 30_001
    a = rng.standard_normal(n)
    X = np.column_stack([a + 1e-7 * rng.standard_normal(n), a,
                         rng.standard_normal((n, 5)) * 1e3 + 5e3])
    Y = np.column_stack([X @ rng.standard_normal(7) + 1 + rng.standard_normal(n),
                         rng.standard_normal(n)])
    both = solve_accurate_lean(X, Y)
    assert both is not None and both.iterations <= 3
    for i in range(2):
        alone = solve_accurate_lean(X, Y[:, i:i + 1])
        np.testing.assert_allclose(both.params[:, i], alone.params[:, 0], rtol=1e-15, atol=0)


def _offsets_and_a_collinear_pair():
    """Columns at offsets up to 1e6 with spreads down to 1e-3, two of them nearly collinear."""
    rng = np.random.default_rng(38)
    n = 5000
    X = rng.standard_normal((n, 5)) * [1e-3, 1.0, 10.0, 1e2, 0.1] + [1e6, 1e3, 1e5, 1.0, 1e4]
    X[:, 1] = 2 * X[:, 0] + 1e-6 * X[:, 0].std() * rng.standard_normal(n)
    y = X @ [-0.12, -28.7, 0.12, 8.6, 0.1] + 3.0
    return X, y + 0.15 * y.std() * rng.standard_normal(n)


def _a_pair_at_cond_2e10(seed=0):
    rng = np.random.default_rng(seed)
    n = 5000
    a = rng.standard_normal(n)
    X = np.column_stack([a + 1e-10 * rng.standard_normal(n), a, rng.standard_normal((n, 4))])
    return X, X @ [1.18, -0.7, 1.09, 0.06, 0.035, -1.73] + 3e-6 * rng.standard_normal(n)


@pytest.mark.parametrize("make", [_offsets_and_a_collinear_pair, _a_pair_at_cond_2e10])
def test_lean_path_converges_where_it_fell_back_to_svd(make):
    """Two ways the tall QR path gave up on well-posed problems (and the SVD's answer stood in):
    the gradient Xᵀs rounded before centring (gⱼ ≈ x̄ⱼ·g₀ at offsets 1e9 times the spread left
    the refinement contracting by 1e-2 a pass), and a last correction just above 1e-12 taken
    for non-convergence when the passes had contracted by 1e-7 (51 of 120 draws at cond 2e10).
    Both now converge to every digit the 50-digit reference has."""
    from linearlab.exact.refine_lean import solve_accurate_lean

    X, y = make()
    ref = reference(Problem("t", "t", X, y))
    fit = solve_accurate_lean(X, y[:, None], gram=Gram.from_arrays(X, y[:, None]))
    assert fit is not None
    assert correct_digits(fit.params[:, 0], ref.params) >= 13


def test_the_small_path_centres_its_gradient_too():
    """The small-data QR path (column pivoting, explicit Q) forms the centred gradient in
    double-double as well: at offsets 1e9 times the spread it converges in 5 passes, where
    rounding before centring took 15 (each contracting by ~1e-2)."""
    from linearlab.exact.refine import solve_accurate

    X, y = _offsets_and_a_collinear_pair()
    fit = solve_accurate(X, y[:, None])
    ref = reference(Problem("t", "t", X, y))
    assert fit.converged and fit.iterations <= 6
    assert correct_digits(fit.params[:, 0], ref.params) >= 13


@pytest.mark.parametrize("seed", range(5))
def test_centred_dd_is_the_exact_centring_rounded(seed):
    from fractions import Fraction

    from linearlab.exact.refine import centred_dd, two_sum

    rng = np.random.default_rng(seed)
    hi0 = rng.standard_normal((4, 2)) * 10.0 ** rng.integers(-3, 9, (4, 1))
    lo0 = rng.standard_normal((4, 2)) * 1e-17 * np.abs(hi0)
    hi, lo = two_sum(hi0, lo0)
    shift = np.r_[0.0, rng.uniform(-1e6, 1e6, 3)]
    c_hi, c_lo = centred_dd(hi, lo, shift)
    for j in range(1, 4):
        for t in range(2):
            exact = (Fraction(hi[j, t]) + Fraction(lo[j, t])
                     - Fraction(shift[j]) * (Fraction(hi[0, t]) + Fraction(lo[0, t])))
            got = Fraction(c_hi[j, t]) + Fraction(c_lo[j, t])
            scale = abs(hi[j, t]) + abs(shift[j] * hi[0, t])
            assert abs(float(got - exact)) <= 1e-30 * scale


def test_the_tall_qr_warning_blames_the_standard_errors_not_the_refined_coefficients():
    """The tall QR path refines the coefficients but takes (XᵀX)⁻¹ from the factor: at cond
    1e10 the warning says the standard errors lose digits, and the coefficients do not."""
    X, y = _a_pair_at_cond_2e10()
    X, y = np.repeat(X, 40, axis=0), np.repeat(y, 40)  # 200,000 rows: the tall path
    with pytest.warns(ConditioningWarning) as record:
        model = LinearRegression().fit(X, y)
    message = str(record[0].message)
    assert model.solver_ == "qr" and model.fitted_state_.solution.refined
    assert "coefficients are refined (12 or more correct digits), but their standard errors" \
        in message
    reference_fit = LinearRegression().fit(X[::40], y[::40])  # the same rows, small path
    np.testing.assert_allclose(model.coef_, reference_fit.coef_, rtol=1e-11)
