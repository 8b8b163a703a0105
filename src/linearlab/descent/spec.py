"""What the one gradient-descent shell (:mod:`.shell`) takes and gives.

:class:`DescentSpec` is what to train (the estimator's settings, read once); a
:class:`DescentData` is how to reach the rows (arrays, device tensors, a file's blocks, Dask
partitions); :class:`DescentSetup` is the prepared start; :class:`DescentFit` the outcome, whose
diagnosis and optimum are computed when first read. :class:`LazyGram` defers the Gram pass of a
fit whose training does not need it. The early-stopping split (:func:`held_out_rows`) lives
here so every path holds out the same rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np

from linearlab.descent.batches import initial_parameters
from linearlab.descent.config import DescentConfig, DescentResult
from linearlab.descent.diagnosis import Diagnosis
from linearlab.descent.record import TrainingRecord
from linearlab.errors import DataError
from linearlab.exact.gram import Gram

# tol of early stopping when the model's tol is None (scikit-learn's SGDRegressor uses 1e-3)
EARLY_STOPPING_TOL = 1e-4
# Below this many multiply-adds (rows x features²) the Gram pass is cheap enough to make at the
# end of a fit whose training did not need it, so that fit can warn at once when it stopped short.
CHEAP_GRAM_WORK = 2e7


@dataclass
class DescentSpec:
    """What one gradient-descent fit trains: the estimator's settings, read once.

    The field names are :class:`~linearlab.LinearRegression`'s parameters (see its docstring),
    their values read from the estimator by :meth:`of` (its defaults are the only ones);
    ``progress`` None shows a progress bar on a terminal, False never does.
    """

    loss: str
    optimizer: str
    lr: float | str
    epochs: int
    batch_size: int | None
    shuffle: bool
    tol: float | None
    init: Any
    standardize: bool
    dtype: str
    device: str
    random_state: Any
    log_every: int
    engine: str
    callback: Any
    lr_schedule: str
    average: Any
    early_stopping: bool
    validation_fraction: float
    n_iter_no_change: int
    alpha: float
    fit_intercept: bool
    progress: bool | None = None

    @classmethod
    def of(cls, estimator: Any, **changes: Any) -> DescentSpec:
        """The spec of ``estimator``'s parameters (the one place they are read), with
        ``changes``."""
        values = {f.name: getattr(estimator, f.name) for f in fields(cls) if f.name != "progress"}
        return cls(**{**values, **changes})

    @property
    def needs_statistics(self) -> bool:
        """Whether training itself reads the Gram statistics (scaling or the automatic step)."""
        return self.standardize or self.lr == "auto"


class LazyGram:
    """Gram statistics computed on first use (then kept); otherwise a :class:`Gram`.

    Attribute reads go to the computed statistics; pickling or copying stores them as a plain
    :class:`Gram`, so the training data this holds are never saved with a model.
    """

    def __init__(self, compute: Callable[[], Gram]):
        self._compute: Callable[[], Gram] | None = compute
        self._gram: Gram | None = None

    @property
    def computed(self) -> bool:
        """Whether the statistics exist yet."""
        return self._gram is not None

    @property
    def value(self) -> Gram:
        """The statistics (computed now if needed; the data are then let go)."""
        if self._gram is None:
            self._gram, self._compute = self._compute(), None
        return self._gram

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_compute", "_gram"):
            raise AttributeError(name)
        return getattr(self.value, name)

    def __reduce__(self):
        return _plain, (self.value,)


def _plain(gram: Gram) -> Gram:
    return gram


def statistics(gram: Gram | LazyGram) -> Gram:
    """A plain :class:`Gram` (computing a lazy one)."""
    return gram.value if isinstance(gram, LazyGram) else gram


def is_pending(gram: Gram | LazyGram | None) -> bool:
    """Whether ``gram`` is lazy and not computed yet."""
    return isinstance(gram, LazyGram) and not gram.computed


class DescentData(Protocol):
    """How the shell reaches the rows. ``n_rows``, ``n_features``, ``n_targets``, ``dtype``
    describe the training rows (after :meth:`hold_out`)."""

    n_rows: int
    n_features: int
    n_targets: int
    dtype: Any

    def hold_out(self, spec: DescentSpec) -> Any:
        """Keep only the training rows; return the held-out rows (for :meth:`validation`)."""

    def gram(self, eager: bool) -> Gram | LazyGram:
        """Statistics of the training rows (a :class:`LazyGram` allowed when not ``eager``)."""

    def total_weight(self) -> float:
        """Σw over the training rows (their count without weights)."""

    def standardize(self, shift: np.ndarray, scale: np.ndarray) -> None:
        """Put the training rows on the training scale, (X - shift) / scale."""

    def max_row_norm2(self, spec: DescentSpec) -> float:
        """max‖[x, 1]‖² over the training rows on the training scale."""

    def validation(self, spec: DescentSpec, setup: DescentSetup, held: Any) -> Callable:
        """The loss on the held-out rows as a function of (W, b) on the training scale."""

    def train(self, spec: DescentSpec, setup: DescentSetup, batch_rng: np.random.Generator,
              validation: Callable | None) -> DescentResult:
        """Run the epochs (the batch plan drawn from ``batch_rng``)."""

    def objective(self, spec: DescentSpec, setup: DescentSetup) -> Callable | None:
        """The trained objective at (W, b) on the training scale; None: from the Gram."""

    def exact_rows(self, spec: DescentSpec) -> tuple | None:
        """(X, Y, w) on the training scale for refining the exact optimum, or None."""


@dataclass
class DescentSetup:
    """The shared setup of one gradient-descent fit (training scale = standardized)."""

    shift: np.ndarray  # (d,) subtracted from X ...
    scale: np.ndarray  # ... then divided by this
    train_gram: Gram | LazyGram  # statistics on the training scale
    init: tuple[np.ndarray, np.ndarray]
    lr: float
    config: DescentConfig
    suggest_lr: Callable[[], float] = field(repr=False, default=lambda: None)

    @property
    def auto_lr(self) -> float:
        """The automatic step size (computed on first read when ``lr`` was given)."""
        return self.suggest_lr()


@dataclass
class DescentFit:
    """What one gradient-descent fit produced, on the original feature scale.

    ``diagnosis`` and ``optimum`` are computed when first read; ``ready`` says whether that
    costs no pass over the rows (the statistics exist, or the loss needs none).
    """

    coef: np.ndarray  # (d, k)
    intercept: np.ndarray  # (k,)
    gram: Gram | LazyGram
    learning_rate: float
    history: list[float]
    params_history: np.ndarray | None
    n_iter: int
    diagnose: Callable[[], tuple[Diagnosis, Any]] = field(repr=False)
    ready: bool = True
    stopped_by: str | None = None  # e.g. "interrupted" (see DescentResult)
    history_stride: int = 1  # history and path keep every history_stride-th epoch

    @functools.cached_property
    def _diagnosed(self) -> tuple[Diagnosis, Any]:
        outcome = self.diagnose()
        self.diagnose = None  # let go of what it needed (rows, device tensors)
        return outcome

    @property
    def diagnosis(self) -> Diagnosis:
        """Converged or not, and why (computed on first read)."""
        return self._diagnosed[0]

    @property
    def optimum(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The exact optimum of the trained objective on the original scale (squared losses)."""
        return self._diagnosed[1]

    def record(self) -> TrainingRecord:
        """The training record the fitted state keeps (its diagnosis settled on first read)."""

        def settle():
            diagnosis, optimum = self._diagnosed
            return diagnosis.converged, diagnosis.message, optimum

        return TrainingRecord(
            solver="gd", n_iter=self.n_iter, learning_rate=self.learning_rate,
            history=self.history, params_history=self.params_history, pending=settle,
            stopped_by=self.stopped_by, history_stride=self.history_stride,
            interrupted=self.stopped_by == "interrupted",
        )


