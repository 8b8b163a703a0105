"""Summaries of penalized fits: the fit, the penalty and the selected features — no p-values.

Standard errors, t statistics, p-values and confidence intervals are deliberately absent: the
OLS formulas assume the features were fixed before looking at the data and the estimates are
unbiased. An L1 penalty chooses the features from the same data (post-selection inference
needs other tools) and every penalty shrinks the estimates, so those numbers would mislead.
What is reported instead: coefficients, which are non-zero, the effective degrees of freedom
(the number of non-zero coefficients for the lasso, Zou, Hastie & Tibshirani 2007; the trace of
the hat matrix on the active set for the elastic net and ridge), R² and the residual error.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linearlab.errors import UsageError
from linearlab.exact.gram import Gram
from linearlab.stats.metrics import r2_scores

NO_INFERENCE = (
    "Standard errors, t statistics, p-values and confidence intervals are not reported for "
    "penalized fits: the penalty shrinks the estimates and an L1 penalty selects the features "
    "from the same data, so the OLS formulas do not hold. Use LinearRegression on the "
    "selected features with fresh data (or a post-selection inference method) for inference."
)


@dataclass
class PenalizedSummary:
    """Fit statistics of a penalized model (one entry per target in the arrays)."""

    model: str
    alpha: Any
    l1_ratio: float
    feature_names: list[str]
    target_names: list[str]
    params: np.ndarray  # (k, d + 1): intercept first, as statsmodels orders them
    nobs: int
    weight_sum: float
    df_model: np.ndarray
    ssr: np.ndarray
    rsquared: np.ndarray
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_model(cls, model, gram: Gram) -> PenalizedSummary:
        """Build from a fitted penalized estimator and its training statistics."""
        coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))  # (k, d)
        intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
        l1_ratio = float(getattr(model, "l1_ratio_", getattr(model, "l1_ratio", 1.0)))
        if type(model).__name__ == "RidgeCV":
            l1_ratio = 0.0
        alpha = getattr(model, "alpha_", getattr(model, "alpha", None))
        alphas = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (coef.shape[0],))
        rss = gram.residual_sum_of_squares(coef.T, intercept if model.fit_intercept else None)
        _, _, YtY = gram.cross_products(model.fit_intercept)
        r2 = r2_scores(rss, np.diag(YtY), constant=np.nan)
        XtX, _, _ = gram.cross_products(model.fit_intercept)
        df = np.array([_effective_df(XtX, c, a, l1_ratio, gram.weight_sum, ridge=(
            type(model).__name__ == "RidgeCV")) for c, a in zip(coef, alphas, strict=True)])
        names = list(getattr(model, "target_names_", None) or (
            ["y"] if coef.shape[0] == 1 else [f"y{t + 1}" for t in range(coef.shape[0])]))
        params = np.column_stack([intercept if model.fit_intercept else np.zeros(len(coef)),
                                  coef])
        return cls(
            model=type(model).__name__, alpha=alpha, l1_ratio=l1_ratio,
            feature_names=model._feature_labels(), target_names=names, params=params,
            nobs=int(gram.count), weight_sum=float(gram.weight_sum), df_model=df, ssr=rss,
            rsquared=r2, notes=[NO_INFERENCE],
        )

    # ------------------------------------------------------------------ what is not there
    def _no_inference(self, name: str):
        raise UsageError(f"{name} is not available for a {self.model} fit. {NO_INFERENCE}")

    @property
    def bse(self):
        self._no_inference("bse (standard errors)")

    @property
    def tvalues(self):
        self._no_inference("tvalues")

    @property
    def pvalues(self):
        self._no_inference("pvalues")

    def conf_int(self, alpha: float = 0.05):
        """Not available: see the module notes."""
        self._no_inference("conf_int()")

    def predict(self, X, interval: str | None = None, alpha: float = 0.05):
        """Point predictions; ``interval`` is refused (see the module notes)."""
        if interval is not None:
            raise UsageError(
                f"Prediction intervals are not available for a {self.model} fit: their "
                "formulas assume an unpenalized least-squares fit. Predict without an "
                "interval, or refit LinearRegression on the selected features for intervals."
            )
        X = np.asarray(X, dtype=np.float64)
        out = self.params[:, 0] + X @ self.params[:, 1:].T
        return out[:, 0] if out.shape[1] == 1 else out

    # ------------------------------------------------------------------ output
    @property
    def nonzero(self) -> list[list[str]]:
        """Names of the non-zero coefficients, per target."""
        return [[n for n, c in zip(self.feature_names, row[1:], strict=True) if c != 0.0]
                for row in self.params]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``linearlab fit --summary --json`` prints)."""
        def num(v):
            return float(v) if math.isfinite(float(v)) else None

        return {
            "model": self.model,
            "alpha": (np.asarray(self.alpha).tolist() if self.alpha is not None else None),
            "l1_ratio": self.l1_ratio,
            "nobs": self.nobs,
            "targets": [
                {
                    "name": name,
                    "params": dict(zip(["const", *self.feature_names],
                                       [float(p) for p in row], strict=True)),
                    "nonzero": nz,
                    "df_model": num(df), "ssr": num(ssr), "rsquared": num(r2),
                }
                for name, row, nz, df, ssr, r2 in zip(
                    self.target_names, self.params, self.nonzero, self.df_model, self.ssr,
                    self.rsquared, strict=True)
            ],
            "notes": self.notes,
        }

    def __str__(self) -> str:
        alpha = np.asarray(self.alpha, dtype=np.float64).ravel()
        alpha_text = ", ".join(f"{a:.6g}" for a in alpha)
        lines = [f"{self.model} results".center(78), "=" * 78]
        for t, name in enumerate(self.target_names):
            lines += [
                f"Dep. Variable: {name:<24} alpha: {alpha_text:<14} l1_ratio: {self.l1_ratio:g}",
                f"No. Observations: {self.nobs:<21} Df Model (effective): "
                f"{self.df_model[t]:.3f}",
                f"R-squared: {self.rsquared[t]:<28.4f} SSR: {self.ssr[t]:.6g}",
                "-" * 78,
                f"{'':<30}{'coef':>16}",
            ]
            labels = ["const", *self.feature_names]
            for label, value in zip(labels, self.params[t], strict=True):
                mark = "" if label == "const" or value != 0.0 else "   (dropped: exactly 0)"
                lines.append(f"{label[:30]:<30}{value:>16.6g}{mark}")
            lines.append("=" * 78)
        lines.append("Notes:")
        for i, note in enumerate(self.notes):
            lines += textwrap.wrap(f"[{i + 1}] {note}", 78, subsequent_indent="    ")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _effective_df(XtX: np.ndarray, coef: np.ndarray, alpha: float, l1_ratio: float,
                  weight_sum: float, ridge: bool) -> float:
    """Degrees of freedom of the fit: tr of the hat matrix restricted to the active set."""
    if ridge:
        lam = np.linalg.eigvalsh(XtX)
        return float(np.sum(lam / (lam + alpha)))
    active = np.flatnonzero(coef)
    if active.size == 0:
        return 0.0
    l2 = weight_sum * alpha * (1.0 - l1_ratio)
    if l2 == 0.0:
        return float(active.size)
    lam = np.linalg.eigvalsh(XtX[np.ix_(active, active)])
    return float(np.sum(lam / (lam + l2)))
