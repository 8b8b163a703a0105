"""The one epoch driver: the bookkeeping every gradient-descent engine shares.

Three roles meet in a training run, and only the driver keeps epoch-level state:

**Batch source** — an iterable of batches for one epoch. A batch is a tuple ``(X_b, Y_b, w_b)``
(``w_b`` None when unweighted) of arrays or tensors. :class:`ArrayBatches` serves an in-memory
array through a :class:`~.batches.BatchPlan`; a file's chunk stream (``streaming.py``), device
tensors (``torch_backend.py``) or Dask partitions (``distributed/``) are batch sources too::

    class BatchSource(Protocol):
        def epoch(self) -> Iterable[tuple[X_b, Y_b, w_b | None]]: ...

**Compute backend** — turns a batch into a loss and an update of the parameters: the NumPy
``forward_backward`` + optimizer step (:mod:`.loop`), or ``nn.Linear`` + ``torch.optim``.

**Driver** (:class:`EpochDriver`) — after every epoch the engine hands it the epoch's loss and
parameters; the driver records the history and the parameter path (an :class:`~.history.
EpochRecord`: thinned past a budget, so memory never depends on the epoch budget), checks
divergence, applies ``tol``
(with ``n_iter_no_change`` patience) or early stopping on a validation loss, logs, calls the
user's callback (``False`` stops) and shows a rich progress bar on a terminal for fits longer
than about a second. A plain engine reads::

    driver = EpochDriver(config, W, b)
    with driver:
        while driver.running:
            loss = run_one_epoch(source.epoch())        # the compute backend
            driver.end_epoch(loss, W, b)                # history, tol, divergence, logs, ...
    return driver.result()

Fast paths that compute many epochs at once hand over whole blocks with
:meth:`EpochDriver.end_block` (losses and per-epoch parameters), sized with
:meth:`EpochDriver.block_size`; the driver stops inside the block exactly where the loop would.
A batch loss that is not finite inside an epoch is reported with :meth:`EpochDriver.diverged`.
With ``config.keep_on_interrupt``, a ``KeyboardInterrupt`` after at least one finished epoch ends
the ``with`` block quietly: :meth:`EpochDriver.result` then holds the finished epochs and
``stopped_by`` is ``"interrupted"`` (the caller re-raises once the state is kept).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from linearlab import errors  # errors.ConvergenceWarning imports scikit-learn: on use only
from linearlab.descent.batches import BatchPlan
from linearlab.descent.config import DescentConfig, DescentResult
from linearlab.descent.history import HISTORY_BUDGET, MAX_RECORDED_NUMBERS, EpochRecord
from linearlab.descent.progress import ProgressBar
from linearlab.errors import DivergenceError

__all__ = [
    "HISTORY_BUDGET",
    "MAX_RECORDED_NUMBERS",
    "ArrayBatches",
    "BatchSource",
    "EpochDriver",
    "TrainingState",
    "format_parameters",
    "quiet_progress",
]

# A loss this many times its starting value means the iterates are running away.
EXPLOSION_FACTOR = 1e10
# A run whose last epoch's loss passes the first's by this fraction gets a warning naming lr.
RISE_WARNING = 0.25
# HISTORY_BUDGET and MAX_RECORDED_NUMBERS (from .history) are read here when a driver starts.

_SHOW_PROGRESS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "linearlab_show_progress", default=True
)


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """Within this block no progress bar is shown (the command line's ``--json`` uses it)."""
    token = _SHOW_PROGRESS.set(False)
    try:
        yield
    finally:
        _SHOW_PROGRESS.reset(token)


# --------------------------------------------------------------------------- batch sources
class BatchSource(Protocol):
    """Anything that yields one epoch's batches ``(X_b, Y_b, w_b or None)``."""

    def epoch(self) -> Iterable[tuple[Any, Any, Any]]: ...


class ArrayBatches:
    """An in-memory table served batch by batch in the order of a :class:`BatchPlan`."""

    def __init__(self, X, Y, sample_weight, plan: BatchPlan):
        self.X, self.Y, self.w, self.plan = X, Y, sample_weight, plan

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        """Slices of the arrays for in-order batches; shuffled batches are gathered into two
        reused buffers (no allocation per step), valid until the next batch is drawn."""
        X, Y, w = self.X, self.Y, self.w
        buffers = None
        for rows in self.plan.epoch():
            if isinstance(rows, slice):
                yield X[rows], Y[rows], None if w is None else w[rows]
                continue
            if buffers is None or len(rows) > len(buffers[0]):
                buffers = (np.empty((len(rows), X.shape[1]), X.dtype),
                           np.empty((len(rows), Y.shape[1]), Y.dtype))
            Xb = np.take(X, rows, axis=0, out=buffers[0][: len(rows)], mode="clip")
            Yb = np.take(Y, rows, axis=0, out=buffers[1][: len(rows)], mode="clip")
            yield Xb, Yb, None if w is None else w[rows]


# --------------------------------------------------------------------------- callbacks
@dataclass
class TrainingState:
    """What a callback sees after an epoch: parameters on the training scale, W (d, k), b (k,)."""

    epoch: int
    loss: float
    coef: np.ndarray
    intercept: np.ndarray
    lr: float
    validation_loss: float | None = None


def format_parameters(W: np.ndarray, b: np.ndarray, names: list[str] | None) -> str:
    """Parameters for a log line: ``w0 = ..., b = ...`` for small models, else a norm."""
    if W.shape[1] == 1 and W.shape[0] <= 6:
        labels = names or ([f"w{j}" for j in range(W.shape[0])] if W.shape[0] > 1 else ["w"])
        parts = [f"{label} = {v:.6g}" for label, v in zip(labels, W[:, 0], strict=True)]
        return ", ".join(parts + [f"b = {b[0]:.6g}"])
    return f"|W| = {np.linalg.norm(W):.6g}, b = {np.array2string(b, precision=4)}"


def divergence_error(epoch: int, loss: float, config: DescentConfig) -> DivergenceError:
    """The one message for a run whose loss became non-finite or exploded."""
    stable = config.stable_lr  # a callable when only a divergence needs it (lr given)
    stable = stable() if callable(stable) else stable
    what = "became non-finite" if not np.isfinite(loss) else f"exploded to {loss:.3g}"
    hint = (
        f"a step size below {stable:.3g} is stable (try lr={stable / 2:.3g}"
        " or lr='auto')"
        if stable
        else "try a smaller lr or lr='auto'"
    )
    return DivergenceError(
        f"Gradient descent diverged at epoch {epoch}: the {config.loss} loss {what} with "
        f"lr={config.lr:.6g}. The step size is too large for this data; {hint}, or set "
        "standardize=True to put the features on one scale.",
        epoch=epoch,
        suggested_lr=None if stable is None else stable / 2,
    )


# --------------------------------------------------------------------------- the driver
class EpochDriver:
    """History, parameter path, stopping rules, logging, callbacks and progress of one run.

    Parameters
    ----------
    config : DescentConfig
    W, b : ndarray of shape (d, k) and (k,)
        The starting parameters (recorded as the path's first snapshot).
    validation : callable (W, b) -> float, optional
        Loss on held-out rows; when given, ``tol`` and ``n_iter_no_change`` apply to it
        (scikit-learn's ``early_stopping``) instead of the training loss.
    """

    def __init__(self, config: DescentConfig, W: np.ndarray, b: np.ndarray,
                 validation: Callable[[np.ndarray, np.ndarray], float] | None = None):
        self.config = config
        self.validation = validation
        self.stopped_by: str | None = None
        self.lr = config.lr
        self._k = W.shape[1]
        self._fit_b = config.fit_intercept
        self.record = EpochRecord(_stack(W, b, self._fit_b), HISTORY_BUDGET,
                                  MAX_RECORDED_NUMBERS)
        # validation losses, kept on the epochs the record keeps (thinned with it)
        self.validation_series = None if validation is None else self.record.series()
        self._best = np.inf
        self._no_improvement = 0
        self._progress: ProgressBar | None = None

    # ------------------------------------------------------------------ state
    @property
    def epoch(self) -> int:
        """Epochs completed so far."""
        return self.record.epochs

    @property
    def history(self) -> list[float]:
        """The loss of the epochs kept so far (every epoch unless thinned)."""
        return self.record.losses()

    @property
    def running(self) -> bool:
        """Whether another epoch should run (budget left and no stopping rule fired)."""
        return self.stopped_by is None and self.record.epochs < self.config.epochs

    def block_size(self, numbers_per_epoch: int, budget: int = 4_000_000) -> int:
        """Epochs a fast path may compute at once: bounded memory, never past the budget.

        Blocks start at 64 epochs and double with the epochs done, so a run that ``tol``
        stops early never computes far beyond its end.
        """
        per_epoch = max(1, numbers_per_epoch)
        growing = max(64, 2 * self.epoch)
        return int(max(1, min(self.config.epochs - self.epoch, budget // per_epoch, growing)))

    def diverged(self, loss: float) -> DivergenceError:
        """The error to raise when a batch loss inside the current epoch is not finite."""
        return divergence_error(self.epoch, loss, self.config)

    # ------------------------------------------------------------------ recording
    def end_epoch(self, loss: float, W: np.ndarray, b: np.ndarray) -> bool:
        """Record one finished epoch; returns whether training continues."""
        self._accept(float(loss), _stack(W, b, self._fit_b), W, b)
        return self.running

    def end_block(self, losses: np.ndarray, thetas: np.ndarray) -> int:
        """Record a block of epochs computed at once; returns how many were kept.

        ``losses`` (m,) and ``thetas`` (m, d + 1, k): the loss of each epoch and the parameters
        after it (bias row last, zeros without an intercept). Epochs after a stopping rule fires
        are discarded, exactly as if the loop had run them one by one.
        """
        losses = np.asarray(losses, dtype=np.float64)
        m = min(len(losses), self.config.epochs - self.epoch)
        plain = (self.config.callback is None and not self.config.log_every
                 and self.validation is None)
        if plain:  # vectorised checks, then record the kept prefix
            keep = self._scan_block(losses[:m])
            self.record.add_block(losses[:keep], thetas[:keep])
            self._tick()
            return keep
        for i in range(m):
            theta = thetas[i]
            W, b = theta[:-1], theta[-1]
            self._accept(float(losses[i]), theta, W, b)
            if not self.running:
                return i + 1
        return m

    def _accept(self, loss: float, theta: np.ndarray, W, b) -> None:
        config = self.config
        epoch = self.epoch
        first = self.record.first_loss if epoch else loss
        if not np.isfinite(loss) or (first > 0 and loss > EXPLOSION_FACTOR * first):
            raise divergence_error(epoch, loss, config)
        self.record.add(loss, theta)
        monitored = loss
        if self.validation is not None:
            monitored = float(self.validation(W, b))
            self.validation_series.add(monitored)
        if config.log_every and epoch % config.log_every == 0:
            params = format_parameters(W, b, config.feature_names)
            width = len(str(config.epochs))
            config.log(f"Epoch {epoch:>{width}}/{config.epochs}  loss {loss:.6g}  {params}")
        if self.validation is not None or config.tol is not None:
            self._patience(monitored)
        if config.callback is not None:
            state = TrainingState(epoch, loss, W, b, self.lr,
                                  None if self.validation is None else monitored)
            if config.callback(state) is False and self.stopped_by is None:
                self.stopped_by = "callback"
        self._tick()

    def _patience(self, monitored: float) -> None:
        """scikit-learn's rule: stop after ``n_iter_no_change`` epochs without a ``tol`` gain.

        On the training loss the first epoch only sets the reference (as the loop always
        did); on a validation loss every epoch counts.
        """
        tol = self.config.tol if self.config.tol is not None else 0.0
        if self.validation is not None or self.epoch > 1:
            if monitored > self._best - tol:
                self._no_improvement += 1
            else:
                self._no_improvement = 0
        self._best = min(self._best, monitored)
        if self._no_improvement >= self.config.n_iter_no_change:
            self.stopped_by = "early_stopping" if self.validation is not None else "tol"

    def _scan_block(self, losses: np.ndarray) -> int:
        """Divergence and the ``tol`` rule over a block without a Python loop; epochs kept."""
        config = self.config
        first = self.record.first_loss if self.epoch else float(losses[0])
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(losses) | ((first > 0) & (losses > EXPLOSION_FACTOR * first))
        if bad.any():
            at = int(np.argmax(bad))
            raise divergence_error(self.epoch + at, float(losses[at]), config)
        if config.tol is None or len(losses) == 0:
            return len(losses)
        m = len(losses)
        best_before = np.minimum.accumulate(np.r_[self._best, losses])[:-1]
        flags = losses > best_before - config.tol
        if self.epoch == 0:
            flags[0] = False  # the first epoch only sets the reference
        steps = np.arange(m)
        last_reset = np.maximum.accumulate(np.where(flags, -1, steps))
        counts = np.where(last_reset >= 0, steps - last_reset, steps + 1 + self._no_improvement)
        hit = counts >= config.n_iter_no_change
        keep = int(np.argmax(hit)) + 1 if hit.any() else m
        if hit.any():
            self.stopped_by = "tol"
        self._no_improvement = int(counts[keep - 1])
        self._best = min(self._best, float(losses[:keep].min()))
        return keep

    # ------------------------------------------------------------------ result
    def result(self, W: np.ndarray | None = None, b: np.ndarray | None = None) -> DescentResult:
        """The run's outcome; ``W, b`` override the final parameters (e.g. averaged ones).

        An interrupted run keeps the parameters of its last finished epoch (``W, b`` ignored).
        """
        if W is None or self.stopped_by == "interrupted":
            theta = self.record.last_theta
            W, b = theta[:-1], theta[-1]
        W = np.array(W, copy=True)
        b = np.array(b, copy=True) if self._fit_b else np.zeros_like(np.asarray(b))
        record = self.record
        if self.stopped_by != "interrupted":
            self._warn_if_rose()
        return DescentResult(
            coef=W, intercept=b, history=record.losses(), n_iter=record.epochs,
            stopped_by_tol=self.stopped_by not in (None, "interrupted"),
            params_history=record.path(), stopped_by=self.stopped_by,
            validation_history=None if self.validation is None else self.validation_series.values(),
            history_stride=record.stride,
        )

    def _warn_if_rose(self) -> None:
        """A ConvergenceWarning naming the step size when the loss ended clearly above where
        it started (by more than :data:`RISE_WARNING`: mini-batch epoch means are noisy)."""
        first, last, n = self.record.first_loss, self.record.last_loss, self.record.epochs
        if n < 2 or not (np.isfinite(first) and last > first * (1 + RISE_WARNING) > 0):
            return
        config = self.config
        warnings.warn(
            f"The {config.loss} loss rose from {first:.6g} (epoch 0) to {last:.6g} (epoch "
            f"{n - 1}) with optimizer={config.optimizer!r} and lr={config.lr:.6g}: the step size "
            f"is too large. Lower the learning rate (try lr={config.lr / 10:.3g}) or use "
            "lr='auto'.", errors.ConvergenceWarning, stacklevel=_caller_level(),
        )

    # ------------------------------------------------------------------ progress display
    def __enter__(self) -> EpochDriver:
        self._started = time.monotonic()
        show = self.config.progress
        if show is None:
            show = _SHOW_PROGRESS.get() and sys.stderr.isatty()
        self._progress = ProgressBar(self.config.epochs) if show else None
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        if (kind is not None and issubclass(kind, KeyboardInterrupt)
                and self.config.keep_on_interrupt and self.epoch > 0):
            self.stopped_by = "interrupted"  # keep the finished epochs; the caller re-raises
            return True
        return False

    def _tick(self) -> None:
        if self._progress is not None and self.epoch:
            self._progress.update(self.epoch, self.record.last_loss)


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside linearlab (the user's call to ``fit``)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _stack(W: np.ndarray, b: np.ndarray, fit_b: bool) -> np.ndarray:
    """θ = [W; b] of shape (d + 1, k) (bias row zeros without an intercept)."""
    bias = np.asarray(b) if fit_b else np.zeros_like(np.asarray(b))
    return np.vstack([W, bias[None, :]])
