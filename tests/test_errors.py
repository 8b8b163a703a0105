"""linearlab's warning and not-fitted classes are scikit-learn's, as users of both expect."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn.exceptions

import linearlab
from linearlab import ConvergenceWarning, NotFittedError


def test_convergence_warning_is_scikit_learns():
    assert issubclass(ConvergenceWarning, sklearn.exceptions.ConvergenceWarning)
    model = linearlab.LinearRegression(solver="gd", lr=1e-6, epochs=2)
    x = np.arange(10.0).reshape(-1, 1)
    with pytest.warns(sklearn.exceptions.ConvergenceWarning):
        model.fit(x, 3 * x.ravel() + 1)
    with warnings.catch_warnings():  # scikit-learn's filter silences linearlab's warning
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        model.fit(x, 3 * x.ravel() + 1)


def test_not_fitted_error_is_scikit_learns():
    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        linearlab.LinearRegression().predict(np.ones((2, 1)))


def test_importing_the_errors_does_not_import_scikit_learn():
    code = ("import sys, linearlab, linearlab.errors; "
            "assert 'sklearn' not in sys.modules, 'sklearn imported'; "
            "linearlab.errors.ConvergenceWarning; assert 'sklearn' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
