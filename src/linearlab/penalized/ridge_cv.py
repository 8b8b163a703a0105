"""``RidgeCV``: ridge regression with alpha chosen by efficient leave-one-out or k-fold CV.

Ridge here is scikit-learn's ``Ridge`` objective, ``Σ wᵢ(yᵢ − xᵢᵀβ − b)² + α‖β‖²`` (weights
not normalised). With ``cv=None`` (scikit-learn's "GCV" mode) every alpha's leave-one-out error
comes from one eigendecomposition of the Gram matrix, S = V Λ Vᵀ:

    β(α) = V (Λ + α)⁻¹ Vᵀ Xᵀy,   hᵢ(α) = Σ_j Z_ij² / (λ_j + α),   Z = √w (X − x̄) V,
    e_loo,i(α) = (ỹᵢ − ŷᵢ(α)) / (1 − hᵢ(α) − wᵢ/Σw),

so one pass builds the Gram and one more pass, in blocks, reads every row's leverage for all
alphas at once (a row's leverage cannot come from sums alone). With ``cv`` given, the folds'
Grams come from one pass and each alpha is scored by R² (weighted by ``sample_weight``) on each
validation fold, as scikit-learn's ``GridSearchCV`` over ``Ridge`` does.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from linearlab.data.lazy import is_dask
from linearlab.errors import ParameterError
from linearlab.exact.gram import Gram
from linearlab.penalized.base import PenalizedBase
from linearlab.penalized.folds import (
    FoldStatistics,
    fold_statistics,
    validation_rss,
    warn_at_grid_edge,
)
from linearlab.penalized.inputs import (
    INPUT_CONSTRAINTS,
    scaled_blocks,
    scaled_folds,
    scaled_statistics,
)
from linearlab.stats.metrics import r2_scores

_BLOCK_BYTES = 16 * 2**20


class RidgeCV(PenalizedBase):
    """Ridge regression with built-in cross-validation (scikit-learn's ``RidgeCV``).

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=(0.1, 1.0, 10.0)
        Candidate penalties (positive with ``cv=None``).
    fit_intercept : bool, default=True
    scoring : None, default=None
        Only the default is supported: negative mean squared leave-one-out error with
        ``cv=None``, R² with k-fold ``cv``.
    cv : int, cross-validation generator, iterable or None, default=None
        None: efficient leave-one-out. Otherwise k-fold as scikit-learn's (an int is an
        unshuffled ``KFold``).
    gcv_mode : {None, "auto", "svd", "eigen"}, default=None
        Accepted for compatibility: linearlab always decomposes the (d × d) Gram matrix.
    store_cv_results : bool, default=False
        Keep the squared leave-one-out errors in ``cv_results_`` (``cv=None`` only).
    alpha_per_target : bool, default=False
        Choose one alpha per target (``cv=None`` only).
    missing : {"error", "drop"}, default="error"
    standardize : bool, default=False
        Missing values, text columns and standardization as :class:`ElasticNet` handles them.

    Attributes
    ----------
    alpha_ : float or ndarray of shape (n_targets,)
    best_score_ : float or ndarray of shape (n_targets,)
    cv_results_ : ndarray of shape (n_samples, n_alphas) or (n_samples, n_targets, n_alphas)
    coef_, intercept_, n_features_in_, feature_names_in_
    """

    _parameter_constraints: dict = {
        "alphas": ["array-like", Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "scoring": [None],
        "cv": ["cv_object"],
        "gcv_mode": [StrOptions({"auto", "svd", "eigen"}), None],
        "store_cv_results": ["boolean"],
        "alpha_per_target": ["boolean"],
        **INPUT_CONSTRAINTS,
    }

    def __init__(
        self, alphas=(0.1, 1.0, 10.0), *, fit_intercept: bool = True, scoring=None, cv=None,
        gcv_mode=None, store_cv_results: bool = False, alpha_per_target: bool = False,
        missing: str = "error", standardize: bool = False,
    ):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target
        self.missing = missing
        self.standardize = standardize

    def _alphas(self) -> np.ndarray:
        values = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64)).ravel()
        low = 0.0 if self.cv is not None else np.nextafter(0.0, 1.0)
        if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < low):
            need = "non-negative" if self.cv is not None else "positive (leave-one-out)"
            raise ParameterError(
                f"RidgeCV alphas must be {need} finite numbers; got {self.alphas!r}."
            )
        return values

    def fit(self, X, y, sample_weight=None) -> RidgeCV:
        """Choose alpha by cross-validation and fit ridge regression with it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        if is_dask(X, y, sample_weight):  # statistics computed on the cluster
            from linearlab.penalized.dask import fit as fit_dask

            return fit_dask(self, X, y, sample_weight)
        self._validate_params()
        alphas = self._alphas()
        Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset=True)
        Y = ya.reshape(-1, 1) if ya.ndim == 1 else ya
        self._y_ndim = ya.ndim
        sparse = type(Xa).__module__.startswith("scipy.sparse")
        if sparse:  # the sparse Gram and folds (small d): X is never densified
            from linearlab.sparse.folds import sparse_fold_statistics
            from linearlab.sparse.gram import gram_for

            if self.gcv_mode == "svd" and self.cv is None:  # scikit-learn warns the same
                import warnings

                warnings.warn("The 'svd' mode is not supported for sparse X: the Gram's "
                              "eigendecomposition is used.", FutureWarning, stacklevel=2)
        if self.cv is None:
            gram = gram_for(Xa, Y, w, "RidgeCV") if sparse else Gram.from_arrays(Xa, Y, w)
            if isinstance(Xa, np.ndarray) and Xa.shape[0] < Xa.shape[1] + int(self.fit_intercept):
                return self._finish(gram, self._fit_loo_svd(Xa, Y, w, gram, alphas))
            step = max(256, _BLOCK_BYTES // (8 * max(1, Xa.shape[1] + Y.shape[1] * alphas.size)))
            blocks = ((Xa[i:i + step], Y[i:i + step], None if w is None else w[i:i + step])
                      for i in range(0, Xa.shape[0], step))
            return self._finish(gram, self._fit_loo(blocks, gram, alphas))
        if sparse:
            folds = FoldStatistics(*sparse_fold_statistics(Xa, Y, w, self._check_kfold()))
        else:
            folds = fold_statistics(Xa, Y, w, self._check_kfold())
        return self._fit_folds(folds, alphas)

    def _check_kfold(self):
        if self.store_cv_results or self.alpha_per_target:
            raise ParameterError(
                "cv!=None is incompatible with store_cv_results=True and "
                "alpha_per_target=True (as in scikit-learn); use cv=None for those."
            )
        return self.cv

    def fit_streamed(self, gram: Gram, blocks=None, folds: FoldStatistics | None = None,
                     y_ndim: int = 1) -> RidgeCV:
        """Fit from statistics gathered elsewhere (a streamed file), in bounded memory.

        Leave-one-out (``cv=None``) needs ``gram`` and a second pass: ``blocks``, an iterable
        of ``(X, Y, None)`` blocks in any order. k-fold needs the ``folds`` statistics. With
        ``standardize=True`` the statistics and blocks are standardized here.
        """
        self._validate_params()
        alphas = self._alphas()
        self._y_ndim = 1 if y_ndim == 1 and gram.n_targets == 1 else 2
        self.n_features_in_ = gram.n_features
        self.design_, self.n_dropped_ = None, 0
        gram, self._scaling = scaled_statistics(self, gram)
        if folds is not None:
            folds, _ = scaled_folds(self, folds)
        if self.cv is None:
            blocks = scaled_blocks(blocks, self._scaling)
            return self._finish(gram, self._fit_loo(blocks, gram, alphas))
        self._check_kfold()
        return self._fit_folds(folds, alphas)

    def _fit_folds(self, folds: FoldStatistics, alphas: np.ndarray) -> RidgeCV:
        gram = folds.total
        scores = np.stack([_fold_r2(tr, te, alphas, self.fit_intercept)  # weighted R²
                           for tr, te in zip(folds.train, folds.test, strict=True)])
        mean = scores.mean(axis=0)
        best = int(np.argmax(np.where(np.isnan(mean), -np.inf, mean)))
        self.alpha_, self.best_score_ = float(alphas[best]), float(mean[best])
        warn_at_grid_edge("RidgeCV", alphas, self.alpha_, stacklevel=5,
                          extend="Pass alphas that extend beyond it.")
        coef = ridge_coefficients(gram, np.array([self.alpha_]), self.fit_intercept)[..., 0]
        return self._finish(gram, coef)

    def _finish(self, gram: Gram, coef: np.ndarray) -> RidgeCV:
        self._gram = gram
        intercept = (gram.mean_y - gram.mean_x @ coef if self.fit_intercept
                     else np.zeros(gram.n_targets))
        self._set_coefficients(coef.T, intercept)
        return self

    def _fit_loo(self, blocks, gram: Gram, alphas: np.ndarray) -> np.ndarray:
        XtX, XtY, _ = gram.cross_products(self.fit_intercept)
        lam, V = np.linalg.eigh(XtX)
        qV = V.T @ XtY  # (d, k)
        # XᵀX's numerical null space (rank < d: sparse X with fewer rows than columns): Xᵀy
        # and every row have no part there, so it adds nothing (the minimum-norm limit)
        null = lam <= lam.max(initial=0.0) * len(lam) * np.finfo(np.float64).eps
        D = np.where(null[:, None], 0.0, 1.0 / (lam[:, None] + alphas[None, :]))  # (d, A)
        d, k, A = gram.n_features, gram.n_targets, alphas.size
        C = (D[:, None, :] * qV[:, :, None]).reshape(len(lam), k * A)
        sse = np.zeros((k, A))
        store = [] if self.store_cv_results else None
        shift_x = gram.mean_x if self.fit_intercept else np.zeros(d)
        shift_y = gram.mean_y if self.fit_intercept else np.zeros(k)
        n = 0
        centred_buf = z_buf = sq_buf = np.empty((0, d))
        for Xb, Yb, wb in blocks:
            b = Xb.shape[0]
            n += b
            if centred_buf.shape[0] < b:  # buffers reused across blocks: no page faults
                centred_buf, z_buf, sq_buf = (np.empty((b, d)) for _ in range(3))
            if type(Xb).__module__.startswith("scipy.sparse"):  # (X_b − x̄)V, X_b kept sparse
                Z = np.subtract(Xb @ V, shift_x @ V, out=z_buf[:b])
            else:  # centred first: no cancellation when offsets are large
                centred = np.subtract(Xb, shift_x, out=centred_buf[:b])
                Z = np.matmul(centred, V, out=z_buf[:b])
            resid = Yb.reshape(len(Yb), -1) - shift_y
            if wb is not None:
                root = np.sqrt(wb)[:, None]
                Z *= root
                resid *= root
            h = np.multiply(Z, Z, out=sq_buf[:b]) @ D  # (b, A) leverages for every alpha
            if self.fit_intercept:
                h += (1.0 / gram.weight_sum if wb is None else wb[:, None] / gram.weight_sum)
            resid = resid[:, :, None] - (Z @ C).reshape(-1, k, A)
            err2 = (resid / (1.0 - h)[:, None, :]) ** 2
            sse += err2.sum(axis=0)
            if store is not None:
                store.append(err2)
        return self._select(sse, n, store, alphas, lambda b: V @ (D[:, b][:, None] * qV))

    def _fit_loo_svd(self, X, Y, w, gram: Gram, alphas: np.ndarray) -> np.ndarray:
        """Leave-one-out through the SVD of the (n × d) centred design, for fewer rows than
        coefficients: the Gram's null space (rounded to ±ε·λ_max) would be divided by a tiny
        alpha, so β(α) = V diag(s/(s² + α)) Uᵀy comes from the smaller side instead."""
        shift_x = gram.mean_x if self.fit_intercept else np.zeros(X.shape[1])
        shift_y = gram.mean_y if self.fit_intercept else np.zeros(Y.shape[1])
        Xc, Yc = X - shift_x, Y - shift_y
        if w is not None:
            root = np.sqrt(w)[:, None]
            Xc *= root
            Yc *= root
        U, sv, Vt = np.linalg.svd(Xc, full_matrices=False)
        UtY = U.T @ Yc  # (r, k)
        s2 = sv[:, None] ** 2
        F = s2 / (s2 + alphas[None, :])  # (r, A): the hat matrix's eigenvalues
        h = (U * U) @ F  # (n, A)
        if self.fit_intercept:
            h += (1.0 / gram.weight_sum if w is None else w[:, None] / gram.weight_sum)
        n, k, A = X.shape[0], Y.shape[1], alphas.size
        fitted = (U @ (F[:, None, :] * UtY[:, :, None]).reshape(len(sv), k * A)).reshape(n, k, A)
        with np.errstate(divide="ignore", invalid="ignore"):
            err2 = ((Yc[:, :, None] - fitted) / (1.0 - h)[:, None, :]) ** 2
        store = [err2] if self.store_cv_results else None
        shrink = sv[:, None] / (s2 + alphas[None, :])  # (r, A)
        return self._select(err2.sum(axis=0), n, store, alphas,
                            lambda b: Vt.T @ (shrink[:, b][:, None] * UtY))

    def _select(self, sse, n, store, alphas, coef_of) -> np.ndarray:
        """Choose alpha (per target with ``alpha_per_target``) from the summed squared
        leave-one-out errors ``sse`` (k, A); ``coef_of(index)`` gives (d, k) coefficients."""
        k = sse.shape[0]
        if self.alpha_per_target and k > 1:
            scores = -sse / n  # (k, A)
            best = np.argmax(scores, axis=1)
            self.alpha_ = alphas[best]
            self.best_score_ = scores[np.arange(k), best]
            coef = np.stack([coef_of(b)[:, t] for t, b in enumerate(best)], axis=1)
        else:
            scores = -sse.sum(axis=0) / (n * k)
            best = int(np.argmax(scores))
            self.alpha_, self.best_score_ = float(alphas[best]), float(scores[best])
            coef = coef_of(best)
        if store is not None:
            results = np.concatenate(store)
            self.cv_results_ = results[:, 0, :] if self._y_ndim == 1 else results
        for chosen in np.atleast_1d(self.alpha_):
            warn_at_grid_edge("RidgeCV", alphas, float(chosen), stacklevel=5,
                              extend="Pass alphas that extend beyond it.")
        return coef

    def regularization_path(self, n_alphas: int = 100):
        """``(alphas, coefs (k, d, n_alphas), alpha_)`` over a grid spanning the candidates."""
        gram = self._path_statistics()
        chosen = float(np.max(np.atleast_1d(self.alpha_)))
        candidates = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        low = max(float(candidates.min()), chosen * 1e-3, 1e-12)
        high = max(float(candidates.max()), chosen * 1e3)
        grid = np.geomspace(high * 10, low / 10, n_alphas)
        coefs = ridge_coefficients(gram, grid, self.fit_intercept).transpose(1, 0, 2)
        return grid, coefs, chosen


def ridge_coefficients(gram: Gram, alphas: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """(S + αI)⁻¹ Xᵀy for every alpha from one eigendecomposition: shape (d, k, n_alphas)."""
    XtX, XtY, _ = gram.cross_products(fit_intercept)
    lam, V = np.linalg.eigh(XtX)
    qV = V.T @ XtY
    D = 1.0 / (lam[:, None] + alphas[None, :])
    return np.einsum("ij,jka->ika", V, D[:, None, :] * qV[:, :, None])


def _fold_r2(train: Gram, test: Gram, alphas: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """R² (averaged over targets) of every alpha's ridge fit on one validation fold."""
    coefs = ridge_coefficients(train, alphas, fit_intercept).transpose(1, 0, 2)  # (k, d, A)
    if fit_intercept:
        intercepts = train.mean_y[:, None] - np.einsum("j,kja->ka", train.mean_x, coefs)
    else:
        intercepts = np.zeros((train.n_targets, alphas.size))
    rss = validation_rss(test, coefs, intercepts)  # (k, A)
    return r2_scores(rss, np.diag(test.syy)[:, None]).mean(axis=0)
