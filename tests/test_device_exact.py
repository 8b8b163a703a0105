"""Exact least squares on a torch device (linearlab.exact.device): the same answers as the CPU.

Every test runs on device="cpu" (the same code the GPU runs) and again on "cuda" where a CUDA
device exists; ``pytest -k cuda`` selects the GPU half.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from linearlab import DataError, LinearRegression
from linearlab.exact import device as exact_device
from linearlab.exact import solvers
from linearlab.exact.gram import Gram

torch = pytest.importorskip("torch")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def problem(n=3000, d=6, k=2, offset=3.0, seed=0, weighted=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + offset
    # slopes well away from zero: the normal equations promise their 12 digits here
    slopes = rng.uniform(1.0, 2.0, size=(d, k)) * rng.choice([-1.0, 1.0], size=(d, k))
    Y = X @ slopes + 0.5 + rng.normal(size=(n, k))
    w = rng.uniform(0.1, 2.0, size=n) if weighted else None
    return X, Y, w


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("weighted", [False, True])
def test_device_gram_equals_the_host_gram_and_merges_blocks(device, weighted):
    X, Y, w = problem(weighted=weighted)
    host = Gram.from_arrays(X, Y, w)
    for rows in (None, 7, 1000):  # one block, many uneven blocks
        got = exact_device.device_gram(X, Y, w, device=device, rows=rows).to_host()
        assert got.count == host.count
        assert got.weight_sum == pytest.approx(host.weight_sum, rel=1e-14)
        for name in ("mean_x", "mean_y", "sxx", "sxy", "syy"):
            want = getattr(host, name)
            np.testing.assert_allclose(getattr(got, name), want, rtol=1e-11,
                                       atol=1e-11 * np.abs(want).max())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("solver", ["auto", "normal", "qr", "svd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 2.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_device_solvers_equal_the_cpu_solvers(device, solver, fit_intercept, alpha, weighted):
    X, Y, w = problem(weighted=weighted)
    want = solvers.solve(solver, X, Y, w, alpha=alpha, fit_intercept=fit_intercept,
                         gram=Gram.from_arrays(X, Y, w))
    got, gram = exact_device.solve(solver, X, Y, w, alpha=alpha, fit_intercept=fit_intercept,
                                   device=device)
    scale = np.abs(want.coef).max()
    np.testing.assert_allclose(got.coef, want.coef, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(got.intercept, want.intercept, rtol=0, atol=1e-10 * scale)
    where = str(torch.empty(0, device=device).device)
    if want.refined:  # the CPU's "auto" refined on the host; so does the device's
        assert solver == "auto" and got.refined
        assert got.solver == f"{want.solver} (cpu, escalated from {where})"
    else:
        assert got.solver == f"{want.solver} ({where})"
    assert got.rank == want.rank == X.shape[1]
    assert got.condition_number == pytest.approx(want.condition_number, rel=0.05)
    assert got.raw_condition_number == pytest.approx(want.raw_condition_number, rel=1e-6)
    if want.cov_unscaled is not None:  # qr without a penalty: statistics from the device's R
        np.testing.assert_allclose(got.cov_unscaled, want.cov_unscaled, rtol=1e-9)
        np.testing.assert_allclose(got.ssr, want.ssr, rtol=1e-9)
    assert gram.count == X.shape[0]


@pytest.mark.parametrize("device", DEVICES)
def test_auto_keeps_the_fast_path_on_the_device_when_the_cpu_does(device):
    X, Y, _ = problem(n=20_000, offset=0.0, k=1)
    want = solvers.solve("auto", X, Y)
    assert want.solver.startswith("normal")  # the fast path, maybe with a refinement pass
    got, _ = exact_device.solve("auto", torch.from_numpy(X).to(device),
                                torch.from_numpy(Y).to(device), device=device)
    assert got.solver == f"{want.solver} ({torch.empty(0, device=device).device})"
    assert got.error_estimate == pytest.approx(want.error_estimate, rel=1e-3)
    np.testing.assert_allclose(got.coef, want.coef, rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_auto_escalates_to_the_accurate_cpu_path_when_ill_conditioned(device):
    rng = np.random.default_rng(1)
    a = rng.normal(size=2000)
    X = np.c_[a, a + 1e-7 * rng.normal(size=2000), rng.normal(size=2000)]
    Y = (X @ [1.0, 2.0, 3.0] + rng.normal(size=2000)).reshape(-1, 1)
    want = solvers.solve("auto", X, Y)
    got, _ = exact_device.solve("auto", torch.from_numpy(X).to(device),
                                torch.from_numpy(Y).to(device), device=device)
    assert want.solver == "qr" and want.refined
    where = str(torch.empty(0, device=device).device)
    assert got.solver == f"qr (cpu, escalated from {where})" and got.refined
    np.testing.assert_array_equal(got.coef, want.coef)  # the very same host computation


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("solver", ["auto", "qr", "svd"])  # "normal" trusts the Gram's rounding
def test_rank_deficient_data_gets_the_minimum_norm_solution(device, solver):
    rng = np.random.default_rng(2)
    a = rng.normal(size=500)
    X = np.c_[a, a, rng.normal(size=500)]
    Y = (a + X[:, 2] + 0.1 * rng.normal(size=500)).reshape(-1, 1)
    want = solvers.solve("svd", X, Y)
    got, _ = exact_device.solve(solver, X, Y, device=device)
    assert got.rank == 2
    np.testing.assert_allclose(got.coef, want.coef, rtol=1e-8, atol=1e-10)
    if solver in ("qr", "svd"):
        assert got.solver.startswith("svd") and got.aliased == [0, 1]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("solver", ["auto", "qr"])
def test_estimator_fits_exactly_on_the_device_from_arrays_and_tensors(device, solver):
    X, Y, _ = problem(k=1)
    y = Y[:, 0]
    want = LinearRegression(solver=solver).fit(X, y)
    got = LinearRegression(solver=solver, backend="torch", device=device).fit(X, y)
    np.testing.assert_allclose(got.coef_, want.coef_, rtol=1e-10)
    assert got.intercept_ == pytest.approx(want.intercept_, rel=1e-10)
    assert got.solver_.endswith(")") and got.solver_.startswith(want.solver_)
    Xt = torch.from_numpy(X).to(device)
    yt = torch.from_numpy(y).to(device)
    tensor_fit = LinearRegression(solver=solver, backend="torch", device=device).fit(Xt, yt)
    np.testing.assert_allclose(tensor_fit.coef_, want.coef_, rtol=1e-10)
    summary = tensor_fit.summary()  # the statistics came back with the device's Gram
    assert summary.rsquared == pytest.approx(want.summary().rsquared, rel=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_tensors_accumulate_in_float64(device):
    X, Y, _ = problem(n=20_000, d=4, k=1, offset=100.0)
    X32 = X.astype(np.float32)
    want = solvers.solve("normal", X32.astype(np.float64), Y)
    got, _ = exact_device.solve("normal", torch.from_numpy(X32).to(device),
                                torch.from_numpy(Y).to(device), device=device)
    np.testing.assert_allclose(got.coef, want.coef, rtol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_predict_keeps_a_tensor_on_its_device_and_arrays_as_arrays(device):
    X, Y, _ = problem(k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(backend="torch", device=device).fit(X, Y)
    Xt = torch.from_numpy(X).to(device)
    out = model.predict(Xt)
    assert isinstance(out, torch.Tensor) and out.device.type == device
    np.testing.assert_allclose(out.cpu().numpy(), model.predict(X), rtol=1e-12)
    with pytest.raises(DataError, match="X has 3 features"):
        model.predict(Xt[:, :3])
    out32 = model.predict(torch.from_numpy(X.astype(np.float32)))
    assert out32.dtype == torch.float32
    assert isinstance(model.predict(X), np.ndarray)


@pytest.mark.parametrize("device", DEVICES)
def test_bad_tensors_get_the_arrays_errors_without_leaving_the_device(device):
    good = torch.ones((4, 2), device=device)
    y = torch.zeros(4, device=device)
    cases = [
        (torch.ones(4, device=device), y, "must be a 2-D tensor"),
        (torch.tensor([[1.0, float("nan")], [2, 3], [4, 5], [6, 7]], device=device), y,
         "X contains NaN at row 0, column 1"),
        (good, torch.tensor([0.0, float("inf"), 0, 0], device=device), "y contains inf at row 1"),
        (good, torch.zeros(3, device=device), "inconsistent numbers of samples"),
        (torch.ones((4, 2), dtype=torch.complex64, device=device), y, "Complex data"),
    ]
    for X, target, message in cases:
        with pytest.raises(DataError, match=message):
            LinearRegression(backend="torch", device=device).fit(X, target)
    ints = torch.arange(8, device=device).reshape(4, 2)  # integers widen to float64 there
    model = LinearRegression(backend="torch", device=device, alpha=1.0).fit(ints, y)
    assert np.all(np.isfinite(model.coef_))


def _error(fit):
    try:
        fit()
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("solver", ["auto", "normal", "qr", "svd"])
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "huge"])
@pytest.mark.parametrize("frame", [False, True])
def test_non_finite_x_is_found_by_the_device_pass_with_the_cpu_error(device, solver, bad, frame):
    X, Y, _ = problem(n=400, k=1)
    X[123, 4] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 1e200}[bad]
    X[301, 1] = X[123, 4]  # the first is located, both are counted
    if frame:
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    y = Y[:, 0]
    want = _error(lambda: LinearRegression(solver=solver).fit(X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from the device's arithmetic either
        got = _error(lambda: LinearRegression(solver=solver, backend="torch",
                                              device=device).fit(X, y))
    assert want is not None and "row 123" in want[1]
    assert got == want


@pytest.mark.parametrize("device", DEVICES)
def test_host_arrays_skip_the_host_pass_over_x_values(device, monkeypatch):
    from linearlab.data import validation

    checked = []
    real = validation._check_finite
    monkeypatch.setattr(validation, "_check_finite",
                        lambda arr, what, names: (checked.append(what), real(arr, what, names)))
    X, Y, _ = problem(n=500, k=1)
    model = LinearRegression(backend="torch", device=device).fit(X, Y[:, 0])
    assert "X" not in checked and "y" in checked  # y (small) is still checked on the host
    np.testing.assert_allclose(model.coef_, LinearRegression().fit(X, Y[:, 0]).coef_,
                               rtol=1e-10)
    checked.clear()
    LinearRegression().fit(X, Y[:, 0])
    assert "X" not in checked  # nor the NumPy backend: its Gram pass finds bad values


@pytest.mark.parametrize("device", DEVICES)
def test_non_finite_gram_without_a_locator_is_a_numerical_error(device):
    from linearlab import NumericalError

    X, Y, _ = problem(n=300)
    X[7, 0] = np.nan
    with pytest.raises(NumericalError, match="not finite"):
        exact_device.solve("auto", X, Y, device=device)
    with pytest.raises(DataError, match="row 7, column 0"):
        exact_device.solve("qr", X, Y, device=device,
                           check_x=lambda: validation_check_x(X))


def validation_check_x(X):
    from linearlab.data.validation import check_X

    check_X(X)


def _accumulated(blocks, d):
    total = None
    for Xb, Yb, wb in blocks:
        block = exact_device.block_gram(Xb, Yb, wb, d)
        total = block if total is None else total.merge(block)
    return total


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("weighted", [False, True])
def test_staged_blocks_give_bit_identical_grams_to_the_plain_path(device, order, weighted):
    from linearlab.data.tensors import resolve_device, stream_blocks

    X, Y, w = problem(n=2049, weighted=weighted)
    X = np.asarray(X, order=order)  # Fortran order: gathered block by block, not copied whole
    X32 = X.astype(np.float32)
    dev = resolve_device(device)
    for data in (X, X32):  # float32 rows widen on the device
        for rows in (100, 2049, 5000):  # many blocks (the ring wraps), one, fewer rows than one
            arrays = [data, Y, w]
            plain = _accumulated(stream_blocks(arrays, dev, dtype=torch.float64, rows=rows,
                                               stage=False), X.shape[1])
            staged = _accumulated(stream_blocks(arrays, dev, dtype=torch.float64, rows=rows,
                                                stage=True), X.shape[1])
            assert staged.count == plain.count == X.shape[0]
            for name in ("weight_sum", "mean", "cross"):
                assert torch.equal(getattr(staged, name), getattr(plain, name)), name


def test_staging_thread_stops_when_the_consumer_stops_early_or_fails():
    import threading

    from linearlab.data.tensors import resolve_device, stream_blocks

    X, Y, _ = problem(n=1000)
    dev = resolve_device("cpu")
    before = threading.active_count()
    blocks = stream_blocks([X, Y], dev, dtype=torch.float64, rows=10, stage=True)
    first = next(blocks)
    np.testing.assert_array_equal(first[0].numpy(), X[:10])
    blocks.close()  # the consumer stops after one block of a hundred
    assert threading.active_count() == before
    seen = []
    with pytest.raises(RuntimeError, match="consumer failed"):
        for Xb, _Yb in stream_blocks([X, Y], dev, dtype=torch.float64, rows=10, stage=True):
            seen.append(Xb.clone())
            if len(seen) == 5:
                raise RuntimeError("consumer failed")
    assert threading.active_count() == before
    np.testing.assert_array_equal(torch.cat(seen).numpy(), X[:50])
