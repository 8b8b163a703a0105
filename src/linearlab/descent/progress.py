"""The training progress bar: epoch, loss and time left on stderr, for fits longer than ~1 s."""

from __future__ import annotations

import time

__all__ = ["PROGRESS_AFTER_S", "ProgressBar"]

# The progress bar appears once a fit has run this long (seconds), never for quick fits.
PROGRESS_AFTER_S = 1.0


class ProgressBar:
    """A rich progress bar (epoch, loss, ETA) on stderr, shown once a fit passes ~1 s."""

    def __init__(self, total: int):
        self.total, self.start = total, time.monotonic()
        self.bar = None
        self.task = None
        self.last = 0.0

    def update(self, done: int, loss: float) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        if self.bar is None:
            if now - self.start < PROGRESS_AFTER_S:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("epoch"), MofNCompleteColumn(), BarColumn(),
                TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("training", total=self.total, loss="")
        self.bar.update(self.task, completed=done, loss=f"{loss:.6g}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
