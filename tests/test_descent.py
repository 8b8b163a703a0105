import numpy as np
import pytest

from linearlab.descent import DescentConfig, train
from linearlab.descent.batches import BatchPlan, initial_parameters, random_streams
from linearlab.descent.losses import LOSSES, get_loss
from linearlab.descent.optimizers import SGD, Adam
from linearlab.errors import DivergenceError


def _train_loop(X, Y, w, init, plan, config):
    """The plain loop (engine="loop"), the reference every fast path must reproduce."""
    return train(X, Y, w, init, plan, config, engine="loop")


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradient_matches_finite_differences(name, weighted):
    rng = np.random.default_rng(0)
    r = rng.standard_normal((7, 2)) * 2
    r[np.abs(np.abs(r) - 1.0) < 1e-3] += 0.01  # keep away from the huber kink
    w = rng.uniform(0.5, 2, 7) if weighted else None
    loss = get_loss(name)
    g = loss.gradient(r, w)
    h = 1e-6
    for idx in np.ndindex(r.shape):
        rp, rm = r.copy(), r.copy()
        rp[idx] += h
        rm[idx] -= h
        fd = (loss.value(rp, w) - loss.value(rm, w)) / (2 * h)
        assert g[idx] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_loss_reductions_match_torch_conventions():
    r = np.array([[0.5], [-2.0], [3.0]])
    assert get_loss("mse").value(r) == pytest.approx((0.25 + 4 + 9) / 3)
    assert get_loss("sse").value(r) == pytest.approx(0.25 + 4 + 9)
    assert get_loss("mae").value(r) == pytest.approx((0.5 + 2 + 3) / 3)
    assert get_loss("huber").value(r) == pytest.approx((0.125 + 1.5 + 2.5) / 3)


def test_sgd_momentum_follows_torch_formulas():
    p = np.array([1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step([np.array([1.0])])  # buf = g = 1
    assert p[0] == pytest.approx(0.9)
    opt.step([np.array([1.0])])  # buf = 0.9 + 1 = 1.9
    assert p[0] == pytest.approx(0.9 - 0.19)
    q = np.array([1.0])
    nesterov = SGD([q], lr=0.1, momentum=0.9, nesterov=True)
    nesterov.step([np.array([1.0])])  # g + 0.9 * buf = 1.9
    assert q[0] == pytest.approx(1 - 0.19)


def test_adam_first_step_moves_by_lr():
    p = np.array([0.0, 0.0])
    Adam([p], lr=0.01).step([np.array([3.0, -0.5])])
    np.testing.assert_allclose(p, [-0.01, 0.01], rtol=1e-6)


def test_batch_plan_orders():
    rng = np.random.default_rng(0)
    in_order = BatchPlan(23, 10, shuffle=False, rng=rng)
    assert [(s.start, s.stop) for s in in_order.epoch()] == [(0, 10), (10, 20), (20, 23)]
    shuffled = BatchPlan(23, 10, shuffle=True, rng=np.random.default_rng(1))
    first = np.concatenate(list(shuffled.epoch()))
    second = np.concatenate(list(shuffled.epoch()))
    assert sorted(first) == list(range(23)) and not np.array_equal(first, second)
    again = BatchPlan(23, 10, shuffle=True, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(np.concatenate(list(again.epoch())), first)
    assert list(BatchPlan(5, None, True, rng).epoch()) == [slice(None)]


def test_uniform_init_uses_nn_linear_bounds():
    init_rng, _ = random_streams(0)
    W, b = initial_parameters("uniform", 4, 3, init_rng, np.float64)
    assert W.shape == (4, 3) and b.shape == (3,)
    assert np.abs(W).max() <= 0.5 and np.abs(b).max() <= 0.5
    W2, _ = initial_parameters("uniform", 4, 3, random_streams(0)[0], np.float64)
    np.testing.assert_array_equal(W, W2)


@pytest.mark.parametrize("loss", ["mse", "sse"])
@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("weighted", [False, True])
def test_closed_form_equals_the_explicit_loop(loss, alpha, weighted):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 3))
    Y = X @ rng.standard_normal((3, 2)) + 0.3 * rng.standard_normal((30, 2))
    w = rng.uniform(0.5, 2, 30) if weighted else None
    init = (rng.standard_normal((3, 2)), rng.standard_normal(2))
    config = DescentConfig(lr=0.05 if loss == "mse" else 0.002, loss=loss, epochs=60, alpha=alpha)
    plan = BatchPlan(30, None, False, rng)
    fast = train(X, Y, w, init, plan, config)
    slow = _train_loop(X, Y, w, init, plan, config)
    np.testing.assert_allclose(fast.history, slow.history, rtol=1e-11)
    np.testing.assert_allclose(fast.coef, slow.coef, rtol=1e-11)
    np.testing.assert_allclose(fast.params_history, slow.params_history, rtol=1e-10, atol=1e-13)


def test_tol_stops_early_identically_in_both_paths():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 2))
    Y = (X @ [1.0, -1.0] + 2)[:, None]
    init = (np.zeros((2, 1)), np.zeros(1))
    config = DescentConfig(lr=0.1, epochs=500, tol=1e-6)
    plan = BatchPlan(40, None, False, rng)
    fast = train(X, Y, None, init, plan, config)
    slow = _train_loop(X, Y, None, init, plan, config)
    assert fast.stopped_by_tol and slow.stopped_by_tol
    assert fast.n_iter == slow.n_iter < 500
    assert slow.history[-2] - slow.history[-1] < 1e-6


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_divergence_names_the_epoch_and_a_stable_step(optimizer):
    X = np.arange(1.0, 8.0)[:, None]
    Y = 25000 * X + 1000
    config = DescentConfig(lr=1.0, optimizer=optimizer, epochs=100, stable_lr=0.048)
    plan = BatchPlan(7, None, False, np.random.default_rng(0))
    if optimizer == "adam":  # adam's steps are bounded by lr: it does not blow up
        result = train(X, Y, None, (np.zeros((1, 1)), np.zeros(1)), plan, config)
        assert result.n_iter == 100 and np.isfinite(result.history).all()
        # each parameter moves by at most about lr per step
        steps = np.abs(np.diff(result.params_history[:, :, 0], axis=0))
        assert steps.max() <= 1.0 * (1 + 1e-6)
        assert result.history[-1] < result.history[0]
        return
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+.*lr=0\.024") as info:
        train(X, Y, None, (np.zeros((1, 1)), np.zeros(1)), plan, config)
    assert info.value.epoch < 100 and info.value.suggested_lr == pytest.approx(0.024)


