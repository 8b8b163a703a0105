import warnings

import numpy as np
import pandas as pd
import pytest
from problems import make_problem
from sklearn.base import clone
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from linearlab import (
    ConditioningWarning,
    ConvergenceWarning,
    DataError,
    LinearRegression,
    NotFittedError,
)


@parametrize_with_checks(
    [LinearRegression(), LinearRegression(solver="gd", random_state=0)],
)
def test_scikit_learn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        check(estimator)


@pytest.mark.parametrize("k", [None, 1, 3])
def test_shapes_and_values_match_scikit_learn(rng, k):
    X, y = make_problem(rng, k=k)
    ours = LinearRegression().fit(X, y)
    ref = SkLinearRegression().fit(X, y)
    assert np.shape(ours.coef_) == np.shape(ref.coef_)
    assert np.shape(ours.intercept_) == np.shape(ref.intercept_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), rel=1e-12)


@pytest.mark.parametrize(
    "settings",
    [
        dict(optimizer="sgd"),
        dict(optimizer="momentum"),
        dict(optimizer="nesterov"),
        dict(optimizer="adam", lr=0.05, epochs=3000),
        dict(optimizer="sgd", standardize=True),
        dict(optimizer="sgd", batch_size=16, epochs=3000, lr=0.02),
    ],
)
def test_gradient_descent_reaches_the_exact_optimum(rng, settings):
    X, y = make_problem(rng, n=120, d=3, noise=0.0)
    exact = LinearRegression().fit(X, y)
    gd = LinearRegression(solver="gd", random_state=0, **{"epochs": 2000, **settings}).fit(X, y)
    np.testing.assert_allclose(gd.coef_, exact.coef_, rtol=1e-4, atol=1e-4)
    assert gd.intercept_ == pytest.approx(exact.intercept_, abs=1e-4)
    if settings.get("batch_size") is None:
        assert gd.converged_ and gd.diagnosis_ is None


def test_gd_with_ridge_matches_exact_ridge(rng):
    X, y = make_problem(rng, n=100, d=4)
    exact = LinearRegression(alpha=5.0).fit(X, y)
    gd = LinearRegression(solver="gd", alpha=5.0, epochs=5000).fit(X, y)
    np.testing.assert_allclose(gd.coef_, exact.coef_, rtol=1e-8)


