"""Per-partition statistics and their tree reduction on the cluster.

Each pass maps a small function over the row partitions (it runs where the partition lives and
returns a few small arrays), then merges the results pairwise-by-groups in a tree of tasks, so the
client receives one object of size O((d + 1)²). The tree's shape depends only on the number of
partitions, never on which worker finished first: a recomputed task (a lost worker) gives the
same bits, and the same data give the same answer on every run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from linearlab.distributed.blocks import Partitions, plain_float_blocks, validated
from linearlab.errors import DataError
from linearlab.exact.gram import Gram
from linearlab.state.fitted import log_weight_sum

# Partition results merged per task of the tree (dask.array's reductions use 4-8 as well).
SPLIT_EVERY = 8


def tree_reduce(
    leaves: Sequence[Any], combine: Callable[[list], Any], split_every: int = SPLIT_EVERY
):
    """A Dask ``Delayed`` merging ``leaves`` with ``combine(list)`` in a fixed tree."""
    from dask import delayed

    level = list(leaves)
    if not level:
        raise DataError("The Dask collection has no partitions; pass at least one row of data.")
    name = getattr(combine, "__name__", "combine")
    while len(level) > 1:
        groups = [level[i : i + split_every] for i in range(0, len(level), split_every)]
        level = [
            g[0] if len(g) == 1 else delayed(combine, name=f"linearlab-{name}")(g)
            for g in groups
        ]
    return level[0]


def compute(obj):
    """Compute one ``Delayed`` on the active scheduler (a distributed ``Client`` when there is
    one), returning the concrete result."""
    import dask

    (result,) = dask.compute(obj)
    return result


# --------------------------------------------------------------------------- the Gram pass
def _partition_stats(xb, yb, wb, index: int) -> tuple[Gram, float]:
    plain = plain_float_blocks(xb, yb, wb)
    if plain is not None:  # skip the scan for NaN/inf: non-finite statistics reveal them
        X, Y, w = plain
        gram = Gram.from_arrays(X, Y, w)
        if _finite(gram) and (w is None or 0 < w.sum() < np.inf):
            return gram, log_weight_sum(w)
    X, Y, w = validated(xb, yb, wb, index)  # says where the bad value is
    return Gram.from_arrays(X, Y, w), log_weight_sum(w)


def _finite(gram: Gram) -> bool:
    return bool(
        np.isfinite(gram.weight_sum) and np.isfinite(gram.mean_x).all()
        and np.isfinite(np.diag(gram.sxx)).all() and np.isfinite(gram.mean_y).all()
        and np.isfinite(np.diag(gram.syy)).all()
    )


def merge_stats(parts: list[tuple[Gram, float]]) -> tuple[Gram, float]:
    """Exact merge of partition statistics (Chan's update), in list order."""
    grams = [g for g, _ in parts]
    return functools.reduce(Gram.merge, grams), float(sum(s for _, s in parts))


def stats_graph(parts: Partitions):
    """Lazy (:class:`Gram`, Σ log w) of all partitions: a task per partition plus the tree."""
    from dask import delayed

    leaves = [
        delayed(_partition_stats, name="linearlab-gram")(xb, yb, wb, i)
        for i, xb, yb, wb in parts.blocks()
    ]
    return tree_reduce(leaves, merge_stats)


def compute_stats(parts: Partitions) -> tuple[Gram, float]:
    """The Gram statistics of the whole collection and Σ log w (one distributed pass)."""
    gram, log_w = compute(stats_graph(parts))
    check_gram(gram)
    return gram, log_w


def check_gram(gram: Gram) -> None:
    """Refuse statistics of no rows (or of zero total weight) with a clear message."""
    if gram.count == 0:
        raise DataError(
            "The Dask collection has 0 rows; pass at least one row of data."
        )
    if gram.weight_sum <= 0:
        raise DataError(
            "sample_weight are all zero; at least one sample needs positive weight."
        )


# --------------------------------------------------------------------------- generic sums
def _apply(fn, xb, yb, wb, index, args):
    X, Y, w = validated(xb, yb, wb, index)
    return fn(X, Y, w, *args)


def _sum_tuples(parts: list[tuple]) -> tuple:
    return tuple(functools.reduce(np.add, items) for items in zip(*parts, strict=True))


def map_sum(parts: Partitions, fn: Callable, *args, name: str = "pass") -> tuple:
    """Σ over partitions of ``fn(X, Y, w, *args)`` (a tuple of arrays), summed in a tree.

    ``args`` are small arrays (coefficients) shipped with every task.
    """
    from dask import delayed

    leaves = [
        delayed(_apply, name=f"linearlab-{name}")(fn, xb, yb, wb, i, args)
        for i, xb, yb, wb in parts.blocks()
    ]
    return compute(tree_reduce(leaves, _sum_tuples))


def map_combine(parts: Partitions, fn: Callable, combine: Callable, *args, name: str = "pass"):
    """Like :func:`map_sum` with a custom ``combine(list)`` (e.g. stacking QR factors)."""
    from dask import delayed

    leaves = [
        delayed(_apply, name=f"linearlab-{name}")(fn, xb, yb, wb, i, args)
        for i, xb, yb, wb in parts.blocks()
    ]
    return compute(tree_reduce(leaves, combine))