# --------------------------------------------------------------------------- hold-out
def held_out_rows(n: int, spec: Any) -> np.ndarray:
    """Sorted indices of the rows early stopping holds out (seeded by ``random_state``): the
    same rows whatever the path (arrays, tensors, a file's blocks, Dask partitions)."""
    n_val = int(np.ceil(spec.validation_fraction * n))
    if n_val < 1 or n - n_val < 2:
        raise DataError(
            f"early_stopping holds out validation_fraction={spec.validation_fraction} of "
            f"{n} rows, which leaves {n - n_val} for training and {n_val} for validation; "
            "use more rows, another validation_fraction, or early_stopping=False."
        )
    seed = np.random.SeedSequence(_seed_of(spec.random_state)).spawn(3)[2]
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n_val])


def hold_out(spec: Any, X, Y, w):
    """Split off ``validation_fraction`` of the rows for early stopping (seeded).

    Parameters
    ----------
    spec : DescentSpec or LinearRegression
        Its ``validation_fraction`` and ``random_state`` choose the rows.
    X, Y : ndarray of shape (n_samples, n_features) and (n_samples, n_targets)
    w : ndarray of shape (n_samples,) or None

    Returns
    -------
    X, Y, w : the training rows
    validation : tuple (X, Y, w) of the held-out rows
    """
    n = X.shape[0]
    val = held_out_rows(n, spec)
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    train_rows = np.flatnonzero(mask)
    wv = None if w is None else w[val]
    wt = None if w is None else w[train_rows]
    return X[train_rows], Y[train_rows], wt, (X[val], Y[val], wv)


def _seed_of(random_state):
    if isinstance(random_state, (int, np.integer)) or random_state is None:
        return random_state
    return int(np.random.default_rng(0).integers(2**31))  # generators: a fixed derived seed


def initial_values(spec: Any, n_features: int, n_targets: int, rng, dtype):
    """The spec's ``init`` turned into (weight (d, k), bias (k,)); a clear error if it is off."""
    init = tuple(spec.init) if isinstance(spec.init, list) else spec.init
    try:
        return initial_parameters(init, n_features, n_targets, rng, dtype)
    except ValueError as exc:
        raise DataError(f"Invalid init: {exc}.") from None
