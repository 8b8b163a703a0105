"""The public :class:`~linearlab.LinearRegression`: a scikit-learn estimator.

:class:`~linearlab.models.linear.LinearModel` does the work; this subclass adds scikit-learn's
``RegressorMixin`` and ``BaseEstimator`` in front of it, so that scikit-learn's
``get_params``/``set_params``, ``_validate_params`` (over the same declared constraints), tags,
``repr``, ``clone`` and pickling apply, and ``isinstance(model, BaseEstimator)`` holds. Importing
this module imports scikit-learn; the command line's fits, predictions and evaluations use
``LinearModel`` and do not.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, RegressorMixin

from linearlab.data.features import declare_inputs
from linearlab.models.linear import LinearModel
from linearlab.models.linear_params import PARAMETER_CONSTRAINTS
from linearlab.models.params import sklearn_constraints

__all__ = ["LinearRegression"]


class LinearRegression(RegressorMixin, BaseEstimator, LinearModel):
    """Linear regression solved exactly or trained by gradient descent.

    Parameters
    ----------
    solver : {"auto", "normal", "qr", "svd", "lsqr", "gd"}, default="auto"
        Exact solvers: ``"normal"`` (Cholesky on the Gram matrix, one pass over the data),
        ``"qr"``, ``"svd"`` (minimum-norm for rank-deficient data) or ``"auto"`` (normal equations
        when safe, else QR/SVD). ``"lsqr"``: SciPy's LSQR, to ``tol`` (default 1e-10), with the
        intercept by implicit centring; ``"auto"`` picks it for sparse X of more than 1000
        columns (see :mod:`linearlab.sparse`). ``"gd"`` trains by gradient descent.
    backend : {"numpy", "torch"}, default="numpy"
        Engine for ``solver="gd"``: the from-scratch NumPy engine or PyTorch.
    fit_intercept : bool, default=True
        Whether to fit an intercept (handled by centring, never by adding a column of ones).
    alpha : float, default=0.0
        L2 penalty on the coefficients (ridge), as scikit-learn's ``Ridge(alpha)``.
    loss : {"mse", "sse", "mae", "huber"}, default="mse"
        Training loss for ``solver="gd"`` (``"sse"`` is ``MSELoss(reduction="sum")``). Exact
        solvers always minimise squared error.
    optimizer : {"sgd", "momentum", "nesterov", "adam"}, default="sgd"
        Update rule for ``solver="gd"``, with torch.optim's formulas (momentum 0.9).
    lr : float or "auto", default="auto"
        Step size; ``"auto"`` derives a stable one from the largest curvature of the loss.
    epochs : int, default=1000
        Maximum number of passes over the data.
    batch_size : int or None, default=None
        None trains on the full batch; an int trains on mini-batches of that many rows.
    shuffle : bool, default=True
        Reshuffle mini-batches every epoch (else take them in order, as seed 001 does).
    tol : float or None, default=None
        Stop when an epoch improves the loss by less than ``tol``.
    init : {"zeros", "uniform", "normal"} or (coef, intercept), default="zeros"
        Starting parameters; ``"uniform"`` is ``nn.Linear``'s default initialisation.
    standardize : bool, default=False
        Train on standardized features and report coefficients on the original scale (GD only;
        with ``alpha`` the penalty then applies to the standardized coefficients).
    dtype : {"float64", "float32"}, default="float64"
        Precision of gradient-descent training.
    device : str, default="cpu"
        Torch device for ``backend="torch"``.
    random_state : int, RandomState or None, default=None
        Seeds the initial values and the batch order.
    log_every : int, default=0
        When > 0, print epoch, loss and parameters every ``log_every`` epochs.
    engine : {"auto", "loop"}, default="auto"
        ``"loop"`` always runs the plain loop (forward, loss, gradient, update). ``"auto"`` may
        instead evaluate plain SGD on a squared loss in closed form (full batch) or through
        per-batch affine maps (small mini-batch problems): the loop's iterates to rounding, in
        float64 only (float32 runs the loop), in blocks of epochs, stopping at ``tol`` as the
        loop does.
    callback : callable or None, default=None
        ``callback(state)`` after every epoch; ``state`` has ``epoch``, ``loss``, ``coef``,
        ``intercept`` (original feature scale, shaped like ``coef_``/``intercept_``) and
        ``lr``. Returning ``False`` stops training.
    lr_schedule : {"auto", "constant", "step", "exponential", "cosine", "invscaling"}, \
