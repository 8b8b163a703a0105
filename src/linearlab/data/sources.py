"""Data files and built-in datasets → validated float64 arrays, whole or as a stream of chunks.

A *source* is a CSV, TSV or Parquet file, or the name of a built-in dataset
(:func:`linearlab.list_datasets`). :func:`open_source` is the one place a data path is opened
(checks in :mod:`.probe`); :mod:`.reading` reads the rows, whole or in bounded blocks.

Every problem is a :class:`~linearlab.errors.DataFileError` (or :class:`ColumnError`) naming the
file, the column and the line (1-based, the header being line 1), with a hint how to fix it.
"""

from __future__ import annotations

import json
import os
import re

import pyarrow as pa

from linearlab.data import probe
from linearlab.data.column_types import cast_text, passthrough_types
from linearlab.data.datasets import list_datasets, load_dataset
from linearlab.data.reading import (
    BLOCK_GROWTH,
    CSV_BLOCK_BYTES,
    IN_MEMORY_BYTES,
    MISSING_TEXT,
    PARQUET_BATCH_ROWS,
    ChunkStream,
    Source,
    _check_known,
    _csv_batches,
    _csv_reader,
    iter_record_batches,
    read_columns,
)
from linearlab.errors import ColumnError, DataError, DataFileError

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv",
    ".parquet": "parquet", ".pq": "parquet",
}
# Column names pandas gives an unnamed index it stores in a Parquet file.
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def _format_of(path: str, found: probe.Probe) -> str:
    if found.parquet:
        return "parquet"
    ext = os.path.splitext(probe.strip_compression_suffix(path))[1]
    if ext in (".svm", ".svmlight", ".libsvm"):  # sparse rows: linearlab.data.svmlight
        raise DataFileError(
            f"{path!r} is a LIBSVM/svmlight file: `linearlab fit` and `linearlab predict` read "
            "it (as a sparse matrix); this command reads .csv, .tsv or .parquet tables. In "
            "Python: sklearn.datasets.load_svmlight_file, then fit the estimator on it.",
            path=path,
        )
    if ext not in _EXTENSIONS:
        raise DataFileError(
            f"Cannot tell the format of {path!r} from its extension {ext or '(none)'!r}. "
            "Use a .csv, .tsv or .parquet file.",
            path=path,
        )
    return "csv" if _EXTENSIONS[ext] == "parquet" else _EXTENSIONS[ext]  # not PAR1: text


def open_source(data: str) -> Source:
    """Resolve ``data`` (a file path or a built-in dataset name) and read its column names.

    This is the one place a data path is opened: it must be a regular file (pipes and devices
    are refused: they cannot be read twice, and could block); compression (gzip, bz2, zstd,
    lz4) and Parquet are recognised by their magic bytes; text must have a UTF-8 header.

    Raises
    ------
    DataFileError
        The file does not exist, is not a regular file, is empty, unreadable or not valid
        CSV/TSV/Parquet.
    """
    if not os.path.lexists(data):
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
    found = probe.probe(data)
    if found.size == 0:
        raise DataFileError(
            f"{data!r} is empty. A data file needs a header line with column names and at least "
            "one row of numbers.",
            path=data,
        )
    source = Source(os.path.basename(data), _format_of(data, found), path=data,
                    compression=found.compression)
    if source.format == "parquet":
        schema = _parquet_schema(data)
        source.numeric = [f.name for f in schema if _is_numeric(f.type)]
        source.types = {f.name: f.type for f in schema}
    else:
        source.sniffed = probe.sniff_delimiter(found.header, source.delimiter)
        probe.check_text(data, found, source.delimiter)
        source.block_bytes = _block_for(len(found.header))
        schema, first = _csv_schema(source)
        # A column of numbers with a typo is inferred as text; still count it as numeric so the
        # conversion error names the bad value instead of the column silently being left out.
        # A column empty throughout the first block has no type yet: the whole column decides.
        _refuse_duplicates(data, schema.names)  # before reading any column by name
        later = _numeric_later(source, [f.name for f in schema if pa.types.is_null(f.type)])
        source.numeric = [f.name for i, f in enumerate(schema) if _is_numeric(f.type) or (
            pa.types.is_string(f.type) and _mostly_numbers(first.column(i))) or f.name in later]
        source.types = {f.name: f.type for f in schema}
    source.columns = [n for n in schema.names if n in source.types]
    _refuse_duplicates(data, source.columns)
    return source


def _refuse_duplicates(data: str, names: list[str]) -> None:
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise DataFileError(
            f"{data!r} has duplicate column names {duplicates}; rename them so each column can be "
            "chosen by name.",
            path=data,
        )


def _block_for(line_bytes: int) -> int:
    """A block size that holds a line of ``line_bytes`` (pyarrow needs whole lines per block)."""
    block = CSV_BLOCK_BYTES
    while block < 2 * line_bytes + 2 and block < probe.MAX_LINE_BYTES:
        block *= BLOCK_GROWTH
    return block


