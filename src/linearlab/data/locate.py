"""Where a problem in a data file is: line numbers for :class:`~linearlab.errors.DataFileError`.

pyarrow reports *which* value failed to convert, but not on which line; these helpers find it by
re-reading the file with the csv module, only on the error path (normal reads never pay for it).
Lines are 1-based physical lines (the header is line 1; blank lines are counted but skipped, as
pyarrow skips them).
"""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING

from ..errors import DataFileError

if TYPE_CHECKING:
    from .sources import Source

_BAD_VALUE = re.compile(r"column #(\d+): CSV conversion error to \w+: invalid value '(.*)'", re.S)


def compression(path: str) -> str | None:
    """pyarrow's name of the compression a file's suffix says (None when uncompressed)."""
    lower = path.lower()
    for suffix, name in ((".gz", "gzip"), (".bz2", "bz2"), (".zst", "zstd"), (".lz4", "lz4")):
        if lower.endswith(suffix):
            return name
    return None


def _line_of_row(source: Source, row: int) -> int | None:
    """Physical line (1-based) of data row ``row`` (0-based), skipping blank lines as pyarrow."""
    if source.format not in ("csv", "tsv") or compression(source.path):
        return None
    with open(source.path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, delimiter=source.delimiter)
        seen = -1  # the header
        for record in reader:
            if not record:
                continue
            if seen == row:
                return reader.line_num
            seen += 1
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
    with open(source.path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, delimiter=source.delimiter)
        header = next(reader, None)
        if header is None or column not in header:
            return None
        j = header.index(column)
        row = -1
        for record in reader:
            if not record:
                continue
            row += 1
            if row >= start_row and len(record) > j and record[j].strip() == value.strip():
                return reader.line_num
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
        detail = message.split("CSV parse error:")[-1].strip()
        return DataFileError(
            f"{source.path!r} is not a regular table: {detail}. Every line needs as many "
            "fields as the header.",
            path=source.path,
        )
    return DataFileError(f"Cannot parse {source.path!r}: {message}", path=source.path)
