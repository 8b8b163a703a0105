"""Model files: bit-for-bit round trips, atomic writes, validated loading."""

from __future__ import annotations

import json
import os
import pickle
import stat
import warnings

import numpy as np
import pytest

from linearlab import LinearRegression, load
from linearlab.errors import ModelFileError, NotFittedError, OutputError
from linearlab.io.outputs import atomic_path
from linearlab.models import persist
from linearlab.models.persist import FORMAT, model_to_dict, save


@pytest.fixture
def data(rng):
    X = rng.normal(size=(200, 3)) * [1.0, 1e3, 1e-3]
    y = X @ [1.5, -2e-3, 700.0] + 0.1 + rng.normal(size=200) / 3
    return X, y


@pytest.mark.parametrize(
    "params",
    [{}, {"solver": "qr", "alpha": 0.5}, {"fit_intercept": False},
     {"solver": "gd", "epochs": 50, "optimizer": "adam", "lr": 0.05, "random_state": 3}],
)
def test_round_trip_predicts_bit_for_bit(tmp_path, data, params):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LinearRegression(**params).fit(X, y)
    path = tmp_path / "model.json"
    model.save(path)
    again = load(path)
    assert np.array_equal(again.predict(X), model.predict(X))
    assert np.array_equal(again.coef_, model.coef_) and again.intercept_ == model.intercept_
    assert again.get_params() == model.get_params()
    assert again.history_ == model.history_
    assert again.n_iter_ == model.n_iter_ and again.solver_ == model.solver_
    assert not hasattr(again, "feature_names_in_")  # fitted on an array: no names invented
    assert again.feature_names_ == ["x0", "x1", "x2"]


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_multi_output_and_names(tmp_path, data):
    X, y = data
    Y = np.column_stack([y, -y + 1])
    model = LinearRegression().fit(X, Y)
    model.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
    model.target_names_ = ["u", "v"]
    save(model, tmp_path / "m.json", metrics={"r2": 1.0})
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["format"] == FORMAT == "linearlab.model/1"
    assert doc["feature_names"] == ["a", "b", "c"] and doc["target_names"] == ["u", "v"]
    assert doc["metrics"] == {"r2": 1.0}
    again = load(tmp_path / "m.json")
    assert again.intercept_.shape == (2,) and again.coef_.shape == (2, 3)
    assert list(again.feature_names_in_) == ["a", "b", "c"]
    assert np.array_equal(again.predict(X), model.predict(X))


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        LinearRegression().save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


@pytest.fixture
def document(data):
    X, y = data
    return model_to_dict(LinearRegression().fit(X, y))


def corrupt(doc, **changes):
    doc = json.loads(json.dumps(doc))
    for key, value in changes.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"format": "linearlab.model/2"}, "Upgrade linearlab"),
        ({"format": "pickle"}, "not a linearlab model file"),
        ({"format": ...}, "has format None"),
        ({"coef": [1.0, 2.0]}, "'coef' has shape"),
        ({"coef": ["a", 1, 2]}, "'coef' must hold numbers"),
        ({"coef": [True, 1, 2]}, "not true/false"),
        ({"intercept": None}, "'intercept' must hold numbers, found None"),
        ({"feature_names": ["a", "a", "b"]}, "repeats a name"),
        ({"feature_names": []}, "non-empty list"),
        ({"params": {"solver": "magic"}}, "invalid parameters"),
        ({"params": {"evil": 1}}, "unknown parameter"),
        ({"params": {"epochs": "10"}}, "parameter 'epochs' has an invalid value"),
        ({"history": "x"}, "'history' a list of numbers"),
    ],
)
def test_invalid_documents(tmp_path, document, changes, message):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(corrupt(document, **changes)))
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_truncated_corrupt_and_missing_files(tmp_path, document):
    path = tmp_path / "m.json"
    text = json.dumps(document, indent=2)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="not complete JSON.*truncated"):
        load(path)
    path.write_text(text.replace('"coef": [', '"coef": [NaN, ', 1))
    with pytest.raises(ModelFileError, match="NaN is not allowed"):
        load(path)
    path.write_bytes(b"\x80\x81garbage")
    with pytest.raises(ModelFileError):
        load(path)
    path.write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="top level must be a JSON object"):
        load(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "missing.json")


def test_reloaded_model_keeps_its_summary_and_parameter_path(tmp_path):
    import json
    import stat

    import numpy as np

    import linearlab as ll

    data = ll.load_dataset("diabetes")
    weights = np.linspace(1, 2, len(data.y))
    model = ll.LinearRegression().fit(data.X, data.y, sample_weight=weights)
    path = tmp_path / "m.json"
    model.save(path)
    assert stat.S_IMODE(path.stat().st_mode) & 0o044  # readable by others, like any file
    again = ll.load(path)
    before, after = model.summary(), again.summary()
    np.testing.assert_array_equal(after.bse, before.bse)
    assert after.llf == before.llf and after.rsquared == before.rsquared

    three = ll.load_dataset("three-points")
    gd = ll.LinearRegression(solver="gd", lr=0.01, epochs=30).fit(three.X, three.y)
    gd.save(path)
    np.testing.assert_array_equal(ll.load(path).params_history_, gd.params_history_)

    document = json.loads(path.read_text())
    document["statistics"]["sxx"] = [["oops"]]
    path.write_text(json.dumps(document))
    with pytest.raises(ll.ModelFileError, match="statistics.sxx"):
        ll.load(path)
    document = json.loads(path.read_text())
    document["statistics"] = None
    document["parameter_history"] = [[[1.0]]]
    path.write_text(json.dumps(document))
    with pytest.raises(ll.ModelFileError, match="parameter_history"):
        ll.load(path)


