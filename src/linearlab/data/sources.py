"""Data files and built-in datasets → validated float64 arrays, whole or as a stream of chunks.

A *source* is a CSV, TSV or Parquet file, or the name of a built-in dataset
(:func:`linearlab.list_datasets`). Files are read with pyarrow: CSV/TSV through its streaming,
multi-threaded reader (:func:`pyarrow.csv.open_csv`) in blocks of bounded size, Parquet by row
groups. Only the selected columns are converted, each block straight to a float64 array, so a
file of any size is processed in bounded memory.

Every problem is a :class:`~linearlab.errors.DataFileError` (or :class:`ColumnError`) naming the
file, the column and the line (1-based, the header being line 1), with a hint how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import ColumnError, DataError, DataFileError
from .datasets import Dataset, list_datasets, load_dataset
from .locate import compression as _compression
from .locate import csv_error as _csv_error
from .locate import located as _located

# Bytes of CSV text parsed per block. pyarrow's streaming reader parses several blocks ahead on
# its threads, so memory grows with the block size (measured on 10 numeric columns: 1 MB blocks
# peak at ~40 MB of Arrow memory, 16 MB blocks at ~230 MB) while 1 MB blocks already read as fast
# as pyarrow's whole-file read_csv.
CSV_BLOCK_BYTES = 2**20
PARQUET_BATCH_ROWS = 256 * 1024
# Tables whose selected columns take at most this many bytes as float64 are read whole (so every
# solver can be used); larger ones are streamed.
IN_MEMORY_BYTES = 64 * 2**20

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}
_COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")


@dataclass
class Source:
    """Where data comes from: a file (``path``, ``format``) or a built-in ``dataset``."""

    name: str
    format: str  # "csv" | "tsv" | "parquet" | "dataset"
    path: str | None = None
    dataset: Dataset | None = field(default=None, repr=False)
    columns: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)  # columns that look numeric
    sniffed: str | None = None  # the delimiter the header line shows, when not the usual one

    @property
    def delimiter(self) -> str:
        if self.sniffed:
            return self.sniffed
        return "\t" if self.format == "tsv" else ","

    def estimated_bytes(self, n_columns: int) -> int:
        """Rough float64 size of ``n_columns`` columns of this source (for choosing streaming)."""
        if self.dataset is not None:
            return self.dataset.X.nbytes
        if self.format == "parquet":
            rows = pq.ParquetFile(self.path).metadata.num_rows
            return rows * n_columns * 8
        return os.path.getsize(self.path)  # CSV text is about as large as its float64 values


def _format_of(path: str) -> str:
    lower = path.lower()
    for suffix in _COMPRESSED:
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
    ext = os.path.splitext(lower)[1]
    if ext not in _EXTENSIONS:
        raise DataFileError(
            f"Cannot tell the format of {path!r} from its extension {ext or '(none)'!r}. "
            "Use a .csv, .tsv or .parquet file.",
            path=path,
        )
    return _EXTENSIONS[ext]


def open_source(data: str) -> Source:
    """Resolve ``data`` (a file path or a built-in dataset name) and read its column names.

    Raises
    ------
    DataFileError
        The file does not exist, is empty, unreadable or not valid CSV/TSV/Parquet.
    """
    if not os.path.exists(data):
        key = data.strip().lower().replace("_", "-")
        if key in list_datasets():
            ds = load_dataset(key)
            names = [*ds.feature_names, ds.target_name]
            return Source(ds.name, "dataset", dataset=ds, columns=names, numeric=names)
        raise DataFileError(
            f"No such file or built-in dataset: {data!r}. Check the path, or use one of the "
            f"built-in datasets: {', '.join(list_datasets())}.",
            path=data,
        )
    if os.path.isdir(data):
        raise DataFileError(f"{data!r} is a directory; pass a data file.", path=data)
    source = Source(os.path.basename(data), _format_of(data), path=data)
    if source.format in ("csv", "tsv") and not _compression(data):
        source.sniffed = _sniff_delimiter(data, source.delimiter)
    if os.path.getsize(data) == 0:
        raise DataFileError(
            f"{data!r} is empty. A data file needs a header line with column names and at least "
            "one row of numbers.",
            path=data,
        )
    if source.format == "parquet":
        schema = _parquet_schema(data)
        source.numeric = [f.name for f in schema if _is_numeric(f.type)]
    else:
        schema, first = _csv_schema(source)
        # A column of numbers with a typo is inferred as text; still count it as numeric so the
        # conversion error names the bad value instead of the column silently being left out.
        source.numeric = [f.name for i, f in enumerate(schema) if _is_numeric(f.type) or (
            pa.types.is_string(f.type) and _mostly_numbers(first.column(i)))]
    source.columns = list(schema.names)
    duplicates = sorted({c for c in source.columns if source.columns.count(c) > 1})
    if duplicates:
        raise DataFileError(
            f"{data!r} has duplicate column names {duplicates}; rename them so each column can be "
            "chosen by name.",
            path=data,
        )
    return source


def _sniff_delimiter(path: str, expected: str) -> str | None:
    """';', tab or '|' when the header line has none of ``expected`` but one of those."""
    with open(path, "rb") as f:
        header = f.readline(1 << 16).decode("utf-8", errors="replace")
    if expected in header:
        return None
    counts = {d: header.count(d) for d in (";", "\t", "|", ",") if d != expected}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _mostly_numbers(column: pa.Array, sample: int = 1000) -> bool:
    """Whether most (over half) of the non-empty values of a sample parse as numbers: then
    the other values are typos in a numeric column, not a text column."""
    values = [v for v in column.slice(0, sample).to_pylist() if v not in (None, "")]
    parsed = 0
    for v in values:
        try:
            float(v)
            parsed += 1
        except ValueError:
            pass
    return bool(values) and parsed > 0.5 * len(values)


def _parquet_schema(path: str) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError(
            f"{path!r} is not a readable Parquet file ({exc}). It may be truncated or not "
            "Parquet at all; re-export it.",
            path=path,
        ) from None


def _csv_schema(source: Source) -> tuple[pa.Schema, pa.RecordBatch]:
    """Column names, the types pyarrow infers from the first block, and that block."""
    try:
        reader = pacsv.open_csv(
            source.path,
            read_options=pacsv.ReadOptions(block_size=1 << 20),
            parse_options=pacsv.ParseOptions(delimiter=source.delimiter),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DataFileError(
                f"{source.path!r} is empty. A data file needs a header line with column names and "
                "at least one row of numbers.",
                path=source.path,
            ) from None
        raise _csv_error(source, exc, columns=None, rows_before=0) from None
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DataFileError(
            f"Cannot read {source.path!r} as {source.format.upper()}: {exc}", path=source.path
        ) from None
    schema = reader.schema
    try:
        first = reader.read_next_batch()
    except StopIteration:
        first = None
    except pa.ArrowException as exc:
        raise _csv_error(source, exc, list(schema.names), 0) from None
    finally:
        reader.close()
    if first is None or first.num_rows == 0:
        raise DataFileError(
            f"{source.path!r} has a header ({', '.join(schema.names)}) but no data rows. Add "
            "rows of numbers below the header.",
            path=source.path,
        )
    return schema, first


# --------------------------------------------------------------------------- column selection
def _split(spec: str | list[str] | None) -> list[str] | None:
    if spec is None:
        return None
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return [s.strip() for s in items if s.strip()]


def _check_known(source: Source, names: list[str], role: str) -> None:
    for name in names:
        if name not in source.columns:
            raise ColumnError(
                f"Unknown {role} column {name!r} in {source.name!r}. Its columns are: "
                f"{', '.join(source.columns)}."
            )


def select_columns(
    source: Source, target: str | list[str] | None = None,
    features: str | list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """(features, targets) chosen by name.

    Without ``target`` the last column is the target; without ``features`` every other numeric
    column is a feature. Comma-separated strings or lists are accepted.
    """
    targets = _split(target)
    if not targets:
        if not source.columns:
            raise DataFileError(f"{source.name!r} has no columns.", path=source.path)
        targets = [source.columns[-1]]
    _check_known(source, targets, "target")
    chosen = _split(features)
    if chosen is None:
        chosen = [c for c in source.numeric if c not in targets]
        if not chosen:
            raise ColumnError(
                f"{source.name!r} has no numeric feature columns besides the target "
                f"{', '.join(targets)}. Choose features with -x/--features."
            )
    _check_known(source, chosen, "feature")
    overlap = [c for c in chosen if c in targets]
    if overlap:
        raise ColumnError(
            f"Column(s) {overlap} are both target and feature; a column can only be one of them."
        )
    return chosen, targets


# --------------------------------------------------------------------------- chunk streams
class ChunkStream:
    """Re-iterable stream of float64 blocks (n_rows, len(columns)) of a source's columns.

    Every pass re-reads the file, so iterating twice costs two reads and no extra memory.
    ``progress(done, total)`` is called after each block (bytes for CSV, rows for Parquet).
    """

    def __init__(
        self, source: Source, columns: list[str],
        progress: Callable[[int, int], None] | None = None,
        block_bytes: int = CSV_BLOCK_BYTES,
    ):
        _check_known(source, columns, "")
        self.source = source
        self.columns = list(columns)
        self.progress = progress
        self.block_bytes = block_bytes
        self.rows = 0  # rows delivered by the last complete pass

    def __iter__(self) -> Iterator[np.ndarray]:
        fmt = self.source.format
        if fmt == "dataset":
            blocks = iter([_dataset_block(self.source.dataset, self.columns)])
        elif fmt == "parquet":
            blocks = self._parquet_blocks()
        else:
            blocks = self._csv_blocks()
        rows = 0
        for block in blocks:
            rows += block.shape[0]
            yield block
        if rows == 0:
            raise DataFileError(
                f"{self.source.name!r} has a header but no data rows. Add rows of numbers.",
                path=self.source.path,
            )
        self.rows = rows

    def _csv_blocks(self) -> Iterator[np.ndarray]:
        source = self.source
        types = {c: pa.float64() for c in self.columns}
        stream = pa.OSFile(source.path, "rb")
        total = os.path.getsize(source.path)
        try:
            reader = pacsv.open_csv(
                pa.CompressedInputStream(stream, _compression(source.path))
                if _compression(source.path) else stream,
                read_options=pacsv.ReadOptions(block_size=self.block_bytes, use_threads=True),
                parse_options=pacsv.ParseOptions(delimiter=source.delimiter),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, include_columns=self.columns
                ),
            )
        except pa.ArrowException as exc:
            stream.close()
            raise _csv_error(source, exc, self.columns, 0) from None
        try:
            for batch, rows in _csv_batches(reader, source, self.columns):
                block = _to_float64(batch, self.columns, source, rows)
                if self.progress is not None:
                    self.progress(stream.tell(), total)
                yield block
        finally:
            reader.close()
            stream.close()

    def _parquet_blocks(self) -> Iterator[np.ndarray]:
        source = self.source
        try:
            pfile = pq.ParquetFile(source.path)
            total = pfile.metadata.num_rows
            rows = 0
            for batch in pfile.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=self.columns):
                block = _to_float64(batch, self.columns, source, rows)
                rows += block.shape[0]
                if self.progress is not None:
                    self.progress(rows, total)
                yield block
        except pa.ArrowException as exc:
            raise DataFileError(
                f"Cannot read {source.path!r} as Parquet ({exc}). The file may be truncated "
                "or corrupt; re-export it.",
                path=source.path,
            ) from None


def _dataset_block(ds: Dataset, columns: list[str]) -> np.ndarray:
    table = np.column_stack([ds.X, ds.y.reshape(len(ds.y), -1)])
    names = [*ds.feature_names, ds.target_name]
    return np.ascontiguousarray(table[:, [names.index(c) for c in columns]], dtype=np.float64)


def _to_float64(
    batch: pa.RecordBatch, columns: list[str], source: Source, rows_before: int
) -> np.ndarray:
    """The batch's columns as one float64 array; missing or non-finite values are errors."""
    out = np.empty((batch.num_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        col = batch.column(name)
        if col.null_count:
            row = rows_before + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise _located(
                source, name, row,
                "is missing (empty or NA)",
                f"{col.null_count} missing value(s) in this block. Fill in or drop rows with "
                "missing values before fitting.",
            )
        if pa.types.is_decimal(col.type):
            col = col.cast(pa.float64())
        try:
            out[:, j] = col.to_numpy(zero_copy_only=False)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise DataFileError(
                f"Column {name!r} of {source.name!r} is not numeric ({exc}). Choose numeric "
                "columns with -x/--features and -y/--target.",
                path=source.path, column=name,
            ) from None
    finite = np.isfinite(out)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        raise _located(
            source, columns[j], rows_before + i, f"is {out[i, j]} (not a finite number)",
            "NaN and infinity are not allowed; fix or drop those values.",
        )
    return out


# --------------------------------------------------------------------------- whole tables
def read_columns(source: Source, columns: list[str]) -> np.ndarray:
    """All rows of ``columns`` as one float64 array (n_rows, len(columns))."""
    blocks = list(ChunkStream(source, columns))
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _csv_batches(
    reader: pacsv.CSVStreamingReader, source: Source, columns: list[str]
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Each record batch with the number of data rows before it; parse errors located."""
    rows = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowException as exc:
            raise _csv_error(source, exc, columns, rows) from None
        yield batch, rows
        rows += batch.num_rows


def iter_record_batches(
    source: Source, numeric: list[str], block_bytes: int = CSV_BLOCK_BYTES
) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    """Every column as read (text kept as text) with the ``numeric`` columns as float64 blocks.

    Used to copy input rows to an output file next to predictions.
    """
    if source.format == "dataset":
        block = _dataset_block(source.dataset, source.columns)
        arrays = [pa.array(block[:, j]) for j in range(block.shape[1])]
        yield pa.RecordBatch.from_arrays(arrays, names=source.columns), _dataset_block(
            source.dataset, numeric
        )
        return
    passthrough = [c for c in source.columns if c not in numeric]
    if source.format == "parquet":
        rows = 0
        try:
            for batch in pq.ParquetFile(source.path).iter_batches(batch_size=PARQUET_BATCH_ROWS):
                yield batch, _to_float64(batch, numeric, source, rows)
                rows += batch.num_rows
        except pa.ArrowException as exc:
            raise DataFileError(
                f"Cannot read {source.path!r} as Parquet ({exc}); it may be truncated.",
                path=source.path,
            ) from None
        return
    types = {c: pa.float64() for c in numeric} | {c: pa.string() for c in passthrough}
    try:
        reader = pacsv.open_csv(
            source.path,
            read_options=pacsv.ReadOptions(block_size=block_bytes),
            parse_options=pacsv.ParseOptions(delimiter=source.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except pa.ArrowException as exc:
        raise _csv_error(source, exc, source.columns, 0) from None
    rows = 0
    with reader:
        for batch, rows in _csv_batches(reader, source, source.columns):
            yield batch, _to_float64(batch, numeric, source, rows)
            rows += batch.num_rows
    if rows == 0:
        raise DataFileError(
            f"{source.name!r} has a header but no data rows. Add rows of numbers.",
            path=source.path,
        )


def require_columns(source: Source, needed: list[str], what: str) -> None:
    """Raise :class:`ColumnError` naming every column of ``needed`` missing from ``source``."""
    missing = [c for c in needed if c not in source.columns]
    if missing:
        raise ColumnError(
            f"{source.name!r} lacks the column(s) {', '.join(map(repr, missing))} that {what} "
            f"needs. Its columns are: {', '.join(source.columns)}. Rename the columns to match."
        )


__all__ = [
    "CSV_BLOCK_BYTES",
    "ChunkStream",
    "DataError",
    "IN_MEMORY_BYTES",
    "Source",
    "iter_record_batches",
    "open_source",
    "read_columns",
    "require_columns",
    "select_columns",
]
