"""The record of one run: the loss of every epoch and the parameter path, in bounded memory.

A run of 10⁹ epochs must not keep 10⁹ losses. :class:`EpochRecord` keeps every epoch until it
holds :data:`HISTORY_BUDGET` losses; then it *thins*: it keeps every second record and from
then on records only epochs on the doubled stride (1, 2, 4, 8, ...), so it always holds between
half the budget and the budget, whatever the epoch count. The last epoch is always kept.

With stride ``s`` after ``n`` epochs:

- ``losses()[i]`` is the loss of epoch ``i·s`` (0-based), and ``losses()[-1]`` that of the last
  epoch ``n - 1`` (appended when it is not on the stride);
- ``path()[i]`` is θ after ``i·s`` epochs (``path()[0]`` the start), and ``path()[-1]`` θ after
  all ``n`` epochs.

The parameter path is also dropped altogether (``path()`` is None) once it would hold more than
:data:`MAX_RECORDED_NUMBERS` numbers (very wide models).
"""

from __future__ import annotations

import numpy as np

__all__ = ["HISTORY_BUDGET", "MAX_RECORDED_NUMBERS", "EpochRecord", "ThinnedSeries", "kept_count",
           "stride_of"]

#: Losses kept before the record is thinned (≈ 3 MB of history, ≈ 1.6 MB of a 1-feature path).
HISTORY_BUDGET = 100_000
#: The parameter path is kept while it holds at most this many numbers (then dropped).
MAX_RECORDED_NUMBERS = 4_000_000
# Single-epoch snapshots are gathered into one array every this many epochs.
_CHUNK = 1024


class EpochRecord:
    """Losses and parameters of a run's epochs, thinned past a budget (see the module notes).

    Parameters
    ----------
    theta0 : ndarray of shape (d + 1, k)
        The starting parameters (bias row last).
    budget : int
        Most losses kept before thinning (at least 2).
    """

    def __init__(self, theta0: np.ndarray, budget: int = HISTORY_BUDGET,
                 max_numbers: int = MAX_RECORDED_NUMBERS):
        self.budget = max(2, int(budget))
        self.max_numbers = max_numbers
        self.stride = 1
        self.epochs = 0
        self.first_loss: float | None = None
        self.last_loss: float | None = None
        self.last_theta = np.array(theta0, copy=True)
        self._losses: list[float] = []
        self._numbers = theta0.size
        self._blocks: list[np.ndarray] | None = [self.last_theta[None].copy()]
        self._recent: list[np.ndarray] = []
        self._rows = 1

    @property
    def thinned(self) -> bool:
        """Whether only every ``stride``-th epoch is kept."""
        return self.stride > 1

    # ------------------------------------------------------------------ recording
    def add(self, loss: float, theta: np.ndarray) -> None:
        """Record one finished epoch: its loss and the parameters after it."""
        if self.epochs % self.stride == 0:
            self._losses.append(loss)
        self.epochs += 1
        self._finish_add(loss, theta)
        if self._blocks is not None and self.epochs % self.stride == 0:
            self._recent.append(np.array(theta, copy=True))
            self._grow(1)
            if len(self._recent) >= _CHUNK:
                self._flush()
        if len(self._losses) > self.budget:
            self._thin()

    def add_block(self, losses: np.ndarray, thetas: np.ndarray) -> None:
        """Record ``len(losses)`` epochs at once (``thetas[i]`` after each), thinning first
        when the block would overrun the budget."""
        m = len(losses)
        if m == 0:
            return
        while len(self._losses) + m // self.stride + 1 > self.budget and m >= self.stride:
            self._thin()
        start = self.epochs
        if self.first_loss is None:
            self.first_loss = float(losses[0])
        self._losses.extend(np.asarray(losses[(-start) % self.stride :: self.stride],
                                       dtype=np.float64).tolist())
        self.epochs += m
        self._finish_add(float(losses[-1]), thetas[-1])
        if self._blocks is not None:
            kept = thetas[(-(start + 1)) % self.stride :: self.stride]
            if len(kept):
                self._flush()
                self._blocks.append(np.array(kept, copy=True))
                self._grow(len(kept))
        while len(self._losses) > self.budget:
            self._thin()

    def _finish_add(self, loss: float, theta: np.ndarray) -> None:
        if self.first_loss is None:
            self.first_loss = loss
        self.last_loss = loss
        self.last_theta = theta

    def _grow(self, rows: int) -> None:
        self._rows += rows
        if self._rows * self._numbers > self.max_numbers:
            self._blocks, self._recent = None, []  # too long to keep: no path

    def _flush(self) -> None:
        if self._recent and self._blocks is not None:
            self._blocks.append(np.stack(self._recent))
        self._recent = []

    def _thin(self) -> None:
        """Double the stride: keep every second record (epochs 0, 2s, 4s, ...)."""
        self.stride *= 2
        self._losses = self._losses[::2]
        if self._blocks is not None:
            self._flush()
            path = np.concatenate(self._blocks)[::2].copy()
            self._blocks, self._rows = [path], len(path)

    # ------------------------------------------------------------------ reading
    def losses(self) -> list[float]:
        """The kept losses, the last epoch's included."""
        out = list(self._losses)
        if self.epochs and (self.epochs - 1) % self.stride:
            out.append(float(self.last_loss))
        return out

    def path(self) -> np.ndarray | None:
        """The kept parameters, shape (rows, d + 1, k): the start first, the final last."""
        if self._blocks is None:
            return None
        self._flush()
        path = np.concatenate(self._blocks)
        if self.epochs % self.stride:
            path = np.concatenate([path, np.asarray(self.last_theta)[None]])
        return path

    def series(self) -> ThinnedSeries:
        """A record of another per-epoch value kept on this record's epochs (thinned with it)."""
        return ThinnedSeries(self)

    def epoch_numbers(self) -> np.ndarray:
        """The epoch (0-based) of each entry of :meth:`losses`."""
        kept = np.arange(0, self.epochs, self.stride)
        if self.epochs and (self.epochs - 1) % self.stride:
            kept = np.append(kept, self.epochs - 1)
        return kept