# --------------------------------------------------------------------------- the one reader
@pytest.mark.parametrize(
    "content, message",
    [
        (pickle.dumps({"coef": [1.0]}), "looks like a Python pickle, which linearlab never loads"),
        (pickle.dumps([1.0], protocol=0), "Python pickle"),
        (b"PAR1\x00\x00", "Parquet data file"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"coef": [' + b"9" * 401 + b"]}", "integer of 401 digits"),
        (b'{"intercept": -' + b"1" * 5000 + b"}", "integer of 5000 digits"),
        (b'{"coef": [1e400]}', "beyond the range of float64"),
        (b"caf\xe9", "not UTF-8 text \\(byte 0xe9 at offset 3\\)"),
        (b"", "not complete JSON"),
    ],
)
def test_reader_turns_every_bad_file_into_model_file_error(tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_reader_caps_the_size_and_refuses_non_regular_files(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2048)
    monkeypatch.setattr(persist, "MAX_MODEL_BYTES", 1024)
    with pytest.raises(ModelFileError, match="larger than 0 MiB"):
        load(path)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="is a directory"):
        load(tmp_path)
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="not a regular file"):
        load(fifo)  # must not block waiting for a writer
    try:
        os.mknod(tmp_path / "zero.json", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("mknod needs root")
    with pytest.raises(ModelFileError, match="not a regular file"):
        load(tmp_path / "zero.json")  # /dev/zero would be read until memory runs out


@pytest.mark.parametrize("field, value", [
    ("coef", {"a": 1}), ("intercept", [[[1.0]]]), ("feature_names", [1, 2]),
    ("params", []), ("fit", [1]), ("statistics", {"count": "many"}), ("metrics", 5),
    ("parameter_history", [[["x"]]]), ("training", "data.csv"),
])
def test_reader_rejects_wrong_types(tmp_path, document, field, value):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(corrupt(document, **{field: value})))
    try:
        load(path)  # a harmless field may be ignored (metrics, training)...
    except ModelFileError:
        pass  # ...but nothing else than ModelFileError may come out


def test_save_follows_the_output_rules(tmp_path, data):
    X, y = data
    model = LinearRegression().fit(X, y)
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save(model, link)
    assert link.is_symlink() and load(link).coef_.tolist() == model.coef_.tolist()
    real.chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        save(model, real)
    save(model, real, force=True)
    assert stat.S_IMODE(real.stat().st_mode) == 0o444  # replaced, permissions kept
    data_file = tmp_path / "data.csv"
    data_file.write_text("a,y\n1,2\n")
    with pytest.raises(OutputError, match="same file as the input"):
        save(model, tmp_path / "." / "data.csv", inputs=[data_file])
    assert data_file.read_text() == "a,y\n1,2\n"
    with pytest.raises(OutputError, match="directory .*nodir/sub.* does not exist"):
        save(model, tmp_path / "nodir" / "sub" / "m.json")
    assert sorted(os.listdir(tmp_path)) == ["data.csv", "link.json", "real.json"]


@pytest.mark.parametrize("change", [
    lambda p: p.update(alphas_=p["alphas_"][:50]),
    lambda p: p.update(mse_path_=[row[:0] for row in p["mse_path_"]]),
    lambda p: p.update(alphas_=5.0),
    lambda p: p.update(mse_path_=[[1.0, 2.0], [3.0]]),
])
def test_cv_path_shapes_must_agree(tmp_path, data, change):
    """A CV model whose alphas_ and mse_path_ disagree is refused at load (it once crashed
    `plot --kind path` with a traceback)."""
    from linearlab import LassoCV

    LassoCV().fit(*data).save(tmp_path / "cv.json")
    doc = json.loads((tmp_path / "cv.json").read_text())
    change(doc["penalized"])
    (tmp_path / "cv.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="alphas_|mse_path_"):
        load(tmp_path / "cv.json")


def test_large_files_parse_floats_at_c_speed_and_still_refuse_overflow(tmp_path, data):
    """Floats are parsed by json's C scanner (no Python callback per number); a number beyond
    float64 anywhere is still refused."""
    LinearRegression().fit(*data).save(tmp_path / "m.json")
    for field in ("params", "fit"):
        doc = json.loads((tmp_path / "m.json").read_text())
        doc[field]["learning_rate" if field == "fit" else "alpha"] = "OVER"
        (tmp_path / "bad.json").write_text(json.dumps(doc).replace('"OVER"', "-1e400"))
        with pytest.raises(ModelFileError, match="beyond the range of float64"):
            load(tmp_path / "bad.json")
    text = (tmp_path / "m.json").read_text()
    (tmp_path / "bad.json").write_text(text.replace('"coef": [', '"coef": [1e999, ', 1))
    with pytest.raises(ModelFileError, match="beyond the range of float64"):
        load(tmp_path / "bad.json")
