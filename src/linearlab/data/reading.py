"""Reading a data source's rows: float64 blocks of chosen columns, or whole record batches.

CSV/TSV files are read through pyarrow's streaming, multi-threaded reader
(:func:`pyarrow.csv.open_csv`) in blocks of bounded size, Parquet by row groups. Only the selected
columns are converted, each block straight to a float64 array, so a file of any size is processed
in bounded memory. Every problem is a :class:`~linearlab.errors.DataFileError` naming the file,
the column and the line (1-based, the header being line 1).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv  # .compute, .parquet: imported where used (a CSV fit needs neither)

from linearlab.data import probe
from linearlab.data.arrow_arrays import column_values
from linearlab.data.datasets import Dataset
from linearlab.data.locate import csv_error as _csv_error
from linearlab.data.locate import located as _located
from linearlab.errors import ColumnError, DataError, DataFileError

# Bytes of CSV text parsed per block. pyarrow's streaming reader parses several blocks ahead on
# its threads, so memory grows with the block size (measured on 10 numeric columns: 1 MB blocks
# peak at ~40 MB of Arrow memory, 16 MB blocks at ~230 MB) while 1 MB blocks already read as fast
# as pyarrow's whole-file read_csv.
CSV_BLOCK_BYTES = 2**20
PARQUET_BATCH_ROWS = 256 * 1024
# Tables whose selected columns take at most this many bytes as float64 are read whole (so every
# solver can be used); larger ones are streamed.
IN_MEMORY_BYTES = 64 * 2**20

#: Lines (or fields) longer than a block are read by retrying with blocks this many times larger.
BLOCK_GROWTH = 4

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
    compression: str | None = None  # read from the file's magic bytes, not its name
    types: dict[str, pa.DataType] = field(default_factory=dict)  # as inferred from block 1
    purpose: str = "fitting"  # what the data is read for, in messages ("predicting", ...)
    block_bytes: int = CSV_BLOCK_BYTES  # grows to hold the longest line seen

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
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(self.path).metadata.num_rows
            return rows * n_columns * 8
        size = os.path.getsize(self.path)  # CSV text is about as large as its float64 values
        return size * 4 if self.compression else size


def _csv_reader(
    source: Source, block_bytes: int, skip_rows: int = 0, **convert
) -> tuple[pacsv.CSVStreamingReader, pa.NativeFile]:
    """A streaming reader of the source's text (decompressed) and the raw file under it."""
    stream, raw = probe.open_stream(source.path, source.compression)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=True,
                                           skip_rows_after_names=skip_rows),
            parse_options=pacsv.ParseOptions(delimiter=source.delimiter),
            convert_options=pacsv.ConvertOptions(**convert),
        )
    except BaseException:
        stream.close()
        raw.close()
        raise
    return reader, raw


def _check_known(source: Source, names: list[str], role: str) -> None:
    known = set(source.columns)
    for name in names:
        if name not in known:
            shown = ", ".join(source.columns[:50]) + (", ..." if len(source.columns) > 50 else "")
            raise ColumnError(
                f"Unknown {role} column {name!r} in {source.name!r}. Its columns are: {shown}."
            )


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
        total = os.path.getsize(source.path)
        report = None if self.progress is None else (lambda done: self.progress(done, total))
        batches = _csv_batches(
            source, self.columns, report, min(self.block_bytes, source.block_bytes),
            column_types={c: pa.float64() for c in self.columns}, include_columns=self.columns,
        )
        for batch, rows in batches:
            yield _to_float64(batch, self.columns, source, rows)

    def _parquet_blocks(self) -> Iterator[np.ndarray]:
        source = self.source
        rows = 0
        for batch in _parquet_batches(source, self.columns):
            block = _to_float64(batch, self.columns, source, rows)
            rows += block.shape[0]
            if self.progress is not None:
                import pyarrow.parquet as pq

                self.progress(rows, pq.ParquetFile(source.path).metadata.num_rows)
            yield block


