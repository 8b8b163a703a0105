"""The step of :func:`linearlab.pipeline.fit_source` for Dask partitions: files read by a
cluster's workers (:class:`~linearlab.distributed.cluster.ClusterSource`, one partition per
file), fitted where they live by :mod:`linearlab.distributed` (statistics merged by a tree
reduction, or gradient descent over the partitions). Call it inside
:func:`~linearlab.distributed.cluster.connect`.

- **Numbers**: the columns are read as float64 (a value that is not a finite number names its
  file and line); the training metrics come from one more pass.
- **``missing="drop"``**: the same, missing cells read as NaN (anything else that is not a
  number is still an error); the design step drops the rows that have one, and the metrics pass
  reads the complete rows.
- **A formula**: every column read as written (text stays text), then the estimator's
  ``from_formula`` on the Dask frame (:mod:`linearlab.distributed.design`); R² and RMSE from the
  fit's statistics (the response may be a transform of a column: MAE is not reported).

``LinearRegression`` and the penalized estimators alike (``Lasso``... ``RidgeCV``: coordinate
descent on the partitions' Gram statistics, :mod:`linearlab.penalized.dask`).
"""

from __future__ import annotations

import warnings

import numpy as np

from linearlab.distributed.cluster import ClusterSource, checked_numbers, read_file, read_table
from linearlab.errors import ColumnError
from linearlab.exact.gram import Gram
from linearlab.pipeline.streaming import FitOutcome, metrics_from_sums


def _metrics_leaf(X, Y, w, coef, intercept):
    resid = Y - (X @ coef + intercept)
    return Gram.from_arrays(resid, Y), np.abs(resid).sum(axis=0)


def _merge_metrics(parts):
    grams = [g for g, _ in parts]
    merged = grams[0]
    for g in grams[1:]:
        merged = merged.merge(g)
    return merged, sum(s for _, s in parts)


def _solution(model, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(coef (d, k), intercept (k,))`` of a fitted ``LinearRegression`` or penalized model."""
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(k, -1).T
    return coef, np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))


def partition_metrics(model, X, y) -> dict:
    """R², RMSE and MAE of the fitted model on the cluster data (one more pass)."""
    from linearlab.distributed.blocks import partitions
    from linearlab.distributed.reduce import map_combine

    coef, intercept = _solution(model, 1 if y.ndim == 1 else len(y.columns))
    gram, sae = map_combine(partitions(X, y), _metrics_leaf, _merge_metrics, coef, intercept,
                            name="metrics")
    sse = np.diag(gram.sxx) + gram.weight_sum * gram.mean_x**2
    return metrics_from_sums(gram.count, sse, np.diag(gram.syy).copy(), sae)


def _read_raw(path: str, kind: str, columns: list[str] | None):
    """One file's ``columns`` (all when None) as written (runs on a worker)."""
    try:
        return read_file(path, kind, columns)
    except ValueError as exc:  # usecols naming a column the file lacks
        raise ColumnError(f"{path!r}: {exc}. Every file must have the same columns.") from None


def _read_with_gaps(path: str, kind: str, columns: list[str]):
    """One file's ``columns`` as float64, missing cells as NaN; a value that is not a finite
    number names its file, line (CSV) or row, and column (runs on a worker)."""
    import pandas as pd

    frame = _read_raw(path, kind, columns)
    return pd.DataFrame(checked_numbers(frame, path, kind, columns, missing_ok=True),
                        index=frame.index)


def _frame(source: ClusterSource, reader, columns: list[str] | None):
    """A Dask DataFrame of the files, one partition per file, read by ``reader``."""
    import dask.dataframe as dd
    import pandas as pd

    if reader is _read_raw:  # the first file's head gives the types (text stays text)
        meta = read_file(source.paths[0], source.format, columns, nrows=100).iloc[:0]
    else:
        meta = pd.DataFrame({c: np.empty(0) for c in columns})
    return dd.from_map(reader, source.paths, kind=source.format, columns=columns, meta=meta,
                       enforce_metadata=False, label="linearlab-read")


def fit_partitions(model, source: ClusterSource, features: list[str] | None,
                   targets: list[str] | None, formula: str | None = None) -> FitOutcome:
    """Fit ``model`` on the cluster's files: numeric ``features``/``targets`` (with
    ``model.missing == "drop"``, rows missing a value are dropped), or a ``formula``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if formula is not None:
            params = model.get_params()
            params.pop("fit_intercept", None)
            model = type(model).from_formula(formula, _frame(source, _read_raw, None), **params)
            design, gram = model.design_, _fitted_state(model).gram
            features, targets = list(design.names), list(design.target_names)
            coef, intercept = _solution(model, len(targets))
            rss = gram.residual_sum_of_squares(coef, intercept)
            metrics = metrics_from_sums(gram.weight_sum, rss, np.diag(gram.syy).copy(), None)
        else:
            drop = getattr(model, "missing", "error") == "drop"
            table = (_frame(source, _read_with_gaps, features + targets) if drop
                     else read_table(source, features + targets))
            y = table[targets[0]] if len(targets) == 1 else table[targets]
            model.fit(table[features], y)
            kept = table.dropna() if drop else table  # the rows the fit used
            metrics = partition_metrics(model, kept[features],
                                        kept[targets[0]] if len(targets) == 1 else kept[targets])
    notes = [str(w.message) for w in caught if w.category.__module__.startswith("linearlab")]
    return FitOutcome(model, features, targets, metrics, streamed=True,
                      rows=int(_fitted_state(model).gram.count), warnings=notes)


def _fitted_state(model):
    """``LinearRegression``'s ``fitted_state_`` or a penalized model's ``fitted_state()``."""
    state = getattr(model, "fitted_state", None)
    return state() if callable(state) else model.fitted_state_
