"""The command line's analyst paths: formulas, text (categorical) columns, missing values and
prediction intervals.

These read the whole table (pyarrow; text kept as text) and hand it to the library:
``LinearRegression.from_formula`` for ``--formula``, ``fit`` on the named columns otherwise (text
columns become ``col[T.level]`` indicators), so every rule is the Python API's. Numeric-only
fits without ``--missing drop`` keep the streaming path of :mod:`linearlab.pipeline.streaming`.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from linearlab.data import sources as io
from linearlab.data.missing import expand_rows, handle_missing, take_rows
from linearlab.design.table import prepare_predict, training_rows
from linearlab.errors import (
    DataError,
    DataFileError,
    LinearLabError,
    UsageError,
)
from linearlab.models.linear import LinearModel
from linearlab.pipeline import streaming


@contextlib.contextmanager
def file_lines(source: io.Source, exact: bool = True):
    """Errors that name a data row (0-based, from the library) name the file's line instead
    (the header is line 1) and the file, for CSV/TSV; ``exact`` is False when rows were left
    out before the error, so that row numbers no longer match lines."""
    try:
        yield
    except DataFileError:
        raise
    except DataError as exc:
        if not exact or source.format not in ("csv", "tsv"):
            raise
        text, found = re.subn(r"\bat row (\d+)", lambda m: f"at line {int(m.group(1)) + 2}",
                              str(exc), count=1)
        if not found:
            raise
        raise DataFileError(f"In {source.name!r}: {text}", path=source.path) from None


# --------------------------------------------------------------------------- reading
def read_table(source: io.Source, rows: int | None = None) -> pa.Table:
    """The whole table, every cell as written (CSV/TSV: text; Parquet: its types); with
    ``rows``, its first rows only (and little more is read: figures of a large file)."""
    if source.format == "dataset":
        ds = source.dataset
        arrays = [pa.array(ds.X[:, j]) for j in range(ds.X.shape[1])]
        arrays.append(pa.array(np.asarray(ds.y, dtype=np.float64).reshape(len(ds.y), -1)[:, 0]))
        return pa.Table.from_arrays(arrays, names=[*ds.feature_names, ds.target_name])
    try:
        if source.format == "parquet":
            import pyarrow.parquet as pq  # here: a CSV fit never needs it

            if rows is None:
                return pq.read_table(source.path)
            return _head(pq.ParquetFile(source.path).iter_batches(batch_size=65536), rows)
        names = source.columns
        options = dict(
            parse_options=pacsv.ParseOptions(delimiter=source.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if rows is None:
            return pacsv.read_csv(source.path, **options)
        return _head(pacsv.open_csv(source.path, **options), rows)
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError(f"Cannot read {source.name!r}: {exc}", path=source.path) from None


def _head(batches, rows: int) -> pa.Table:
    """The first ``rows`` rows of a stream of record batches."""
    kept, count = [], 0
    for batch in batches:
        kept.append(batch)
        count += batch.num_rows
        if count >= rows:
            break
    return pa.Table.from_batches(kept).slice(0, rows)


def _is_text(source: io.Source, table: pa.Table, name: str) -> bool:
    if source.format in ("csv", "tsv"):
        return name not in source.numeric
    return pa.types.is_string(table.schema.field(name).type) or pa.types.is_large_string(
        table.schema.field(name).type) or pa.types.is_dictionary(table.schema.field(name).type)


def column_values(source: io.Source, table: pa.Table, name: str) -> np.ndarray:
    """One column as float64 (NaN for missing) or, for text, objects (None for missing)."""
    col = table.column(name).combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        import pyarrow.compute as pc  # text columns only

        col = pc.if_else(pc.is_in(col, value_set=pa.array(io.MISSING_TEXT)),
                         pa.scalar(None, col.type), col)
        if _is_text(source, table, name):
            return col.to_numpy(zero_copy_only=False).astype(object)
        try:
            col = col.cast(pa.float64())
        except pa.ArrowInvalid:
            return _locate_bad_number(source, name, col)
    if pa.types.is_decimal(col.type) or pa.types.is_integer(col.type) or pa.types.is_boolean(
            col.type):
        col = col.cast(pa.float64())
    if not pa.types.is_floating(col.type):
        raise DataFileError(f"Column {name!r} of {source.name!r} has type {col.type}, which is "
                            "neither numeric nor text.", path=source.path, column=name)
    return col.to_numpy(zero_copy_only=False).astype(np.float64)


def _locate_bad_number(source: io.Source, name: str, col: pa.Array) -> np.ndarray:
    for row, value in enumerate(col.to_pylist()):
        try:
            if value is not None:
                float(value)
        except ValueError:
            raise DataFileError(
                f"Column {name!r} of {source.name!r} must be numeric, but line {row + 2} holds "
                f"{value!r}. Fix the value, or make the column text so it is encoded as "
                "categories.", path=source.path, column=name, line=row + 2,
            ) from None
    raise DataFileError(f"Column {name!r} of {source.name!r} is not numeric.", path=source.path,
                        column=name)


def _matrix(source: io.Source, table: pa.Table, names: list[str]) -> np.ndarray:
    """The columns as one array: float64, or objects when a column is text."""
    columns = [column_values(source, table, n) for n in names]
    if all(c.dtype == np.float64 for c in columns):
        return np.column_stack(columns) if columns else np.empty((table.num_rows, 0))
    out = np.empty((table.num_rows, len(names)), dtype=object)
    for j, values in enumerate(columns):
        out[:, j] = values
    return out


def read_frame(source: io.Source, columns: list[str]):
    """The named columns of the whole table as a pandas DataFrame (numbers as floats, NaN for
    missing; text as objects, None for missing)."""
    import pandas as pd

    table = read_table(source)
    return pd.DataFrame({n: column_values(source, table, n) for n in columns})


def _frame(source: io.Source, table: pa.Table):
    """The table as a pandas DataFrame for formulas (numbers as floats, text as text)."""
    import pandas as pd

    return pd.DataFrame({n: column_values(source, table, n) for n in table.column_names})


# --------------------------------------------------------------------------- fitting
def _split(spec: str | None) -> list[str]:
    return [s.strip() for s in (spec or "").split(",") if s.strip()]


def _default_features(source: io.Source, targets: list[str]) -> list[str]:
    """Without ``-x``: every other numeric column and every text column, except text columns
    that look like row identifiers (every value different) and, in files too large to read
    whole, all text columns (those are streamed, numbers only, as before)."""
    numeric = [c for c in source.columns if c in source.numeric and c not in targets]
    text = [c for c in source.columns if c not in source.numeric and c not in targets]
    if not text or streaming.should_stream(source, len(source.columns)):
        return numeric
    table = read_table(source)
    keep = set()
    for name in text:
        values = column_values(source, table, name)
        present = [v for v in values if v is not None]
        if len(set(present)) < len(present) or len(present) < 2:
            keep.add(name)
    return [c for c in source.columns if c in numeric or c in keep]


def chosen_columns(args: argparse.Namespace, source: io.Source) -> tuple[list[str], list[str]]:
    """``(features, targets)``: ``-y`` or the last column; ``-x`` or the default features
    (:func:`_default_features`: text columns included, to be encoded as categories)."""
    targets = _split(args.target) or [source.columns[-1]]
    weights = _split(getattr(args, "weights", None))
    features = _split(args.features) or [c for c in _default_features(source, targets)
                                         if c not in weights]
    io.require_columns(source, [*targets, *features, *weights], "the command line")
    if set(weights) & {*targets, *features}:
        raise UsageError(f"The weight column {weights[0]!r} is also a target or a feature; a "
                         "column can only be one of them.")
    overlap = [c for c in features if c in targets]
    if overlap:
        raise UsageError(f"Column(s) {overlap} are both target and feature; a column can only "
                         "be one of them.")
    if not features:
        raise UsageError(f"{source.name!r} has no feature columns besides the target.")
    return features, targets


def wants_table(args: argparse.Namespace, source: io.Source) -> bool:
    """Whether this fit takes the analyst path (formula, missing='drop', text features)."""
    if getattr(args, "formula", None) or getattr(args, "missing", "error") == "drop":
        return True
    targets = _split(args.target) or source.columns[-1:]
    features = _split(args.features) or _default_features(source, targets)
    return any(c in source.columns and c not in source.numeric for c in features)


def wants_table_predict(model: LinearModel, args: argparse.Namespace) -> bool:
    """Whether ``predict`` takes the analyst path (a design, intervals or --missing keep)."""
    return (getattr(model, "design_", None) is not None or args.interval is not None
            or args.missing == "keep")


def interval_names(source: io.Source, targets: list[str]) -> list[str]:
    """'lower', 'upper' (one target) or 'lower_T', 'upper_T' per target."""
    if len(targets) == 1:
        names = ["lower", "upper"]
    else:
        names = [f"{side}_{t}" for t in targets for side in ("lower", "upper")]
    clash = [n for n in names if n in source.columns]
    if clash:
        raise UsageError(f"{source.name!r} already has a column named {clash[0]!r}; rename it "
                         "so the interval can be added.")
    return names


def predict_batches(model: LinearModel, source: io.Source, args: argparse.Namespace,
                    names: list[str]) -> tuple[Iterator[pa.RecordBatch], list[str]]:
    """Batches of every input column plus the predictions (and the interval), and the names
    of the columns added."""
    summary = _summary_for_intervals(model, args) if args.interval else None
    table = read_table(source)
    design = getattr(model, "design_", None)
    missing = "keep" if args.missing == "keep" else "error"
    if getattr(design, "kind", None) == "formula":
        raw = _frame(source, table)
    else:
        raw = _matrix(source, table, list(model.feature_names_))
    with file_lines(source, exact=missing == "error"):
        X, keep = prepare_predict(raw, design, missing)
    k = len(model.target_names_)
    pred = (np.asarray(X, float) @ np.asarray(model.coef_).reshape(k, -1).T
            + model.intercept_)
    columns = [expand_rows(pred[:, t], keep) for t in range(k)]
    added = list(names)
    if summary is not None:
        complete = raw if keep is None else take_rows(raw, keep)
        parts = [summary] if k == 1 else list(summary)
        for part in parts:
            band = part.predict(complete, interval=args.interval, alpha=1.0 - args.level)
            columns += [expand_rows(band.lower, keep), expand_rows(band.upper, keep)]
        added += interval_names(source, list(model.target_names_))
    arrays = [pa.array(c, mask=np.isnan(c)) for c in columns]
    out = pa.Table.from_arrays([*table.columns, *arrays], names=[*table.column_names, *added])
    return iter(out.to_batches(max_chunksize=64 * 1024)), added


def _summary_for_intervals(model: LinearModel, args: argparse.Namespace):
    try:
        return model.summary()
    except LinearLabError as exc:
        raise UsageError(
            f"--interval needs a model file that carries the training statistics, and "
            f"{args.model!r} does not ({exc}) Refit with `linearlab fit DATA -o MODEL` "
            "(ordinary least squares, alpha 0) and predict with that file."
        ) from None


def design_table(model, source: io.Source, targets: list[str], rows: int | None = None):
    """``(X, Y, clipped)``: the raw columns a model with a design (or ``--missing drop``) reads,
    as its fit read them: for a formula the whole table as a DataFrame (``Y`` None: the formula
    reads it), else the model's input columns (text kept as text) and the ``targets``; only
    the first ``rows`` rows when given (``clipped`` says whether rows were left out)."""
    table = read_table(source, None if rows is None else rows + 1)  # one more: clipped?
    clipped = rows is not None and table.num_rows > rows
    if clipped:
        table = table.slice(0, rows)
    if getattr(getattr(model, "design_", None), "kind", None) == "formula":
        return _frame(source, table), None, clipped
    return (_matrix(source, table, list(model.feature_names_)), _matrix(source, table, targets),
            clipped)


def evaluate_table(model: LinearModel, source: io.Source, targets: list[str],
                   missing: str = "error") -> dict:
    """R², RMSE and MAE of a model on the whole table: its design (formula, text columns)
    applied; rows with a missing value are an error (naming the file and its line), or left
    out of the scores (``missing`` "drop" or "keep"; ``dropped`` counts them)."""
    X, Y, _ = design_table(model, source, targets)
    design = getattr(model, "design_", None)
    with file_lines(source):  # the data's rows are the file's rows: errors name the line
        if missing == "error":
            if getattr(design, "kind", None) == "formula":
                design.apply(X, "error", response=True)
            else:
                handle_missing(X, Y, None, "error", x_names=list(model.feature_names_))
        Xd, Yd, _ = training_rows(model, X, Y, drop=True)
    k = len(model.target_names_)
    Yd = np.asarray(Yd, float).reshape(-1, k)
    pred = np.asarray(Xd, float) @ np.asarray(model.coef_).reshape(k, -1).T + model.intercept_
    metrics = streaming.regression_metrics(Yd, pred)
    if missing != "error":
        metrics["dropped"] = int(len(X) - Yd.shape[0])
    return metrics
