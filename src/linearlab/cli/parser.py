"""The ``linearlab`` command's arguments: the parser of every command, and nothing heavy.

``linearlab --help``, ``linearlab COMMAND --help`` and a usage error need only this module (the
standard library, :mod:`linearlab.cli.options` and the playground's one-line registration), so
they answer at once. Each command's handler is named here as ``"module:function"`` and imported
by :func:`linearlab.cli.main.main` only when that command runs: a command imports only what it
uses.
"""

from __future__ import annotations

import argparse
import sys

from linearlab import __version__
from linearlab.cli import options as cli_options
from linearlab.cli.options import open_unit_interval
from linearlab.playground.command import add_playground_parser

DEMO_FOLDER = "linearlab-demo"
PLOT_FOLDER = "linearlab-plots"
KIND_NAMES = ("fit", "residuals", "history", "loss-curve", "landscape", "path", "animation")

PLOT_HELP = f"""Draw figures of a model: the fitted line (or predicted vs actual), residuals vs
fitted with a normal Q-Q plot, the loss history, the loss along one weight with the gradient-
descent iterates, loss contours over (w, b) with the optimizer's path, and a GIF of training.

MODEL_OR_DATA is a model file written by `linearlab fit -o` (drawn on --data, or on the data
it was trained on), or DATA to fit first with the same options as `linearlab fit`.

kinds: {", ".join(KIND_NAMES)} (comma-separated; default: every one that applies —
the history, trajectories and the animation need --solver gd, the path a penalized model).
history and path are drawn from the model file alone; they are the only kinds for a model
fitted on a LIBSVM/svmlight file (the others draw dense rows: draw them with --data TABLE).

examples:
  linearlab plot three-points --solver gd --lr 0.01 --epochs 200 -o plots/
  linearlab plot salary --kind fit,residuals -o plots/
  linearlab plot model.json --data houses.csv --kind fit -o plots/
"""


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """``--formula`` and ``--missing`` (for ``fit`` and commands that fit)."""
    group = parser.add_argument_group("analysis")
    group.add_argument("--formula", metavar='"y ~ ..."',
                       help="Wilkinson formula, as statsmodels' smf.ols: 'y ~ x1 + np.log(x2) + "
                       "C(g) + x1:x3', '- 1' for no intercept (needs linearlab[formula])")
    group.add_argument("--missing", choices=["error", "drop"], default="error",
                       help="rows with missing values: an error (default) or dropped")
    group.add_argument("--weights", metavar="COLUMN",
                       help="a column of non-negative row weights: weighted least squares, as "
                       "sample_weight= in Python (never a feature)")


def add_predict_options(parser: argparse.ArgumentParser) -> None:
    """``--interval``, ``--level`` and ``--missing`` for ``predict``."""
    parser.add_argument("--interval", choices=["prediction", "confidence"],
                        help="add 'lower' and 'upper' columns: the interval of a new "
                        "observation (prediction) or of the mean response (confidence)")
    parser.add_argument("--level", type=open_unit_interval, default=0.95, metavar="L",
                        help="coverage of --interval (default: 0.95)")
    parser.add_argument("--missing", choices=["error", "keep"], default="error",
                        help="rows with a missing feature: an error (default), or kept with "
                        "an empty prediction")


def formula_hint(argv: list[str]) -> None:
    """After a usage error: if a bare argument looks like a formula, say how to pass one."""
    bare = [a for i, a in enumerate(argv) if "~" in str(a) and (i == 0 or argv[i - 1] not in (
        "--formula",))]
    if bare and any(str(a) in ("fit", "plot") for a in argv):
        sys.stderr.write(f'hint: pass a formula with --formula, e.g. linearlab fit DATA '
                         f'--formula "{bare[0]}"\n')


