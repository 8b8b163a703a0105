"""The one training loop: fast paths against the loop, bounded memory, callbacks, schedules,
averaging, early stopping, the diagnosis under standardize + alpha, and the seed data."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from linearlab import LinearRegression, load_dataset
from linearlab.descent import DescentConfig, train
from linearlab.descent.batches import BatchPlan
from linearlab.descent.driver import EpochDriver
from linearlab.descent.fastpaths import fast_path, train_affine, train_closed_form
from linearlab.errors import ConvergenceWarning


def _both(X, Y, w, init, batch_size, shuffle, config, seed=1):
    n = X.shape[0]
    fast = train(X, Y, w, init, BatchPlan(n, batch_size, shuffle, np.random.default_rng(seed)),
                 config)
    loop = train(X, Y, w, init, BatchPlan(n, batch_size, shuffle, np.random.default_rng(seed)),
                 config, engine="loop")
    return fast, loop


def _assert_same_run(fast, loop, rtol):
    assert fast.n_iter == loop.n_iter and fast.stopped_by == loop.stopped_by
    np.testing.assert_allclose(fast.history, loop.history, rtol=rtol)
    scale = np.abs(loop.params_history).max()
    np.testing.assert_allclose(fast.params_history, loop.params_history, rtol=rtol,
                               atol=rtol * scale)


# --------------------------------------------------------------------------- fast paths
@pytest.mark.parametrize("name, lr, epochs, batch_size", [
    ("salary", 0.001, 2000, None), ("noisy-line", 0.1, 300, None),
    ("three-points", 0.05, 500, None), ("arange-line", 0.05, 300, 5),
    ("noisy-line", 0.01, 40, 10),
])
def test_fast_paths_give_the_loops_iterates_on_the_seed_data(name, lr, epochs, batch_size):
    data = load_dataset(name)
    Y = data.y[:, None]
    init = (np.array([[0.5]]), np.array([-0.5]))
    config = DescentConfig(lr=lr, epochs=epochs)
    assert fast_path(data.X, Y, BatchPlan(len(Y), batch_size, True, None), config) is (
        train_closed_form if batch_size is None else train_affine)
    fast, loop = _both(data.X, Y, None, init, batch_size, True, config)
    _assert_same_run(fast, loop, 1e-9)


def test_fast_paths_on_an_ill_conditioned_design():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((60, 1))
    X = np.hstack([base, base + 1e-8 * rng.standard_normal((60, 1)), rng.standard_normal((60, 1))])
    assert np.linalg.cond(np.hstack([X, np.ones((60, 1))])) >= 1e8
    Y = X @ [[1.0], [2.0], [-1.0]] + 0.1 * rng.standard_normal((60, 1))
    init = (np.zeros((3, 1)), np.zeros(1))
    for batch_size, epochs in ((None, 3000), (12, 60)):
        fast, loop = _both(X, Y, None, init, batch_size, True, DescentConfig(lr=0.05,
                                                                              epochs=epochs))
        _assert_same_run(fast, loop, 1e-8)


@pytest.mark.parametrize("batch_size", [None, 7])
def test_fast_paths_with_multi_output_targets_weights_and_ridge(batch_size):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((40, 4))
    Y = X @ rng.standard_normal((4, 3)) + rng.standard_normal(3)
    w = rng.uniform(0.5, 2.0, 40)
    init = (rng.standard_normal((4, 3)), rng.standard_normal(3))
    config = DescentConfig(lr=0.05, epochs=80, alpha=0.3, tol=1e-9)
    fast, loop = _both(X, Y, w, init, batch_size, True, config)
    _assert_same_run(fast, loop, 1e-9)


@pytest.mark.parametrize("batch_size", [None, 4])
def test_float32_stays_float32_and_runs_the_loop(batch_size):
    data = load_dataset("arange-line")
    X, Y = data.X.astype(np.float32), data.y[:, None].astype(np.float32)
    init = (np.zeros((1, 1), np.float32), np.zeros(1, np.float32))
    config = DescentConfig(lr=0.05, epochs=50)
    assert fast_path(X, Y, BatchPlan(20, batch_size, False, None), config) is None
    auto, loop = _both(X, Y, None, init, batch_size, False, config)
    assert auto.coef.dtype == np.float32 and auto.params_history.dtype == np.float32
    np.testing.assert_array_equal(auto.history, loop.history)
    # float32 iterates differ from float64 ones by float32 rounding, not less
    X64, Y64 = X.astype(float), Y.astype(float)
    init64 = (np.zeros((1, 1)), np.zeros(1))
    exact64 = train(X64, Y64, None, init64, BatchPlan(20, batch_size, False, None), config,
                    engine="loop")
    gap = np.abs(auto.params_history - exact64.params_history).max()
    assert 0 < gap < 1e-4


def test_the_estimator_engine_parameter():
    data = load_dataset("noisy-line")
    kwargs = dict(solver="gd", lr=0.05, epochs=200, random_state=0)
    loop = LinearRegression(engine="loop", **kwargs).fit(data.X, data.y)
    auto = LinearRegression(**kwargs).fit(data.X, data.y)
    np.testing.assert_allclose(auto.history_, loop.history_, rtol=1e-10)
    np.testing.assert_allclose(auto.coef_, loop.coef_, rtol=1e-10)


# --------------------------------------------------------------------------- memory
_MEMORY_SCRIPT = """
import resource, warnings
import numpy as np
from linearlab import LinearRegression


