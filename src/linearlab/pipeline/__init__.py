"""Fitting over a source (arrays, file blocks) and predicting or evaluating over one."""
