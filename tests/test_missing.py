"""The missing-value policy: missing="error" (default) or "drop", as statsmodels' missing=."""

from __future__ import annotations

import numpy as np
import pytest

from linearlab import LinearRegression
from linearlab.data.missing import handle_missing
from linearlab.errors import DataError


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, -2.0, 0.5] + 3 + 0.1 * rng.normal(size=n)
    return X, y


def test_error_gives_count_and_first_row():
    X, y = _data()
    X[[5, 9], 1] = np.nan
    X[9, 2] = np.nan
    message = r"NaN at row 5, column 1 \(3 non-finite.*missing='drop'"
    with pytest.raises(DataError, match=message):
        LinearRegression().fit(X, y)
    y2 = y.copy()
    y2[7] = np.nan
    with pytest.raises(DataError, match=r"y contains NaN at row 7 \(1 non-finite"):
        LinearRegression().fit(_data()[0], y2)


def test_drop_equals_fitting_the_complete_rows():
    X, y = _data()
    X[[5, 9], 1] = np.nan
    y[12] = np.nan
    w = np.linspace(1, 2, len(y))
    model = LinearRegression(missing="drop").fit(X, y, sample_weight=w)
    keep = np.ones(len(y), bool)
    keep[[5, 9, 12]] = False
    ref = LinearRegression().fit(X[keep], y[keep], sample_weight=w[keep])
    assert model.n_dropped_ == 3
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-12)
    assert model.score(X, y) == pytest.approx(ref.score(X[keep], y[keep]), rel=1e-12)


def test_partial_fit_and_predict_follow_drop():
    X, y = _data()
    X[3, 0] = np.nan
    X[30, 2] = np.nan
    model = LinearRegression(missing="drop")
    model.partial_fit(X[:20], y[:20]).partial_fit(X[20:], y[20:])
    whole = LinearRegression(missing="drop").fit(X, y)
    assert model.n_dropped_ == 2
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10)
    pred = model.predict(X[:5])
    assert np.isnan(pred[3]) and np.isfinite(np.delete(pred, 3)).all()
    with pytest.raises(DataError, match="missing"):
        LinearRegression().fit(X[:5] * 0 + 1, y[:5]).predict(X[:5])


def test_drop_with_gradient_descent():
    X, y = _data()
    X[0, 0] = np.nan
    gd = LinearRegression(solver="gd", missing="drop", epochs=2000).fit(X, y)
    exact = LinearRegression(missing="drop").fit(X, y)
    np.testing.assert_allclose(gd.coef_, exact.coef_, atol=1e-6)


def test_everything_missing_and_bad_policy():
    X, y = _data(4)
    X[:, 0] = np.nan
    with pytest.raises(DataError, match="Every one of the 4 rows"):
        handle_missing(X, y, None, "drop")
    with pytest.raises(ValueError, match="missing"):
        LinearRegression(missing="ignore").fit(*_data())


def test_infinity_is_not_missing():
    X, y = _data()
    X[2, 1] = np.inf
    with pytest.raises(DataError, match="inf"):
        LinearRegression(missing="drop").fit(X, y)


def test_frames_and_none_values():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(X, columns=["a", "b", "c"]).astype(object)
    df.iloc[4, 2] = None
    with pytest.raises(DataError, match="None at row 4, column 'c'"):
        LinearRegression().fit(df, y)
    model = LinearRegression(missing="drop").fit(df, y)
    assert model.n_dropped_ == 1
