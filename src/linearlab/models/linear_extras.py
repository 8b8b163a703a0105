"""Summary, figures, model files and PyTorch interop for :class:`~linearlab.LinearRegression`.

A mixin: these methods read the fitted state and hand it to :mod:`linearlab.viz`,
:mod:`linearlab.io.model_file` or the torch backend; none of them fits anything.
"""

from __future__ import annotations

import numpy as np

from linearlab import errors
from linearlab.data.lazy import is_dask
from linearlab.errors import DataError
from linearlab.exact import solvers as exact
from linearlab.state.fitted import FittedState, TrainingRecord


class EstimatorExtras:
    """``summary``, ``plot``, ``animate``, ``save``, ``to_torch`` and ``from_torch``."""

    def summary(self, cov_type: str = "nonrobust", X=None, y=None, sample_weight=None):
        """Statistical summary of the fit, with statsmodels' names and values.

        Non-robust statistics come from the statistics kept at fit time (the Gram matrix, or
        the refined factorisation for ill-conditioned data), so models fitted by
        ``partial_fit`` or gradient descent have them too. Robust covariances need every
        row's residual: pass the training data ``X, y`` (and ``sample_weight``); the model does
        not keep a copy of it.

        Parameters
        ----------
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}, default="nonrobust"
        X, y, sample_weight : array-like, optional
            The training data; required for ``cov_type="HC0".."HC3"``. When given, the
            residual sum of squares is computed from the residuals themselves. A
            :meth:`from_formula` model takes the training table as ``X`` alone (its formula
            reads y); text columns and ``missing="drop"`` are applied as the fit applied them.

        Returns
        -------
        RegressionSummary, or MultiSummary (one per target, indexable by position or name)
            ``params`` (intercept first), ``bse``, ``tvalues``, ``pvalues``, ``conf_int()``,
            ``rsquared``, ``rsquared_adj``, ``fvalue``, ``f_pvalue``, ``llf``, ``aic``,
            ``bic``, ``df_model``, ``df_resid``, ``ssr``, ``scale``, ``condition_number``,
            ``predict(X, interval=...)``, ``to_dict()``; ``str()`` is the table. Fitted on
            named data (a DataFrame, a formula, a data file), ``params``, ``bse``, ``tvalues``
            and ``pvalues`` are pandas Series and ``conf_int()`` a DataFrame indexed by the
            names, as statsmodels gives for pandas input.
        """
        from linearlab.stats import FitRecord, summarize

        self._check_fitted()
        data = None
        design = getattr(self, "design_", None)
        formula = getattr(design, "kind", None) == "formula"
        if formula and y is not None:
            raise DataError(
                "This model's formula reads y from the table: pass the training table alone, "
                "model.summary(cov_type=..., X=data) (no y)."
            )
        if X is not None or y is not None:
            if X is None or (y is None and not formula):
                raise DataError("summary() needs both X and y (the training data), or neither.")
        on_dask = is_dask(X, y, sample_weight)  # residuals from a pass over the partitions
        if X is not None and not on_dask:
            Xa, ya, w = self._validate_X_y(X, y, sample_weight, reset=False)
            data = (Xa, ya.reshape(-1, 1) if ya.ndim == 1 else ya, w)
        state = self.fitted_state_
        if state.gram is None:
            raise errors.NotFittedError(
                "summary() needs the statistics of the training data, which this model does "
                "not have (a model file saved without them, or an nn.Linear); refit it with "
                "fit() or partial_fit()."
            )
        solution = state.solution
        exact_fit = solution is not None and state.training.solver != "gd"
        record = FitRecord(
            coef=state.coef,
            intercept=state.intercept,
            fit_intercept=self.fit_intercept,
            gram=state.gram,
            solver=state.training.solver,
            feature_names=self._feature_labels()
            or [f"x{j + 1}" for j in range(self.n_features_in_)],
            target_names=list(state.target_names),
            intercept_name=getattr(getattr(self, "design_", None), "intercept_name", "const"),
            design=getattr(self, "design_", None),
            alpha=self.alpha,
            weighted=state.weighted,
            log_weight_sum=state.log_weight_sum,
            rank_deficient=exact_fit and solution.rank < state.coef.shape[0],
            cov_unscaled=solution.cov_unscaled if exact_fit else None,
            ssr=solution.ssr if exact_fit else None,
            condition_number=(
                solution.raw_condition_number
                if exact_fit and not np.isnan(solution.raw_condition_number)
                else exact.raw_condition_number(state.gram, self.fit_intercept)
            ),
            multi_output=not state.single_target,
        )
        if on_dask:
            from linearlab.distributed.robust import summarize as summarize_dask

            return summarize_dask(record, cov_type, X, y, sample_weight)
        labelled = formula or getattr(self, "feature_names_in_", None) is not None
        return summarize(record, cov_type, data, labelled=labelled)

    def save(self, path) -> None:
        """Write the fitted model to ``path`` as JSON (``linearlab.model/1``), atomically.

        Reload it with :func:`linearlab.load`; predictions are bit-for-bit the same.
        """
        from linearlab.io.model_file import save  # the writer half: it never builds an estimator

        save(self, path)

    def plot(self, X=None, y=None, *, kind: str = "fit", **kwargs):
        """Draw a figure of the fitted model with :mod:`linearlab.viz` (needs matplotlib).

        Parameters
        ----------
        X, y : array-like
            The data; every kind but ``"history"`` needs them.
        kind : {"fit", "residuals", "history", "loss-curve", "landscape"}, default="fit"
            The fitted line (or predicted vs actual), residual diagnostics, the loss per
            epoch, the loss along one parameter with the GD iterates, or loss contours over
            (w, b) with the recorded path.
        **kwargs
            Passed to the ``linearlab.viz`` function drawing that kind.

        Returns
        -------
        matplotlib.figure.Figure
        """
        self._check_fitted()
        from linearlab.viz import plot  # needs matplotlib: import on use

        return plot(self, kind, X, y, **kwargs)

    def animate(self, path, X, y, **kwargs):
        """Write a GIF of gradient descent (line over the data beside the loss landscape).

        Draws the recorded ``params_history_`` (``solver="gd"``); ``frames=N`` or ``every=k``
        choose the epochs shown. See :func:`linearlab.viz.animate_training`.

        Returns
        -------
        pathlib.Path
            The GIF written.
        """
        self._check_fitted()
        from linearlab.viz import animate_training

        return animate_training(self, X, y, path, **kwargs)

    def to_torch(self, dtype: str | None = None, device: str | None = None):
        """An ``nn.Linear(n_features, n_targets)`` holding the fitted parameters.

        ``dtype`` and ``device`` default to the estimator's ``dtype`` and ``device``.
        """
        from linearlab.descent import torch_backend

        self._check_fitted()
        state = self.fitted_state_
        return torch_backend.to_linear(
            state.coef, state.intercept, self.fit_intercept, dtype or self.dtype,
            device or self.device,
        )

    @classmethod
    def from_torch(cls, linear):
        """A fitted estimator from an ``nn.Linear`` (or a module wrapping exactly one).

        ``out_features == 1`` gives 1-D ``coef_`` like a single-target fit; more outputs give
        ``coef_`` of shape (n_targets, n_features). The estimator is set up as
        ``solver="gd", backend="torch"``, so ``partial_fit`` continues training from it.
        """
        from linearlab.descent import torch_backend

        params = torch_backend.from_linear(linear)
        model = cls(
            solver="gd", backend="torch", fit_intercept=params["fit_intercept"],
            dtype=params["dtype"], device=params["device"],
        )
        coef = np.asarray(params["coef"], dtype=np.float64)
        state = FittedState(
            coef=coef, intercept=params["intercept"], single_target=coef.shape[1] == 1,
            training=TrainingRecord(solver="external", n_iter=0),
            target_names=["y"] if coef.shape[1] == 1 else
            [f"y{t + 1}" for t in range(coef.shape[1])],
        )
        return model.set_fitted_state(state)
