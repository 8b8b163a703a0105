"""What a data path holds, found before any parser sees it: the one data-source opener's checks.

A data file must be a regular file (a FIFO or a device cannot be read twice, and would block);
its compression and Parquet-ness are read from its magic bytes, not trusted from its name; a
text table must look like text (no binary bytes) and have a UTF-8 header. Every problem is a
:class:`~linearlab.errors.DataFileError` that names the file, the line and the column, and never
echoes the file's raw bytes.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

import pyarrow as pa

from linearlab.errors import DataFileError

#: (magic bytes, pyarrow's codec name) of the compressed files linearlab reads.
COMPRESSION_MAGIC = (
    (b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
)
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".lz4")
PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 1 << 16
#: The longest line (or field) a text table may have; pyarrow's blocks grow up to this.
MAX_LINE_BYTES = 256 * 2**20
#: Most columns a text table may have: pyarrow's CSV reader needs about 10 kB and 80 us per
#: column (a 100,000-column header: 1 GB, 8 s) before reading a single row.
MAX_TEXT_COLUMNS = 50_000
_BOM = b"\xef\xbb\xbf"
_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


@dataclass
class Probe:
    """What :func:`probe` found: ``parquet``, the ``compression`` codec, the raw header line."""

    size: int
    parquet: bool
    compression: str | None
    header: bytes  # the first line, decompressed, without BOM and line end (text tables)


def check_regular(path: str) -> os.stat_result:
    """``os.stat(path)`` of a regular file; a clear error for anything else."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DataFileError(f"Cannot open {path!r}: {exc.strerror}. Check the path and its "
                            "permissions.", path=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise DataFileError(f"{path!r} is a directory; pass a data file.", path=path)
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise DataFileError(
                f"{path!r} is {kind}, not a regular file. linearlab reads a data file more than "
                "once (its header first, then the rows, and once per epoch when streaming), "
                "which a pipe or device cannot replay. Save the data to a file first, e.g. "
                f"`cat {path} > data.csv`, and pass that.",
                path=path,
            )
    return st


def open_stream(path: str, compression: str | None) -> tuple[pa.NativeFile, pa.NativeFile]:
    """``(readable, raw)``: the file's bytes decompressed, and the raw file (for progress)."""
    raw = pa.OSFile(path, "rb")
    return (pa.CompressedInputStream(raw, compression) if compression else raw), raw


def _compression_of(head: bytes) -> str | None:
    for magic, codec in COMPRESSION_MAGIC:
        if head.startswith(magic):
            return codec
    return None


def _first_line(path: str, compression: str | None) -> bytes:
    """The first line of the (decompressed) file, up to :data:`MAX_LINE_BYTES`."""
    stream, raw = open_stream(path, compression)
    parts, size = [], 0
    try:
        while size <= MAX_LINE_BYTES:
            chunk = stream.read(HEAD_BYTES if size < HEAD_BYTES else 1 << 22)
            if not chunk:
                break
            end = chunk.find(b"\n")
            if b"\x00" in chunk[: end if end >= 0 else None]:  # binary: no need to read on
                parts.append(chunk)
                break
            if end >= 0:
                parts.append(chunk[:end])
                break
            parts.append(chunk)
            size += len(chunk)
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError(
            f"{path!r} starts like {compression} data but cannot be decompressed ({exc}). It may "
            "be truncated or corrupt; re-create it.",
            path=path,
        ) from None
    finally:
        stream.close()
        raw.close()
    line = b"".join(parts)
    if len(line) > MAX_LINE_BYTES:
        raise DataFileError(
            f"In {path!r}, line 1 (the header) is longer than {MAX_LINE_BYTES // 2**20} MiB, the "
            "longest line linearlab reads. Is it a text table with one line per row?",
            path=path, line=1,
        )
    return line.removeprefix(_BOM).rstrip(b"\r")


def probe(path: str) -> Probe:
    """Check that ``path`` is a regular, readable file and find what it holds."""
    st = check_regular(path)
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise DataFileError(f"Cannot read {path!r}: {exc.strerror}. Check its permissions.",
                            path=path) from None
    if head.startswith(PARQUET_MAGIC):
        return Probe(st.st_size, True, None, b"")
    compression = _compression_of(head)
    header = _first_line(path, compression) if head else b""
    return Probe(st.st_size, False, compression, header)


