"""The one way a *source* becomes a fitted model: :func:`fit_source`.

A source is a table the library reads itself — a file (CSV/TSV, Parquet, LIBSVM/svmlight) or a
built-in dataset (:class:`~linearlab.data.sources.Source`) — or files read by a Dask cluster's
workers (:class:`~linearlab.distributed.cluster.ClusterSource`). Every fit of the command line
goes through :func:`fit_source`, whatever the estimator (``LinearRegression`` exact or gradient
descent, ridge, ``Lasso``/``ElasticNet`` and their cross-validated forms, ``RidgeCV``) and
whatever the columns (numbers, text, missing values, weights, a formula). It chooses:

- **how the source is read**: whole (a table that fits in memory: one block), in blocks (a
  larger file, or ``stream=True``; memory bounded by one block), as a sparse matrix (svmlight),
  or as Dask partitions where the workers are;
- **how the estimator consumes it**: ``fit`` on the arrays or the frame; the Gram statistics
  of one pass (exact and ridge solvers through their equivalent design, ``fit_gram`` and the
  cross-validation folds of the penalized estimators); or the blocks themselves (gradient
  descent's epochs, residual passes that refine the normal equations).

The steps live beside it, one per kind of columns (private to this package):

=====================================  =====================================================
numbers, ``LinearRegression``          :mod:`linearlab.pipeline.streaming`
numbers, penalized estimators          :mod:`linearlab.pipeline.penalized`
text, missing, weights, a formula      :mod:`linearlab.pipeline.table_fit` (any estimator)
LIBSVM/svmlight (sparse rows)          :func:`_fit_sparse` below
Dask partitions                        :mod:`linearlab.pipeline.cluster_fit`
=====================================  =====================================================
"""

from __future__ import annotations

import warnings

from linearlab.data.sources import Source
from linearlab.models.linear import LinearModel
from linearlab.pipeline.streaming import FitOutcome, Progress, should_stream

__all__ = ["FitOutcome", "fit_source", "reads_in_chunks"]


def _on_cluster(source) -> bool:
    return hasattr(source, "paths") and not isinstance(source, Source)


def _takes_design(model, source, features, formula, weight) -> bool:
    """Whether the fit takes the design step (a formula, text columns, dropped rows,
    weights) rather than the plain float path."""
    if formula is not None:
        return True
    from linearlab.pipeline.table_fit import needs_design

    return needs_design(source, features, getattr(model, "missing", "error"), weight)


def reads_in_chunks(model, source, features: list[str] | None = None,
                    targets: list[str] | None = None, *, weight: str | None = None,
                    formula: str | None = None, stream: bool = False) -> bool:
    """Whether :func:`fit_source` reads ``source`` block by block (``stream``, or a table too
    large to read whole; Dask partitions always) rather than whole, for these arguments.

    Solvers that factor the whole matrix (QR, SVD, LSQR) need it whole: the command line asks
    this before fitting, to refuse them in one paragraph."""
    if _on_cluster(source):
        return True
    if source.format == "svmlight":
        return False
    if _takes_design(model, source, features, formula, weight):  # every column is read
        return stream or should_stream(source, len(source.columns))
    return should_stream(source, len(features) + len(targets), stream)


def fit_source(model, source, features: list[str] | None = None,
               targets: list[str] | None = None, *, weight: str | None = None,
               formula: str | None = None, context: dict | None = None, stream: bool = False,
               progress: Progress | None = None) -> FitOutcome:
    """Fit ``model`` on ``source`` — the one entry from a source to a fitted model.

    Parameters
    ----------
    model : LinearModel or a penalized estimator
        Its parameters (``solver``, ``missing``, ``alpha``...) say how it is fitted; with a
        ``formula`` a new estimator of the same type and parameters is built from it.
    source : Source or ClusterSource
        A file or dataset (:func:`linearlab.data.sources.open_source`), an svmlight file
        (its columns are filled in from the file), or Dask files
        (:func:`linearlab.distributed.cluster.open_files`, inside
        :func:`~linearlab.distributed.cluster.connect`).
    features, targets : list of str, optional
        The columns; not given with a ``formula`` or for an svmlight file.
    weight : str, optional
        A column of row weights.
    formula : str, optional
        A formula naming the target and the terms (``context``: the names its terms may use).
    stream : bool
        Read the file in blocks even when it fits in memory.
    progress : callable(task, done, total), optional
        Told how far each pass over a file has come.

    Returns
    -------
    FitOutcome
        The fitted model (also its ``metrics`` and the design's names), the features and
        targets as the report names them, the training metrics, whether the source was read
        in chunks, the row count and linearlab's own warnings of the fit.
    """
    if _on_cluster(source):
        from linearlab.pipeline.cluster_fit import fit_partitions

        return fit_partitions(model, source, features, targets, formula=formula)
    if source.format == "svmlight":
        return _fit_sparse(model, source)
    if _takes_design(model, source, features, formula, weight):
        from linearlab.pipeline import table_fit

        chunks = stream or should_stream(source, len(source.columns))
        return table_fit.fit_source(model, source, features, targets, weight=weight,
                                    formula=formula, context=context, stream=chunks,
                                    progress=progress)
    if not isinstance(model, LinearModel):  # Lasso, ElasticNet, their CV, RidgeCV
        from linearlab.pipeline import penalized

        return penalized.fit_source(model, source, features, targets, stream=stream,
                                    progress=progress)
    from linearlab.pipeline import streaming

    return streaming.fit_source(model, source, features, targets, stream=stream,
                                progress=progress)


def _fit_sparse(model, source: Source) -> FitOutcome:
    """A LIBSVM/svmlight file, read whole as a sparse matrix (never densified) and handed to
    ``fit``; its columns are ``x1, x2, ...`` and its label ``y``."""
    from linearlab.data import svmlight

    data = svmlight.read(source.path)
    source.columns = [*data.features, data.target]
    with warnings.catch_warnings(record=True) as seen:  # reported with the fit, not raw
        warnings.simplefilter("always")
        model.fit(data.X, data.y, **({"feature_names": data.features}  # x1.. in the file
                                     if isinstance(model, LinearModel) else {}))
    return FitOutcome(model, data.features, [data.target], svmlight.metrics(model, data.X, data.y),
                      streamed=False, rows=len(data.y), warnings=[
                          str(w.message) for w in seen
                          if w.category.__module__ == "linearlab.errors"])
