"""Argument types and the option groups of ``linearlab`` commands (used by :mod:`.cli`)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def learning_rate(text: str) -> float | str:
    """An argparse type: a step size > 0, or 'auto'."""
    if text == "auto":
        return text
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0 (or 'auto')")
    return value


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
    model.add_argument("--solver", choices=["auto", "normal", "qr", "svd", "gd"], default="auto",
                       help="exact: auto (normal equations when well conditioned, else QR/SVD), "
                       "normal, qr, svd; or gd for gradient descent (default: auto)")
    model.add_argument("--no-intercept", action="store_true", help="fit a line through the origin")
    model.add_argument("--alpha", type=non_negative, default=0.0, metavar="A",
                       help="L2 (ridge) penalty; 0 = ordinary least squares (default: 0)")
    model.add_argument("--standardize", action="store_true",
                       help="gd: train on standardized features (coefficients reported in the "
                       "original units)")
    gd = fit.add_argument_group("gradient descent (with --solver gd)")
    gd.add_argument("--lr", type=learning_rate, metavar="LR",
                    help="step size, or 'auto' to derive a stable one from the data (default)")
    gd.add_argument("--epochs", type=positive_int, metavar="N", help="passes over the data "
                    "(default: 1000)")
    gd.add_argument("--batch-size", type=positive_int, metavar="N",
                    help="rows per mini-batch (default: the full data each step)")
    gd.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "adam"],
                    help="update rule, with torch.optim's formulas (default: sgd)")
    gd.add_argument("--loss", choices=["mse", "sse", "mae", "huber"],
                    help="training loss (default: mse)")
    gd.add_argument("--tol", type=non_negative, metavar="T",
                    help="stop when an epoch improves the loss by less than T")
    gd.add_argument("--seed", type=int, metavar="N",
                    help="random seed for initial values and batch order (reproducible runs)")
    fit.add_argument("--stream", action="store_true",
                     help="read DATA in chunks even if it fits in memory (large files are "
                     "always streamed; memory stays bounded)")
    if model_output:
        fit.add_argument("-o", "--output", metavar="MODEL.json",
                         help="save the fitted model (JSON)")


FIT_HELP = """Fit a linear model to DATA and print the equation, coefficients and R²/RMSE/MAE.

DATA is a CSV, TSV or Parquet file, or a built-in dataset name (see `linearlab datasets`).
Files larger than memory are read in chunks: exact solvers combine per-chunk statistics and
gradient descent runs its epochs over the chunks.

examples:
  linearlab fit salary
  linearlab fit houses.csv -y price -x rooms,area -o model.json
  linearlab fit salary --solver gd --lr 0.001 --epochs 10001
  linearlab fit big.parquet --solver gd --batch-size 1024 --optimizer adam --epochs 5
"""
