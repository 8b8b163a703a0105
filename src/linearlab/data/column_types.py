"""Column types of text files over the whole file: CSV columns read as text, cast to the type
they really have (int64, float64 or text), so that predictions keep the input's types."""

from __future__ import annotations

import pyarrow as pa

from linearlab.data.reading import Source, _csv_batches


def cast_text(values: pa.Array, to: pa.DataType) -> pa.Array:
    """Text values as type ``to``, empty strings becoming nulls (raises ArrowInvalid)."""
    if values.type == to:
        return values
    import pyarrow.compute as pc

    # no Python scalars ("" or None): converting them imports pandas (data.arrow_arrays)
    empty = pc.invert(pc.utf8_length(values).cast(pa.bool_()))
    return pc.if_else(empty, pa.nulls(len(values), values.type), values).cast(to)


def passthrough_types(source: Source, columns: list[str]) -> dict[str, pa.DataType]:
    """The type each text-read CSV column really has, over the whole file.

    The first block's inference is a guess (a column of integers may hold ``2.5`` further
    down): each column is widened int64 → float64 → text until every block converts, so
    predictions written to Parquet or JSON keep the input's types.
    """
    ladder = (pa.int64(), pa.float64(), pa.string())
    types: dict[str, pa.DataType] = {}
    for c in columns:
        t = source.types.get(c, pa.string())
        types[c] = (pa.int64() if pa.types.is_integer(t) else pa.float64()
                    if pa.types.is_floating(t) else pa.string())
    pending = [c for c in columns if types[c] != pa.string()]
    if not pending or source.format not in ("csv", "tsv"):
        return types
    for batch, _ in _csv_batches(source, pending, None, source.block_bytes,
                                 column_types={c: pa.string() for c in pending},
                                 include_columns=pending):
        for c in pending:
            values = batch.column(c)
            while types[c] != pa.string():
                try:
                    cast_text(values, types[c])
                    break
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    types[c] = ladder[ladder.index(types[c]) + 1]
    return types
