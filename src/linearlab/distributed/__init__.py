"""Fitting, summarizing and predicting on Dask collections (``pip install linearlab[dask]``).

Every exact fit is the :class:`~linearlab.exact.gram.Gram` merge run per Dask partition: each
partition computes its statistics where it lives, a tree reduction merges them on the cluster,
and only the (d + 1)² numbers travel to the client. The submodules import Dask lazily; this
package itself imports nothing heavy, so ``import linearlab`` never loads Dask.
"""

from linearlab.data.lazy import is_dask

__all__ = ["is_dask"]
