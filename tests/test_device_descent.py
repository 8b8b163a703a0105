"""Gradient descent on a torch device: the NumPy engine's numbers, with the data kept there.

Every test runs on device="cpu" (the code the GPU runs) and again on "cuda" where a CUDA device
exists; ``pytest -k cuda`` selects the GPU half. No hypothesis here: this file also runs on the
lent GPU machines, which have only the core packages and pytest.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from linearlab import DivergenceError, LinearRegression
from linearlab.descent import torch as device_descent
from linearlab.descent.batches import BatchPlan, initial_parameters
from linearlab.descent.config import DescentConfig
from linearlab.descent.loop import train as numpy_train

torch = pytest.importorskip("torch")

CUDA = torch.cuda.is_available()
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])
RTOL = 1e-9


def problem(n=400, d=4, k=None, seed=0, offset=2.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + offset
    coef = rng.uniform(0.5, 2.0, size=(d,) if k is None else (d, k))
    y = X @ coef + 1.0 + rng.normal(size=(n,) if k is None else (n, k))
    return X, y, rng.uniform(0.5, 2.0, size=n)


def fit(X, y, w=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LinearRegression(solver="gd", **params).fit(X, y, sample_weight=w)


def assert_same_run(a, b, rtol=RTOL):
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(b.history_, a.history_, rtol=rtol)
    scale = max(np.abs(a.params_history_).max(), 1e-5)
    assert np.abs(a.params_history_ - b.params_history_).max() <= rtol * scale
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=0, atol=rtol * scale)
    assert b.learning_rate_ == pytest.approx(a.learning_rate_, rel=1e-12)
    assert b.diagnosis_ == a.diagnosis_


SETTINGS = [
    dict(),
    dict(batch_size=32),
    dict(batch_size=32, shuffle=False, optimizer="momentum", loss="huber"),
    dict(batch_size=50, standardize=True, optimizer="adam", lr=0.05),
    dict(batch_size=64, lr_schedule="invscaling", average=True, alpha=0.5),
    dict(optimizer="nesterov", loss="sse", lr=1e-5, fit_intercept=False, lr_schedule="cosine"),
    dict(tol=1e-4, epochs=5000, standardize=True),
    dict(batch_size=40, early_stopping=True, tol=1e-3, epochs=300),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("engine", ["auto", "loop"])
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(map(str, s.items())))
@pytest.mark.parametrize("weighted", [False, True])
def test_tensor_fit_on_the_device_equals_the_numpy_engine(device, engine, settings, weighted):
    X, y, w = problem(k=2 if settings.get("loss") == "huber" else None)
    w = w if weighted else None
    params = dict(epochs=60, random_state=3) | settings
    want = fit(X, y, w, engine="loop", **params)
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    got = fit(Xt, yt, w, backend="torch", device=device, engine=engine, **params)
    assert_same_run(want, got)
    from_host = fit(X, y, w, backend="torch", device=device, engine=engine, **params)
    assert_same_run(want, from_host)


@pytest.mark.parametrize("device", DEVICES)
def test_fit_never_copies_tensors_to_numpy_nor_writes_them(device, monkeypatch):
    X, y, _ = problem(n=300)
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    before = Xt.clone()

    def refuse(*args, **kwargs):
        raise AssertionError("a tensor went through the NumPy validation path")

    for where in ("linearlab.data.validation.from_torch", "linearlab.data.missing.from_torch"):
        monkeypatch.setattr(where, refuse)  # the host path's tensor -> NumPy conversions
    for solver, extra in (("gd", dict(standardize=True, batch_size=16, epochs=20)),
                          ("auto", {}), ("qr", {})):
        model = LinearRegression(solver=solver, backend="torch", device=device, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Xt, yt)
        out = model.predict(Xt)
        assert isinstance(out, torch.Tensor) and out.device == Xt.device
    assert torch.equal(Xt, before)  # standardization worked on a copy


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_host_arrays_are_never_written(device, dtype):
    X, y, _ = problem(n=300)
    X_before = X.copy()
    fit(X, y, standardize=True, batch_size=16, epochs=5, backend="torch", device=device,
        dtype=dtype)
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_tensors_train_in_float32_close_to_float64(device):
    X, y, _ = problem()
    params = dict(epochs=60, batch_size=25, random_state=1, backend="torch", device=device)
    X32, y32 = (torch.from_numpy(a.astype(np.float32)).to(device) for a in (X, y))
    b32 = fit(X32, y32, dtype="float32", **params)
    b64 = fit(X, y, **params)
    np.testing.assert_allclose(b32.history_, b64.history_, rtol=1e-4)
    assert b32.predict(X32).dtype == torch.float32


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch_size", [None, 2])
def test_divergence_is_the_numpy_engines_error(device, batch_size):
    X, y, _ = problem(n=50, offset=30.0)
    errors = []
    for extra in ({}, dict(backend="torch", device=device)):
        with pytest.raises(DivergenceError) as info:
            fit(X, y, lr=0.5, epochs=300, batch_size=batch_size, random_state=0, **extra)
        errors.append(info.value)
    assert str(errors[0]) == str(errors[1]) and errors[0].epoch == errors[1].epoch


@pytest.mark.parametrize("device", DEVICES)
def test_callback_and_log_lines_see_every_epoch_as_the_numpy_engine(device, capsys):
    X, y, _ = problem(n=200)
    seen = {"numpy": [], "torch": []}

    def recorder(name):
        def callback(state):
            seen[name].append((state.epoch, state.loss, float(np.ravel(state.coef)[0])))
            return state.epoch < 30  # stop after epoch 30
        return callback

    logs = {}
    for name, extra in (("numpy", dict(engine="loop")), ("torch", dict(backend="torch",
                                                                       device=device))):
        fit(X, y, epochs=200, batch_size=20, log_every=7, random_state=2,
            callback=recorder(name), **extra)
        logs[name] = capsys.readouterr().out
    assert len(seen["torch"]) == 31
    np.testing.assert_allclose(np.array(seen["torch"]), np.array(seen["numpy"]), rtol=1e-10)
    assert logs["torch"] == logs["numpy"] and "Epoch  28/200" in logs["torch"]


@pytest.mark.parametrize("device", DEVICES)
def test_blocks_of_epochs_stop_at_tol_exactly_where_the_loop_does(device):
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(60, 1))
    init = initial_parameters("normal", 3, 1, np.random.default_rng(1), np.float64)
    config = DescentConfig(lr=0.01, epochs=100_000, tol=1e-9, n_iter_no_change=3)
    want = numpy_train(X, Y, None, init, BatchPlan(60, 7, True, np.random.default_rng(2)),
                       config, engine="loop")
    got = device_descent.train(X, Y, None, init, BatchPlan(60, 7, True, np.random.default_rng(2)),
                               config, device)
    assert 10 < want.n_iter < 100_000 and got.stopped_by == "tol"
    assert got.n_iter == want.n_iter
    np.testing.assert_allclose(got.coef, want.coef, rtol=1e-10)  # the stopping epoch's θ
    np.testing.assert_allclose(got.params_history, want.params_history, rtol=0, atol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("engine", ["auto", "loop"])
@pytest.mark.parametrize("batch_size,shuffle", [(None, False), (64, False), (64, True)])
@pytest.mark.parametrize("weighted", [False, True])
def test_rows_kept_in_host_memory_give_the_same_run(device, engine, batch_size, shuffle,
                                                    weighted, monkeypatch):
    """Data larger than the device stays on the host: batches gathered there, a full batch
    streamed through in blocks (256 rows here, so the gradient sums over three blocks)."""
    monkeypatch.setattr("linearlab.data.tensors.CPU_BLOCK_BYTES", 1)
    monkeypatch.setattr("linearlab.data.tensors.CUDA_BLOCK_BYTES", 1)
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(600, 3)) + 1.0, rng.normal(size=(600, 2))
    w = rng.uniform(0.5, 2.0, size=600) if weighted else None
    init = initial_parameters("uniform", 3, 2, np.random.default_rng(1), np.float64)
    config = DescentConfig(lr=0.05, optimizer="momentum", epochs=12, alpha=0.1)
    plans = [BatchPlan(600, batch_size, shuffle, np.random.default_rng(2)) for _ in range(2)]
    want = numpy_train(X, Y, w, init, plans[0], config, engine="loop")
    got = device_descent.train(X, Y, w, init, plans[1], config, device, engine=engine,
                               resident=False)
    np.testing.assert_allclose(got.history, want.history, rtol=1e-12)
    np.testing.assert_allclose(got.params_history, want.params_history, rtol=0, atol=1e-12)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_cuda_graph_epochs_equal_eager_epochs(optimizer):
    from linearlab.descent.torch.engine import DeviceRun

    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.normal(size=(5000, 20))).cuda()
    Y = torch.from_numpy(rng.normal(size=(5000, 1))).cuda()
    init = initial_parameters("uniform", 20, 1, np.random.default_rng(1), np.float64)
    config = DescentConfig(lr=0.01, optimizer=optimizer, epochs=6, average=optimizer == "sgd")
    outputs = []
    for graphs in (True, False):
        plan = BatchPlan(5000, 64, True, np.random.default_rng(2))
        run = DeviceRun(X, Y, None, init, plan, config, total_weight=5000.0, use_graphs=graphs)
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="CUDA graph capture failed")
            blocks = [run.run(1), run.run(5)]  # epoch 0 eager, then captured and replayed
        assert (run.graph is not None) == graphs
        outputs.append([np.concatenate(parts) for parts in zip(*blocks, strict=True)])
    for graphed, eager in zip(*outputs, strict=True):
        np.testing.assert_allclose(graphed, eager, rtol=1e-12, atol=1e-15)
