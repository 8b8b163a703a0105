"""The sparse steps of :class:`~linearlab.LinearRegression` (X is a scipy.sparse matrix).

The estimator keeps its one ``fit``: :func:`sparse_input` stands in for the validation step and
:func:`solve` for the exact solve, and the fitted state is built as for dense data.

- ``solver="auto"`` / ``"normal"``: the sparse Gram while d ≤ :data:`GRAM_MAX_FEATURES`
  (:mod:`.gram`), then the usual small solve; ``summary()`` has its statistics.
- ``solver="lsqr"``, or ``"auto"`` on wider X: SciPy's LSQR with implicit centring (:mod:`.lsqr`).
- ``solver="gd"``: the descent loop on sparse mini-batches (X_bᵀg is a sparse product).
- ``"qr"``, ``"svd"``, ``backend="torch"`` and ``standardize=True`` would densify X: refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from linearlab.errors import UsageError
from linearlab.exact import solvers as exact
from linearlab.sparse import GRAM_MAX_FEATURES, is_sparse
from linearlab.sparse.checks import refuse_option, sparse_inputs
from linearlab.sparse.gram import sparse_gram
from linearlab.sparse.lsqr import DEFAULT_TOL, solve_lsqr


@dataclass
class SparseInput:
    """What the validation step hands on besides the arrays (as ``design.table.Prepared``)."""

    y: Any
    design: Any = None
    n_dropped: int = 0


def _refuse_dense_only(model: Any, d: int) -> None:
    name = type(model).__name__
    if model.solver in ("qr", "svd"):
        refuse_option(name, f"solver={model.solver!r}",
                      "the QR and SVD solvers factor the dense (centred) design",
                      "Use solver='auto' (the sparse Gram, or LSQR for wide X) or solver='lsqr'.")
    if model.backend == "torch":
        refuse_option(name, "backend='torch'", "the torch backend moves X to a dense tensor",
                      "Use backend='numpy' (the default).")
    if model.solver == "gd" and model.standardize:
        refuse_option(name, "standardize=True", "standardizing centres X, which makes it dense",
                      "Scale the columns yourself (e.g. MaxAbsScaler keeps X sparse).")
    if model.solver == "gd" and d > GRAM_MAX_FEATURES and (
            model.lr == "auto" or model.optimizer == "adam"):
        refuse_option(name, "solver='gd', lr='auto'", f"X has {d} columns, more than the "
                      f"{GRAM_MAX_FEATURES} whose d×d statistics the automatic step size needs",
                      "Give the step (lr=0.01, ...): descent then never forms them (its "
                      "diagnosis_ says why it cannot be computed), or use solver='lsqr'.")


def uses_lsqr(model: Any, d: int) -> bool:
    """Whether a fit of ``model`` on ``d`` sparse columns runs LSQR (else the Gram, or GD)."""
    return model.solver == "lsqr" or (model.solver == "auto" and d > GRAM_MAX_FEATURES)


def sparse_input(model: Any, X: Any, y: Any, sample_weight: Any, reset: bool = True,
                 partial: bool = False):
    """The validation step for sparse ``X``: ``(X as CSR, y, w, SparseInput)``.

    Options that would densify X are refused first (one paragraph each), and so is
    ``partial_fit`` where a chunk's d×d statistics are too large.
    """
    _refuse_dense_only(model, X.shape[1])
    if partial and model.solver != "gd" and uses_lsqr(model, X.shape[1]):
        raise UsageError(
            f"partial_fit on sparse X with {X.shape[1]} columns would need the d×d statistics "
            f"of each chunk (more than {GRAM_MAX_FEATURES} columns, or solver='lsqr'). Fit all "
            "rows at once with fit(), or use solver='gd' on fewer columns."
        )
    M, ya, w = sparse_inputs(model, X, y, sample_weight, reset=reset)
    return M, ya, w, SparseInput(y)


def solve(model: Any, X: Any, Y: np.ndarray, w: np.ndarray | None):
    """The exact solve of ``model`` on sparse (or, with ``solver="lsqr"``, dense) ``X``:
    ``(solution, gram)``, the Gram None after LSQR (it forms no d×d statistics)."""
    if model.solver == "lsqr" or (is_sparse(X) and uses_lsqr(model, X.shape[1])):
        tol = DEFAULT_TOL if model.tol is None else float(model.tol)
        solution, _ = solve_lsqr(X, Y, w, alpha=model.alpha, fit_intercept=model.fit_intercept,
                                 tol=tol)
        return solution, None
    gram = sparse_gram(X, Y, w)
    if model.solver == "normal":
        solution = exact.solve_normal(gram, alpha=model.alpha, fit_intercept=model.fit_intercept)
    else:
        solution = exact.solve_auto(None, None, alpha=model.alpha,
                                    fit_intercept=model.fit_intercept, gram=gram)
    solution.raw_condition_number = exact.raw_condition_number(gram, model.fit_intercept)
    return solution, gram


def check_summary(model: Any, X: Any = None) -> None:
    """Raise :class:`UsageError` when a sparse fit kept no d×d statistics for ``summary()``, or
    when sparse training rows are passed for a robust covariance."""
    if is_sparse(X):
        refuse_option("summary", "X=<sparse>", "robust covariances read every row's residual "
                      "and leverage from a dense design",
                      "Use summary() without X (nonrobust statistics from the Gram).")
    state = getattr(model, "fitted_state_", None)
    if state is not None and state.gram is None and state.training.solver == "lsqr":
        raise UsageError(
            f"summary() needs the d×d covariance of the {state.coef.shape[0]} coefficients, "
            f"which this model fitted by LSQR did not form (sparse X of more than "
            f"{GRAM_MAX_FEATURES} columns, or solver='lsqr'): standard errors, t and p values "
            "are not available. Its predictions and score() are; for statistics, fit with "
            "solver='auto' (on at most that many columns when X is sparse)."
        )
