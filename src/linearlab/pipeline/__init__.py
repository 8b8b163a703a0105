"""Fitting over a source (arrays, file blocks, Dask partitions) and predicting or evaluating
over one. :func:`fit_source` is the one entry from a source to a fitted model (see
:mod:`linearlab.pipeline.source_fit`); the other modules are its steps."""

from linearlab.pipeline.source_fit import FitOutcome, fit_source, reads_in_chunks

__all__ = ["FitOutcome", "fit_source", "reads_in_chunks"]
