"""backend="torch": the seeds' numbers, and the same trajectory as the NumPy engine."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from linearlab import DivergenceError, LinearRegression, load_dataset
from linearlab.descent import DescentConfig
from linearlab.descent import train as numpy_train
from linearlab.descent.batches import BatchPlan, initial_parameters, random_streams
from linearlab.errors import BackendUnavailableError, ParameterError

torch = pytest.importorskip("torch")
from linearlab.descent import torch_backend  # noqa: E402

CUDA = torch.cuda.is_available()
RTOL = 1e-9


def fit(backend, X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(solver="gd", backend=backend, **params)
        return model.fit(X, y, sample_weight=sample_weight)


def assert_same_run(a, b, rtol=RTOL):
    """Same epochs, history (elementwise relative) and parameter path (relative to its size).

    Values at rounding level are pure noise and only need to agree to a few ulps of the
    problem's scale: losses of a perfect fit (e.g. 2 rows and 2 parameters), or parameters moved
    by a gradient that cancels exactly (mae on centred features: Σ sign(r)·x = Σ x = 0).
    The test problems' parameters are of order one, so 1e-5 floors their scale.
    """
    assert a.n_iter_ == b.n_iter_
    floor = 1e-14 * np.max(a.history_)
    np.testing.assert_allclose(b.history_, a.history_, rtol=rtol, atol=floor)
    scale = max(np.max(np.abs(a.params_history_)), 1e-5)
    assert a.params_history_.shape == b.params_history_.shape
    assert np.max(np.abs(a.params_history_ - b.params_history_)) <= rtol * scale
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=0, atol=rtol * scale)


def seed002_start():
    legacy = np.random.RandomState(220102)  # the post's np.random.seed(220102)
    W = legacy.randn(1, 1)
    B = legacy.randn(1, 1)
    return W, B


# --------------------------------------------------------------------------- the seeds
def test_seed002_pytorch_numbers():
    W, B = seed002_start()
    assert W[0, 0] == pytest.approx(0.97213265) and B[0, 0] == pytest.approx(0.28608494)
    ds = load_dataset("three-points")
    model = fit("torch", ds.X, ds.y, loss="mse", lr=0.01, epochs=100, init=(W, B))
    np.testing.assert_array_equal(np.round(model.predict(ds.X), 4), [2.9034, 4.9793, 7.0551])
    assert model.history_[0] == pytest.approx(8.375300661720344, rel=1e-14)
    assert_same_run(fit("numpy", ds.X, ds.y, loss="mse", lr=0.01, epochs=100, init=(W, B)), model)


def test_seed002_numpy_sum_of_squares_numbers_through_torch():
    W, B = seed002_start()
    ds = load_dataset("three-points")
    model = fit("torch", ds.X, ds.y, loss="sse", lr=0.001, epochs=100, init=(W, B))
    assert model.coef_[0] == pytest.approx(2.05165305, abs=1e-8)
    assert model.intercept_ == pytest.approx(0.77918673, abs=1e-8)
    mse = np.mean((model.predict(ds.X) - ds.y) ** 2)
    assert mse == pytest.approx(0.015586626144295427, rel=1e-9)


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_seed003_sum_reduction_predicts_eight(random_state):
    ds = load_dataset("doubling")
    model = fit(
        "torch", ds.X, ds.y, loss="sse", lr=0.01, epochs=500, init="uniform",
        random_state=random_state,
    )
    assert abs(model.predict([[4.0]])[0] - 8.0) < 0.05
    assert model.history_[0] > 1.0 > 100 * model.history_[-1]


def test_seed000_salary_ends_not_converged_with_the_exact_optimum():
    ds = load_dataset("salary")
    params = dict(lr=0.001, epochs=10001, init="uniform", random_state=0)
    model = fit("torch", ds.X, ds.y, **params)
    assert model.converged_ is False
    assert "Not converged" in model.diagnosis_
    assert "25642.857" in model.diagnosis_ and "1428.571" in model.diagnosis_
    assert model.coef_[0] == pytest.approx(25627, abs=1.0)
    assert model.intercept_ == pytest.approx(1505, abs=2.0)
    reference = fit("numpy", ds.X, ds.y, **params)  # the closed-form path
    assert_same_run(reference, model)
    assert model.diagnosis_ == reference.diagnosis_


# --------------------------------------------------------------------------- numpy == torch
@st.composite
def problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(2, 24))
    d = draw(st.integers(1, 3))
    k = draw(st.sampled_from([None, 1, 2, 3]))
    X = rng.normal(size=(n, d)) * draw(st.sampled_from([0.5, 1.0, 3.0]))
    noise = rng.normal(size=(n,) if k is None else (n, k))
    true = rng.normal(size=(d,) if k is None else (d, k))
    y = X @ true + 0.7 + noise
    weights = rng.uniform(0.2, 2.0, size=n) if draw(st.booleans()) else None
    params = dict(
        optimizer=draw(st.sampled_from(["sgd", "momentum", "nesterov", "adam"])),
        loss=draw(st.sampled_from(["mse", "sse", "mae", "huber"])),
        batch_size=draw(st.sampled_from([None, 1, 3, 7, 50])),
        shuffle=draw(st.booleans()),
        fit_intercept=draw(st.booleans()),
        alpha=draw(st.sampled_from([0.0, 0.5])),
        init=draw(st.sampled_from(["zeros", "uniform", "normal"])),
        standardize=draw(st.booleans()),
        epochs=draw(st.integers(1, 12)),
        random_state=draw(st.integers(0, 1000)),
    )
    params["lr"] = contractive_lr(X, weights, params)
    return X, y, weights, params


def contractive_lr(X, weights, params):
    """A step size at which each update contracts, so rounding differences cannot grow.

    lr="auto" aims at speed; with one-row batches (or Adam's distance-based step over a few
    epochs) it can put the iterates in a chaotic regime where any two correct implementations
    drift apart exponentially (1e-16 → 1e-8 in ten epochs). That says nothing about parity, so
    this property uses a step below 1/(largest curvature of any batch); lr="auto" is compared in
    the longer runs below.
    """
    if params["standardize"]:  # centred and scaled, or scaled by the RMS without intercept
        mean = np.average(X, axis=0, weights=weights) if params["fit_intercept"] else 0.0
        std = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weights))
        X = (X - mean) / np.where(std > 0, std, 1.0)
    row = float(np.max(np.sum(X * X, axis=1))) + 1.0  # curvature of one row's r², halved
    if params["loss"] == "sse":  # a sum over the batch: curvature grows with its weight
        rows = X.shape[0] if params["batch_size"] is None else min(params["batch_size"], len(X))
        row *= rows * (1.0 if weights is None else float(np.max(weights)))
    curvature = 2.0 * (row + params["alpha"])
    scale = {"sgd": 0.5, "momentum": 0.05, "nesterov": 0.05}
    return 0.01 if params["optimizer"] == "adam" else scale[params["optimizer"]] / curvature


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_numpy_and_torch_trajectories_agree(problem):
    X, y, weights, params = problem
    # Standardized columns sum to zero, so mae/huber residuals of one sign give a gradient that
    # is exactly zero, i.e. rounding noise (~1e-17) that differs between engines; Adam divides
    # the gradient by its own size and turns that noise into steps of ~lr·1e-8. Not comparable.
    assume(not (params["standardize"] and params["optimizer"] == "adam"
                and params["loss"] in ("mae", "huber")))
    a, b = (outcome(backend, X, y, weights, **params) for backend in ("numpy", "torch"))
    if isinstance(a, DivergenceError):  # then both diverge, at the same epoch, in the same words
        assert isinstance(b, DivergenceError) and str(b) == str(a)
        return
    assert_same_run(a, b)
    assert a.learning_rate_ == b.learning_rate_


def outcome(backend, X, y, weights, **params):
    try:
        return fit(backend, X, y, weights, **params)
    except DivergenceError as exc:
        return exc


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("loss", ["mse", "sse", "mae", "huber"])
def test_engines_agree_epoch_by_epoch_on_a_longer_run(optimizer, loss):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    Y = X @ rng.normal(size=(3, 2)) + rng.normal(size=(40, 2))
    params = dict(
        optimizer=optimizer, loss=loss, batch_size=8, epochs=60, init="uniform",
        random_state=11, alpha=0.1,
    )
    assert_same_run(fit("numpy", X, Y, **params), fit("torch", X, Y, **params))


def test_same_start_and_batch_order_as_the_numpy_engine():
    X = np.arange(22.0).reshape(11, 2)
    Y = X @ [[1.0], [-2.0]]
    init_rng, batch_rng = random_streams(5)
    init = initial_parameters("uniform", 2, 1, init_rng, np.float64)
    plan_np = BatchPlan(11, 3, True, batch_rng)
    plan_torch = BatchPlan(11, 3, True, random_streams(5)[1])
    model = torch_backend.make_model(init, True, torch.float64, "cpu")
    np.testing.assert_array_equal(model.linear.weight.detach().numpy(), init[0].T)
    np.testing.assert_array_equal(model.linear.bias.detach().numpy(), init[1])
    tensors = [torch.from_numpy(X), torch.from_numpy(Y)]
    loader = torch_backend.make_loader(tensors, plan_torch, "cpu")
    assert isinstance(loader.dataset, torch.utils.data.TensorDataset)
    for _ in range(3):  # the loader reshuffles as the plan does, epoch after epoch
        expected = [X[rows] for rows in plan_np.epoch()]
        served = [xb.numpy() for xb, _ in loader]
        assert len(served) == len(expected) == 4
        for got, want in zip(served, expected, strict=True):
            np.testing.assert_array_equal(got, want)


def test_engine_level_train_matches_numpy_train():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 2))
    config = DescentConfig(lr=0.05, loss="huber", optimizer="nesterov", epochs=15)
    init = initial_parameters("normal", 4, 2, np.random.default_rng(1), np.float64)
    a = numpy_train(X, Y, None, init, BatchPlan(30, 4, True, np.random.default_rng(2)), config)
    b = torch_backend.train(
        X, Y, None, init, BatchPlan(30, 4, True, np.random.default_rng(2)), config
    )
    np.testing.assert_allclose(b.history, a.history, rtol=RTOL)
    np.testing.assert_allclose(b.params_history, a.params_history, rtol=0, atol=1e-12)
    assert (b.n_iter, b.stopped_by_tol) == (a.n_iter, a.stopped_by_tol)


def test_tol_stops_at_the_same_epoch():
    ds = load_dataset("noisy-line")
    params = dict(lr=0.01, epochs=500, tol=1e-3, batch_size=10, shuffle=False)
    a, b = fit("numpy", ds.X, ds.y, **params), fit("torch", ds.X, ds.y, **params)
    assert 1 < b.n_iter_ < 500 and b.converged_
    assert_same_run(a, b)


def test_log_lines_are_the_numpy_engines(capsys):
    ds = load_dataset("salary")
    params = dict(lr=0.001, epochs=3001, init="uniform", random_state=0, log_every=1000)
    fit("numpy", ds.X, ds.y, **params)
    numpy_log = capsys.readouterr().out
    fit("torch", ds.X, ds.y, **params)
    torch_log = capsys.readouterr().out
    assert numpy_log == torch_log
    assert len(torch_log.splitlines()) == 4 and "Epoch 3000/3001" in torch_log


@pytest.mark.parametrize("batch_size", [None, 2])
def test_divergence_raises_the_same_error(batch_size):
    ds = load_dataset("salary")
    errors = []
    for backend in ("numpy", "torch"):
        with pytest.raises(DivergenceError) as info:
            fit(backend, ds.X, ds.y, lr=0.5, epochs=3000, batch_size=batch_size, random_state=0)
        errors.append(info.value)
    assert str(errors[0]) == str(errors[1])
    assert errors[0].epoch == errors[1].epoch
    assert "lr=0.5" in str(errors[1])


def test_float32_training_runs_in_float32_and_stays_close():
    ds = load_dataset("arange-line")
    params = dict(lr=0.1, epochs=100, batch_size=5, init="normal", random_state=2021)
    b32 = fit("torch", ds.X, ds.y, dtype="float32", **params)
    b64 = fit("torch", ds.X, ds.y, **params)
    a32 = fit("numpy", ds.X, ds.y, dtype="float32", **params)
    np.testing.assert_allclose(b32.history_, b64.history_, rtol=1e-4)
    np.testing.assert_allclose(b32.history_, a32.history_, rtol=1e-4)
    assert b32.to_torch().weight.dtype == torch.float32


# --------------------------------------------------------------------------- availability
@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_missing_cuda_device_is_a_clear_error():
    ds = load_dataset("doubling")
    with pytest.raises(BackendUnavailableError, match="device='cuda' is not available"):
        fit("torch", ds.X, ds.y, device="cuda", epochs=5)


def test_nonsense_device_is_a_clear_error():
    ds = load_dataset("doubling")
    with pytest.raises(BackendUnavailableError, match="not a valid torch device"):
        fit("torch", ds.X, ds.y, device="gpu-please", epochs=5)


def test_missing_torch_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    ds = load_dataset("doubling")
    with pytest.raises(BackendUnavailableError, match=r"pip install 'linearlab\[torch\]'"):
        fit("torch", ds.X, ds.y, epochs=5)
    assert fit("numpy", ds.X, ds.y, epochs=5).n_iter_ == 5  # the NumPy engine does not care


def test_importing_linearlab_does_not_import_torch():
    code = (
        "import sys, numpy as np, linearlab; "
        "linearlab.LinearRegression(solver='gd', epochs=3).fit(np.eye(3), [1.0, 2.0, 3.0]); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_unknown_names_are_parameter_errors():
    with pytest.raises(ParameterError, match="unknown loss"):
        torch_backend.Criterion("rmse")
    with pytest.raises(ParameterError, match="unknown optimizer"):
        torch_backend.make_optimizer("lbfgs", [torch.zeros(1, requires_grad=True)], 0.1)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("batch_size", [None, 16])
def test_cuda_matches_numpy(batch_size):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 5)), rng.normal(size=100)
    params = dict(
        batch_size=batch_size, optimizer="adam", epochs=20, init="uniform", random_state=1
    )
    a = fit("numpy", X, y, **params)
    b = fit("torch", X, y, device="cuda", **params)
    assert_same_run(a, b)
    assert b.to_torch().weight.device.type == "cuda"


# --------------------------------------------------------------------------- interop
@pytest.mark.parametrize("k", [None, 1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_to_torch_and_back(k, fit_intercept):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 4))
    y = rng.normal(size=(20,) if k is None else (20, k))
    model = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    linear = model.to_torch()
    assert isinstance(linear, torch.nn.Linear)
    assert (linear.in_features, linear.out_features) == (4, 1 if k is None else k)
    assert (linear.bias is None) == (not fit_intercept)
    assert linear.weight.dtype == torch.float64
    out = linear(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(out.reshape(model.predict(X).shape), model.predict(X), rtol=1e-12)

    back = LinearRegression.from_torch(linear)
    assert back.fit_intercept == fit_intercept
    np.testing.assert_array_equal(back.coef_, model.coef_ if k != 1 else model.coef_.ravel())
    np.testing.assert_allclose(back.predict(X).reshape(out.shape), out, rtol=1e-12)


def test_from_torch_accepts_the_seeds_model_class_and_keeps_training():
    class LinearRegressionModel(torch.nn.Module):
        def __init__(self, input_dim, output_dim):
            super().__init__()
            self.linear = torch.nn.Linear(input_dim, output_dim)

        def forward(self, x):
            return self.linear(x)

    torch.manual_seed(0)
    net = LinearRegressionModel(1, 1)
    model = LinearRegression.from_torch(net)
    assert model.dtype == "float32" and model.device == "cpu"
    assert model.coef_.shape == (1,)
    assert model.coef_[0] == pytest.approx(net.linear.weight.item(), rel=1e-7)
    ds = load_dataset("doubling")
    before = np.mean((model.predict(ds.X) - ds.y) ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(20):
            model.partial_fit(ds.X, ds.y)
    assert np.mean((model.predict(ds.X) - ds.y) ** 2) < before


def test_from_torch_rejects_what_is_not_one_linear_layer():
    two = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    with pytest.raises(ParameterError, match="2 nn.Linear"):
        LinearRegression.from_torch(two)
    with pytest.raises(ParameterError, match="nn.Linear"):
        LinearRegression.from_torch("not a module")
    bad = torch.nn.Linear(2, 1)
    with torch.no_grad():
        bad.weight.fill_(float("nan"))
    with pytest.raises(ParameterError, match="NaN"):
        LinearRegression.from_torch(bad)


def test_given_lr_uploads_without_a_gram_pass_and_diagnoses_when_read(monkeypatch):
    # issue 18: the torch fit made a host Gram pass at upload although lr was given
    from linearlab.descent.torch import fit as torch_fit

    rng = np.random.default_rng(3)
    X = torch.from_numpy(rng.standard_normal((3000, 90)).astype(np.float32))
    y = X @ torch.ones(90) + 0.5
    passes = []
    original = torch_fit.host_gram
    monkeypatch.setattr(torch_fit, "upload", lambda *a: pytest.fail("Gram pass at upload"))
    monkeypatch.setattr(torch_fit, "host_gram", lambda *a: passes.append(1) or original(*a))
    model = fit("torch", X, y, dtype="float32", lr=0.01, epochs=3, batch_size=256,
                random_state=0)
    assert passes == []
    assert not model.converged_  # read: the statistics and the exact optimum are made now
    assert passes == [1]
    reference = fit("numpy", X.numpy().astype(np.float64), y.numpy().astype(np.float64),
                    lr=0.01, epochs=3, batch_size=256, random_state=0)
    np.testing.assert_allclose(model.optimum_[0], reference.optimum_[0], rtol=1e-5, atol=1e-5)
    gram = model.fitted_state_.gram
    assert gram.count == 3000 and gram.mean_x.shape == (90,)  # summary() statistics exist
