"""Statistical inference for least-squares fits: the summary that ``LinearRegression.summary()``
returns, with statsmodels' names and values (OLS/WLS, HC0–HC3 robust errors, intervals).

Non-robust statistics come from the fitted model's sufficient statistics (and, for
ill-conditioned data, from the refined factorisation), so streamed fits have them too; robust
covariances need the training data, passed to ``summary``.
"""

from __future__ import annotations

import numpy as np

from linearlab.errors import DataError, ParameterError
from linearlab.stats.build import (
    COV_TYPES,
    FitRecord,
    aliased_columns,
    build_inference,
    check_cov_type,
    implicit_constant,
    robust_covariances,
)
from linearlab.stats.results import MultiSummary, PredictionInterval, RegressionSummary

__all__ = [
    "COV_TYPES",
    "FitRecord",
    "MultiSummary",
    "PredictionInterval",
    "RegressionSummary",
    "aliased_columns",
    "summarize",
]


def _check_same_data(record: FitRecord, data) -> None:
    """The data passed to ``summary`` must be the training data (cheap check on the Gram)."""
    X, Y, w = data
    gram = record.gram
    if X.shape[0] != gram.count or Y.shape[1] != gram.n_targets:
        raise DataError(
            f"summary() got {X.shape[0]} rows and {Y.shape[1]} target(s), but the model was "
            f"fitted on {gram.count} rows and {gram.n_targets} target(s); pass the training data."
        )
    total = X.shape[0] if w is None else float(w.sum())
    if total <= 0:
        return
    mean_x = X.mean(axis=0) if w is None else w @ X / total
    mean_y = Y.mean(axis=0) if w is None else w @ Y / total
    spread = np.sqrt(np.diag(gram.sxx) / max(gram.weight_sum, 1e-300)) + np.abs(gram.mean_x)
    ok_x = np.all(np.abs(mean_x - gram.mean_x) <= 1e-8 * (spread + 1e-300))
    ok_w = abs(total - gram.weight_sum) <= 1e-8 * gram.weight_sum
    spread_y = np.sqrt(np.diag(gram.syy) / max(gram.weight_sum, 1e-300)) + np.abs(gram.mean_y)
    ok_y = np.all(np.abs(mean_y - gram.mean_y) <= 1e-8 * (spread_y + 1e-300))
    if not (ok_x and ok_y and ok_w):
        raise DataError(
            "The X, y (and sample_weight) passed to summary() are not the data the model was "
            "fitted on (their means or total weight differ); pass the training data."
        )


def summarize(
    record: FitRecord, cov_type: str = "nonrobust", data=None, robust=None,
    labelled: bool = False,
) -> RegressionSummary | MultiSummary:
    """Build the summary of a fit.

    Parameters
    ----------
    record : FitRecord
        What the estimator kept from the fit.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
    data : tuple (X, Y, sample_weight) or None
        The validated training data (Y 2-D); required for HC covariances unless ``robust``.
    robust : callable, optional
        ``robust(inference, record, cov_type) -> (covs, walds)``: HC covariances computed
        elsewhere (by :mod:`linearlab.distributed` from a pass over the partitions).
    labelled : bool, default=False
        The model was fitted on named data: ``params``, ``bse``, ``tvalues``, ``pvalues`` are
        pandas Series and ``conf_int()`` a DataFrame indexed by the names, as statsmodels.

    Returns
    -------
    RegressionSummary, or MultiSummary (one per target) for a 2-D target.
    """
    cov_type = check_cov_type(cov_type)
    if record.alpha:
        raise ParameterError(
            f"summary() reports ordinary least-squares inference, but the model has "
            f"alpha={record.alpha} (ridge), whose coefficients are biased and have no "
            "t-statistics of this kind; refit with alpha=0 for a summary."
        )
    if data is not None:
        _check_same_data(record, data)
    elif cov_type != "nonrobust" and robust is None:
        if getattr(record.design, "kind", None) == "formula":
            raise ParameterError(
                f"cov_type={cov_type!r} needs each row's residual: pass the training table, "
                f"model.summary(cov_type={cov_type!r}, X=data) (the formula reads y from it; "
                "add sample_weight=w if the fit was weighted). Non-robust statistics need no "
                "data."
            )
        raise ParameterError(
            f"cov_type={cov_type!r} needs each row's residual: pass the training data, "
            f"e.g. model.summary(cov_type={cov_type!r}, X=X, y=y) (and sample_weight=w if the "
            "fit was weighted). Non-robust statistics need no data."
        )
    inference = build_inference(record, data)
    p_kept = inference.params.shape[0]
    if inference.nobs <= p_kept:
        raise DataError(
            f"A summary needs more rows than parameters: {inference.nobs} rows for {p_kept} "
            "estimated parameters leave no degrees of freedom for the residual variance."
        )
    df_resid = inference.nobs - p_kept
    if cov_type == "nonrobust":
        covs = [inference.cov_unscaled * (ssr / df_resid) for ssr in inference.ssr]
        walds = [None] * len(covs)
    else:
        covs, walds = (
            robust(inference, record, cov_type) if robust is not None
            else robust_covariances(inference, record, cov_type, data)
        )
    names = ([record.intercept_name] if record.fit_intercept else []) + list(record.feature_names)
    implicit = not record.fit_intercept and implicit_constant(record.gram)
    summaries = [
        RegressionSummary(
            params=inference.params[:, t],
            cov=covs[t],
            robust_wald=walds[t],
            implicit_constant=implicit,
            design=record.design,
            ssr=inference.ssr[t],
            centered_tss=inference.centered_tss[t],
            uncentered_tss=inference.uncentered_tss[t],
            nobs=inference.nobs,
            kept=inference.kept,
            fit_intercept=record.fit_intercept,
            cov_type=cov_type,
            names=names,
            target_name=record.target_names[t],
            condition_number=record.condition_number,
            weighted=record.weighted,
            log_weight_sum=record.log_weight_sum,
            solver=record.solver,
            labelled=labelled,
        )
        for t in range(inference.ssr.shape[0])
    ]
    return MultiSummary(summaries) if record.multi_output else summaries[0]
