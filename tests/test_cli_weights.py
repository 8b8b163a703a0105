"""``fit --weights COLUMN``: weighted least squares from the command line, as ``sample_weight``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from linearlab import LinearRegression
from linearlab.cli.main import main


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(3)
    x1, x2 = rng.normal(size=(2, 80))
    w = rng.uniform(0.1, 3.0, 80)
    y = 2 * x1 - x2 + 1 + rng.normal(size=80) * (1 + (x1 > 0))
    path = tmp_path / "w.csv"
    path.write_text("x1,x2,w,y\n" + "".join(f"{a:.17g},{b:.17g},{c:.17g},{d:.17g}\n"
                                             for a, b, c, d in zip(x1, x2, w, y, strict=True)))
    return path, np.column_stack([x1, x2]), y, w


def _fit(capsys, *argv):
    status = main(["fit", *map(str, argv), "--json"])
    out = capsys.readouterr()
    return status, (json.loads(out.out) if status == 0 else out.err)


@pytest.mark.parametrize("stream", [False, True])
def test_weights_equal_sample_weight_and_are_never_a_feature(table, capsys, stream):
    path, X, y, w = table
    status, result = _fit(capsys, path, "--weights", "w", *(["--stream"] if stream else []))
    assert status == 0, result
    assert result["features"] == ["x1", "x2"]  # the weight column is not a default feature
    expected = LinearRegression().fit(X, y, sample_weight=w)
    coef = [result["coef"][name] for name in ("x1", "x2")]
    np.testing.assert_allclose(coef, expected.coef_, rtol=0, atol=1e-10)
    unweighted = LinearRegression().fit(X, y)
    assert not np.allclose(coef, unweighted.coef_, atol=1e-3)


def test_a_weight_column_that_is_also_a_feature_is_a_usage_error(table, capsys):
    path, *_ = table
    status, err = _fit(capsys, path, "--weights", "w", "-x", "x1,w")
    assert status == 2 and "weight column 'w'" in " ".join(err.split())


def test_weights_on_a_dask_cluster_are_refused_in_words(table, capsys):
    path, *_ = table
    status, err = _fit(capsys, path, "--weights", "w", "--workers", "1")
    assert status == 2 and "sample_weight=" in " ".join(err.split())
