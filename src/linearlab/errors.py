"""The exception and warning hierarchy.

Every error linearlab raises on purpose is a :class:`LinearLabError`. Each one says *what* went
wrong, *where* (argument, file, column, row) and *how to fix it*. Data errors are also
``ValueError`` so that code written for scikit-learn keeps catching them.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), so that messages quoting a file's
    bytes can never drive the terminal. Tabs and newlines are kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                        else f"\\u{ord(m.group()):04x}", text)


class LinearLabError(Exception):
    """Base class of every error linearlab raises on purpose.

    Its message is made :func:`printable`: it may quote names and values read from a file.
    """

    exit_status = 2

    def __init__(self, *args):
        super().__init__(*(printable(a) if isinstance(a, str) else a for a in args))


class DataError(LinearLabError, ValueError):
    """The input data cannot be used: wrong shape, non-numeric, missing or non-finite values."""


class DataTypeError(DataError, TypeError):
    """The input holds values of a type that cannot be turned into numbers (e.g. dicts)."""


class DataFileError(DataError):
    """A data file cannot be read or holds unusable values.

    ``path``, ``column`` and ``line`` (1-based line of the file, header included) say where,
    when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        column: str | None = None,
        line: int | None = None,
    ):
        super().__init__(printable(message))  # messages may quote the file's bytes
        self.path = path
        self.column = column
        self.line = line


class ColumnError(DataError, KeyError):
    """A named column is not in the data (or a model's feature is missing from a file)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UsageError(LinearLabError, ValueError):
    """The command line was used in a way that cannot work (bad option combination)."""


class ParameterError(LinearLabError, ValueError):
    """An estimator parameter or function argument has an invalid value."""


class ModelFileError(LinearLabError, ValueError):
    """A model file is missing, corrupt, or of an unknown format version."""


class DivergenceError(LinearLabError, FloatingPointError):
    """Gradient descent diverged: the loss became non-finite or exploded."""

    exit_status = 1

    def __init__(self, message: str, *, epoch: int, suggested_lr: float | None = None):
        super().__init__(message)
        self.epoch = epoch
        self.suggested_lr = suggested_lr


class OutputError(LinearLabError, OSError):
    """An output path cannot be written safely: it is an input, read-only, a directory, or its
    directory does not exist. Nothing was written."""

    def __str__(self) -> str:  # OSError would format (errno, strerror)
        return str(self.args[0]) if self.args else ""


class NumericalError(LinearLabError, FloatingPointError):
    """A fit produced non-finite coefficients or metrics (overflow): a failed fit."""

    exit_status = 1


class BackendUnavailableError(LinearLabError, ImportError):
    """An optional backend (PyTorch) or device is not available."""


class GridEdgeWarning(UserWarning):
    """A cross-validated penalty was chosen at the edge of its grid (LassoCV, ElasticNetCV,
    RidgeCV): the best value may lie beyond it. Filter it like any warning category."""


class ConditioningWarning(UserWarning):
    """The problem is ill-conditioned or rank-deficient; results may be sensitive."""


def _scikit_learn_subclasses() -> dict[str, type]:
    """The two classes that subclass scikit-learn's, made on first use.

    ``except sklearn.exceptions.NotFittedError`` and
    ``warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)`` must see
    linearlab's, so they subclass scikit-learn's. Importing scikit-learn costs most of a second,
    which a command such as ``linearlab --help`` never needs: the classes are defined the first
    time they are asked for (module ``__getattr__``, PEP 562), and then are ordinary attributes.
    """
    from sklearn import exceptions as sklearn_exceptions

    class NotFittedError(LinearLabError, sklearn_exceptions.NotFittedError):
        """The model is used before ``fit`` was called."""

    class ConvergenceWarning(sklearn_exceptions.ConvergenceWarning):
        """An iterative fit (gradient descent, coordinate descent) stopped before the optimum.

        A subclass of :class:`sklearn.exceptions.ConvergenceWarning`, so filters and
        ``pytest.warns`` written for scikit-learn's warning catch it too.
        """

    for cls in (NotFittedError, ConvergenceWarning):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
    return {"NotFittedError": NotFittedError, "ConvergenceWarning": ConvergenceWarning}


def __getattr__(name: str) -> type:
    if name in ("NotFittedError", "ConvergenceWarning"):
        made = _scikit_learn_subclasses()
        globals().update(made)  # from now on plain module attributes
        return made[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