def _add_plot_parser(sub, parents: list[argparse.ArgumentParser]) -> None:
    plot = sub.add_parser("plot", parents=parents, help="draw figures of a model or a fit",
                          description=PLOT_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    plot.add_argument("data", metavar="MODEL_OR_DATA",
                      help="model file (.json), CSV/TSV/Parquet/svmlight file or built-in "
                      "dataset")
    plot.add_argument("--kind", default="all", metavar="KIND,...",
                      help="figures to draw, comma-separated (default: all that apply)")
    plot.add_argument("-o", "--output", dest="plots", default=PLOT_FOLDER, metavar="DIR",
                      help=f"folder to write into (default: ./{PLOT_FOLDER}/)")
    plot.add_argument("--data", dest="plot_data", metavar="DATA",
                      help="with a model file: the data to draw (default: its training data)")
    plot.add_argument("--frames", type=int, metavar="N",
                      help="frames of the animation (default: one per epoch, at most 60)")
    cli_options.add_fit_options(plot, model_output=False)
    add_analysis_options(plot)  # --formula, --missing: DATA is fitted as `fit` fits it
    plot.set_defaults(handler="linearlab.cli.commands:cmd_plot")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-parser per command, each with its ``handler`` named."""
    parser = argparse.ArgumentParser(
        prog="linearlab",
        description="Linear regression: exact solvers, gradient descent, statistics and plots.",
        epilog="Run `linearlab COMMAND --help` for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"linearlab {__version__}")
    common = cli_options.common_options()
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    demo = sub.add_parser("demo", parents=[common], help="fit a built-in dataset end to end",
                          description="Fit a built-in dataset exactly and by gradient descent "
                          "with the seed tutorial's settings, and compare.")
    demo.add_argument("dataset", nargs="?", default="salary", help="built-in dataset name")
    demo.add_argument("-o", "--output", metavar="MODEL.json", help="save the exact model")
    cli_options.add_force_option(demo)
    demo.add_argument("--plots", metavar="DIR", default=DEMO_FOLDER,
                      help=f"folder for the demo's figures and animation (default: "
                      f"./{DEMO_FOLDER}/)")
    demo.add_argument("--no-plots", action="store_true", help="draw nothing")
    demo.set_defaults(handler="linearlab.cli.showcase:cmd_demo")

    fit = sub.add_parser("fit", parents=[common], help="fit a model to a data file",
                         description=cli_options.FIT_HELP, formatter_class=raw)
    fit.add_argument("data", metavar="DATA", help="CSV/TSV/Parquet file or built-in dataset")
    cli_options.add_fit_options(fit)
    add_analysis_options(fit)
    cli_options.add_cluster_options(fit)
    fit.add_argument("--plots", metavar="DIR",
                     help="write every figure that applies into DIR (PNG; for --solver gd "
                     "also the loss history, trajectories and a GIF of training)")
    fit.add_argument("--summary", action="store_true",
                     help="show the statistical summary: a statsmodels-style table of standard "
                     "errors, t, p, confidence intervals, R², F, AIC/BIC (with --json: a "
                     "'summary' object)")
    fit.set_defaults(handler="linearlab.cli.commands:cmd_fit")

    predict = sub.add_parser(
        "predict", parents=[common], help="predict with a saved model", formatter_class=raw,
        description="Add a 'prediction' column (one per target) to every row of DATA.\n"
        "The columns the model was fitted on must be present, by name.\n\nexample:\n"
        "  linearlab predict model.json new.csv -o predictions.csv",
    )
    predict.add_argument("model", metavar="MODEL", help="model file written by fit -o")
    predict.add_argument("data", metavar="DATA", help="CSV/TSV/Parquet file or dataset")
    predict.add_argument("-o", "--output", metavar="FILE",
                         help="output .csv, .tsv, .parquet or .json ('-': standard output; "
                         "default: CSV on standard output, JSON records with --json)")
    cli_options.add_force_option(predict)
    cli_options.add_cluster_options(predict)
    add_predict_options(predict)
    predict.set_defaults(handler="linearlab.cli.commands:cmd_predict")

    evaluate = sub.add_parser("evaluate", parents=[common], help="score a saved model on data",
                              description="Print R², RMSE and MAE of a saved model on DATA.")
    evaluate.add_argument("model", metavar="MODEL", help="model file written by fit -o")
    evaluate.add_argument("data", metavar="DATA", help="CSV/TSV/Parquet file or dataset")
    evaluate.add_argument("-y", "--target", metavar="TARGET",
                          help="target column(s) (default: the model's target names)")
    evaluate.add_argument("--missing", choices=["error", "drop", "keep"], default="error",
                          help="rows with a missing feature or target: an error (default), or "
                          "left out of the scores (drop and keep alike; 'dropped' counts them)")
    evaluate.set_defaults(handler="linearlab.cli.commands:cmd_evaluate")

    _add_plot_parser(sub, [common])

    add_playground_parser(sub, [common])

    datasets = sub.add_parser("datasets", parents=[common], help="list the built-in datasets")
    datasets.set_defaults(handler="linearlab.cli.datasets:cmd_datasets")
    return parser