def test_same_random_state_same_numbers(rng):
    X, y = make_problem(rng, n=50, d=2)
    params = dict(solver="gd", init="uniform", batch_size=8, epochs=20, lr=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LinearRegression(random_state=7, **params).fit(X, y)
        b = LinearRegression(random_state=7, **params).fit(X, y)
        c = LinearRegression(random_state=8, **params).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.history_ == b.history_
    assert not np.array_equal(a.coef_, c.coef_)


def test_params_history_is_the_recorded_path(rng):
    X, y = make_problem(rng, n=40, d=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = LinearRegression(solver="gd", epochs=25, lr=0.01, standardize=True).fit(X, y)
    assert m.params_history_.shape == (26, 3, 1)
    np.testing.assert_allclose(m.params_history_[-1, :2, 0], m.coef_, rtol=1e-12)
    assert m.params_history_[-1, 2, 0] == pytest.approx(m.intercept_, rel=1e-12)
    np.testing.assert_allclose(m.params_history_[0], 0.0, atol=1e-12)  # zeros start


def test_sklearn_tools_work(rng):
    X, y = make_problem(rng, n=80, d=3)
    pipe = make_pipeline(StandardScaler(), LinearRegression(solver="gd"))
    assert pipe.fit(X, y).score(X, y) > 0.99
    grid = GridSearchCV(LinearRegression(), {"alpha": [0.0, 1.0, 10.0]}, cv=3).fit(X, y)
    assert grid.best_params_["alpha"] in (0.0, 1.0, 10.0)
    model = LinearRegression(solver="gd", lr=0.1)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.set_params(lr=0.2).lr == 0.2


def test_feature_names_from_dataframe(rng):
    X, y = make_problem(rng, n=30, d=2)
    df = pd.DataFrame(X, columns=["height", "age"])
    m = LinearRegression().fit(df, y)
    assert list(m.feature_names_in_) == ["height", "age"]
    with pytest.raises(ValueError, match="feature names"):
        m.predict(pd.DataFrame(X, columns=["age", "height"]))


def test_partial_fit_in_chunks_equals_fit(rng):
    X, y = make_problem(rng, n=500, d=4)
    whole = LinearRegression().fit(X, y)
    streamed = LinearRegression()
    for chunk in np.array_split(np.arange(500), 6):
        streamed.partial_fit(X[chunk], y[chunk])
    np.testing.assert_allclose(streamed.coef_, whole.coef_, rtol=1e-10)
    assert streamed.intercept_ == pytest.approx(whole.intercept_, rel=1e-10)
    with pytest.raises(DataError, match="target"):
        streamed.partial_fit(X[:5], np.c_[y[:5], y[:5]])


def test_partial_fit_gd_continues_from_current_parameters(rng):
    X, y = make_problem(rng, n=200, d=2, noise=0.0)
    model = LinearRegression(solver="gd", standardize=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(X[:100], y[:100])
        first = model.score(X, y)
        for _ in range(30):
            model.partial_fit(X[100:], y[100:])
    assert model.score(X, y) > first and model.score(X, y) > 0.999


def test_rank_deficient_warns_and_names_columns(rng):
    X = rng.standard_normal((30, 2))
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "a_again": X[:, 0]})
    y = X[:, 0] + 2 * X[:, 1]
    with pytest.warns(ConditioningWarning, match="rank-deficient.*'a'.*'a_again'"):
        m = LinearRegression().fit(df, y)
    np.testing.assert_allclose(m.coef_, [0.5, 2.0, 0.5], atol=1e-10)  # minimum norm


BAD_INPUTS = [
    ("nan", lambda X, y: (np.where(np.eye(10, 2) == 1, np.nan, X), y), r"NaN at row 0"),
    ("inf", lambda X, y: (X, np.r_[y[:-1], np.inf]), r"y contains inf at row 9"),
    ("empty", lambda X, y: (X[:0], y[:0]), r"0 sample"),
    ("ragged", lambda X, y: ([[1.0, 2.0], [3.0]], [1.0, 2.0]), r"ragged|inhomogeneous"),
    ("lengths", lambda X, y: (X, y[:-1]), r"X has 10 rows, y has 9"),
    ("strings", lambda X, y: (np.array([["1", "x"]] * 10), y), r"row 0, column 1.*'x'"),
    ("1-d", lambda X, y: (X[:, 0], y), r"Expected 2D array.*reshape\(-1, 1\)"),
    ("no y", lambda X, y: (X, None), r"requires y"),
    ("negative weight", "weights", r"non-negative"),
]


@pytest.mark.parametrize("case,make,message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_raise_clear_errors(rng, case, make, message):
    X, y = make_problem(rng, n=10, d=2)
    if make == "weights":
        with pytest.raises(DataError, match=message):
            LinearRegression().fit(X, y, sample_weight=-np.ones(10))
        return
    Xb, yb = make(X, y)
    with pytest.raises(DataError, match=message):
        LinearRegression().fit(Xb, yb)


def test_predict_errors(rng):
    X, y = make_problem(rng, n=10, d=2)
    with pytest.raises(NotFittedError, match="not fitted"):
        LinearRegression().predict(X)
    m = LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LinearRegression is expecting 2"):
        m.predict(np.ones((4, 3)))
    df = pd.DataFrame(X, columns=["a", "b"])
    with pytest.raises(DataError, match="column 1 \\('b'\\)"):
        m.predict(df.assign(b=["1", "2", "oops", *["4"] * 7]).astype(object))


def test_invalid_parameters_are_rejected_at_fit(rng):
    X, y = make_problem(rng, n=10, d=2)
    with pytest.raises(ValueError, match="'solver' parameter"):
        LinearRegression(solver="magic").fit(X, y)
    with pytest.raises(ValueError, match="'lr' parameter"):
        LinearRegression(solver="gd", lr=-1.0).fit(X, y)
    with pytest.raises(DataError, match="Invalid init"):
        LinearRegression(solver="gd", init=([1.0, 2.0, 3.0], 0.0)).fit(X, y)


def test_adam_auto_step_reaches_the_optimum_on_unscaled_data():
    from linearlab import load_dataset

    data = load_dataset("noisy-line")
    exact = LinearRegression().fit(data.X, data.y)
    adam = LinearRegression(solver="gd", optimizer="adam").fit(data.X, data.y)
    assert adam.converged_
    np.testing.assert_allclose(adam.coef_, exact.coef_, rtol=1e-4)


def test_standardize_without_intercept_only_rescales(rng):
    X, y = make_problem(rng, n=150, d=3, noise=0.0, offset=4.0)
    y = y - 1.5  # a model through the origin
    exact = LinearRegression(fit_intercept=False).fit(X, y)
    gd = LinearRegression(solver="gd", fit_intercept=False, standardize=True, epochs=3000)
    gd.fit(X, y)
    assert gd.intercept_ == 0.0
    np.testing.assert_allclose(gd.coef_, exact.coef_, rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_automatic_step_is_stable_for_small_minibatches(optimizer, batch_size):
    # Single-row batches are much steeper than the full batch: lr="auto" must account for it.
    for seed in range(15):
        rng = np.random.default_rng(seed)
        n, d = int(rng.integers(5, 60)), int(rng.integers(1, 5))
        X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-5, 5, d)
        y = X @ rng.standard_normal(d) + rng.standard_normal(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LinearRegression(solver="gd", optimizer=optimizer, batch_size=batch_size,
                                     epochs=40, random_state=seed).fit(X, y)
        assert np.isfinite(model.history_).all()
        assert model.history_[-1] < model.history_[0]


def test_messages_use_feature_names_given_for_unnamed_arrays(rng):
    # The command line fits plain arrays but knows the column names: messages should use them.
    X = rng.standard_normal((20, 2))
    model = LinearRegression()
    model.feature_names_ = ["height", "height_again"]
    with pytest.warns(ConditioningWarning, match="'height', 'height_again'"):
        model.fit(np.c_[X[:, 0], X[:, 0]], X[:, 1])
    assert not hasattr(model, "feature_names_in_")  # still an array fit for scikit-learn


def test_demo_diagnosis_names_the_feature(capsys):
    import json

    from linearlab import cli

    assert cli.main(["demo", "salary", "--json", "--no-plots"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "25642.85714·experience" in result["gd"]["diagnosis"]
