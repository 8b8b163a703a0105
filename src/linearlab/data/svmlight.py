"""LIBSVM/svmlight files (``.svm``, ``.svmlight``, ``.libsvm``, optionally ``.gz``/``.bz2``).

Each line is ``label index:value index:value ...`` (a ``#`` starts a comment); the features
are a sparse matrix, read by scikit-learn's ``load_svmlight_file`` and never made dense. The
columns are named ``x1``, ``x2``, ... by their position (the file's indices when they are
one-based, as LIBSVM writes them), the target ``y``.

A line scikit-learn cannot parse is located and named (:func:`bad_line`), as are stored NaN or
inf values; a file with more features than a model was fitted with is refused in one paragraph.
"""

from __future__ import annotations

import bz2
import gzip
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from linearlab.errors import DataError, DataFileError

SUFFIXES = (".svm", ".svmlight", ".libsvm")
_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open}


def is_svmlight(path: Any) -> bool:
    """Whether ``path`` names a LIBSVM/svmlight file (by its suffix, compressed or not)."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    stem, ext = os.path.splitext(os.fspath(path).lower())
    if ext in _COMPRESSED:
        ext = os.path.splitext(stem)[1]
    return ext in SUFFIXES


@dataclass
class SvmlightData:
    """A file's rows: sparse ``X`` (CSR), ``y``, the column names and the target's name."""

    X: Any
    y: np.ndarray
    features: list[str]
    target: str
    name: str


def _open_text(path: str):
    opener = _COMPRESSED.get(os.path.splitext(path.lower())[1])
    return opener(path, "rt", errors="replace") if opener else open(path, errors="replace")


def _check_pair(token: str, previous: int) -> tuple[int, str | None]:
    """The index of ``index:value``, or a description of what is wrong with it."""
    index, sep, value = token.partition(":")
    if not sep:
        return previous, f"{token[:40]!r} is not an index:value pair"
    try:
        j = int(index)
    except ValueError:
        return previous, f"the index in {token[:40]!r} is not an integer"
    try:
        float(value)
    except ValueError:
        return previous, f"the value in {token[:40]!r} is not a number"
    if j < 0:
        return previous, f"the index in {token[:40]!r} is negative"
    if j <= previous:
        return previous, f"the index in {token[:40]!r} does not increase (indices must be " \
                         "sorted and unique)"
    return j, None


def bad_line(path: str) -> tuple[int, str] | None:
    """``(line number, what is wrong)`` for the first line that is not ``label index:value...``
    (1-based, as editors count), or None when every line parses."""
    with _open_text(path) as f:
        for number, raw in enumerate(f, start=1):
            tokens = raw.split("#", 1)[0].split()
            if not tokens:
                continue
            try:
                float(tokens[0])
            except ValueError:
                return number, f"its label {tokens[0][:40]!r} is not a number"
            previous = -1
            for token in tokens[1:]:
                if token.startswith("qid:"):
                    continue
                previous, problem = _check_pair(token, previous)
                if problem:
                    return number, problem
    return None


def _line_of_row(path: str, row: int) -> int:
    """The file line (1-based) holding data row ``row`` (0-based; comments and blanks skipped)."""
    seen = -1
    with _open_text(path) as f:
        for number, raw in enumerate(f, start=1):
            if raw.split("#", 1)[0].split():
                seen += 1
                if seen == row:
                    return number
    return row + 1


def read(path: str, n_features: int | None = None) -> SvmlightData:
    """Read a LIBSVM/svmlight file with scikit-learn's reader; errors name the file and line.

    ``n_features`` (a fitted model's) fixes the number of columns: a file with fewer gets the
    missing ones as zeros, a file with more is refused.
    """
    from sklearn.datasets import load_svmlight_file

    from linearlab.data.probe import check_regular

    check_regular(path)
    name = os.path.basename(path)
    try:
        X, y = load_svmlight_file(path, n_features=n_features, dtype=np.float64)
    except ValueError as exc:
        if n_features is not None and "n_features was set" in str(exc):
            raise DataError(
                f"{name!r} has more feature columns than the {n_features} the model was fitted "
                "with (its largest index is beyond them). Predict on rows with the training "
                "file's features, or refit on this file."
            ) from None
        where = bad_line(path)
        if where is None:
            raise DataFileError(f"{name!r} is not a valid LIBSVM/svmlight file: {exc}. Each "
                                "line must be 'label index:value ...'.", path=path) from None
        raise DataFileError(
            f"{name!r}, line {where[0]}: {where[1]}. Each line of a LIBSVM/svmlight file is "
            "'label index:value index:value ...' with increasing integer indices; fix or "
            "delete that line.", path=path,
        ) from None
    if X.shape[0] == 0:
        raise DataFileError(f"{name!r} has no data lines.", path=path)
    _check_finite(path, name, X, y)
    features = [f"x{j + 1}" for j in range(X.shape[1])]
    return SvmlightData(X.tocsr(), np.asarray(y, dtype=np.float64), features, "y", name)


def _check_finite(path: str, name: str, X, y: np.ndarray) -> None:
    bad_y = ~np.isfinite(y)
    bad_x = ~np.isfinite(X.data)
    if not (bad_y.any() or bad_x.any()):
        return
    if bad_y.any():
        row, what = int(np.argmax(bad_y)), f"the label is {y[np.argmax(bad_y)]}"
    else:
        pos = int(np.argmax(bad_x))
        row = int(np.searchsorted(X.indptr, pos, side="right") - 1)
        what = f"feature x{X.indices[pos] + 1} is {X.data[pos]}"
    raise DataFileError(
        f"{name!r}, line {_line_of_row(path, row)}: {what}. Values must be finite numbers; "
        "fix or delete that line.", path=path,
    )


#: Command-line options that read a table's columns or rows, with what to do instead.
_TABLE_OPTIONS = (
    ("features", "-x/--features", "the columns are the file's feature indices (x1, x2, ...)"),
    ("target", "-y/--target", "the target is each line's label"),
    ("formula", "--formula", "a formula names table columns"),
    ("missing", "--missing drop", "a LIBSVM file has no missing values"),
    ("stream", "--stream", "the file is read whole, as a sparse matrix"),
    ("init", "--init", "give the start in Python: LinearRegression(init=(coef, b))"),
    ("scheduler", "--scheduler", "Dask fits read tables"),
    ("workers", "--workers", "Dask fits read tables"),
    ("weights", "--weights", "a LIBSVM file has no weight column; fit in Python with "
     "sample_weight="),
)


def check_options(args: Any) -> None:
    """Refuse, in one paragraph, a ``fit`` option that does not apply to an svmlight file."""
    from linearlab.errors import UsageError

    for attr, flag, why in _TABLE_OPTIONS:
        value = getattr(args, attr, None)
        if value not in (None, False, "error"):
            raise UsageError(f"{flag} does not apply to the LIBSVM/svmlight file "
                             f"{os.path.basename(args.data)!r}: {why}. Drop it.")


def metrics(model: Any, X, y: np.ndarray) -> dict:
    """Rows, R², RMSE and MAE of ``model`` on the file's rows (what ``fit`` reports)."""
    pred = np.asarray(model.predict(X), dtype=np.float64).reshape(y.shape)
    resid = y - pred
    sst = float(((y - y.mean()) ** 2).sum())
    sse = float(resid @ resid)
    r2 = 1.0 - sse / sst if sst > 0 else (1.0 if sse == 0 else -math.inf)
    return {"rows": int(y.shape[0]), "r2": r2, "rmse": math.sqrt(sse / y.shape[0]),
            "mae": float(np.abs(resid).mean())}


def source(path: str, features: list[str]):
    """A :class:`~linearlab.data.reading.Source` for the file, with a model's feature names
    (the file is read when its predictions are, by :func:`prediction_batches`)."""
    from linearlab.data.reading import Source

    return Source(os.path.basename(path), "svmlight", path=path, columns=[*features, "y"])


def prediction_batches(model: Any, path: str, names: list[str]):
    """One record batch: the file's label ``y``, then the prediction column(s) ``names``."""
    import pyarrow as pa

    data = read(path, n_features=model.n_features_in_)
    pred = np.asarray(model.predict(data.X), dtype=np.float64).reshape(data.X.shape[0], -1)
    arrays = [pa.array(data.y), *(pa.array(pred[:, j]) for j in range(pred.shape[1]))]
    yield pa.RecordBatch.from_arrays(arrays, names=[data.target, *names])