default="auto"
        Step size over training (see :mod:`linearlab.descent.schedules`): torch's StepLR
        (γ=0.1 every ``epochs // 3`` epochs), ExponentialLR (γ = 0.01^(1/epochs)),
        CosineAnnealingLR (T_max=epochs), or scikit-learn's invscaling (lr / t^0.25, t the
        samples seen). ``"auto"`` is constant.
    average : bool, int or "auto", default="auto"
        Polyak-Ruppert averaging as ``SGDRegressor(average=...)``: True averages every step's
        parameters, an int starts after that many samples. ``"auto"`` averages mini-batch runs
        whose step is ``lr="auto"`` (so that they converge instead of stalling at the noise
        floor of a constant step), from the second epoch on (the second half of a one-epoch
        run), and nothing else.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their loss has not improved
        by ``tol`` (1e-4 when ``tol`` is None) for ``n_iter_no_change`` epochs.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
        Patience of ``tol`` and of early stopping, as scikit-learn's SGDRegressor.
    missing : {"error", "drop"}, default="error"
        Rows with a missing value (NaN, None): an error giving their count and the first one,
        or dropped, as statsmodels' ``missing=`` (``n_dropped_`` counts them; ``predict``
        then gives such rows NaN).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Set when X has string column names (DataFrame).
    solver_ : str
        The solver that produced the coefficients ("normal", "qr", "svd" or "gd").
    rank_ : int
        Numerical rank of the centred design (exact solvers).
    condition_number_ : float
        Condition number of the centred, column-scaled design (exact solvers).
    history_ : list of float
        Training loss per epoch (``solver="gd"``). Past 100,000 epochs it is thinned to one
        epoch in every ``history_stride_`` (``history_[i]`` is epoch ``i * history_stride_``),
        plus the last epoch, so memory stays bounded whatever ``epochs`` is.
    params_history_ : ndarray of shape (n_iter_ + 1, n_features + 1, n_targets) or None
        Parameters after every epoch (``[coef; intercept]``), the first row the start (GD);
        thinned like ``history_`` (row ``i`` after ``i * history_stride_`` epochs, the last row
        the final parameters).
    history_stride_ : int
        1, or the thinning of ``history_`` and ``params_history_`` on long runs (GD).
    stopped_by_ : str or None
        What ended gradient descent early: "tol", "early_stopping", "callback" or
        "interrupted" (a KeyboardInterrupt: the model keeps the last finished epoch, a
        ConvergenceWarning says so and the interrupt propagates); None when ``epochs`` ran out.
    n_iter_ : int
        Epochs run (GD) or 1 (exact).
    converged_ : bool
        Whether GD met its stopping rule or reached the exact optimum (always True for exact).
    diagnosis_ : str or None
        Why GD is not converged and what to change; None when converged.
    learning_rate_ : float
        The step size used (GD), after resolving ``lr="auto"``.
    design_ : FormulaDesign, CategoricalDesign or None
        How the input table becomes the design (a formula's model spec, or the levels of
        categorical columns); ``design_.names`` name the coefficients.
    n_dropped_ : int
        Rows dropped for missing values (``missing="drop"``).
    """

    _parameter_constraints: dict = sklearn_constraints(PARAMETER_CONSTRAINTS)

    def __sklearn_tags__(self):
        return declare_inputs(super().__sklearn_tags__())

    def score(self, X, y=None, sample_weight=None):
        """R² of the predictions (scikit-learn's ``RegressorMixin.score``), rows with missing
        values following ``missing``; a :meth:`from_formula` model reads ``y`` from ``X``.

        On Dask collections it is a lazy 0-d Dask array (``float(...)`` computes it).
        """
        return LinearModel.score(self, X, y, sample_weight)