def test_log_every_prints_epoch_loss_and_parameters():
    lines = []
    X = np.array([[1.0], [2.0], [3.0]])
    Y = np.array([[3.0], [5.0], [7.0]])
    config = DescentConfig(lr=0.01, epochs=30, log_every=10, log=lines.append)
    train(X, Y, None, (np.zeros((1, 1)), np.zeros(1)), BatchPlan(3, None, 0, None), config)
    assert [line.split()[1] for line in lines] == ["0/30", "10/30", "20/30"]
    assert all("loss" in line and "w = " in line and "b = " in line for line in lines)


@pytest.mark.parametrize(
    "settings",
    [
        dict(loss="mse", shuffle=False, batch_size=7),
        dict(loss="mse", shuffle=True, batch_size=8),
        dict(loss="sse", shuffle=True, batch_size=5, alpha=0.5),
        dict(loss="mse", shuffle=True, batch_size=6, alpha=2.0, weighted=True),
        dict(loss="mse", shuffle=False, batch_size=9, fit_intercept=False, k=3),
        dict(loss="mse", shuffle=True, batch_size=4, tol=1e-3),
        dict(loss="mse", shuffle=False, batch_size=8, n=32),  # equal batches
        dict(loss="sse", shuffle=True, batch_size=4, n=32, alpha=0.3, weighted=True),
    ],
)
def test_minibatch_affine_path_equals_the_explicit_loop(settings):
    from linearlab.descent.fastpaths import train_affine

    settings = dict(settings)
    weighted, k = settings.pop("weighted", False), settings.pop("k", 2)
    n = settings.pop("n", 31)
    shuffle, batch_size = settings.pop("shuffle"), settings.pop("batch_size")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, 3))
    Y = X @ rng.standard_normal((3, k)) + 0.5 + 0.1 * rng.standard_normal((n, k))
    w = rng.uniform(0.5, 2, n) if weighted else None
    init = (rng.standard_normal((3, k)), rng.standard_normal(k))
    lr = 0.002 if settings["loss"] == "sse" else 0.05
    config = DescentConfig(lr=lr, epochs=40, **settings)
    fast = train_affine(X, Y, w, init, BatchPlan(n, batch_size, shuffle, np.random.default_rng(1)),
                        config)
    slow = _train_loop(X, Y, w, init, BatchPlan(n, batch_size, shuffle,
                                                np.random.default_rng(1)), config)
    assert fast.n_iter == slow.n_iter and fast.stopped_by_tol == slow.stopped_by_tol
    np.testing.assert_allclose(fast.history, slow.history, rtol=1e-10)
    np.testing.assert_allclose(fast.coef, slow.coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.intercept, slow.intercept, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.params_history, slow.params_history, rtol=1e-9, atol=1e-12)


