"""The playground's data: tables kept in memory by id (built-in datasets, uploads, the file given
on the command line), column choices, and the points the page edits.

The server never opens a path the page sends: the page names a built-in dataset, uploads bytes,
or sends its points; only the command line's DATA argument is read from disk.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from linearlab.errors import DataError, ParameterError

#: Largest upload accepted, in bytes.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Most points the page may send inline (its editable canvas).
MAX_POINTS = 20_000
#: Rows sent to the page for drawing; larger tables are shown by an even sample.
MAX_DRAWN_ROWS = 2_000
#: Tables kept in memory; the oldest is forgotten first.
MAX_TABLES = 16
#: Most columns of an upload, and most values (rows x columns): checked before it is parsed.
MAX_COLUMNS = 200
MAX_CELLS = 5_000_000


@dataclass
class Table:
    """Named numeric columns, as loaded."""

    id: str
    name: str
    columns: dict[str, np.ndarray]
    x: list[str]  # default feature columns
    y: str  # default target column

    def select(self, x: list[str] | None, y: str | None) -> tuple[np.ndarray, np.ndarray,
                                                                 list[str], str]:
        """``(X, y, feature_names, target_name)`` for a column choice (default: the table's)."""
        y_name = y or self.y
        x_names = list(x) if x else [c for c in self.x if c != y_name] or self.x
        for name in [*x_names, y_name]:
            if name not in self.columns:
                raise ParameterError(
                    f"Unknown column {name!r} in {self.name}; choose one of "
                    f"{', '.join(self.columns)}."
                )
        if y_name in x_names:
            raise ParameterError(f"Column {y_name!r} cannot be both a feature and the target.")
        X = np.column_stack([self.columns[c] for c in x_names])
        return X, self.columns[y_name], x_names, y_name


class TableStore:
    """Tables by id, safe to use from concurrent requests."""

    def __init__(self) -> None:
        self._tables: OrderedDict[str, Table] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, name: str, columns: dict[str, np.ndarray], x: list[str], y: str) -> Table:
        table = Table(uuid.uuid4().hex[:12], name, columns, x, y)
        with self._lock:
            self._tables[table.id] = table
            while len(self._tables) > MAX_TABLES:
                self._tables.popitem(last=False)
        return table

    def get(self, table_id: str) -> Table:
        with self._lock:
            table = self._tables.get(str(table_id))
        if table is None:
            raise ParameterError(
                "That data set is no longer loaded on the server (it keeps the last "
                f"{MAX_TABLES}); choose or upload it again."
            )
        return table

    def add_dataset(self, name: str) -> Table:
        """A built-in dataset, by name only."""
        from linearlab.data.datasets import list_datasets, load_dataset

        if name not in list_datasets():
            raise ParameterError(
                f"Unknown dataset {name!r}; choose one of {', '.join(list_datasets())}."
            )
        ds = load_dataset(name)
        X = np.asarray(ds.X, dtype=np.float64)
        columns = {n: X[:, j].copy() for j, n in enumerate(ds.feature_names)}
        columns[ds.target_name] = np.asarray(ds.y, dtype=np.float64).reshape(-1)
        return self.add(name, columns, list(ds.feature_names), ds.target_name)

    def add_arrays(self, name: str, X: np.ndarray, y: np.ndarray, feature_names: list[str],
                   target_name: str) -> Table:
        columns = {n: np.asarray(X[:, j], dtype=np.float64) for j, n in enumerate(feature_names)}
        columns[target_name] = np.asarray(y, dtype=np.float64).reshape(-1)
        return self.add(name, columns, list(feature_names), target_name)

    def add_csv(self, name: str, body: bytes) -> Table:
        """An uploaded CSV: its numeric columns; the last is the target, as on the command line."""
        if len(body) > MAX_UPLOAD_BYTES:
            raise DataError(too_large(len(body)))
        if not body.strip():
            raise DataError(f"The uploaded file {name!r} is empty; upload a CSV with a header "
                            "row and at least two numeric columns.")
        check_shape(name, body)
        import pyarrow as pa
        from pyarrow import csv

        try:
            table = csv.read_csv(io.BytesIO(body))
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"Could not read the uploaded file {name!r} as CSV: {exc}. Upload a "
                "comma-separated file with a header row."
            ) from None
        columns: dict[str, np.ndarray] = {}
        for field, column in zip(table.schema, table.columns, strict=True):
            if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)):
                continue
            if column.null_count:
                raise DataError(
                    f"Column {field.name!r} of {name!r} has {column.null_count} missing "
                    "value(s); fill or drop those rows and upload again."
                )
            values = column.to_numpy().astype(np.float64)
            if not np.all(np.isfinite(values)):
                raise DataError(f"Column {field.name!r} of {name!r} has non-finite values.")
            columns[str(field.name)] = values
        if len(columns) < 2 or table.num_rows < 2:
            raise DataError(
                f"The uploaded file {name!r} needs at least two numeric columns and two rows "
                f"(found {len(columns)} numeric column(s), {table.num_rows} row(s))."
            )
        names = list(columns)
        return self.add(name, columns, names[:-1], names[-1])


def check_shape(name: str, body: bytes) -> None:
    """Refuse an upload with too many columns or values before parsing it (an upper bound:
    every comma of the header and every line count)."""
    header = body.split(b"\n", 1)[0].split(b"\r", 1)[0]
    columns = header.count(b",") + 1
    rows = max(body.count(b"\n"), body.count(b"\r")) + 1  # any line ending
    if columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
        raise DataError(
            f"The uploaded file {name!r} has {columns} columns and about {rows} rows, over the "
            f"playground's limits of {MAX_COLUMNS} columns and {MAX_CELLS:,} values. Upload a "
            "sample or a few columns of it, or fit it from the command line "
            "(`linearlab fit DATA`)."
        )


def too_large(size: int) -> str:
    return (
        f"The upload is {size / 1e6:.1f} MB, over the playground's limit of "
        f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB. Fit a file this large from the command line "
        "(`linearlab fit DATA`), or upload a sample of it."
    )


def inline_points(points: dict) -> tuple[np.ndarray, np.ndarray]:
    """The page's own points ``{"x": [...], "y": [...]}`` (one feature) as arrays."""
    try:
        x = np.asarray(points.get("x", []), dtype=np.float64).reshape(-1)
        y = np.asarray(points.get("y", []), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError, AttributeError):
        raise ParameterError("points must be {'x': [numbers], 'y': [numbers]}.") from None
    if x.shape != y.shape:
        raise ParameterError(f"points has {x.size} x values and {y.size} y values.")
    if x.size > MAX_POINTS:
        raise ParameterError(f"At most {MAX_POINTS} points can be edited on the page.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ParameterError("points must be finite numbers.")
    return x.reshape(-1, 1), y


def table_payload(table: Table, x: list[str] | None = None, y: str | None = None) -> dict:
    """What the page draws: column names and choice, and the rows (an even sample if many)."""
    X, target, x_names, y_name = table.select(x, y)
    n = X.shape[0]
    rows = np.arange(n) if n <= MAX_DRAWN_ROWS else np.linspace(0, n - 1, MAX_DRAWN_ROWS)
    rows = rows.astype(int)
    return {
        "id": table.id,
        "name": table.name,
        "columns": list(table.columns),
        "x": x_names,
        "y": y_name,
        "rows": n,
        "X": X[rows].tolist(),
        "target": target[rows].tolist(),
        "sampled": bool(n > MAX_DRAWN_ROWS),
    }
