"""gradcheck: hand-derived NumPy gradient == torch autograd == central finite differences."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearlab import gradcheck
from linearlab.descent import losses
from linearlab.errors import DataError, ParameterError

pytest.importorskip("torch")

PAIRS = ["numpy vs torch autograd", "numpy vs finite differences", "torch vs finite differences"]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    loss=st.sampled_from(["mse", "sse", "mae", "huber"]),
    n=st.integers(1, 40),
    d=st.integers(1, 4),
    k=st.sampled_from([None, 1, 3]),
    weighted=st.booleans(),
    alpha=st.sampled_from([0.0, 0.3]),
    intercept=st.booleans(),
    scale=st.sampled_from([0.1, 1.0, 10.0]),
)
def test_three_gradients_agree_on_random_problems(
    seed, loss, n, d, k, weighted, alpha, intercept, scale
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    y = rng.normal(size=(n,) if k is None else (n, k)) * scale
    coef = rng.normal(size=(d,) if k is None else (k, d))
    b = (rng.normal() if k is None else rng.normal(size=k)) if intercept else None
    weights = rng.uniform(0.1, 3.0, size=n) if weighted else None
    result = gradcheck(X, y, coef, b, loss=loss, sample_weight=weights, alpha=alpha)
    assert [c.pair for c in result.comparisons] == PAIRS
    assert result.passed(1e-7), str(result)
    assert result.comparisons[0].max_rel < 1e-12  # the same arithmetic, twice


def test_seed002_gradient_is_the_posts_formula():
    legacy = np.random.RandomState(220102)  # the post's np.random.seed(220102)
    W, B = legacy.randn(1, 1), legacy.randn(1, 1)
    X, Y = np.array([[1.0], [2.0], [3.0]]), np.array([[3.0], [5.0], [7.0]])
    result = gradcheck(X, Y, W.ravel(), B.ravel(), loss="sse")
    dL_dg = 2 * (X @ W + B - Y)  # the post's loss_gradient
    expected = np.vstack([X.T @ dL_dg, dL_dg.sum(axis=0, keepdims=True)])
    np.testing.assert_allclose(result.gradients["numpy"], expected, rtol=1e-15)
    np.testing.assert_allclose(result.gradients["torch"], expected, rtol=1e-15)
    assert result.passed()


def test_table_is_readable():
    result = gradcheck([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], [0.5], 0.1, loss="huber")
    text = str(result)
    assert text.splitlines()[0] == (
        "Gradient check: loss='huber', 3 rows x 1 feature(s), 1 target(s)"
    )
    assert "max abs error" in text and "max rel error" in text
    for pair in PAIRS:
        assert pair in text
    assert text.endswith("all agree to 1e-7 relative: yes")
    assert set(result.as_dict()) == set(PAIRS)
    assert result.max_rel == max(v["max_rel"] for v in result.as_dict().values())


def test_without_torch_only_finite_differences_referee():
    result = gradcheck([[1.0, 2.0], [3.0, 5.0]], [1.0, 2.0], [0.1, 0.2], None, use_torch=False)
    assert [c.pair for c in result.comparisons] == ["numpy vs finite differences"]
    assert set(result.gradients) == {"numpy", "finite differences"}
    assert np.all(result.gradients["numpy"][-1] == 0)  # no intercept, no intercept gradient
    assert result.passed()


def test_a_wrong_hand_derived_gradient_is_caught(monkeypatch):
    original = losses.TABLE["huber"].slope

    def off_by_a_bit(r, xp):  # a typical slip: the clip forgotten on one side
        return xp.where(r > losses.HUBER_DELTA, r, original(r, xp))

    # the NumPy engine's formula only: the torch referee is torch.nn.HuberLoss itself
    monkeypatch.setitem(losses.TABLE, "huber",
                        dataclasses.replace(losses.TABLE["huber"], slope=off_by_a_bit))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), 5 * rng.normal(size=30)
    result = gradcheck(X, y, [0.0, 0.0], 0.0, loss="huber")
    assert not result.passed()
    assert "all agree to 1e-7 relative: NO" in str(result)
    torch_vs_fd = result.comparisons[2]
    assert torch_vs_fd.max_rel < 1e-7  # the referees still agree with each other


def test_kinks_do_not_fool_the_finite_differences():
    # residuals sit 1e-9 from the mae kink at 0: the step shrinks instead of crossing it
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.array([1.0 + 1e-9, 2.0 - 1e-9, 3.5])
    result = gradcheck(X, y, [1.0], 0.0, loss="mae")
    assert result.passed(), str(result)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(loss="rmse"), ParameterError, "unknown loss"),
        (dict(coef=[1.0, 2.0]), ParameterError, "coef"),
        (dict(alpha=-1.0), ParameterError, "alpha"),
        (dict(step=0.0), ParameterError, "step"),
        (dict(coef=[np.nan]), ParameterError, "finite"),
        (dict(y=[1.0, 2.0]), DataError, "inconsistent numbers of samples"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = dict(X=[[1.0], [2.0], [3.0]], y=[1.0, 2.0, 3.0], coef=[1.0], intercept=0.0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        gradcheck(**args)


def test_numpy_side_is_the_engines_own_forward_backward(monkeypatch):
    # gradcheck must exercise the engine's step, not a copy of it: break the step, and the
    # "numpy" gradient breaks with it
    from linearlab.descent import loop

    original = loop.forward_backward
    calls = []

    def spy(W, b, Xb, Yb, wb, loss_fn, penalty, fit_intercept):
        calls.append(Xb.shape)
        loss, grads = original(W, b, Xb, Yb, wb, loss_fn, penalty, fit_intercept)
        grads[0] = grads[0] * 1.01
        return loss, grads

    monkeypatch.setattr(loop, "forward_backward", spy)
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    result = gradcheck(X, y, [0.3, -0.2], 0.1, loss="mse")
    assert calls == [(20, 2)]
    assert not result.passed()
