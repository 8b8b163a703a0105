"""LIBSVM/svmlight files: scikit-learn's reader, sparse X, located errors, and the command line."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

import linearlab as ll
from linearlab.cli.main import main
from linearlab.data import svmlight
from linearlab.data.sources import open_source
from linearlab.errors import DataError, DataFileError


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    X = sp.random(400, 30, density=0.1, format="csr", random_state=1)
    y = X @ rng.normal(size=30) + 1.5
    train = tmp_path / "train.svm"
    dump_svmlight_file(X, y, str(train), zero_based=False)
    return tmp_path, X, y, train


def test_read_keeps_x_sparse_and_names_columns(files):
    tmp, X, y, train = files
    data = svmlight.read(str(train))
    assert sp.issparse(data.X) and data.X.shape == X.shape
    assert np.abs(data.X - X).max() < 1e-12 and np.allclose(data.y, y)
    assert data.features[:2] == ["x1", "x2"] and data.target == "y"
    gz = tmp / "train.svmlight.gz"
    gz.write_bytes(gzip.compress(train.read_bytes()))
    assert svmlight.is_svmlight(gz) and not svmlight.is_svmlight(tmp / "a.csv")
    assert svmlight.read(str(gz)).X.nnz == X.nnz


@pytest.mark.parametrize("text,line,what", [
    ("1 1:2 3:4\n# a comment\n2 1:1 2:x\n", 3, "value in '2:x' is not a number"),
    ("1 1:2\nabc 1:1\n", 2, "label 'abc' is not a number"),
    ("1 1:2\n\n1 3:1 2:5\n", 3, "does not increase"),
    ("1 1:2 7\n", 1, "'7' is not an index:value pair"),
])
def test_bad_line_is_named(tmp_path, text, line, what):
    path = tmp_path / "bad.svm"
    path.write_text(text)
    with pytest.raises(DataFileError, match=f"line {line}: .*{what}"):
        svmlight.read(str(path))


def test_non_finite_value_and_too_many_columns(tmp_path, files):
    path = tmp_path / "nan.svm"
    path.write_text("1 1:2\n# skip\n\n2 2:nan\n")
    with pytest.raises(DataFileError, match="line 4: feature x2 is nan"):
        svmlight.read(str(path))
    _, X, y, train = files
    model = ll.LinearRegression().fit(svmlight.read(str(train)).X, y)
    wide = tmp_path / "wide.svm"
    wide.write_text("1 1:1 35:2\n")
    with pytest.raises(DataError, match="more feature columns than the 30"):
        svmlight.read(str(wide), n_features=model.n_features_in_)
    narrow = tmp_path / "narrow.svm"
    narrow.write_text("1 1:1 3:2\n")
    assert svmlight.read(str(narrow), n_features=30).X.shape == (1, 30)


def test_table_commands_say_svmlight_is_for_fit_and_predict(files):
    with pytest.raises(DataFileError, match="LIBSVM/svmlight file"):
        open_source(str(files[3]))


def test_cli_fit_and_predict(files, capsys):
    tmp, X, y, train = files
    model_file = tmp / "model.json"
    assert main(["fit", str(train), "-o", str(model_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 400 and out["metrics"]["r2"] > 0.999
    ref = ll.LinearRegression().fit(X, y)
    np.testing.assert_allclose(list(out["coef"].values()), ref.coef_, atol=1e-9)
    new = tmp / "new.libsvm"
    dump_svmlight_file(X[:4], y[:4], str(new), zero_based=False)
    assert main(["predict", str(model_file), str(new)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == '"y","prediction"'
    pred = np.array([float(v.split(",")[1]) for v in lines[1:]])
    np.testing.assert_allclose(pred, ref.predict(X[:4]), atol=1e-9)


def test_cli_bad_line_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.svm"
    path.write_text("1 1:2\n2 1:1 2:x\n")
    assert main(["fit", str(path)]) == 2
    assert "'bad.svm', line 2" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["-x", "x1"], ["--stream"]])  # --plots: test_sparse_plots
def test_cli_table_options_are_refused(files, capsys, flag):
    assert main(["fit", str(files[3]), *flag]) == 2
    assert "does not apply to the LIBSVM/svmlight file 'train.svm'" in capsys.readouterr().err


def test_cli_penalized_fit(files, capsys):
    _, X, y, train = files
    assert main(["fit", str(train), "--penalty", "l1", "--alpha", "0.001", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = ll.Lasso(alpha=0.001).fit(X, y)
    np.testing.assert_allclose(list(out["coef"].values()), ref.coef_, atol=1e-9)
