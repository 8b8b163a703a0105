"""The seed documents' numbers, reproduced through the public API."""

import json
import warnings

import numpy as np
import pytest

from linearlab import ConvergenceWarning, LinearRegression, load_dataset


@pytest.fixture
def seed002_start():
    np.random.seed(220102)
    W = np.random.randn(1, 1)
    B = np.random.randn(1, 1)
    np.testing.assert_allclose([W[0, 0], B[0, 0]], [0.97213265, 0.28608494], atol=5e-9)
    return W.ravel(), B.ravel()


def test_seed002_numpy_sum_of_squares_gradient(seed002_start):
    data = load_dataset("three-points")
    model = LinearRegression(solver="gd", loss="sse", lr=0.001, epochs=100, init=seed002_start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X, data.y)
    assert model.history_[0] / 3 == pytest.approx(8.375300661720344, rel=1e-13)
    np.testing.assert_allclose(model.coef_, [2.05165305], atol=5e-9)
    assert model.intercept_ == pytest.approx(0.77918673, abs=5e-9)
    mse = np.mean((model.predict(data.X) - data.y) ** 2)
    assert mse == pytest.approx(0.015586626144295427, rel=1e-11)


def test_seed002_torch_style_mean_squared_error(seed002_start):
    data = load_dataset("three-points")
    model = LinearRegression(solver="gd", loss="mse", lr=0.01, epochs=100, init=seed002_start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X, data.y)
    np.testing.assert_allclose(model.predict(data.X), [2.9034, 4.9793, 7.0551], atol=5e-5)


def test_seed000_salary_exact_line():
    data = load_dataset("salary")
    model = LinearRegression().fit(data.X, data.y)
    assert model.coef_[0] == pytest.approx(718000 / 28, rel=1e-12)
    assert model.intercept_ == pytest.approx(1428.5714285714, rel=1e-10)


def test_seed000_salary_descent_is_close_but_not_converged():
    data = load_dataset("salary")
    model = LinearRegression(solver="gd", lr=0.001, epochs=10001, init=([0.1], [0.1]))
    with pytest.warns(ConvergenceWarning, match="Not converged") as record:
        model.fit(data.X, data.y)
    assert model.coef_[0] == pytest.approx(25627, abs=1.0)
    assert model.intercept_ == pytest.approx(1505, abs=1.0)
    assert not model.converged_
    message = str(record[0].message)
    assert "25642.857" in message and "1428.571" in message  # names the exact optimum
    assert "lr=" in message  # and what to change


def test_seed003_sum_reduction_predicts_eight():
    data = load_dataset("doubling")
    model = LinearRegression(
        solver="gd", loss="sse", lr=0.01, epochs=500, init="uniform", random_state=0
    )
    model.fit(data.X, data.y)
    assert model.predict([[4.0]])[0] == pytest.approx(8.0, abs=0.05)


def test_seed004_dataset_matches_the_seed_generator():
    data = load_dataset("arange-line")
    assert data.X.shape == (20, 1)
    assert data.y[0] == pytest.approx(-7.145209789276123)
    exact = LinearRegression().fit(data.X, data.y)
    assert exact.coef_[0] == pytest.approx(2.0, abs=0.3)
    assert exact.intercept_ == pytest.approx(-1.0, abs=0.5)


def test_seed001_in_order_minibatches_plateau_near_the_truth():
    data = load_dataset("noisy-line")
    model = LinearRegression(
        solver="gd", lr=0.001, epochs=20, batch_size=10, shuffle=False, init="uniform",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.X, data.y)
    assert len(model.history_) == 20
    assert model.history_[-1] < model.history_[0]
    assert not model.converged_  # lr=0.001 for 20 epochs stops short, as the seed notes


@pytest.mark.parametrize("start", ["exact", "printed"])
def test_seed002_from_the_command_line(seed002_start, capsys, start):
    """`linearlab fit three-points --init W,B` reproduces the post's printed numbers."""
    from linearlab import cli

    W0, B0 = (float(seed002_start[0][0]), float(seed002_start[1][0]))
    init = f"{W0!r},{B0!r}" if start == "exact" else "0.97213265,0.28608494"  # as printed
    tol = 5e-9 if start == "exact" else 1e-8  # the printed start is rounded to 8 digits
    argv = ["fit", "three-points", "--solver", "gd", "--init", init, "--loss", "sse",
            "--lr", "0.001", "--epochs", "100"]
    assert cli.main([*argv, "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["coef"]["x"] == pytest.approx(2.05165305, abs=tol)
    assert fitted["intercept"] == pytest.approx(0.77918673, abs=tol)
    assert fitted["metrics"]["rmse"] ** 2 == pytest.approx(0.015586626144295427, rel=1e-7)
    assert fitted["history"][0] / 3 == pytest.approx(8.375300661720344, rel=1e-7)  # MSE before
    predictions = [fitted["coef"]["x"] * x + fitted["intercept"] for x in (1, 2, 3)]
    np.testing.assert_allclose(predictions, [2.83083978, 4.88249283, 6.93414589], atol=3e-8)
    assert cli.main(argv) == 0  # the table and the epoch log print W and B after epoch 99
    text = capsys.readouterr().out
    assert "2.051653" in text and "0.7791867" in text and "│ x " in text.replace("┃", "│")
    # the post's PyTorch half: mean squared error, lr 0.01, 100 steps from the same start
    torch_style = ["fit", "three-points", "--solver", "gd", "--init", init, "--lr", "0.01",
                   "--epochs", "100", "--json"]
    assert cli.main(torch_style) == 0
    fitted = json.loads(capsys.readouterr().out)
    predictions = [fitted["coef"]["x"] * x + fitted["intercept"] for x in (1, 2, 3)]
    np.testing.assert_allclose(predictions, [2.9034, 4.9793, 7.0551], atol=5e-5)
