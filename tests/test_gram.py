import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearlab.exact.blocks import Shifter
from linearlab.exact.fastpath import residual_pass
from linearlab.exact.gram import Gram


def _direct(X, Y, w):
    W = w / w.sum()
    mx, my = W @ X, W @ Y
    Xc, Yc = X - mx, Y - my
    return mx, my, (Xc * w[:, None]).T @ Xc, (Xc * w[:, None]).T @ Yc, (Yc * w[:, None]).T @ Yc


def _assert_same(a: Gram, b: Gram, rtol=1e-10):
    assert a.count == b.count
    np.testing.assert_allclose(a.weight_sum, b.weight_sum, rtol=rtol)
    for name in ("mean_x", "mean_y", "sxx", "sxy", "syy"):
        scale = max(np.abs(getattr(b, name)).max(), 1.0)
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=rtol * scale)


def test_matches_direct_formulas(rng):
    X = rng.standard_normal((300, 4)) * [1, 10, 100, 0.1] + [0, 1e3, -5, 2]
    Y = rng.standard_normal((300, 2))
    w = rng.uniform(0.1, 3.0, 300)
    g = Gram.from_arrays(X, Y, w)
    mx, my, sxx, sxy, syy = _direct(X, Y, w)
    np.testing.assert_allclose(g.mean_x, mx, rtol=1e-12)
    np.testing.assert_allclose(g.mean_y, my, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.sxx, sxx, rtol=1e-10)
    np.testing.assert_allclose(g.sxy, sxy, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(g.syy, syy, rtol=1e-10)
    assert g.count == 300 and g.weight_sum == pytest.approx(w.sum())


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 120),
    cuts=st.lists(st.integers(0, 120), max_size=6),
    order_seed=st.integers(0, 2**31 - 1),
    weighted=st.booleans(),
)
def test_merge_in_any_order_and_size_gives_same_statistics(n, cuts, order_seed, weighted):
    rng = np.random.default_rng(order_seed)
    X = rng.standard_normal((n, 3)) * [1, 50, 0.01] + [1e4, -3, 7]
    Y = rng.standard_normal((n, 1)) + 100
    w = rng.uniform(0, 2, n) if weighted else None
    if w is not None:
        w[0] = 1.0  # at least one positive weight
    whole = Gram.from_arrays(X, Y, w)
    bounds = sorted({0, n, *[c % (n + 1) for c in cuts]})
    parts = [
        Gram.from_arrays(X[a:b], Y[a:b], None if w is None else w[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    rng.shuffle(parts)
    merged = Gram.empty(3, 1)
    for part in parts:
        merged = merged.merge(part)
    _assert_same(merged, whole, rtol=1e-9)
    # pairwise tree merge gives the same too
    while len(parts) > 1:
        parts = [parts[i].merge(parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    _assert_same(parts[0], whole, rtol=1e-9)


def test_large_offsets_stay_accurate():
    # Columns with mean 1e8 and unit spread: naive uncentred sums lose all digits.
    rng = np.random.default_rng(0)
    X = 1e8 + rng.standard_normal((10_000, 2))
    Y = X[:, :1] * 2.0
    g = Gram.from_arrays(X, Y)
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(g.sxx, Xc.T @ Xc, rtol=1e-8)


def test_residual_sum_of_squares_from_statistics(rng):
    X = rng.standard_normal((50, 3))
    Y = rng.standard_normal((50, 2))
    coef, intercept = rng.standard_normal((3, 2)), rng.standard_normal(2)
    g = Gram.from_arrays(X, Y)
    direct = ((X @ coef + intercept - Y) ** 2).sum(axis=0)
    np.testing.assert_allclose(g.residual_sum_of_squares(coef, intercept), direct, rtol=1e-10)


def test_merge_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="cannot merge"):
        Gram.empty(3).merge(Gram.empty(2))


def test_zero_weight_rows_count_but_do_not_contribute(rng):
    X = rng.standard_normal((20, 2))
    Y = rng.standard_normal(20)
    w = np.ones(20)
    w[10:] = 0.0
    g = Gram.from_arrays(X, Y, w)
    ref = Gram.from_arrays(X[:10], Y[:10])
    assert g.count == 20
    _assert_same(Gram(10, *list(vars(g).values())[1:]), ref)


@pytest.mark.parametrize("offset", [0.0, 3.0, 1e3, 1e8])
def test_summed_cross_products_agree_with_two_pass_centring(offset):
    # Small offsets sum raw cross-products, large ones shift every block by the first block's
    # mean; both must agree with two-pass centred sums.
    rng = np.random.default_rng(7)
    X = rng.standard_normal((5000, 3)) + offset
    Y = X @ [[1.0], [2.0], [3.0]] + rng.standard_normal((5000, 1))
    assert Gram._summed(X, Y, 512, *Gram._shift(X[:512], Y[:512])) is not None
    g = Gram.from_arrays(X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    np.testing.assert_allclose(g.sxx, Xc.T @ Xc, rtol=1e-11)
    np.testing.assert_allclose(g.sxy, Xc.T @ Yc, rtol=1e-11)
    np.testing.assert_allclose(g.syy, Yc.T @ Yc, rtol=1e-11)


def test_drifting_level_falls_back_to_centring_every_block():
    # A level that moves far from the first block's mean would lose digits in shifted sums:
    # those are refused, and the blockwise centred merge gives the two-pass answer.
    rng = np.random.default_rng(3)
    n = 200_000
    X = rng.standard_normal((n, 2)) + np.where(np.arange(n) < 512, 0.0, 1e6)[:, None]
    Y = X[:, :1] * 2 + rng.standard_normal((n, 1))
    assert Gram._summed(X, Y, 512, *Gram._shift(X[:512], Y[:512])) is None
    g = Gram.from_arrays(X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    np.testing.assert_allclose(g.sxx, Xc.T @ Xc, rtol=1e-9)
    np.testing.assert_allclose(g.sxy, Xc.T @ Yc, rtol=1e-9)


@pytest.mark.parametrize("rows", [100, 5_000, 300_000])
def test_the_pass_does_not_depend_on_the_thread_count(monkeypatch, rows):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((rows, 7)) + 50.0
    X[:, 3] = 4.0  # a constant column
    Y = rng.standard_normal((rows, 2))
    many = Gram.from_arrays(X, Y)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    one = Gram.from_arrays(X, Y)
    for a, b in zip(vars(many).values(), vars(one).values(), strict=True):
        np.testing.assert_array_equal(a, b)
    Xc = X - X.mean(0)
    np.testing.assert_allclose(many.sxx, Xc.T @ Xc, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("order", ["C", "F"])
def test_the_shifter_gives_the_numbers_of_broadcasting(rng, order):
    """The tiled subtraction (fast for few columns) is the same elementwise x − s."""
    X = np.asarray(rng.standard_normal((1000, 3)) * 1e3 + 7.0, order=order)
    shift = X[:100].mean(axis=0)
    shifter = Shifter(shift, 400)
    for start in range(0, 1000, 400):
        block = X[start:start + 400]
        assert np.array_equal(shifter(block), block - shift)


@pytest.mark.parametrize("centre", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_residual_pass_sums_what_it_says(rng, centre, weighted):
    """One blockwise pass: Σw r², Xᵀ W r, Σ w r and the covariance's semi-normal products,
    against the same sums written out on the whole arrays (several blocks and tasks)."""
    n, d = 50_000, 3
    X = rng.standard_normal((n, d)) + np.array([5.0, -2.0, 0.5])
    Y = rng.standard_normal((n, 1))
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    coef, offset = rng.standard_normal((d, 1)), np.array([0.3])
    shift_x, shift_y = X.mean(axis=0), Y.mean(axis=0)
    C = rng.standard_normal((d, d))
    got = residual_pass(X, Y, w, coef, offset, shift_x, shift_y, centre, C)
    ww = np.ones(n) if w is None else w
    r = (Y - shift_y) - (X - shift_x) @ coef - offset
    Xc = X - shift_x if centre else X
    np.testing.assert_allclose(got.ssr, (ww[:, None] * r**2).sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(got.residual_sum, (ww[:, None] * r).sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(got.gradient, (X - shift_x).T @ (ww[:, None] * r), atol=1e-9)
    np.testing.assert_allclose(got.product, Xc.T @ (ww[:, None] * (Xc @ C)), rtol=1e-11)
    np.testing.assert_allclose(got.column_sum, ww @ Xc, rtol=1e-12, atol=1e-8)