def _numeric_later(source: Source, names: list[str]) -> set[str]:
    """Of the columns ``names`` (empty in the first block), those whose values all read as
    numbers over the whole file (an empty column too): one pass over those columns only."""
    numeric = set(names)
    if not names:
        return numeric
    for batch, _ in _csv_batches(source, names, None, source.block_bytes,
                                 column_types={c: pa.string() for c in names},
                                 include_columns=names, null_values=MISSING_TEXT,
                                 strings_can_be_null=True):
        for name in list(numeric):
            try:
                batch.column(name).cast(pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                numeric.discard(name)
        if not numeric:
            break
    return numeric


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
        except (ValueError, TypeError):
            pass
    return bool(values) and parsed > 0.5 * len(values)


def _index_columns(schema: pa.Schema) -> set[str]:
    """Columns that store a pandas index (``df.to_parquet`` keeps a filtered frame's index)."""
    names = {n for n in schema.names if _PANDAS_INDEX.fullmatch(n)}
    meta = (schema.metadata or {}).get(b"pandas")
    if meta:
        try:
            index = json.loads(meta).get("index_columns", [])
        except (ValueError, AttributeError):
            index = []
        names |= {c for c in index if isinstance(c, str)}
    return names


def _parquet_schema(path: str) -> pa.Schema:
    import pyarrow.parquet as pq  # here: a CSV source never needs it

    try:
        pfile = pq.ParquetFile(path)
        schema, rows = pfile.schema_arrow, pfile.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError(
            f"{path!r} is not a readable Parquet file ({exc}). It may be truncated or not "
            "Parquet at all; re-export it.",
            path=path,
        ) from None
    index = _index_columns(schema)
    if rows == 0:
        raise DataFileError(
            f"{path!r} has columns ({', '.join(schema.names)}) but no data rows. Write the "
            "rows into it again.",
            path=path,
        )
    return pa.schema([f for f in schema if f.name not in index])


def _csv_schema(source: Source) -> tuple[pa.Schema, pa.RecordBatch]:
    """Column names, the types pyarrow infers from the first block, and that block."""
    batches = _csv_batches(source, None)
    try:
        first = next((batch for batch, _ in batches), None)
    finally:
        batches.close()
    if first is None or first.num_rows == 0:
        names = _header_names(source)
        raise DataFileError(
            f"{source.path!r} has a header ({', '.join(names[:20])}) but no data rows. Add "
            "rows of numbers below the header.",
            path=source.path,
        )
    return first.schema, first


def _header_names(source: Source) -> list[str]:
    reader, raw = _csv_reader(source, source.block_bytes)
    try:
        return list(reader.schema.names)
    finally:
        reader.close()
        raw.close()


# --------------------------------------------------------------------------- column selection
def _split(spec: str | list[str] | None) -> list[str] | None:
    if spec is None:
        return None
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return [s.strip() for s in items if s.strip()]


def _check_unique(names: list[str], flag: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ColumnError(f"{flag} names the column {name!r} twice; list each column once.")
        seen.add(name)


def select_columns(
    source: Source, target: str | list[str] | None = None,
    features: str | list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """(features, targets) chosen by name.

    Without ``target`` the last column is the target; without ``features`` every other numeric
    column is a feature. Comma-separated strings or lists are accepted; a name given twice is
    a :class:`ColumnError`.
    """
    targets = _split(target)
    if not targets:
        if not source.columns:
            raise DataFileError(f"{source.name!r} has no columns.", path=source.path)
        targets = [source.columns[-1]]
    _check_unique(targets, "-y/--target")
    _check_known(source, targets, "target")
    chosen = _split(features)
    if chosen is None:
        chosen = [c for c in source.numeric if c not in set(targets)]
        if not chosen:
            raise ColumnError(
                f"{source.name!r} has no numeric feature columns besides the target "
                f"{', '.join(targets)}. Choose features with -x/--features."
            )
    _check_unique(chosen, "-x/--features")
    _check_known(source, chosen, "feature")
    overlap = [c for c in chosen if c in set(targets)]
    if overlap:
        raise ColumnError(
            f"Column(s) {overlap} are both target and feature; a column can only be one of them."
        )
    return chosen, targets


def require_columns(source: Source, needed: list[str], what: str) -> None:
    """Raise :class:`ColumnError` naming every column of ``needed`` missing from ``source``."""
    known = set(source.columns)
    missing = [c for c in needed if c not in known]
    if missing:
        raise ColumnError(
            f"{source.name!r} lacks the column(s) {', '.join(map(repr, missing))} that {what} "
            f"needs. Its columns are: {', '.join(source.columns[:50])}. Rename the columns to "
            "match."
        )


__all__ = [
    "CSV_BLOCK_BYTES",
    "PARQUET_BATCH_ROWS",
    "ChunkStream",
    "DataError",
    "IN_MEMORY_BYTES",
    "Source",
    "cast_text",
    "iter_record_batches",
    "open_source",
    "passthrough_types",
    "read_columns",
    "require_columns",
    "select_columns",
]
