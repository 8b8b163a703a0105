"""Argument types and the option groups of ``linearlab`` commands (used by :mod:`.cli`)."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
from collections.abc import Iterator

from linearlab.errors import DataError, UsageError

#: Limits of whole-number options: beyond them a run could not finish (or NumPy overflows).
MAX_EPOCHS = 10**9
MAX_BATCH = 2**40
SEED_RANGE = (0, 2**32 - 1)  # NumPy's seeds


def whole_number(low: int, high: int):
    """An argparse type: a whole number in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            shown = text if len(text) < 30 else text[:30] + "..."
            raise argparse.ArgumentTypeError(f"must be between {low} and {high:,}, got {shown}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


positive_int = whole_number(1, 2**62)
epochs_type = whole_number(1, MAX_EPOCHS)
batch_size_type = whole_number(1, MAX_BATCH)
seed_type = whole_number(*SEED_RANGE)


def number(text: str) -> float:
    """An argparse type: any number (the step the other number types start from)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def non_negative(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    value = number(text)
    if not value >= 0 or value == float("inf"):  # also NaN
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def alpha_value(text: str) -> float | str:
    """An argparse type: a penalty strength >= 0, or 'cv' (chosen by cross-validation)."""
    return "cv" if text.strip().lower() == "cv" else non_negative(text)


def unit_interval(text: str) -> float:
    """An argparse type: a number between 0 and 1."""
    value = non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def open_unit_interval(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1 (a coverage level)."""
    value = number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {text}")
    return value


def learning_rate(text: str) -> float | str:
    """An argparse type: a step size > 0, or 'auto'."""
    if text == "auto":
        return text
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0 (or 'auto')")
    return value


#: ``--solver`` choices: ``LinearRegression(solver=...)``'s values.
SOLVERS = ("auto", "normal", "qr", "svd", "lsqr", "gd")
#: Solvers that need the whole table in memory (refused for files read in chunks and on Dask).
IN_MEMORY_SOLVERS = ("qr", "svd", "lsqr")


def in_memory_solver(args: argparse.Namespace, name: str,
                     solvers: tuple[str, ...] = IN_MEMORY_SOLVERS) -> None:
    """Refuse, in one paragraph, ``--solver qr|svd|lsqr`` (``solvers``) for data read in
    chunks: the file ``name``, or Dask partitions (where only LSQR is refused: qr and svd
    run as TSQR there)."""
    solver = getattr(args, "solver", "auto")
    if solver not in solvers:
        return
    how = ("runs SciPy's LSQR over the whole matrix" if solver == "lsqr"
           else "factors the whole matrix")
    if solvers == ("lsqr",):  # Dask: TSQR serves qr and svd
        advice = "auto, normal, qr or svd (statistics or TSQR over the partitions)"
    else:
        advice = "auto or normal (one pass over the data, normal equations)"
    raise UsageError(f"--solver {solver} {how} in memory, but {name} is read in chunks. "
                     f"Use --solver {advice} or gd.")


#: ``--init`` names Python's ``init`` strategies too.
INIT_NAMES = ("zeros", "uniform", "normal")


def start_values(text: str) -> tuple[float, ...] | str:
    """An argparse type: ``--init W[,W...],B`` as finite numbers (or zeros/uniform/normal)."""
    if text.strip().lower() in INIT_NAMES:
        return text.strip().lower()
    parts = [p.strip() for p in text.split(",")]
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected numbers separated by commas (the coefficients, then the intercept, "
                f"e.g. 0.97,0.29), got {part!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"the starting values must be finite, got {part!r}")
        values.append(value)
    return tuple(values)


def initial_pair(values: tuple[float, ...] | str, fit_intercept: bool):
    """``--init``'s values as the library's ``init=(coef, intercept)`` (the last value is the
    intercept; none without an intercept), or a strategy name."""
    if isinstance(values, str):
        return values
    if fit_intercept:
        return list(values[:-1]), values[-1]
    return list(values), 0.0


def checked_start(values: tuple[float, ...] | str, features: list[str], n_targets: int,
                  fit_intercept: bool):
    """``init`` for a fit on ``features``: a usage error naming how many values ``--init``
    takes when the count is off; the same start for every target."""
    if isinstance(values, str):
        return values
    d = len(features)
    expected = d + (1 if fit_intercept else 0)
    if len(values) != expected:
        names = ", ".join(features[:5]) + (", ..." if d > 5 else "")
        what = (f"the coefficient{'s' if d > 1 else ''} of {names}"
                + (", then the intercept" if fit_intercept else " (--no-intercept: no intercept)"))
        raise UsageError(
            f"--init has {len(values)} value{'s' if len(values) != 1 else ''}, but this fit "
            f"has {d} feature{'s' if d != 1 else ''}{' and an intercept' if fit_intercept else ''}"
            f": give {expected} number{'s separated by commas' if expected != 1 else ''}, "
            f"{what}."
        )
    coef, intercept = initial_pair(values, fit_intercept)
    return ([coef] * n_targets if n_targets > 1 else coef), intercept


@contextlib.contextmanager
def init_errors(args: argparse.Namespace) -> Iterator[None]:
    """Within this block, the library's count error about ``init`` (for a design whose columns
    are known only once it is built: a formula, text columns) speaks of ``--init``."""
    try:
        yield
    except DataError as exc:
        if getattr(args, "init", None) is None or not str(exc).startswith("Invalid init"):
            raise
        found = re.search(r"has (\d+) values but the model has (\d+) feature", str(exc))
        if not found:
            raise UsageError(f"--init does not fit this model: {exc}") from None
        d = int(found.group(2))
        extra = 0 if getattr(args, "no_intercept", False) else 1
        given = int(found.group(1)) + extra
        raise UsageError(
            f"--init has {given} value{'s' if given != 1 else ''}, but the design has {d} "
            f"column{'s' if d != 1 else ''}{' and an intercept' if extra else ''}: give "
            f"{d + extra} numbers, one per column of the design (a text column has one per "
            f"level after the first, a formula one per term){', then the intercept' * extra}."
        ) from None


def common_options() -> argparse.ArgumentParser:
    """A parent parser with the options every command takes (--json, --debug)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true",
                        help="print machine-readable JSON results only (no tables, no progress)")
    common.add_argument("--debug", action="store_true",
                        help="show the Python traceback when an error occurs")
    return common


def add_fit_options(fit: argparse.ArgumentParser, model_output: bool = True) -> None:
    """The options that describe a model and its training (``fit``; reusable by other commands)."""
    cols = fit.add_argument_group("columns")
    cols.add_argument("-y", "--target", metavar="TARGET",
                      help="target column(s), comma-separated (default: the last column)")
    cols.add_argument("-x", "--features", metavar="COL,...",
                      help="feature columns, comma-separated (default: every other numeric column)")
    model = fit.add_argument_group("model")
    model.add_argument("--solver", choices=SOLVERS, default="auto",
                       help="exact: auto (normal equations when well conditioned, else QR/SVD; "
                       "LSQR for wide svmlight files), normal, qr, svd, lsqr (SciPy's iterative "
                       "least squares: never forms X'X, for sparse or wide data); or gd for "
                       "gradient descent (default: auto)")
    model.add_argument("--no-intercept", action="store_true", help="fit a line through the origin")
    model.add_argument("--alpha", type=alpha_value, default=0.0, metavar="A|cv",
                       help="penalty strength (L2 unless --penalty says otherwise); 0 = ordinary "
                       "least squares; cv = chosen by 5-fold cross-validation (default: 0)")
    model.add_argument("--penalty", choices=["l1", "l2", "elasticnet"],
                       help="l2 (ridge), l1 (lasso) or elasticnet (both, mixed by --l1-ratio), "
                       "with scikit-learn's objectives (default: l2)")
    model.add_argument("--l1-ratio", type=unit_interval, metavar="R",
                       help="--penalty elasticnet: the L1 share of the penalty (default: 0.5)")
    model.add_argument("--backend", choices=["numpy", "torch"], default="numpy",
                       help="engine for gradient descent: numpy (from scratch) or torch "
                       "(nn.Linear + torch.optim; install linearlab[torch]) (default: numpy)")
    model.add_argument("--device", metavar="DEVICE",
                       help="torch device for --backend torch, e.g. cpu, cuda, cuda:1 (default: "
                       "cpu)")
    model.add_argument("--standardize", action="store_true",
                       help="gd: train on standardized features (coefficients reported in the "
                       "original units)")
    gd = fit.add_argument_group("gradient descent (with --solver gd)")
    gd.add_argument("--lr", type=learning_rate, metavar="LR",
                    help="step size, or 'auto' to derive a stable one from the data (default)")
    gd.add_argument("--epochs", type=epochs_type, metavar="N", help="passes over the data "
                    "(default: 1000)")
    gd.add_argument("--batch-size", type=batch_size_type, metavar="N",
                    help="rows per mini-batch (default: the full data each step)")
    gd.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "adam"],
                    help="update rule, with torch.optim's formulas (default: sgd)")
    gd.add_argument("--loss", choices=["mse", "sse", "mae", "huber"],
                    help="training loss (default: mse)")
    gd.add_argument("--engine", choices=["auto", "loop"],
                    help="'loop' always runs the plain training loop; 'auto' (default) may compute "
                    "plain SGD's iterates in closed form or by composed affine maps")
    gd.add_argument("--lr-schedule", choices=["constant", "step", "exponential", "cosine",
                                              "invscaling"],
                    help="step size over training: torch.optim.lr_scheduler's StepLR, "
                    "ExponentialLR, CosineAnnealingLR or scikit-learn's invscaling "
                    "(default: constant)")
    gd.add_argument("--init", type=start_values, metavar="W,...,B",
                    help="start of gradient descent: the coefficients, then the intercept, e.g. "
                    "--init 0.97,0.29 for y = w·x + b (or zeros, uniform, normal; default: "
                    "zeros)")
    gd.add_argument("--tol", type=non_negative, metavar="T",
                    help="stop when an epoch improves the loss by less than T")
    gd.add_argument("--seed", type=seed_type, metavar="N",
                    help="random seed for initial values and batch order (reproducible runs; "
                    f"{SEED_RANGE[0]} to {SEED_RANGE[1]:,})")
    fit.add_argument("--stream", action="store_true",
                     help="read DATA in chunks even if it fits in memory (large files are "
                     "always streamed; memory stays bounded)")
    if model_output:
        fit.add_argument("-o", "--output", metavar="MODEL.json",
                         help="save the fitted model (JSON; '-' for standard output)")
        add_force_option(fit)


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS`` / ``--workers N``: run on a Dask cluster (linearlab[dask])."""
    group = parser.add_argument_group("cluster (Dask; install linearlab[dask])")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster whose scheduler is ADDRESS (e.g. "
                       "tcp://host:8786); DATA may be a directory, a glob or an fsspec URL")
    where.add_argument("--workers", type=whole_number(1, 1024), metavar="N",
                       help="run on a local Dask cluster of N worker processes")


def add_force_option(parser: argparse.ArgumentParser) -> None:
    """``--force``: replace a read-only output file."""
    parser.add_argument("--force", action="store_true",
                        help="replace the output even if it is a read-only file")


FIT_HELP = """Fit a linear model to DATA and print the equation, coefficients and R²/RMSE/MAE.

DATA is a CSV, TSV or Parquet file, a LIBSVM/svmlight file (.svm, .svmlight, .libsvm: read
whole as a sparse matrix), or a built-in dataset name (see `linearlab datasets`).
Files larger than memory are read in chunks: exact solvers combine per-chunk statistics and
gradient descent runs its epochs over the chunks.

examples:
  linearlab fit salary
  linearlab fit houses.csv -y price -x rooms,area -o model.json
  linearlab fit salary --solver gd --lr 0.001 --epochs 10001
  linearlab fit three-points --solver gd --init 0.97213265,0.28608494 --loss sse \\
      --lr 0.001 --epochs 100
  linearlab fit big.parquet --solver gd --batch-size 1024 --optimizer adam --epochs 5
  linearlab fit text-features.svm --solver lsqr --alpha 0.1 -o model.json
"""