def peak_mb():  # this process's high-water RSS (getrusage would include the forking parent's)
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) // 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


warnings.simplefilter("ignore")
X = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]); y = 2 * X[:, 0] + 1 + [0.1, -0.1, 0, 0.1, 0]
LinearRegression(solver="gd", lr=0.01, epochs=3).fit(X, y)  # every module loaded
baseline = peak_mb()
for epochs in ({epochs}):
    for batch_size in (None, 2):
        m = LinearRegression(solver="gd", lr=0.01, epochs=epochs, tol=1e-3,
                             batch_size=batch_size).fit(X, y)
        assert m.n_iter_ < 100_000, m.n_iter_
print(baseline, peak_mb())
"""


@pytest.mark.parametrize("engine", ["auto", "loop"])
def test_memory_does_not_depend_on_the_epoch_budget(engine):
    # Before: 1.1-1.4 GB peak for epochs=20_000_000 and MemoryError (7.28 TiB) for 10**12. The
    # process's peak RSS (imports included, ~230 MB here) must stay under 300 MB, and training
    # itself may add only a few MB whatever the budget.
    script = _MEMORY_SCRIPT.format(epochs="20_000_000, 10**12").replace(
        "batch_size=batch_size)", f"batch_size=batch_size, engine={engine!r})")
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                         text=True, timeout=300, check=True)
    baseline_mb, peak_mb = (int(v) for v in out.stdout.split()[-2:])
    assert peak_mb - baseline_mb < 32, f"training added {peak_mb - baseline_mb} MB"
    assert peak_mb < 300, f"peak RSS {peak_mb} MB (after imports: {baseline_mb} MB)"


def test_the_parameter_path_is_kept_in_blocks_and_dropped_when_too_long(monkeypatch):
    from linearlab.descent import driver

    monkeypatch.setattr(driver, "MAX_RECORDED_NUMBERS", 1000)
    X, Y = np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]])
    short = train(X, Y, None, (np.zeros((1, 1)), np.zeros(1)), BatchPlan(2, None, False, None),
                  DescentConfig(lr=0.01, epochs=400))
    long = train(X, Y, None, (np.zeros((1, 1)), np.zeros(1)), BatchPlan(2, None, False, None),
                 DescentConfig(lr=0.01, epochs=600))
    assert short.params_history.shape == (401, 2, 1) and long.params_history is None


# --------------------------------------------------------------------------- bounded history
def _kept(n, stride):
    """The epochs a thinned record keeps: every stride-th and the last."""
    return sorted({*range(0, n, stride), n - 1})


@pytest.mark.parametrize("engine, batch_size, tol", [
    ("loop", None, None), ("auto", None, None), ("auto", 2, None), ("loop", None, 1e-9),
])
def test_thinned_history_is_the_full_run_at_the_kept_epochs(monkeypatch, engine, batch_size,
                                                             tol):
    from linearlab.descent import driver

    data = load_dataset("three-points")
    settings = dict(solver="gd", lr=0.01, epochs=1500, engine=engine, batch_size=batch_size,
                    shuffle=False, tol=tol, n_iter_no_change=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = LinearRegression(**settings).fit(data.X, data.y)
        monkeypatch.setattr(driver, "HISTORY_BUDGET", 64)
        thin = LinearRegression(**settings).fit(data.X, data.y)
    n = full.n_iter_
    assert thin.n_iter_ == n and full.history_stride_ == 1 and len(full.history_) == n
    stride = thin.history_stride_
    assert stride > 1 and len(thin.history_) <= 64
    kept = _kept(n, stride)
    np.testing.assert_allclose(thin.history_, np.asarray(full.history_)[kept], rtol=1e-12)
    steps = sorted({*range(0, n + 1, stride), n})  # the path: after 0, s, 2s, ... and n epochs
    np.testing.assert_allclose(thin.params_history_, full.params_history_[steps], rtol=1e-12)
    np.testing.assert_allclose(thin.coef_, full.coef_, rtol=1e-12)
    assert thin.converged_ == full.converged_


def test_record_thinning_in_epochs_and_blocks_matches_brute_force():
    from linearlab.descent.history import EpochRecord

    rng = np.random.default_rng(3)
    losses, thetas = rng.random(5000), rng.random((5000, 3, 1))
    record = EpochRecord(np.zeros((3, 1)), budget=50)
    done = 0
    while done < len(losses):  # one by one and in blocks of every size, mixed
        size = int(rng.choice([1, 1, 7, 64, 700]))
        if size == 1:
            record.add(float(losses[done]), thetas[done])
        else:
            record.add_block(losses[done:done + size], thetas[done:done + size])
        done = min(done + size, len(losses))
        kept = _kept(done, record.stride)
        assert record.first_loss == losses[0] and record.last_loss == losses[done - 1]
        np.testing.assert_array_equal(record.losses(), losses[kept])
        np.testing.assert_array_equal(record.epoch_numbers(), kept)
        path = np.concatenate([np.zeros((1, 3, 1)), thetas[:done]])
        np.testing.assert_array_equal(record.path(), path[sorted({*range(0, done + 1,
                                                                        record.stride), done})])
        assert len(record.losses()) <= 51
    blocks_first = EpochRecord(np.zeros((3, 1)), budget=50)
    blocks_first.add_block(losses[:64], thetas[:64])  # the explosion check reads first_loss
    assert blocks_first.first_loss == losses[0] and blocks_first.last_loss == losses[63]


def test_a_million_epochs_keep_a_bounded_history():
    # Before: every epoch kept (about 160 B each: 1e7 epochs on 5 rows reached 638 MB).
    from linearlab.descent.history import HISTORY_BUDGET

    data = load_dataset("three-points")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearRegression(solver="gd", lr=1e-5, epochs=2_000_000).fit(data.X, data.y)
    assert model.n_iter_ == 2_000_000 and model.history_stride_ >= 32
    assert HISTORY_BUDGET // 2 <= len(model.history_) <= HISTORY_BUDGET + 1
    n, stride = model.n_iter_, model.history_stride_
    assert len(model.history_) == len(_kept(n, stride))
    assert len(model.params_history_) == len({*range(0, n + 1, stride), n})  # start ... final
    np.testing.assert_allclose(model.params_history_[-1, :, 0],
                               [*model.coef_, model.intercept_], rtol=1e-12)
    # the kept losses are the loss at the kept parameters (full batch: the loss before the step)
    X1 = np.hstack([data.X, np.ones((3, 1))])
    at = model.params_history_[[1, 100, len(model.history_) - 2], :, 0]
    expected = ((X1 @ at.T - data.y[:, None]) ** 2).mean(axis=0)
    np.testing.assert_allclose(np.asarray(model.history_)[[1, 100, -2]], expected, rtol=1e-9)


@pytest.mark.parametrize("optimizer, lr, data", [
    ("adam", 1e6, "salary"), ("sgd", 0.19, "three-points"), ("nesterov", 0.13, "three-points"),
])
def test_a_rising_run_warns_naming_a_smaller_learning_rate(optimizer, lr, data):
    data = load_dataset(data)
    model = LinearRegression(solver="gd", optimizer=optimizer, lr=lr, epochs=50)
    with pytest.warns(ConvergenceWarning) as seen:
        model.fit(data.X, data.y)
    rose = [str(w.message) for w in seen if "rose from" in str(w.message)]
    assert len(rose) == 1 and f"lr={lr / 10:.3g}" in rose[0] and "lr='auto'" in rose[0]
    assert seen[0].filename == __file__  # pointed at the caller's fit, not at linearlab
    assert model.history_[-1] > 1.25 * model.history_[0]


# --------------------------------------------------------------------------- Ctrl-C
def _interrupt_at(epoch):
    def callback(state):
        if state.epoch == epoch:
            raise KeyboardInterrupt
    return callback


@pytest.mark.parametrize("settings", [
    dict(engine="loop"), dict(engine="auto"), dict(batch_size=2, shuffle=False),
    dict(optimizer="adam", lr=0.1), dict(standardize=True),
    pytest.param(dict(backend="torch"), marks=pytest.mark.skipif(
        importlib.util.find_spec("torch") is None, reason="needs torch")),
])
def test_ctrl_c_keeps_the_finished_epochs_then_propagates(settings):
    data = load_dataset("three-points")
    base = dict(solver="gd", lr=0.01, epochs=200, random_state=0)
    base.update(settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = LinearRegression(**base).fit(data.X, data.y)
    model = LinearRegression(**base, callback=_interrupt_at(6))
    with pytest.raises(KeyboardInterrupt), pytest.warns(ConvergenceWarning, match="interrupted"):
        model.fit(data.X, data.y)
    # epoch 6 finished before its callback ran: 7 epochs kept, the parameters after them
    assert model.stopped_by_ == "interrupted" and model.n_iter_ == 7 and not model.converged_
    assert model.history_ == full.history_[:7]
    np.testing.assert_allclose(model.params_history_, full.params_history_[:8], rtol=1e-12)
    np.testing.assert_allclose(model.coef_, full.params_history_[7, :-1, 0], rtol=1e-12)
    assert model.intercept_ == pytest.approx(full.params_history_[7, -1, 0], rel=1e-12)
    np.testing.assert_allclose(model.predict(data.X), data.X @ model.coef_ + model.intercept_)


def test_ctrl_c_in_the_middle_of_an_epoch_keeps_the_epoch_before(monkeypatch):
    from linearlab.descent import loop

    data = load_dataset("noisy-line")
    settings = dict(solver="gd", lr=0.01, epochs=50, batch_size=10, engine="loop",
                    random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = LinearRegression(**{**settings, "epochs": 3}).fit(data.X, data.y)
    calls, real = [0], loop.forward_backward

    def interrupted(*args):  # the 5th batch of epoch 3 (10 batches an epoch)
        calls[0] += 1
        if calls[0] == 35:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(loop, "forward_backward", interrupted)
    model = LinearRegression(**settings)
    with pytest.raises(KeyboardInterrupt), pytest.warns(ConvergenceWarning, match="interrupted"):
        model.fit(data.X, data.y)
    assert model.n_iter_ == 3 and model.stopped_by_ == "interrupted"
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    assert model.history_ == reference.history_


def test_ctrl_c_before_the_first_epoch_ends_leaves_the_model_unfitted(monkeypatch):
    from linearlab.descent import loop

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "forward_backward", interrupted)
    data = load_dataset("three-points")
    model = LinearRegression(solver="gd", epochs=10, engine="loop")
    with pytest.raises(KeyboardInterrupt):
        model.fit(data.X, data.y)
    assert not hasattr(model, "coef_")


# --------------------------------------------------------------------------- the driver
def test_tol_patience_is_scikit_learns_n_iter_no_change():
    config = DescentConfig(lr=1.0, epochs=100, tol=0.5, n_iter_no_change=3)
    losses = [10.0, 5.0, 4.8, 4.0, 3.9, 3.8, 3.7, 1.0]
    one_by_one = EpochDriver(config, np.zeros((1, 1)), np.zeros(1))
    for loss in losses:
        if not one_by_one.end_epoch(loss, np.zeros((1, 1)), np.zeros(1)):
            break
    # 4.8: no gain (1), 4.0: gain of 1 > tol (reset), 3.9, 3.8, 3.7: three without -> stop
    assert one_by_one.history == losses[:7] and one_by_one.stopped_by == "tol"
    block = EpochDriver(config, np.zeros((1, 1)), np.zeros(1))
    kept = block.end_block(np.array(losses), np.zeros((len(losses), 2, 1)))
    assert kept == 7 and block.history == one_by_one.history


def test_callback_sees_each_epoch_on_the_original_scale_and_can_stop():
    data = load_dataset("diabetes")
    seen = []

    def callback(state):
        seen.append((state.epoch, state.loss, state.coef.copy(), state.intercept, state.lr))
        return state.epoch < 9  # False after epoch 9: stop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearRegression(solver="gd", standardize=True, epochs=100,
                                 callback=callback).fit(data.X, data.y)
    assert [s[0] for s in seen] == list(range(10)) and model.n_iter_ == 10
    assert seen[-1][2].shape == (10,)
    np.testing.assert_allclose(seen[-1][2], model.coef_, rtol=1e-12)
    assert seen[-1][3] == pytest.approx(model.intercept_)
    assert [s[1] for s in seen] == model.history_
    assert all(s[4] == model.learning_rate_ for s in seen)


def test_progress_bar_only_on_a_terminal(capsys):
    data = load_dataset("noisy-line")
    LinearRegression(solver="gd", epochs=50).fit(data.X, data.y)  # stderr is not a TTY here
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# --------------------------------------------------------------------------- schedules
@pytest.mark.parametrize("schedule", ["step", "exponential", "cosine"])
def test_schedules_follow_torch_lr_scheduler(schedule):
    torch = pytest.importorskip("torch")
    epochs, lr = 12, 0.01
    rates = []
    data = load_dataset("noisy-line")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LinearRegression(solver="gd", lr=lr, epochs=epochs, lr_schedule=schedule, engine="loop",
                         callback=lambda s: rates.append(s.lr)).fit(data.X, data.y)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    sched = {
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, step_size=epochs // 3, gamma=0.1),
        "exponential": lambda: torch.optim.lr_scheduler.ExponentialLR(
            opt, gamma=0.01 ** (1 / epochs)),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs),
    }[schedule]()
    expected = []
    for _ in range(epochs):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_invscaling_is_scikit_learns_formula():
    rates = []
    X = np.arange(8.0)[:, None]
    y = X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LinearRegression(solver="gd", lr=0.01, epochs=3, batch_size=2, shuffle=False,
                         lr_schedule="invscaling",
                         callback=lambda s: rates.append(s.lr)).fit(X, y)
    # the last step of each epoch has seen 6, 14, 22 samples: lr / (1 + t)^0.25
    np.testing.assert_allclose(rates, [0.01 / (1 + t) ** 0.25 for t in (6, 14, 22)])


# --------------------------------------------------------------------------- averaging
def test_average_is_sgdregressors_polyak_ruppert_average():
    from sklearn.linear_model import SGDRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ [1.0, -2.0, 0.5] + 1.0 + 0.3 * rng.standard_normal(50)
    eta = 0.01
    ref = SGDRegressor(learning_rate="constant", eta0=eta, penalty=None, average=True,
                       max_iter=3, tol=None, shuffle=False).fit(X, y)
    # SGDRegressor's squared_error is r²/2: its step eta equals lr = eta/2 on r²
    ours = LinearRegression(solver="gd", lr=eta / 2, epochs=3, batch_size=1, shuffle=False,
                            average=True).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    assert ours.intercept_ == pytest.approx(ref.intercept_[0], rel=1e-10)


def test_minibatches_converge_with_only_batch_size_and_epochs():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20_000, 10))
    y = X @ rng.standard_normal(10) + 2.0 + rng.standard_normal(20_000)
    exact = LinearRegression().fit(X, y)
    best = np.mean((exact.predict(X) - y) ** 2)
    averaged = LinearRegression(solver="gd", batch_size=64, epochs=3, random_state=0).fit(X, y)
    plain = LinearRegression(solver="gd", batch_size=64, epochs=3, random_state=0,
                             average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain.fit(X, y)
    excess = np.mean((averaged.predict(X) - y) ** 2) / best - 1
    plain_excess = np.mean((plain.predict(X) - y) ** 2) / best - 1
    assert excess < 1e-3 and plain_excess > 10 * excess  # the noise floor, and below it


def test_early_stopping_on_held_out_rows():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((500, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.standard_normal(500)
    model = LinearRegression(solver="gd", batch_size=32, epochs=500, early_stopping=True,
                             validation_fraction=0.2, n_iter_no_change=3, random_state=0,
                             average=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ < 100
    assert model.fitted_state_.gram.count == 400  # trained on the other 80%
    again = LinearRegression(**model.get_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again.fit(X, y)
    assert again.history_ == model.history_  # the split is seeded


# --------------------------------------------------------------------------- diagnosis
def test_standardize_with_alpha_is_diagnosed_against_the_penalized_optimum():
    data = load_dataset("diabetes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = LinearRegression(solver="gd", standardize=True, alpha=10.0,
                                 epochs=5000).fit(data.X, data.y)
    assert model.converged_ and model.diagnosis_ is None
    with pytest.warns(ConvergenceWarning) as caught:
        short = LinearRegression(solver="gd", standardize=True, alpha=10.0, epochs=3).fit(
            data.X, data.y)
    assert not short.converged_ and "standardize=True" not in str(caught[0].message)


# --------------------------------------------------------------------------- seed data
def test_seed_csvs_are_regenerated_from_torch_manual_seed():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)  # seed 001
    x = torch.randn((100, 1))
    y = 7 * x + 5 + torch.normal(0, 2, (100, 1))
    noisy = load_dataset("noisy-line")
    np.testing.assert_array_equal(noisy.X, x.numpy().astype(np.float64))
    np.testing.assert_array_equal(noisy.y, y.numpy()[:, 0].astype(np.float64))
    torch.manual_seed(2021)  # seed 004
    X = torch.arange(-3, 3, 0.3).view(-1, 1)
    Y = 2 * X - 1 + torch.randn(X.shape)
    arange = load_dataset("arange-line")
    np.testing.assert_array_equal(arange.X, X.numpy().astype(np.float64))
    np.testing.assert_array_equal(arange.y, Y.numpy()[:, 0].astype(np.float64))


def test_command_line_engine_and_schedule_flags(capsys):
    import json
    from importlib import resources

    from linearlab.cli.main import main

    path = str(resources.files("linearlab").joinpath("data", "noisy_line.csv"))
    code = main(["fit", path, "-y", "y", "--solver", "gd", "--batch-size", "10", "--epochs", "30",
                 "--lr", "0.01", "--lr-schedule", "cosine", "--engine", "loop", "--seed", "3",
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    data = load_dataset("noisy-line")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LinearRegression(solver="gd", batch_size=10, epochs=30, lr=0.01, random_state=3,
                               lr_schedule="cosine", engine="loop").fit(data.X, data.y)
    assert code == 0
    assert out["coef"]["x"] == pytest.approx(ref.coef_[0], rel=1e-12)


def test_progress_bar_shows_epoch_loss_and_eta_once_a_fit_passes_the_threshold(monkeypatch):
    import time

    from linearlab.descent import driver, progress

    monkeypatch.setattr(progress, "PROGRESS_AFTER_S", 0.0)
    config = DescentConfig(lr=0.1, epochs=5, progress=True)
    run = EpochDriver(config, np.zeros((1, 1)), np.zeros(1))
    with run:
        for loss in (3.0, 2.0):
            time.sleep(0.11)  # the bar refreshes at most every 0.1 s
            run.end_epoch(loss, np.zeros((1, 1)), np.zeros(1))
        bar = run._progress.bar
        task = bar.tasks[0]
        assert task.completed == 2 and task.total == 5 and task.fields["loss"] == "2"
        assert any("TimeRemaining" in type(c).__name__ for c in bar.columns)
    quiet = EpochDriver(DescentConfig(lr=0.1, epochs=5), np.zeros((1, 1)), np.zeros(1))
    with driver.quiet_progress(), quiet:
        assert quiet._progress is None


def test_stopped_by_is_none_when_the_epochs_run_out_and_says_tol_otherwise():
    import warnings

    X = np.arange(10.0).reshape(-1, 1)
    y = 2 * X.ravel() + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ran_out = LinearRegression(solver="gd", lr=0.01, epochs=5).fit(X, y)
        stopped = LinearRegression(solver="gd", lr=0.01, epochs=5000, tol=1e-6).fit(X, y)
    assert ran_out.stopped_by_ is None
    assert stopped.stopped_by_ == "tol"
