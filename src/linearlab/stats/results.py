"""The results object returned by ``LinearRegression.summary()``: statsmodels' names and values."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from linearlab.data.lazy import is_dask, map_interval, map_rows
from linearlab.data.validation import check_X
from linearlab.errors import DataError, ParameterError
from linearlab.stats.metrics import r2_scores


class PredictionInterval(NamedTuple):
    """Predictions with their interval: ``mean``, ``lower``, ``upper`` and the standard error."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    se: np.ndarray


def _check_alpha(alpha: float) -> float:
    if not isinstance(alpha, (int, float)) or not 0.0 < float(alpha) < 1.0:
        raise ParameterError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}.")
    return float(alpha)


class RegressionSummary:
    """Statistical summary of one target of a least-squares fit.

    Values follow statsmodels' ``OLS``/``WLS`` results (``params`` intercept first, named
    ``const``). Aliased columns (linearly dependent on earlier ones) are NaN in every per-column
    array and shown as ``NA`` in the table, as R's ``lm`` does; the other columns are then those
    of the fit without them. With ``cov_type`` "HC0".."HC3", inference uses the normal
    distribution (statsmodels' default ``use_t=False``) and the F statistic is the robust Wald
    test.

    Attributes
    ----------
    params, bse, tvalues, pvalues : ndarray of shape (n_params,), or pandas Series
        Series indexed by :attr:`names` when the model was fitted on named data (a DataFrame,
        a formula, a data file), as statsmodels gives for pandas input; arrays otherwise.
    rsquared, rsquared_adj, fvalue, f_pvalue, llf, aic, bic, ssr, scale : float
    df_model, df_resid : float
    nobs : int
    condition_number : float
        Of the weighted design with its constant column, as statsmodels reports it.
    cov_type : str
    names : list of str
    aliased : list of str
    """

    def __init__(
        self, *, params, cov, ssr, centered_tss, uncentered_tss, nobs, kept, fit_intercept,
        cov_type, names, target_name, condition_number, weighted, log_weight_sum, solver,
        robust_wald=None, implicit_constant=False, design=None, labelled=False,
    ):
        self._robust_wald = robust_wald
        self._design = design
        self._kept = np.asarray(kept, dtype=bool)
        self._fit_intercept = bool(fit_intercept)
        k_const = int(fit_intercept)
        self._mask = np.concatenate([np.ones(k_const, dtype=bool), self._kept])  # estimated
        p_kept = int(self._mask.sum())
        self.names = list(names)
        self.target_name = target_name
        self.aliased = [n for n, m in zip(self.names, self._mask, strict=True) if not m]
        self.cov_type = cov_type
        self.use_t = cov_type == "nonrobust"
        self.nobs = int(nobs)
        # statsmodels counts a constant the columns span (dummies of every level) as one
        k_model = k_const or int(bool(implicit_constant))
        self.k_constant = k_model
        self.df_resid = float(self.nobs - p_kept)
        self.df_model = float(p_kept - k_model)
        self.ssr = float(ssr)
        self.scale = self.ssr / self.df_resid if self.df_resid > 0 else math.nan
        self.centered_tss = float(centered_tss)
        self.uncentered_tss = float(uncentered_tss)
        self.condition_number = float(condition_number)
        self.weighted = bool(weighted)
        self.solver = solver
        self._params_kept = np.asarray(params, dtype=np.float64)
        self._cov_kept = np.asarray(cov, dtype=np.float64)
        self._labelled = bool(labelled)
        self._params = self._expand(self._params_kept)
        self._bse = self._expand(np.sqrt(np.diag(self._cov_kept)))
        with np.errstate(divide="ignore", invalid="ignore"):
            self._tvalues = self._params / self._bse
        self._pvalues = 2.0 * self._dist().sf(np.abs(self._tvalues))
        self.params, self.bse, self.tvalues, self.pvalues = (
            self._series(v) for v in (self._params, self._bse, self._tvalues, self._pvalues))
        tss = self.centered_tss if k_model else self.uncentered_tss
        self.rsquared = float(r2_scores(self.ssr, tss, constant=math.nan))
        self.rsquared_adj = 1.0 - (self.nobs - k_model) / self.df_resid * (1.0 - self.rsquared)
        self.ess = tss - self.ssr
        self.fvalue, self.f_pvalue = self._f_test()
        n2 = self.nobs / 2.0
        self.llf = float(-n2 * math.log(self.ssr) - (1 + math.log(math.pi / n2)) * n2
                         + 0.5 * log_weight_sum) if self.ssr > 0 else math.inf
        k_params = self.df_model + k_model
        self.aic = -2.0 * self.llf + 2.0 * k_params
        self.bic = -2.0 * self.llf + math.log(self.nobs) * k_params

    # ------------------------------------------------------------------ helpers
    def _expand(self, values: np.ndarray) -> np.ndarray:
        out = np.full(self._mask.size, np.nan)
        out[self._mask] = values
        return out

    def _series(self, values: np.ndarray):
        """``values`` as a pandas Series indexed by the names (named data), else the array."""
        if not self._labelled:
            return values
        import pandas as pd

        return pd.Series(values, index=list(self.names))

    def _frame(self, values: np.ndarray, columns=None):
        if not self._labelled:
            return values
        import pandas as pd

        return pd.DataFrame(values, index=list(self.names), columns=columns)

    def _dist(self):
        from scipy import stats as sps  # on use: scipy.stats costs ~1 s to import

        return sps.t(self.df_resid) if self.use_t else sps.norm()

    def _f_test(self) -> tuple[float, float]:
        if self.df_model <= 0 or self.df_resid <= 0:
            return math.nan, math.nan
        if self.use_t:
            value = (self.ess / self.df_model) / self.scale
        elif self._robust_wald is not None:  # from the sandwich's square root (accurate)
            value = self._robust_wald / self.df_model
        else:  # robust Wald test that every coefficient but the constant is zero
            k = int(self._fit_intercept)
            b = self._params_kept[k:]
            V = self._cov_kept[k:, k:]
            scale = np.sqrt(np.diag(V))  # scaled to unit diagonal: a far better-conditioned solve
            bs = b / scale
            value = float(bs @ np.linalg.solve(V / np.outer(scale, scale), bs)) / b.size
        from scipy import stats as sps

        return float(value), float(sps.f.sf(value, self.df_model, self.df_resid))

    # ------------------------------------------------------------------ public API
    def cov_params(self):
        """Covariance matrix of the parameters (NaN rows/columns for aliased ones); a
        DataFrame indexed by the names for named data."""
        out = np.full((self._mask.size, self._mask.size), np.nan)
        out[np.ix_(self._mask, self._mask)] = self._cov_kept
        return self._frame(out, list(self.names))

    def conf_int(self, alpha: float = 0.05):
        """Confidence intervals of the parameters, shape (n_params, 2): lower, upper (for named
        data a DataFrame indexed by the names, columns 0 and 1, as statsmodels)."""
        return self._frame(self._conf_int(alpha))

    def _conf_int(self, alpha: float = 0.05) -> np.ndarray:
        q = self._dist().ppf(1.0 - _check_alpha(alpha) / 2.0)
        return np.column_stack([self._params - q * self._bse, self._params + q * self._bse])

    def predict(self, X, interval: str | None = None, alpha: float = 0.05):
        """Predictions for new rows, optionally with a confidence or prediction interval.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        interval : {None, "confidence", "prediction"}, default=None
            None returns the predictions only; "confidence" gives the interval of the mean
            response, "prediction" that of a new observation (adds ``scale``).
        alpha : float, default=0.05
            1 − coverage of the interval.

        Returns
        -------
        ndarray of shape (n_samples,), or PredictionInterval(mean, lower, upper, se)
        """
        if is_dask(X):  # lazily, partition by partition (index and divisions kept)
            return _predict_lazy(self, X, interval, alpha)
        if self._design is not None:  # a formula or categorical columns: the model's design
            X = self._design.transform(X)
        Xa = check_X(X, dtype="float64")
        if Xa.shape[1] != self._kept.size:
            raise DataError(
                f"X has {Xa.shape[1]} features, but the model was fitted with "
                f"{self._kept.size}; pass the same columns in the same order."
            )
        A = Xa[:, self._kept]
        if self._fit_intercept:
            A = np.hstack([np.ones((A.shape[0], 1)), A])
        mean = A @ self._params_kept
        if interval is None:
            return mean
        if interval not in ("confidence", "prediction"):
            raise ParameterError(
                f"interval={interval!r} is not supported; use None, 'confidence' or 'prediction'."
            )
        var = np.einsum("ij,jk,ik->i", A, self._cov_kept, A)
        if interval == "prediction":
            var = var + self.scale
        se = np.sqrt(var)
        q = self._dist().ppf(1.0 - _check_alpha(alpha) / 2.0)
        return PredictionInterval(mean, mean - q * se, mean + q * se, se)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN and infinities become None)."""

        def num(v):
            v = float(v)
            return v if math.isfinite(v) else None

        ci = self._conf_int()
        return {
            "target": self.target_name,
            "cov_type": self.cov_type,
            "nobs": self.nobs,
            "df_model": num(self.df_model),
            "df_resid": num(self.df_resid),
            "rsquared": num(self.rsquared),
            "rsquared_adj": num(self.rsquared_adj),
            "fvalue": num(self.fvalue),
            "f_pvalue": num(self.f_pvalue),
            "llf": num(self.llf),
            "aic": num(self.aic),
            "bic": num(self.bic),
            "ssr": num(self.ssr),
            "scale": num(self.scale),
            "condition_number": num(self.condition_number),
            "aliased": list(self.aliased),
            "coefficients": [
                {
                    "name": name,
                    "coef": num(self._params[i]),
                    "std_err": num(self._bse[i]),
                    "t" if self.use_t else "z": num(self._tvalues[i]),
                    "p_value": num(self._pvalues[i]),
                    "ci_lower": num(ci[i, 0]),
                    "ci_upper": num(ci[i, 1]),
                }
                for i, name in enumerate(self.names)
            ],
        }

    def __str__(self) -> str:
        from linearlab.stats.table import render

        return render(self)

    def __repr__(self) -> str:
        return (
            f"<RegressionSummary target={self.target_name!r} nobs={self.nobs} "
            f"rsquared={self.rsquared:.6g} cov_type={self.cov_type!r}>"
        )


def _predict_lazy(summary: RegressionSummary, X, interval, alpha):
    """``summary.predict`` on a Dask collection: lazy predictions or interval columns."""
    if interval is None:
        return map_rows(X, summary.predict, [summary.target_name], single=True)
    summary.predict(np.zeros((1, summary._kept.size)), interval, alpha)  # checks them now
    fields = PredictionInterval._fields
    return PredictionInterval(
        *map_interval(X, lambda block: summary.predict(block, interval, alpha), fields)
    )


class MultiSummary(list):
    """One :class:`RegressionSummary` per target; index by position or by target name."""

    def __getitem__(self, key):
        if isinstance(key, str):
            for summary in self:
                if summary.target_name == key:
                    return summary
            names = [s.target_name for s in self]
            raise KeyError(f"no target named {key!r}; targets are {names}")
        return super().__getitem__(key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: ``{"targets": [summary.to_dict(), ...]}``."""
        return {"targets": [s.to_dict() for s in self]}

    def __str__(self) -> str:
        return "\n\n".join(str(s) for s in self)
