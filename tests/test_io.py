"""Reading CSV/TSV/Parquet and datasets: column choice, chunk streams, located errors."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearlab.data import sources as io
from linearlab.errors import ColumnError, DataError, DataFileError


def write_csv(path, header, rows, delimiter=","):
    lines = [delimiter.join(header)] + [delimiter.join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def table(rng):
    return rng.normal(size=(3000, 4))


@pytest.fixture
def csv_file(tmp_path, table):
    rows = [[f"id{i}", *(repr(float(v)) for v in row)] for i, row in enumerate(table)]
    return write_csv(tmp_path / "data.csv", ["id", "a", "b", "c", "y"], rows)


def test_csv_columns_and_default_selection(csv_file):
    source = io.open_source(csv_file)
    assert source.columns == ["id", "a", "b", "c", "y"]
    assert source.numeric == ["a", "b", "c", "y"]
    assert io.select_columns(source) == (["a", "b", "c"], ["y"])
    assert io.select_columns(source, "a", "c,b") == (["c", "b"], ["a"])
    assert io.select_columns(source, ["y", "a"], None) == (["b", "c"], ["y", "a"])


@pytest.mark.parametrize("block_bytes", [2**12, 2**20])
def test_chunk_stream_equals_whole_table(csv_file, table, block_bytes):
    source = io.open_source(csv_file)
    blocks = list(io.ChunkStream(source, ["c", "y", "a"], block_bytes=block_bytes))
    if block_bytes == 2**12:
        assert len(blocks) > 10
    np.testing.assert_array_equal(np.concatenate(blocks), table[:, [2, 3, 0]])


def test_stream_is_reiterable_and_reports_progress(csv_file):
    seen = []
    stream = io.ChunkStream(io.open_source(csv_file), ["a"],
                            progress=lambda done, total: seen.append((done, total)),
                            block_bytes=2**14)
    first = sum(b.shape[0] for b in stream)
    first_pass, seen[:] = list(seen), []
    second = sum(b.shape[0] for b in stream)
    assert first == second == 3000 == stream.rows
    size = os.path.getsize(csv_file)
    for reports in (first_pass, seen):  # bytes read so far (the reader may read ahead)
        done = [d for d, _ in reports]
        assert done == sorted(done) and 0 < done[-1] <= size
        assert {t for _, t in reports} == {size}


def test_tsv_and_parquet(tmp_path, table):
    tsv = write_csv(tmp_path / "d.tsv", ["a", "b", "c", "y"], table.tolist(), delimiter="\t")
    pq.write_table(pa.table({n: table[:, j] for j, n in enumerate("abcy")}),
                   tmp_path / "d.parquet", row_group_size=700)
    for path in (tsv, str(tmp_path / "d.parquet")):
        source = io.open_source(path)
        features, targets = io.select_columns(source)
        assert (features, targets) == (["a", "b", "c"], ["y"])
        np.testing.assert_array_equal(io.read_columns(source, features + targets), table)


def test_dataset_name_is_a_source():
    source = io.open_source("salary")
    assert source.format == "dataset"
    features, targets = io.select_columns(source)
    assert (features, targets) == (["experience"], ["salary"])
    assert io.read_columns(source, features + targets).shape == (7, 2)


def test_text_in_numeric_column_names_column_and_line(tmp_path):
    rows = [[i, 2 * i] for i in range(5000)]
    rows[4321][1] = "oops"
    path = write_csv(tmp_path / "t.csv", ["x", "y"], rows)
    source = io.open_source(path)
    with pytest.raises(DataFileError, match=r"column 'y' at line 4323: 'oops' is not a number") \
            as info:
        list(io.ChunkStream(source, ["x", "y"], block_bytes=2**12))
    assert (info.value.column, info.value.line) == ("y", 4323)


def test_missing_value_line_counts_blank_lines(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("x,y\n1,2\n\n3,4\n5,\n")
    with pytest.raises(DataFileError, match=r"column 'y' at line 5: the value is missing"):
        io.read_columns(io.open_source(str(path)), ["x", "y"])


def test_non_finite_value_is_located(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("x,y\n1,2\n3,inf\n")
    with pytest.raises(DataFileError, match=r"column 'y' at line 3: the value is inf"):
        io.read_columns(io.open_source(str(path)), ["x", "y"])


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("a,b,c\n", "has a header (a, b, c) but no data rows"),
        ("a,b\n1,2\n3\n", "line 3 has 1 field(s), but the header has 2"),
        ("a,a\n1,2\n", "duplicate column names"),
    ],
)
def test_unusable_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        source = io.open_source(str(path))
        io.read_columns(source, source.columns)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(DataFileError, match="No such file or built-in dataset"):
        io.open_source(str(tmp_path / "nope.csv"))
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    with pytest.raises(DataFileError, match="Use a .csv, .tsv or .parquet file"):
        io.open_source(str(other))


def test_truncated_parquet(tmp_path, table):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": table[:, 0], "y": table[:, 1]}), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match="not a readable Parquet file"):
        io.open_source(str(path))


def test_parquet_null_is_located(tmp_path):
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, None], "y": [1.0, 2.0, 3.0]}), path)
    with pytest.raises(DataFileError, match=r"column 'a' at row 3: the value is missing"):
        io.read_columns(io.open_source(str(path)), ["a", "y"])


def test_unknown_columns(csv_file):
    source = io.open_source(csv_file)
    with pytest.raises(ColumnError, match="Unknown target column 'price'.*Its columns are: id"):
        io.select_columns(source, "price")
    with pytest.raises(ColumnError, match="Unknown feature column 'zz'"):
        io.select_columns(source, "y", "a,zz")
    with pytest.raises(ColumnError, match="both target and feature"):
        io.select_columns(source, "y", "a,y")
    with pytest.raises(ColumnError, match="lacks the column"):
        io.require_columns(source, ["a", "q"], "the model")
    assert issubclass(ColumnError, DataError)


def test_record_batches_keep_text_columns(csv_file, table):
    source = io.open_source(csv_file)
    batches = list(io.iter_record_batches(source, ["a", "b"], block_bytes=2**14))
    assert len(batches) > 1
    first, X = batches[0]
    assert first.schema.names == source.columns
    assert first.column("id")[0].as_py() == "id0"
    np.testing.assert_array_equal(np.concatenate([x for _, x in batches]), table[:, :2])


def test_semicolon_delimiter_is_sniffed_and_gzip_is_read(tmp_path, table):
    path = tmp_path / "euro.csv"
    path.write_text("a;b;y\n" + "\n".join(";".join(map(repr, row)) for row in table[:, :3]
                                          .tolist()) + "\n")
    source = io.open_source(str(path))
    assert source.delimiter == ";" and io.select_columns(source) == (["a", "b"], ["y"])
    np.testing.assert_array_equal(io.read_columns(source, ["a", "b", "y"]), table[:, :3])

    import gzip

    packed = tmp_path / "data.csv.gz"
    with gzip.open(packed, "wt") as f:
        f.write("a,y\n" + "\n".join(f"{a!r},{y!r}" for a, y in table[:, :2].tolist()) + "\n")
    source = io.open_source(str(packed))
    blocks = list(io.ChunkStream(source, ["a", "y"], block_bytes=2**12))
    np.testing.assert_array_equal(np.concatenate(blocks), table[:, :2])


def test_small_file_with_one_typo_is_an_error_not_a_dropped_column(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("a,b,y\n1,2,3\n4,x,6\n7,8,9\n")
    source = io.open_source(str(path))
    assert "b" in source.numeric
    features, targets = io.select_columns(source, None, None)
    with pytest.raises(DataError, match=r"column 'b' at line 3: 'x'"):
        io.read_columns(source, features + targets)


# --------------------------------------------------------------------------- issue 9: the opener
def test_pandas_index_columns_are_dropped(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, None, 3.0, 4.0], "y": [1.0, 2.0, 3.0, 5.0]})
    frame.dropna().to_parquet(tmp_path / "filtered.parquet")
    frame.dropna().set_index("a").to_parquet(tmp_path / "named.parquet")
    assert io.open_source(str(tmp_path / "filtered.parquet")).columns == ["a", "y"]
    assert io.open_source(str(tmp_path / "named.parquet")).columns == ["y"]
    source = io.open_source(str(tmp_path / "filtered.parquet"))
    batch, _ = next(io.iter_record_batches(source, ["a"]))
    assert batch.schema.names == ["a", "y"]


def test_compression_and_parquet_are_recognised_by_magic_bytes(tmp_path, table):
    import gzip

    text = "a,b,y\n" + "".join(f"{r[0]!r},{r[1]!r},{r[2]!r}\n" for r in table[:50].tolist())
    (tmp_path / "plain.csv").write_bytes(gzip.compress(text.encode()))
    source = io.open_source(str(tmp_path / "plain.csv"))
    assert source.compression == "gzip"
    assert np.allclose(io.read_columns(source, ["a", "b", "y"]), table[:50, :3])
    pq.write_table(pa.table({"a": [1.0, 2.0], "y": [2.0, 3.0]}), tmp_path / "really.csv")
    assert io.open_source(str(tmp_path / "really.csv")).format == "parquet"


@pytest.mark.parametrize("content, message", [
    (b"caf\xe9,b,y\n1,2,3\n", r"line 1 \(the header\), column 1 \('caf\\\\xe9'\): the byte 0xe9"),
    (bytes(range(256)), "does not look like a text table"),
    (b"a,b,y\n1,2,3\n4,5\n", "line 3 has 2 field"),
    (b"\xef\xbb\xbfa,b,y\n1,2,3\n,5,6\n", "column 'a' at line 3: the value is missing"),
])
def test_text_problems_name_line_and_column(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=message) as info:
        io.read_columns(io.open_source(str(path)), ["a", "b", "y"])
    assert not any(ord(c) < 32 and c not in "\t\n" for c in str(info.value))


def test_long_fields_grow_the_block_and_wide_headers_are_refused(tmp_path):
    path = tmp_path / "field.csv"
    path.write_bytes(b"a,b,y\n1,2,3\n" + b"2," + b"x" * (5 * 2**20) + b",5\n3,4,7\n")
    source = io.open_source(str(path))
    assert io.read_columns(source, ["a", "y"]).tolist() == [[1, 3], [2, 5], [3, 7]]
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(60_000)) + "\n" + "1," * 59_999 + "1\n")
    with pytest.raises(DataFileError, match="about 60,000 columns"):
        io.open_source(str(wide))


def test_duplicate_names_in_column_choice(csv_file):
    source = io.open_source(csv_file)
    with pytest.raises(ColumnError, match="names the column 'a' twice"):
        io.select_columns(source, "y", "a,a")
    with pytest.raises(ColumnError, match="names the column 'y' twice"):
        io.select_columns(source, "y,y", "a")


def test_pipes_are_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "f.csv")
    with pytest.raises(DataFileError, match="named pipe"):
        io.open_source(str(tmp_path / "f.csv"))


def test_missing_values_name_the_command_and_the_total(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,y\n1,2\n,3\n4,\n,5\n")
    source = io.open_source(str(path))
    source.purpose = "predicting"
    with pytest.raises(DataFileError, match="line 3.*While predicting, linearlab found 2 missing"):
        io.read_columns(source, ["a"])


def test_zero_row_parquet_is_a_clear_error(tmp_path):
    pq.write_table(pa.table({"a": pa.array([], pa.float64())}), tmp_path / "e.parquet")
    with pytest.raises(DataFileError, match="no data rows"):
        io.open_source(str(tmp_path / "e.parquet"))


def test_passthrough_types_widen_over_the_whole_file(tmp_path):
    rows = "".join(f"{i},{i},t{i}\n" for i in range(5000)) + "5000,2.5,x\n"
    path = tmp_path / "t.csv"
    path.write_text("id,n,s\n" + rows)
    source = io.open_source(str(path))
    types = io.passthrough_types(source, ["id", "n", "s"])
    assert [str(types[c]) for c in ("id", "n", "s")] == ["int64", "double", "string"]


# --------------------------------------------------------------------------- issue 9: overflow
def test_overflowing_fits_raise_instead_of_returning_inf(rng):
    from linearlab import LinearRegression
    from linearlab.errors import NumericalError

    X = rng.normal(size=(50, 2))
    y = X @ [2.0, -1.0] + 1
    with pytest.raises(NumericalError, match="The fit overflowed"):
        LinearRegression().fit(X * 1e-308, y)
    with pytest.raises(NumericalError, match="squares overflow"):
        LinearRegression(solver="gd").fit(X * 1e200, y)
    with pytest.raises(DataError, match="sample_weight sums to more than float64"):
        LinearRegression().fit(X, y, sample_weight=[1e308] * 50)


def test_bfloat16_tensor_is_widened_exactly():
    torch = pytest.importorskip("torch")
    from linearlab import LinearRegression

    X = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.bfloat16)
    y = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.bfloat16)
    model = LinearRegression().fit(X, y)
    assert np.allclose([model.coef_[0], model.intercept_], [2.0, 1.0])


def test_a_column_empty_in_the_first_block_is_typed_by_the_whole_column(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "CSV_BLOCK_BYTES", 4096)  # a first block of a few hundred rows
    rows = [[i, "", "", i % 7] for i in range(2000)]
    rows += [[i, i * 0.5, "west", i % 7] for i in range(2000, 2010)]
    source = io.open_source(write_csv(tmp_path / "late.csv", ["a", "b", "g", "y"], rows))
    assert str(source.types["b"]) == "null"  # pyarrow's first block saw no value
    assert source.numeric == ["a", "b", "y"]  # numbers later on: b is numeric, g is text
