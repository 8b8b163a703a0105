"""Fuzzing the two readers of untrusted files: model files and CSV bytes.

Whatever the bytes, :func:`linearlab.load` either returns a model or raises
:class:`~linearlab.errors.ModelFileError`, and reading a CSV either gives float64 arrays or raises
a :class:`~linearlab.errors.LinearLabError` whose message holds no raw control byte.
"""

from __future__ import annotations

import bz2
import gzip
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linearlab import LinearRegression, load
from linearlab.data import sources as io
from linearlab.errors import LinearLabError, ModelFileError
from linearlab.models import persist

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture(scope="module")
def document():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    return persist.model_to_dict(LinearRegression().fit(X, [1.0, 2.0, 4.0, 5.0]))


def _load_text(tmp_path, text: bytes):
    path = tmp_path / "m.json"
    path.write_bytes(text)
    try:
        return load(path)
    except ModelFileError as exc:
        assert not any(ord(c) < 32 and c not in "\t\n" for c in str(exc))
        return None


# --------------------------------------------------------------------------- model files
json_leaf = st.one_of(
    st.none(), st.booleans(), st.text(max_size=8),
    st.integers(min_value=-(10**450), max_value=10**450),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20)
FIELDS = ["format", "feature_names", "features_named", "target_names", "coef", "intercept",
          "params", "fit", "metrics", "training", "history", "parameter_history", "statistics"]


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(FIELDS), json_value, min_size=1, max_size=4))
def test_fields_of_any_type_give_a_model_or_model_file_error(tmp_path, document, changes):
    doc = {**document, **changes}
    model = _load_text(tmp_path, json.dumps(doc).encode())
    if model is not None:
        assert np.all(np.isfinite(model.coef_))


@FUZZ
@given(depth=st.integers(1, 200_000), kind=st.sampled_from(["[", "{\"a\":"]))
def test_nesting_of_any_depth(tmp_path, depth, kind):
    close = "]" if kind == "[" else "}"
    text = '{"format": "linearlab.model/1", "coef": ' + kind * depth + "1" + close * depth + "}"
    assert _load_text(tmp_path, text.encode()) is None


@FUZZ
@given(number=st.one_of(st.integers(min_value=10**20), st.text("0123456789eE+-.", min_size=1,
                                                                 max_size=500)),
       field=st.sampled_from(["coef", "intercept", "history", "metrics"]))
def test_huge_numbers(tmp_path, document, number, field):
    text = json.dumps({**document, field: "NUMBER"}).replace('"NUMBER"', str(number))
    model = _load_text(tmp_path, text.encode())
    if model is not None:
        assert math.isfinite(float(model.intercept_))


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path, data):
    _load_text(tmp_path, data)


@FUZZ
@given(data=st.data())
def test_truncations_and_flips_of_a_real_file(tmp_path, document, data):
    text = bytearray(json.dumps(document, indent=2).encode())
    cut = data.draw(st.integers(0, len(text)))
    text = text[:cut]
    for _ in range(data.draw(st.integers(0, 3))):
        if text:
            i = data.draw(st.integers(0, len(text) - 1))
            text[i] = data.draw(st.integers(0, 255))
    _load_text(tmp_path, bytes(text))


# --------------------------------------------------------------------------- CSV bytes
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]
cell = st.one_of(st.integers(-1000, 1000).map(str), st.floats(allow_nan=True).map(repr),
                 st.text(max_size=6), st.sampled_from(["", "NA", "nan", "inf", '"1,5"', "\x00",
                                                       "\x1b[31m", "\ufeff", "é"]))


def _read_all(path) -> None:
    try:
        source = io.open_source(str(path))
        features, targets = io.select_columns(source)
        io.read_columns(source, [*features, *targets])
        for _ in io.iter_record_batches(source, source.numeric):
            pass
    except LinearLabError as exc:
        assert not any(ord(c) < 32 and c not in "\t\n" for c in str(exc)), str(exc)


@FUZZ
@given(header=st.lists(st.sampled_from(["a", "b", "y", "café", "a b", ""]), min_size=1,
                       max_size=4),
       rows=st.lists(st.lists(cell, min_size=0, max_size=5), max_size=6),
       encoding=st.sampled_from(ENCODINGS), bom=st.booleans(),
       compress=st.sampled_from([None, gzip.compress, bz2.compress]),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_bytes_give_arrays_or_one_clear_error(tmp_path, header, rows, encoding, bom,
                                                  compress, delimiter):
    text = "\n".join(delimiter.join(r) for r in [header, *rows]) + "\n"
    data = text.encode(encoding, errors="replace")
    if bom and encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    if compress is not None:
        data = compress(data)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    _read_all(path)


@FUZZ
@given(data=st.binary(max_size=400), prefix=st.sampled_from([b"", b"a,b,y\n", b"\x1f\x8b",
                                                              b"PAR1", b"BZh"]))
def test_arbitrary_bytes_named_csv(tmp_path, data, prefix):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(prefix + data)
    _read_all(path)
