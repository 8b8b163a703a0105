"""Where a problem in a data file is: line numbers for :class:`~linearlab.errors.DataFileError`.

pyarrow reports *which* value failed to convert, but not on which line; these helpers find it by
re-reading the file with the csv module, only on the error path (normal reads never pay for it).
Lines are 1-based physical lines (the header is line 1; blank lines are counted but skipped, as
pyarrow skips them).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from linearlab.data.probe import MAX_LINE_BYTES
from linearlab.errors import DataFileError

if TYPE_CHECKING:
    from linearlab.data.sources import Source

_SURROGATE = re.compile("[\udc80-\udcff]")
_BAD_UTF8 = re.compile(r"column #(\d+): CSV conversion error to \w+: invalid UTF8")
_BAD_VALUE = re.compile(r"column #(\d+): CSV conversion error to \w+: invalid value '(.*)'", re.S)


def _text(source: Source, errors: str = "replace") -> io.TextIOWrapper:
    """The source's text (decompressed), for the csv module."""
    stream = pa.input_stream(source.path, compression=source.compression)
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors=errors, newline="")


def _records(source: Source, errors: str = "replace") -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of every non-blank record after the header (lines 1-based)."""
    csv.field_size_limit(2**31 - 1)
    with _text(source, errors) as f:
        reader = csv.reader(f, delimiter=source.delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for record in reader:
            if record:
                yield start, record
            start = reader.line_num + 1


def _line_of_row(source: Source, row: int) -> int | None:
    """Physical line (1-based) of data row ``row`` (0-based), skipping blank lines as pyarrow."""
    if source.format not in ("csv", "tsv"):
        return None
    for seen, (line, _) in enumerate(_records(source)):
        if seen == row:
            return line
    return None


def located(source: Source, column: str, row: int, what: str, hint: str) -> DataFileError:
    """The error for a bad value in data row ``row`` (0-based) of ``column``, with its line."""
    if source.format == "parquet":
        where, line = f"row {row + 1}", None
    else:
        line = _line_of_row(source, row)
        where = f"line {line}" if line is not None else f"data row {row + 1}"
    return DataFileError(
        f"In {source.path!r}, column {column!r} at {where}: the value {what}. {hint}",
        path=source.path, column=column, line=line,
    )


def _find_value(source: Source, column: str, value: str, start_row: int) -> int | None:
    """Line of the first row at or after ``start_row`` whose ``column`` field equals ``value``."""
    if column not in source.columns:
        return None
    j = source.columns.index(column)
    for row, (line, record) in enumerate(_records(source)):
        if row >= start_row and len(record) > j and record[j].strip() == value.strip():
            return line
    return None


def _ragged_line(source: Source) -> tuple[int, int, int] | None:
    """``(line, fields, header fields)`` of the first record whose field count differs from
    the header's."""
    csv.field_size_limit(2**31 - 1)
    with _text(source) as f:
        reader = csv.reader(f, delimiter=source.delimiter)
        header = next(reader, None)
        if header is None:
            return None
        start = reader.line_num + 1
        for record in reader:
            if record and len(record) != len(header):
                return start, len(record), len(header)
            start = reader.line_num + 1
    return None


def _bad_utf8(source: Source, j: int) -> int | None:
    """Line of the first record whose field ``j`` is not UTF-8 (undecodable bytes are read as
    lone surrogates)."""
    for line, record in _records(source, errors="surrogateescape"):
        if len(record) > j and _SURROGATE.search(record[j]):
            return line
    return None


def csv_error(
    source: Source, exc: Exception, columns: list[str] | None, rows_before: int
) -> DataFileError:
    """Turn a pyarrow CSV error (raised after ``rows_before`` good rows) into a located one."""
    message = str(exc)
    match = _BAD_VALUE.search(message)
    if match and columns:
        index = int(match.group(1))  # pyarrow counts the file's columns, not the selected ones
        column = source.columns[index] if index < len(source.columns) else None
        value = match.group(2)
        if column is not None:
            line = _find_value(source, column, value, rows_before)
            where = f"line {line}" if line else f"a row after data row {rows_before}"
            return DataFileError(
                f"In {source.path!r}, column {column!r} at {where}: {value!r} is not a number. "
                "Fix that value, or leave the column out with -x/--features (text columns "
                "cannot be features or targets).",
                path=source.path, column=column, line=line,
            )
    if "Expected" in message and "columns" in message:
        found = _ragged_line(source)
        where = (f"line {found[0]} has {found[1]} field(s), but the header has {found[2]}"
                 if found else message.split("CSV parse error:")[-1].strip())
        return DataFileError(
            f"{source.path!r} is not a regular table: {where}. Every line needs as many fields "
            "as the header (quote values that contain the delimiter).",
            path=source.path, line=found[0] if found else None,
        )
    utf8 = _BAD_UTF8.search(message)
    if utf8 and source.columns:
        j = int(utf8.group(1))
        column = source.columns[j] if j < len(source.columns) else f"#{j + 1}"
        line = _bad_utf8(source, j)
        where = f"line {line}" if line else "a line"
        return DataFileError(
            f"In {source.path!r}, column {column!r} at {where}: the text is not UTF-8. The file is "
            "probably in another encoding (Latin-1 or Windows-1252); re-save it as UTF-8, e.g. "
            f"`iconv -f latin1 -t utf-8 {source.path} > fixed.csv`.",
            path=source.path, column=column, line=line,
        )
    if "Empty CSV file" in message:
        return DataFileError(
            f"{source.path!r} is empty. A data file needs a header line with column names and "
            "at least one row of numbers.",
            path=source.path,
        )
    if "straddl" in message:
        return DataFileError(
            f"{source.path!r} has a line or field longer than {MAX_LINE_BYTES // 2**20} MiB "
            f"after data row {rows_before}, the longest linearlab reads. Is it a text table "
            "with one line per row?",
            path=source.path,
        )
    return DataFileError(f"Cannot parse {source.path!r}: {message}", path=source.path)