class ThinnedSeries:
    """Another per-epoch value (a validation loss) kept on the same epochs as ``record``.

    Call :meth:`add` after each ``record.add``: the series keeps the epochs the record keeps
    and thins when the record does, so ``values()[i]`` belongs to the same epoch as
    ``record.losses()[i]``.
    """

    def __init__(self, record: EpochRecord):
        self.record = record
        self.stride = record.stride
        self.epochs = 0
        self.last: float | None = None
        self._values: list[float] = []

    def add(self, value: float) -> None:
        """Record the value of the epoch the record has just added."""
        if self.epochs % self.stride == 0:
            self._values.append(value)
        self.epochs += 1
        self.last = value
        while self.stride < self.record.stride:
            self.stride *= 2
            self._values = self._values[::2]

    def values(self) -> list[float]:
        """The kept values, the last epoch's included."""
        out = list(self._values)
        if self.epochs and (self.epochs - 1) % self.stride:
            out.append(float(self.last))
        return out


def kept_count(epochs: int, stride: int) -> int:
    """Losses a record of ``epochs`` epochs keeps at ``stride`` (the last epoch always)."""
    return -(-epochs // stride) + (1 if epochs and (epochs - 1) % stride else 0)


def stride_of(entries: int, epochs: int) -> int:
    """The stride that leaves ``entries`` losses after ``epochs`` epochs (a power of two; 1
    when the history is not thinned or the counts fit no stride). For records that did not
    store their stride, such as model files written before it was."""
    stride = 1
    while epochs > entries and kept_count(epochs, stride * 2) >= entries and stride < epochs:
        stride *= 2
    return stride if kept_count(epochs, stride) == entries else 1
