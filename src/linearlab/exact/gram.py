"""Mergeable sufficient statistics of a linear least-squares problem.

A :class:`Gram` holds, for features X (n, d), targets Y (n, k) and weights w:

- ``weight_sum`` = Σ w and ``count`` = number of rows seen,
- ``mean_x`` and ``mean_y``, the weighted means,
- ``sxx`` = Σ w (x - x̄)(x - x̄)ᵀ, ``sxy`` = Σ w (x - x̄)(y - ȳ)ᵀ, ``syy`` = Σ w (y - ȳ)(y - ȳ)ᵀ.

Statistics of two disjoint parts merge exactly (Chan, Golub & LeVeque's pairwise update), so a
table processed in one piece, in chunks, or in parallel partitions gives the same numbers up to
rounding, and centring per block keeps them accurate when columns have large offsets. Everything
that needs XᵀX — the exact solvers, the automatic step size, the convergence check, streaming and
distributed fitting — reads it from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from linearlab.exact.blocks import Shifter, row_tasks

# Rows per block when a whole array is accumulated: about 2 MiB of features per block, so a
# block's mean and its syrk share the cache (8 MiB blocks were 1.5-2x slower on 1e6 x 50 on a
# loaded 2-core machine) and the temporary centred copy stays small.
_BLOCK_BYTES = 2 * 2**20
# A thin syrk (d small, many rows) keeps few BLAS threads busy: for d up to this many features,
# blocks are reduced in parallel threads with one BLAS thread each (7x faster on 16 cores for
# 1e6 x 100), then merged in block order, so the numbers do not depend on the thread count.
_PARALLEL_MAX_FEATURES = 512
# Blocks per task of the pass: a task sums its blocks' raw cross-products (no merge per block)
# and is merged once; up to this many blocks (8 MiB) the pass runs on one thread, since a pool
# costs ~3 ms. The split into tasks does not depend on the thread count, nor do the numbers.
_BLOCKS_PER_TASK = 4
# Raw cross-products are centred afterwards only while n·x̄²/S stays below this (≤ 2 digits lost;
# exact.accuracy.UNCENTRED_LIMIT, the loss its error estimates then account for).
_MAX_CANCELLATION = 100.0
# Rows whose mean and spread choose the shift of the summed cross-products.
_SHIFT_ROWS = 4096


_CONTROLLER = []


def one_blas_thread():
    """A context in which BLAS/LAPACK run on one thread (threadpoolctl's controller, created
    once: scanning the loaded libraries costs ~10 ms, the limit itself microseconds).

    Small products and d × d factorisations are up to 50x slower spread over threads on a
    loaded machine; the passes over X run their own threads, one BLAS thread each.
    """
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


@dataclass
class Gram:
    """Sufficient statistics (weighted means and centred cross-products) of ``(X, Y)``."""

    count: int
    weight_sum: float
    mean_x: np.ndarray
    mean_y: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    syy: np.ndarray

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, n_features: int, n_targets: int = 1, dtype=np.float64) -> Gram:
        """Statistics of zero rows; ``update`` and ``merge`` grow them."""
        d, k = n_features, n_targets
        return cls(
            count=0,
            weight_sum=0.0,
            mean_x=np.zeros(d, dtype),
            mean_y=np.zeros(k, dtype),
            sxx=np.zeros((d, d), dtype),
            sxy=np.zeros((d, k), dtype),
            syy=np.zeros((k, k), dtype),
        )

    @classmethod
    def from_arrays(
        cls, X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> Gram:
        """Statistics of a whole table, accumulated block by block (memory stays bounded)."""
        Y2 = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        gram = cls.empty(X.shape[1], Y2.shape[1], np.result_type(X.dtype, np.float64))
        gram.update(X, Y2, sample_weight)
        return gram

    @classmethod
    def _from_block(cls, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> Gram:
        if w is None:
            weight_sum = float(X.shape[0])
            mean_x = X.mean(axis=0, dtype=np.float64)
            mean_y = Y.mean(axis=0, dtype=np.float64)
            Xc = X - mean_x
            Yc = Y - mean_y
        else:
            weight_sum = float(w.sum(dtype=np.float64))
            if weight_sum == 0.0:
                gram = cls.empty(X.shape[1], Y.shape[1])
                gram.count = X.shape[0]
                return gram
            mean_x = (w @ X) / weight_sum
            mean_y = (w @ Y) / weight_sum
            root_w = np.sqrt(w)[:, None]
            Xc = (X - mean_x) * root_w
            Yc = (Y - mean_y) * root_w
        return cls(
            count=X.shape[0],
            weight_sum=weight_sum,
            mean_x=mean_x,
            mean_y=mean_y,
            sxx=Xc.T @ Xc,  # numpy dispatches AᵀA to BLAS syrk
            sxy=Xc.T @ Yc,
            syy=Yc.T @ Yc,
        )

    @classmethod
    def _from_task(cls, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, step: int,
                   shift: tuple[np.ndarray | None, np.ndarray] | None) -> Gram:
        """Statistics of the rows of one task (a few blocks of ``step`` rows): the sums of
        :meth:`_summed` about ``shift`` when they are accurate, else each block centred and
        merged."""
        if w is None and shift is not None:
            summed = cls._summed(X, Y, step, *shift)
            if summed is not None:
                return summed
        gram = cls.empty(X.shape[1], Y.shape[1], np.result_type(X.dtype, np.float64))
        for start in range(0, X.shape[0], step):
            stop = start + step
            gram._absorb(cls._from_block(X[start:stop], Y[start:stop],
                                         None if w is None else w[start:stop]))
        return gram

    @staticmethod
    def _shift(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """The shift (s, t) that :meth:`_summed` sums about, from the rows ``X``, ``Y`` (the
        first block): s is None (sum X as it is: no copy) when X is float64 and no column's
        n·x̄²/S passes the cancellation limit (the loss ``exact.accuracy.centring_loss``
        accounts for), else the rows' mean; t is always their mean."""
        shift_x = X.mean(axis=0, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            offset = shift_x**2 / X.var(axis=0, dtype=np.float64)
        # NaN (a constant column) shifts too; other dtypes are summed in a float64 copy
        keep = X.dtype == np.float64 and bool(np.all(offset < _MAX_CANCELLATION))
        return (None if keep else shift_x), Y.mean(axis=0, dtype=np.float64)

    @classmethod
    def _summed(cls, X: np.ndarray, Y: np.ndarray, step: int, shift_x: np.ndarray | None,
                shift_y: np.ndarray) -> Gram | None:
        """Centred statistics from cross-products summed block by block about a shift s, then
        Σ(x − s)(x − s)ᵀ − n(x̄ − s)(x̄ − s)ᵀ: one BLAS product per block and no merge.

        With ``shift_x`` None, s = 0 (no copy of X); else each block is shifted into one reused
        float64 buffer (see :meth:`_shift`). The sums lose about log10(1 + n(x̄ − s)²/S) digits
        per column to cancellation: above 2 digits (data whose level drifts) this returns None
        and the caller centres every block explicitly.
        """
        n, d = X.shape
        shifted = shift_x is not None
        if not shifted:
            shift_x = np.zeros(d)
        k = Y.shape[1]
        # [y − t, 1] per block: one product gives Σ(x − s)(y − t)ᵀ and Σ(x − s) together (a
        # separate column sum costs half as much as the syrk itself at d = 50)
        targets = np.ones((min(n, step), k + 1))
        shifter = Shifter(shift_x, min(n, step)) if shifted else None
        sxx, szx, szz = np.zeros((d, d)), np.zeros((k + 1, d)), np.zeros((k, k + 1))
        for start in range(0, n, step):
            block = X[start:start + step]
            rows = block.shape[0]
            if shifter is not None:
                block = shifter(block)
            z = targets[:rows]
            np.subtract(Y[start:start + step], shift_y, out=z[:, :k])
            sxx += block.T @ block  # numpy dispatches AᵀA to BLAS syrk
            szx += z.T @ block  # (zᵀX, not Xᵀz: 2.5x faster for C-ordered X)
            szz += z[:, :k].T @ z
        sxy, sum_x = szx[:k].T, szx[k]
        syy, sum_y = szz[:, :k], szz[:, k]
        mean_x, mean_y = sum_x / n, sum_y / n
        sxx -= n * np.outer(mean_x, mean_x)
        sxy = sxy - n * np.outer(mean_x, mean_y)
        syy = syy - n * np.outer(mean_y, mean_y)
        with np.errstate(divide="ignore", invalid="ignore"):
            loss_x = np.where(mean_x == 0, 0.0, n * mean_x**2 / np.diag(sxx))
            loss_y = np.where(mean_y == 0, 0.0, n * mean_y**2 / np.diag(syy))
        if not (np.all(loss_x < _MAX_CANCELLATION) and np.all(loss_y < _MAX_CANCELLATION)):
            return None
        return cls(n, float(n), shift_x + mean_x, shift_y + mean_y, sxx, sxy, syy)

    # ------------------------------------------------------------------ updating
    def update(self, X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> Gram:
        """Add the rows ``X`` (n, d), ``Y`` (n,) or (n, k) with optional weights; returns self."""
        Y2 = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        n, d = X.shape
        step = max(256, _BLOCK_BYTES // max(1, 8 * (d + Y2.shape[1])))
        tasks = row_tasks(n, step, _BLOCKS_PER_TASK)

        with np.errstate(over="ignore", invalid="ignore"):
            head = min(step, _SHIFT_ROWS)
            shift = None if sample_weight is not None or n == 0 else Gram._shift(X[:head],
                                                                                 Y2[:head])

        def task_gram(bounds: tuple[int, int]) -> Gram:
            start, stop = bounds
            w = None if sample_weight is None else sample_weight[start:stop]
            # NaN, inf and overflow come out as non-finite statistics (require_finite)
            with np.errstate(over="ignore", invalid="ignore"):
                return Gram._from_task(X[start:stop], Y2[start:stop], w, step, shift)

        if d > _PARALLEL_MAX_FEATURES:  # a wide syrk keeps BLAS's own threads busy
            for bounds in tasks:
                self._absorb(task_gram(bounds))
            return self
        from concurrent.futures import ThreadPoolExecutor

        # thin products on one BLAS thread each: XᵀY with few targets is 50x slower spread over
        # threads on a loaded 2-core machine, and the tasks themselves run in parallel
        with one_blas_thread():
            workers = min(len(tasks), os.cpu_count() or 1)
            if workers < 2:
                for bounds in tasks:
                    self._absorb(task_gram(bounds))
                return self
            with ThreadPoolExecutor(workers) as pool:
                for part in pool.map(task_gram, tasks):
                    self._absorb(part)  # in task order: the same numbers as sequentially
        return self

    def _absorb(self, other: Gram) -> None:
        merged = self.merge(other)
        self.__dict__.update(merged.__dict__)

    def merge(self, other: Gram) -> Gram:
        """Statistics of the union of two disjoint sets of rows (exact pairwise update)."""
        if self.sxx.shape != other.sxx.shape or self.sxy.shape != other.sxy.shape:
            raise ValueError(
                f"cannot merge statistics of {self.n_features} features/{self.n_targets} targets "
                f"with {other.n_features} features/{other.n_targets} targets"
            )
        na, nb = self.weight_sum, other.weight_sum
        count = self.count + other.count
        if nb == 0.0:
            return Gram(count, na, self.mean_x, self.mean_y, self.sxx, self.sxy, self.syy)
        if na == 0.0:
            return Gram(count, nb, other.mean_x, other.mean_y, other.sxx, other.sxy, other.syy)
        n = na + nb
        dx = other.mean_x - self.mean_x
        dy = other.mean_y - self.mean_y
        f = na * nb / n
        return Gram(
            count=count,
            weight_sum=n,
            mean_x=self.mean_x + dx * (nb / n),
            mean_y=self.mean_y + dy * (nb / n),
            sxx=self.sxx + other.sxx + f * np.outer(dx, dx),
            sxy=self.sxy + other.sxy + f * np.outer(dx, dy),
            syy=self.syy + other.syy + f * np.outer(dy, dy),
        )

    __add__ = merge

    # ------------------------------------------------------------------ views
    @property
    def n_features(self) -> int:
        return self.sxx.shape[0]

    @property
    def n_targets(self) -> int:
        return self.syy.shape[0]

    def cross_products(self, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(XᵀWX, XᵀWY, YᵀWY): centred when ``fit_intercept``, raw (uncentred) otherwise."""
        if fit_intercept:
            return self.sxx, self.sxy, self.syy
        n = self.weight_sum
        mx, my = self.mean_x, self.mean_y
        return (
            self.sxx + n * np.outer(mx, mx),
            self.sxy + n * np.outer(mx, my),
            self.syy + n * np.outer(my, my),
        )

    def augmented_cross_products(self, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
        """AᵀWA and AᵀWY for the design A = [X, 1] (or X alone), from the statistics."""
        XtX, XtY, _ = self.cross_products(fit_intercept=False)
        if not fit_intercept:
            return XtX, XtY
        d, n = self.n_features, self.weight_sum
        AtA = np.empty((d + 1, d + 1))
        AtA[:d, :d] = XtX
        AtA[:d, d] = AtA[d, :d] = n * self.mean_x
        AtA[d, d] = n
        return AtA, np.vstack([XtY, n * self.mean_y[None, :]])

    def feature_scaling(self, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
        """(shift, scale) that standardize the features: mean and standard deviation with an
        intercept; no shift and the root mean square without one (centring would smuggle an
        intercept into a model that has none). Constant columns keep scale 1."""
        if fit_intercept:
            shift = self.mean_x.copy()
            spread = np.sqrt(np.diag(self.sxx) / self.weight_sum)
        else:
            shift = np.zeros(self.n_features)
            spread = np.sqrt(np.diag(self.cross_products(False)[0]) / self.weight_sum)
        return shift, np.where(spread > 0, spread, 1.0)

    def rescaled(self, shift: np.ndarray, scale: np.ndarray) -> Gram:
        """The statistics of (X - shift) / scale, without another pass over X."""
        return Gram(
            count=self.count,
            weight_sum=self.weight_sum,
            mean_x=(self.mean_x - shift) / scale,
            mean_y=self.mean_y,
            sxx=self.sxx / np.outer(scale, scale),
            sxy=self.sxy / scale[:, None],
            syy=self.syy,
        )

    def residual_sum_of_squares(
        self, coef: np.ndarray, intercept: np.ndarray | None = None
    ) -> np.ndarray:
        """Σ w (y - Xβ - β₀)² per target, from the statistics alone (no pass over the data)."""
        coef = coef.reshape(self.n_features, -1)
        offset = self.mean_y - self.mean_x @ coef
        if intercept is not None:
            offset = offset - np.asarray(intercept).reshape(-1)
        quad = np.einsum("ik,ij,jk->k", coef, self.sxx, coef)
        cross = np.einsum("ik,ik->k", coef, self.sxy)
        rss = np.diag(self.syy) - 2.0 * cross + quad + self.weight_sum * offset**2
        return np.maximum(rss, 0.0)


def equivalent_design(gram: Gram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A weighted table (X, Y, w) of 2·(d+k) rows with exactly the statistics of ``gram``.

    With M = [[Sxx, Sxy], [Syx, Syy]] = L Lᵀ (symmetric square root), the rows are the means
    plus ±√(m/n)·Lᵢ (m = d + k, n = Σw), each of weight n/(2m): their weighted mean is the mean
    and their weighted centred cross-product is M. Any squared-error objective, its gradient and
    minimiser are therefore the same as on the original rows.
    """
    d, k = gram.n_features, gram.n_targets
    m = d + k
    M = np.block([[gram.sxx, gram.sxy], [gram.sxy.T, gram.syy]])
    # Factor the correlation-scaled matrix so columns of very different scales keep their
    # relative precision (an unscaled eigh would lose digits of small-variance columns).
    spread = np.sqrt(np.diag(M))
    spread = np.where(spread > 0, spread, 1.0)
    C = M / np.outer(spread, spread)
    lam, V = np.linalg.eigh((C + C.T) / 2)
    L = (V * np.sqrt(np.clip(lam, 0.0, None))) * spread[:, None]
    n = gram.weight_sum
    Z = np.sqrt(m / n) * L.T  # row i = √(m/n)·Lᵢ
    rows = np.vstack([Z, -Z]) + np.concatenate([gram.mean_x, gram.mean_y])
    weights = np.full(2 * m, n / (2 * m))
    return rows[:, :d].copy(), rows[:, d:].copy(), weights


def require_finite(gram: Gram, check_x: Callable[[], None] | None) -> Gram:
    """``gram`` when its statistics are finite; else the located error of ``check_x``.

    A NaN or inf anywhere in the data, or a square that overflows, makes the statistics
    non-finite (IEEE arithmetic propagates them through every sum), so this one look at
    (d + k)² numbers replaces a pass over X on the host.
    """
    parts = (gram.weight_sum, gram.mean_x, gram.mean_y, gram.sxx, gram.sxy, gram.syy)
    if all(np.isfinite(p).all() for p in parts):
        return gram
    if check_x is not None:
        check_x()  # raises the host checks' error, located
    from linearlab.errors import NumericalError

    raise NumericalError(
        "The Gram statistics XᵀX of the data are not finite: X or y holds NaN or inf, or "
        "values whose squares overflow float64. Check the data for missing or huge values "
        "(or rescale them, e.g. standardize=True)."
    )