def _parquet_batches(source: Source, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """The file's row groups as record batches of ``columns``; corrupt data is a clear error."""
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(source.path)
        yield from pfile.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError(
            f"Cannot read {source.path!r} as Parquet: its data is corrupt or truncated ({exc}). "
            "Re-export the file.",
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
            raise missing_value_error(source, name, row)
        if pa.types.is_decimal(col.type):
            col = col.cast(pa.float64())
        try:
            out[:, j] = column_values(col)
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


def missing_value_error(source: Source, column: str, row: int) -> DataFileError:
    """The error for the first missing value (data row ``row``) of ``column``, with the total."""
    total = _count_missing(source, column)
    count = f"{total} missing value(s) in that column in all" if total else "missing values"
    return _located(
        source, column, row, "is missing (empty or NA)",
        f"While {source.purpose}, linearlab found {count}. Fill them in, or drop the rows with "
        f"missing values, before {source.purpose}{_MISSING_FLAGS.get(source.purpose, '')}.",
    )


_MISSING_FLAGS = {  # the command-line options that handle missing values (issue 13)
    "fitting": " (fit --missing drop drops them)",
    "predicting": " (predict --missing keep leaves their predictions empty)",
}


def _count_missing(source: Source, column: str) -> int | None:
    """Missing values of ``column`` in the whole file (read again, on the error path only)."""
    total = 0
    try:
        if source.format == "parquet":
            for batch in _parquet_batches(source, [column]):
                total += batch.column(0).null_count
        elif source.format in ("csv", "tsv"):
            for batch, _ in _csv_batches(source, [column], None, source.block_bytes,
                                         column_types={column: pa.string()},
                                         include_columns=[column], strings_can_be_null=True):
                total += batch.column(0).null_count
        else:
            return None
    except DataError:
        return None
    return total


# --------------------------------------------------------------------------- whole tables
def read_columns(source: Source, columns: list[str]) -> np.ndarray:
    """All rows of ``columns`` as one float64 array (n_rows, len(columns))."""
    blocks = list(ChunkStream(source, columns))
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _straddles(exc: Exception) -> bool:
    return "straddl" in str(exc) or "Empty CSV file or block" in str(exc)


def _csv_batches(
    source: Source, columns: list[str], progress: Callable[[int], None] | None = None,
    block_bytes: int | None = None, **convert,
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Each record batch with the number of data rows before it; parse errors located.

    pyarrow needs every line inside one block: a longer line makes the reader start again
    after the rows already delivered, with larger blocks (up to a line of
    :data:`~linearlab.data.probe.MAX_LINE_BYTES`).
    """
    rows, block = 0, block_bytes or source.block_bytes
    while True:
        try:
            reader, raw = _csv_reader(source, block, rows, **convert)
        except UnicodeDecodeError as exc:  # column names pyarrow cannot decode
            raise DataFileError(f"In {source.path!r}, line 1 (the header) is not UTF-8 ({exc}). "
                                "Re-save the file as UTF-8.", path=source.path, line=1) from None
        except pa.ArrowException as exc:
            if _straddles(exc) and block < probe.MAX_LINE_BYTES:
                block = source.block_bytes = max(block * BLOCK_GROWTH, source.block_bytes)
                continue
            raise _csv_error(source, exc, columns, rows) from None
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowException as exc:
                    if not (_straddles(exc) and block < probe.MAX_LINE_BYTES):
                        raise _csv_error(source, exc, columns, rows) from None
                    block = source.block_bytes = max(block * BLOCK_GROWTH, source.block_bytes)
                    break
                yield batch, rows
                rows += batch.num_rows
                if progress is not None:
                    progress(raw.tell())
        finally:
            reader.close()
            raw.close()


def iter_record_batches(
    source: Source, numeric: list[str], block_bytes: int = CSV_BLOCK_BYTES
) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    """Every column as read (text kept as text) with the ``numeric`` columns as float64 blocks.

    Used to copy input rows to an output file next to predictions. Columns of a CSV file that
    are not in ``numeric`` come as text, exactly as written (see :func:`passthrough_types`).
    """
    if source.format == "dataset":
        block = _dataset_block(source.dataset, source.columns)
        arrays = [pa.array(block[:, j]) for j in range(block.shape[1])]
        yield pa.RecordBatch.from_arrays(arrays, names=source.columns), _dataset_block(
            source.dataset, numeric
        )
        return
    rows = 0
    if source.format == "parquet":
        for batch in _parquet_batches(source, source.columns):
            yield batch, _to_float64(batch, numeric, source, rows)
            rows += batch.num_rows
    else:
        passthrough = [c for c in source.columns if c not in set(numeric)]
        types = {c: pa.float64() for c in numeric} | {c: pa.string() for c in passthrough}
        for batch, rows in _csv_batches(
            source, source.columns, None, min(block_bytes, source.block_bytes),
            column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False,
        ):
            yield batch, _to_float64(batch, numeric, source, rows)
            rows += batch.num_rows
    if rows == 0:
        raise DataFileError(
            f"{source.name!r} has a header but no data rows. Add rows of numbers.",
            path=source.path,
        )


#: Cells read as missing in text files (pyarrow's defaults for numbers, minus the odd ones).
MISSING_TEXT = ["", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None",
                "#N/A", "<NA>"]


def table_batches(
    source: Source, numeric: list[str], text: list[str], block_bytes: int | None = None,
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Record batches of the ``numeric`` (float64) and ``text`` (string) columns, missing cells
    (:data:`MISSING_TEXT`) as nulls, with the number of data rows before each batch.

    The reader of fits with text columns or missing values; a value that is not a number in
    a ``numeric`` column is a located :class:`~linearlab.errors.DataFileError`.
    """
    columns = [*numeric, *text]
    _check_known(source, columns, "")
    if source.format == "dataset":
        block = _dataset_block(source.dataset, numeric)
        yield pa.RecordBatch.from_arrays([pa.array(block[:, j]) for j in range(len(numeric))],
                                         names=numeric), 0
        return
    if source.format == "parquet":
        rows = 0
        for batch in _parquet_batches(source, columns):
            yield batch, rows
            rows += batch.num_rows
        return
    types = {c: pa.float64() for c in numeric} | {c: pa.string() for c in text}
    block = min(block_bytes or source.block_bytes, source.block_bytes)
    yield from _csv_batches(source, columns, None, block, column_types=types,
                            include_columns=columns, null_values=MISSING_TEXT,
                            strings_can_be_null=True)