def test_minibatch_affine_path_detects_divergence_at_the_same_epoch():
    from linearlab.descent.fastpaths import train_affine

    X = np.arange(1.0, 21.0)[:, None]
    Y = 3 * X + 1
    config = DescentConfig(lr=0.05, epochs=200)
    init = (np.zeros((1, 1)), np.zeros(1))
    errors = []
    for fn in (train_affine, _train_loop):
        with pytest.raises(DivergenceError) as info:
            fn(X, Y, None, init, BatchPlan(20, 4, True, np.random.default_rng(0)), config)
        errors.append(info.value.epoch)
    assert errors[0] == errors[1]


# --------------------------------------------------------------------------- the one shell
def test_each_loss_is_one_formula_for_numpy_and_torch():
    torch = pytest.importorskip("torch")
    from linearlab.descent.losses import TABLE, criterion, pointwise

    r = np.linspace(-3, 3, 13).reshape(-1, 1)
    for name in LOSSES:
        terms, slope = pointwise(torch, name, torch.from_numpy(r))
        np.testing.assert_array_equal(terms.numpy(), get_loss(name).pointwise(r))
        np.testing.assert_array_equal(slope.numpy(), get_loss(name).derivative(r))
        # the torch.nn criterion the table names agrees with the formula
        nn_loss = criterion(torch.nn, name, "none")(torch.from_numpy(r), torch.zeros(13, 1))
        np.testing.assert_allclose(nn_loss.numpy(), TABLE[name].terms(r, np), rtol=1e-15)


def _lazy_problem(n=4000, d=80):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + rng.standard_normal(n)


def test_given_lr_makes_no_gram_pass_and_diagnoses_on_first_read(monkeypatch):
    import pickle
    import warnings

    from linearlab import ConvergenceWarning, LinearRegression
    from linearlab.descent import shell
    from linearlab.descent import spec as spec_module
    from linearlab.exact.gram import Gram

    X, y = _lazy_problem()
    assert X.shape[0] * X.shape[1] ** 2 > shell.CHEAP_GRAM_WORK
    params = dict(solver="gd", lr=0.01, epochs=5, optimizer="momentum")  # no closed form
    passes = []
    original = Gram.from_arrays.__func__
    monkeypatch.setattr(Gram, "from_arrays", classmethod(
        lambda cls, *a, **k: passes.append(1) or original(cls, *a, **k)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # nothing diagnosed at fit
        model = LinearRegression(**params).fit(X, y)
    assert passes == [] and spec_module.is_pending(model.fitted_state_.gram)
    message = model.diagnosis_  # the Gram pass and the exact solve happen now, once
    assert passes == [1] and not model.converged_ and "Not converged" in message
    assert model.optimum_[0].shape == (X.shape[1], 1)
    # the same numbers as a fit that computes everything at once (lr="auto" needs the Gram)
    monkeypatch.setattr(shell, "CHEAP_GRAM_WORK", np.inf)
    with pytest.warns(ConvergenceWarning) as caught:
        eager = LinearRegression(**params).fit(X, y)
    assert str(caught[0].message) == message == eager.diagnosis_
    # a pickled model carries plain statistics and its settled diagnosis, never the rows
    again = pickle.loads(pickle.dumps(LinearRegression(**params).fit(X, y)))
    assert isinstance(again.fitted_state_.gram, Gram) and again.diagnosis_ == message
    assert again.summary().params.shape[0] == X.shape[1] + 1


def test_given_lr_divergence_still_suggests_a_stable_step():
    from linearlab import LinearRegression

    X, y = _lazy_problem(n=400, d=3)
    with pytest.raises(DivergenceError, match="a step size below") as info:
        LinearRegression(solver="gd", lr=50.0, epochs=50).fit(X * 100, y)
    assert info.value.suggested_lr > 0