def check_text(path: str, found: Probe, delimiter: str) -> None:
    """A text table's header must be text, UTF-8, and of at most :data:`MAX_TEXT_COLUMNS`."""
    header = found.header
    if not header.strip():
        raise DataFileError(
            f"Line 1 of {path!r} is empty, but linearlab reads the column names from the first "
            "line. Remove the blank line(s) above the header.",
            path=path, line=1,
        )
    columns = header.count(delimiter.encode()) + 1
    if columns > MAX_TEXT_COLUMNS:
        raise DataFileError(
            f"{path!r} has about {columns:,} columns in its header (line 1); linearlab reads text "
            f"tables of at most {MAX_TEXT_COLUMNS:,} columns. Keep the columns you need, e.g. "
            f"`cut -d'{delimiter}' -f1-100 {path} > fewer.csv`, or store the table as Parquet.",
            path=path, line=1,
        )
    control = next((i for i, b in enumerate(header) if b < 32 and b not in (9, 12, 13)), None)
    if control is not None:
        raise DataFileError(
            f"{path!r} does not look like a text table: its first line holds the control byte "
            f"0x{header[control]:02x} at offset {control}. It may be a binary file with a "
            "text name; pass a CSV/TSV file (or Parquet, by its own name).",
            path=path, line=1,
        )
    _check_body(path, found)
    try:
        header.decode("utf-8")
    except UnicodeDecodeError as exc:
        fields = header.split(delimiter.encode())
        starts = [0]
        for field in fields[:-1]:
            starts.append(starts[-1] + len(field) + 1)
        k = max(i for i, s in enumerate(starts) if s <= exc.start)
        name = fields[k].decode("utf-8", errors="backslashreplace")
        raise DataFileError(
            f"In {path!r}, line 1 (the header), column {k + 1} ({name!r}): the byte "
            f"0x{header[exc.start]:02x} is not UTF-8. The file is probably in another encoding "
            "(Latin-1 or Windows-1252); re-save it as UTF-8, e.g. "
            f"`iconv -f latin1 -t utf-8 {path} > fixed.csv`.",
            path=path, column=name, line=1,
        ) from None


def _check_body(path: str, found: Probe) -> None:
    """Refuse a binary body before any reader takes it whole: a text table holds no NUL byte,
    so a few samples (the start after the header, and four places through an uncompressed
    file) tell a zero-filled or binary file cheaply."""
    size = found.size
    offsets = [0] if found.compression else sorted(
        {0, size // 4, size // 2, 3 * size // 4, max(size - _SAMPLE, 0)})
    try:
        if found.compression:
            stream, raw = open_stream(path, found.compression)
            try:
                samples = [(0, stream.read(HEAD_BYTES))]
            finally:
                stream.close()
                raw.close()
        else:
            with open(path, "rb") as f:
                samples = []
                for offset in offsets:
                    f.seek(offset)
                    samples.append((offset, f.read(_SAMPLE)))
    except (pa.ArrowException, OSError):
        return  # the reader reports what it cannot read
    for offset, sample in samples:
        at = sample.find(b"\x00")
        if at >= 0:
            where = offset + at
            raise DataFileError(
                f"{path!r} does not look like a text table: it holds NUL bytes (0x00), the "
                f"first sampled at {'decompressed ' if found.compression else ''}offset "
                f"{where:,}, below its header line. It is binary or zero-filled (a truncated "
                "download or a disk error?); pass a CSV/TSV file (or Parquet, by its own name).",
                path=path,
            )


_SAMPLE = 4096


def sniff_delimiter(header: bytes, expected: str) -> str | None:
    """';', tab or '|' when the header line has none of ``expected`` but one of those."""
    text = header.decode("utf-8", errors="replace")
    if expected in text:
        return None
    counts = {d: text.count(d) for d in (";", "\t", "|", ",") if d != expected}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def strip_compression_suffix(path: str) -> str:
    """``path`` in lower case without a compression suffix (``data.csv.gz`` -> ``data.csv``)."""
    lower = path.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return lower
