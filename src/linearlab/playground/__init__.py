"""The gradient-descent playground: a local web page on linearlab's own engine.

``linearlab playground [DATA]`` (or :func:`serve`) starts a small Starlette server on
127.0.0.1 and opens a page where the data, the line, the loss landscape with the optimizer's
path, and the loss history are drawn as training runs. Trajectories are the estimator's
recorded ``params_history_`` and ``history_``; the landscape is :mod:`linearlab.viz.surface`'s
grid, the one the PNG figures use. Needs the ``playground`` extra (Starlette, uvicorn).
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:  # the server's modules load only when used
    if name in __all__:
        from linearlab.playground import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
