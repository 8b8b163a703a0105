"""Host rows copied into a ring of staging buffers by a background thread, ahead of their use.

:func:`~linearlab.data.tensors.stream_blocks` moves host arrays to a CUDA device through pinned
buffers. The copy of each block into its pinned buffer is host work (memory bandwidth); done by a
background thread, it runs ahead without pause while the caller's thread hands the filled
buffers to the copy engine and launches its own kernels on the previous blocks. torch's CPU
copies release the GIL (and use all cores for a large block), so the two threads overlap.

The ring has a fixed number of slots; a slot is refilled only after its consumer released it,
with an optional token (a CUDA event: the copy out of the slot) that the filler waits for first.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

_STOP = object()


class HostStager:
    """Fill ``slots`` staging buffers with consecutive row blocks of host tensors, ahead of use.

    Parameters
    ----------
    views : sequence of CPU tensors or None
        The host data (same number of rows); None entries, and those with ``staged`` False,
        get no buffer.
    staged : sequence of bool
        Which views are copied into the buffers.
    bounds : sequence of (start, stop)
        The row blocks, in order; none longer than the first.
    slots : int
        Buffers per view (the filler runs at most ``slots`` blocks ahead).
    pin : bool
        Page-locked buffers (for asynchronous copies to a CUDA device).

    Use ``wait(i)`` for the buffers of block ``i`` (in order), ``release(i, token)`` when done
    with them, and ``close()`` at the end (also after an error): it stops and joins the filler.
    """

    def __init__(self, views: Sequence[Any], staged: Sequence[bool],
                 bounds: Sequence[tuple[int, int]], *, slots: int = 3, pin: bool = False):
        import torch

        step = bounds[0][1] - bounds[0][0]
        self.bounds = list(bounds)
        self.buffers = [
            [torch.empty((step, *v.shape[1:]), dtype=v.dtype, pin_memory=pin) if s else None
             for v, s in zip(views, staged, strict=True)]
            for _ in range(slots)
        ]
        self._views = list(views)
        self._free: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(slots)]
        for free in self._free:
            free.put(None)
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._fill, name="linearlab-staging",
                                        daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        try:
            for i, (lo, hi) in enumerate(self.bounds):
                s = i % len(self.buffers)
                token = self._free[s].get()  # the slot's previous block is done with
                if token is _STOP:
                    return
                if token is not None:
                    token.synchronize()  # e.g. the copy out of the pinned buffer
                for view, buffer in zip(self._views, self.buffers[s], strict=True):
                    if buffer is not None:
                        buffer[: hi - lo].copy_(view[lo:hi])
                self._ready.put(None)
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer's thread
            self._ready.put(exc)

    def wait(self, i: int) -> list:
        """The buffers holding block ``i`` (blocks are waited for in order)."""
        got = self._ready.get()
        if got is not None:
            raise got
        return self.buffers[i % len(self.buffers)]

    def release(self, i: int, token: Any = None) -> None:
        """Block ``i``'s slot may be refilled (once ``token.synchronize()`` returns)."""
        self._free[i % len(self.buffers)].put(token)

    def close(self) -> None:
        """Stop the filler and wait for it (no copy into the buffers is left running)."""
        for free in self._free:
            free.put(_STOP)
        self._thread.join()
