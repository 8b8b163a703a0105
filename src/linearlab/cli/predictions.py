"""``linearlab predict``'s output: the input rows plus prediction columns, as CSV, TSV, Parquet
or JSON, written through :mod:`linearlab.io.outputs` (so never over an input, never half-written).

The format follows the output's extension; standard output, devices and FIFOs get CSV (JSON with
``--json``). Columns passed through from the input keep their types: Parquet columns as they
are, CSV columns as the whole file shows them (integers stay integers, text stays text).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from linearlab.data import sources as io
from linearlab.errors import DataFileError, UsageError
from linearlab.io import outputs

#: Extensions ``predict -o`` can write, and the format of each.
WRITABLE = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
            ".pq": "parquet", ".json": "json"}


def output_format(target: outputs.Target | None, json_wanted: bool) -> str:
    """The format to write ``target`` in (None: standard output without ``-o``)."""
    if target is None or target.is_stream:
        ext = os.path.splitext(target.given)[1].lower() if target is not None else ""
        return WRITABLE.get(ext, "json" if json_wanted else "csv")
    ext = os.path.splitext(target.given)[1].lower()
    if ext not in WRITABLE:
        raise UsageError(
            f"linearlab cannot write {ext or 'files without an extension'!s} "
            f"({target.given!r}). Name the output with one of "
            f"{', '.join(sorted(WRITABLE))}, or '-' for CSV on standard output."
        )
    return WRITABLE[ext]


def _typed(batches: Iterator[pa.RecordBatch], types: dict[str, pa.DataType]):
    """Give each input column its whole-file type (see :func:`io.passthrough_types`): text
    that holds numbers becomes numbers, features read as float64 become integers again when
    the file wrote integers."""
    for batch in batches:
        arrays = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            wanted = types.get(name)
            if wanted is not None and column.type != wanted:
                column = (io.cast_text(column, wanted) if pa.types.is_string(column.type)
                          else column.cast(wanted) if pa.types.is_integer(wanted) else column)
            arrays.append(column)
        yield pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _write_json(sink, batches: Iterable[pa.RecordBatch]) -> int:
    rows = 0
    sink.write(b"[")
    for batch in batches:
        names = batch.schema.names
        for record in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            row = {n: _json_value(v) for n, v in zip(names, record, strict=True)}
            sink.write((",\n" if rows else "\n").encode() + json.dumps(row).encode())
            rows += 1
    sink.write(b"\n]\n")
    return rows


def write_predictions(batches: Iterator[pa.RecordBatch], target: outputs.Target | None,
                      fmt: str, source: io.Source) -> int:
    """Write every batch to ``target`` (standard output when None); returns the rows written."""
    first = next(batches, None)
    if first is None:
        raise DataFileError(f"{source.name!r} has no data rows to predict.", path=source.path)
    all_batches = _chain(first, batches)
    if source.format in ("csv", "tsv"):  # CSV text: the types of the whole file, not of block 1
        inputs = [n for n in first.schema.names if n in source.types]
        all_batches = _typed(all_batches, io.passthrough_types(source, inputs))
        first = next(all_batches)
        all_batches = _chain(first, all_batches)
    with outputs.open_output(target or outputs.resolve("-")) as f:
        if fmt == "json":
            return _write_json(f, all_batches)
        sink = pa.PythonFile(f, mode="w")
        rows = 0
        if fmt == "parquet":
            import pyarrow.parquet as pq  # Parquet output only

            writer = pq.ParquetWriter(sink, first.schema)
        else:
            options = pacsv.WriteOptions(delimiter="\t" if fmt == "tsv" else ",",
                                         quoting_style="needed")
            writer = pacsv.CSVWriter(sink, first.schema, write_options=options)
        with writer:
            for batch in all_batches:
                writer.write_batch(batch)
                rows += batch.num_rows
        return rows


def _chain(first, rest):
    yield first
    yield from rest


def refuse_output_inside_data(output: str, data: str) -> None:
    """A ``-o`` path inside DATA's folder (a folder of partitions) is refused: the next command
    over that folder would read the outputs as one more partition."""
    if not output or output == "-" or "://" in output or not os.path.isdir(data):
        return
    folder = os.path.realpath(data)
    where = os.path.realpath(output)
    if os.path.commonpath([folder, where]) == folder and where != folder:
        raise UsageError(
            f"-o {output!r} lies inside the input folder {data!r}: the next command over "
            f"{data!r} would read it as one more partition. Write it elsewhere, e.g. "
            f"-o {os.path.basename(output.rstrip('/')) or 'predictions'} next to the folder."
        )
