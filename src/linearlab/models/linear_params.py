"""The declared parameter constraints of :class:`~linearlab.LinearRegression`.

Declared with :mod:`linearlab.models.params`' light ``Options`` and ``Range`` (no scikit-learn
import): ``LinearModel`` checks them itself, the public ``LinearRegression`` hands them to
scikit-learn as ``StrOptions`` and ``Interval`` (``_validate_params``, ``check_estimator``).
``fit`` calls ``_validate_params`` directly.
"""

from __future__ import annotations

from numbers import Integral, Real

from linearlab.descent.losses import LOSSES
from linearlab.descent.optimizers import OPTIMIZERS
from linearlab.descent.schedules import LR_SCHEDULES
from linearlab.models.params import Options as StrOptions
from linearlab.models.params import Range as Interval

PARAMETER_CONSTRAINTS: dict = {
    "solver": [StrOptions({"auto", "normal", "qr", "svd", "lsqr", "gd"})],
    "backend": [StrOptions({"numpy", "torch"})],
    "fit_intercept": ["boolean"],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "loss": [StrOptions(set(LOSSES))],
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "lr": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "shuffle": ["boolean"],
    "tol": [Interval(Real, 0, None, closed="left"), None],
    "init": [StrOptions({"zeros", "uniform", "normal"}), tuple, list],
    "standardize": ["boolean"],
    "dtype": [StrOptions({"float64", "float32"})],
    "device": [str],
    "random_state": ["random_state"],
    "log_every": [Interval(Integral, 0, None, closed="left")],
    "engine": [StrOptions({"auto", "loop"})],
    "callback": [callable, None],
    "lr_schedule": [StrOptions({"auto", *LR_SCHEDULES})],
    "average": ["boolean", Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "missing": [StrOptions({"error", "drop"})],
}
