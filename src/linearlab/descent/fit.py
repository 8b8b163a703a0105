"""Gradient descent on in-memory arrays: the NumPy engine's side of the one shell.

:func:`fit_descent` hands the estimator's :class:`~.spec.DescentSpec` and an :class:`ArrayData`
(NumPy arrays, or a SciPy sparse CSR matrix whose batches stay sparse) to
:func:`linearlab.descent.shell.run`, the shell every gradient-descent fit shares: the torch
backend (:mod:`.torch.fit`), a file's blocks and Dask partitions (:mod:`.blocks`) are its other
data. The shell's pieces are re-exported here (``prepare``, ``finish``, ``hold_out``,
``DescentFit``, ...) for their existing importers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linearlab.data.validation import resolve_dtype
from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import penalty_factor
from linearlab.descent.loop import train
from linearlab.descent.losses import get_loss
from linearlab.descent.shell import finish, prepare, run, scaling, validation_loss
from linearlab.descent.spec import (
    EARLY_STOPPING_TOL,
    DescentFit,
    DescentSetup,
    DescentSpec,
    LazyGram,
    hold_out,
    initial_values,
)
from linearlab.exact.gram import Gram

__all__ = [
    "EARLY_STOPPING_TOL", "ArrayData", "DescentFit", "DescentSetup", "DescentSpec",
    "fit_descent", "finish", "hold_out", "initial_values", "prepare", "run", "scaling",
]

# Batches of at least this many rows estimate the steepest row from a sample of the rows: it
# moves their curvature estimate by (L_row - L)/B, so a slightly low maximum changes little.
SAMPLED_ROW_NORMS_BATCH = 256
ROW_NORM_SAMPLE = 65_536


def fit_descent(
    model: Any,
    X: np.ndarray,
    Y: np.ndarray,
    w: np.ndarray | None,
    *,
    warm_start: tuple[np.ndarray, np.ndarray] | None = None,
    partial: bool = False,
    feature_names: list[str] | None = None,
) -> DescentFit:
    """Train ``model``'s settings (a LinearRegression) on in-memory ``(X, Y)`` with the NumPy
    engine (``backend="torch"`` fits are :func:`linearlab.descent.torch.fit.fit_descent`).

    ``warm_start`` continues from given parameters; ``partial`` runs a single epoch.
    """
    spec = DescentSpec.of(model)
    data = ArrayData(X, Y, w, resolve_dtype(spec.dtype))
    return run(spec, data, warm_start=warm_start, partial=partial, feature_names=feature_names)


def _is_sparse(X) -> bool:
    return type(X).__module__.startswith("scipy.sparse")


class HostRows:
    """Rows held by the caller (``X``, ``Y`` of shape (n, k), weights ``w``): their sizes, the
    held-out split and the total weight, shared by the NumPy and torch data of the shell."""

    X: object
    Y: np.ndarray
    w: np.ndarray | None

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_targets(self) -> int:
        return self.Y.shape[1]

    def hold_out(self, spec: DescentSpec):
        self.X, self.Y, self.w, held = hold_out(spec, self.X, self.Y, self.w)
        return held

    def total_weight(self) -> float:
        return float(self.n_rows) if self.w is None else float(self.w.sum())


class ArrayData(HostRows):
    """In-memory rows for the shell: NumPy arrays, or a SciPy sparse CSR matrix (never
    densified; standardization is refused for it upstream)."""

    def __init__(self, X, Y: np.ndarray, w: np.ndarray | None, dtype):
        self.X, self.Y, self.w, self.dtype = X, Y, w, dtype
        self.sparse = _is_sparse(X)
        self.Xt = None  # the rows on the training scale, in the training dtype

    def gram(self, eager: bool):
        X, Y, w = self.X, self.Y, self.w
        if self.sparse:
            from linearlab.sparse.gram import gram_for

            def compute():  # wide X: one paragraph when something reads it (lr="auto", ...)
                return gram_for(X, Y, w, "gradient descent (its step size or diagnosis)")
        else:
            def compute():
                return Gram.from_arrays(X, Y, w)
        return compute() if eager else LazyGram(compute)

    def standardize(self, shift: np.ndarray, scale: np.ndarray) -> None:
        self.Xt = ((self.X - shift) / scale).astype(self.dtype, copy=False)

    def training_rows(self):
        """X on the training scale in the training dtype (no copy when it already is)."""
        if self.Xt is None:
            self.Xt = self.X.astype(self.dtype, copy=False)
        return self.Xt

    def max_row_norm2(self, spec: DescentSpec) -> float:
        Xt = self.training_rows()
        if self.sparse:
            from linearlab.sparse.gram import max_row_norm2

            return max_row_norm2(Xt, spec.fit_intercept)
        return _max_row_norm2(Xt, spec.fit_intercept, spec.batch_size)

    def validation(self, spec: DescentSpec, setup: DescentSetup, held):
        return validation_loss(spec, setup, *held)

    def train(self, spec: DescentSpec, setup: DescentSetup, batch_rng, validation):
        plan = BatchPlan(self.n_rows, spec.batch_size, spec.shuffle, batch_rng)
        Yt = self.Y.astype(self.dtype, copy=False)
        Wt = None if self.w is None else self.w.astype(self.dtype, copy=False)
        return train(self.training_rows(), Yt, Wt, setup.init, plan, setup.config,
                     engine=spec.engine, validation=validation)

    def objective(self, spec: DescentSpec, setup: DescentSetup):
        """The trained objective on every row (float64, training scale; a float64 copy of
        float32 rows is made only when the diagnosis is read)."""
        Xt, Y, w = self.training_rows(), self.Y, self.w
        loss_fn = get_loss(spec.loss)
        factor = penalty_factor(setup.config, Y.shape[1], self.total_weight())

        def objective(W, b):
            value = loss_fn.value(Xt.astype(np.float64, copy=False) @ W + b - Y, w)
            return value + factor * float((W * W).sum())

        return objective

    def exact_rows(self, spec: DescentSpec):
        if self.sparse:  # refinement reads dense rows: the Gram suffices
            return None
        Xt, Y, w = self.training_rows(), self.Y, self.w
        return lambda: (Xt.astype(np.float64, copy=False), Y, w)  # when the diagnosis is read


def _max_row_norm2(X: np.ndarray, fit_intercept: bool, batch_size: int | None = None) -> float:
    """max‖[x, 1]‖² over the rows: the steepest curvature a single-row step can meet.

    Exact for small batches; from an evenly spaced sample of the rows for batches of
    :data:`SAMPLED_ROW_NORMS_BATCH` rows or more (one pass over a large X saved).
    """
    if batch_size and batch_size >= SAMPLED_ROW_NORMS_BATCH and len(X) > ROW_NORM_SAMPLE:
        X = X[:: len(X) // ROW_NORM_SAMPLE]
    norms = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    return float(norms.max()) + (1.0 if fit_intercept else 0.0)
