"""``linearlab fit --penalty l1|l2|elasticnet --alpha A|cv [--l1-ratio R]``: options → estimator
→ report. No math and no reading here: :func:`linearlab.pipeline.fit_source` fits the estimator
that :func:`build` chooses (as every command-line fit), this module prints the result.

``--penalty l2`` with a number is ridge regression, solved exactly by ``LinearRegression``
(``--alpha A`` alone means the same); everything else here builds a penalized estimator:

==========================  =============================================
``--penalty l1 --alpha A``  ``Lasso(alpha=A)``
``--penalty elasticnet``    ``ElasticNet(alpha=A, l1_ratio=R)`` (R: 0.5)
``--alpha cv``              ``LassoCV`` / ``ElasticNetCV`` / ``RidgeCV``
``--solver gd``             the same with ``solver="gd"`` (proximal steps)
==========================  =============================================
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from linearlab.cli import output as cli_output
from linearlab.data import sources as io
from linearlab.errors import UsageError

# linearlab.penalized (scikit-learn's base classes) is imported where a penalized model is
# built or shown, so that a plain `linearlab fit` does not pay for scikit-learn.

RIDGE_ALPHAS = np.logspace(-3, 3, 13)  # --penalty l2 --alpha cv: RidgeCV's candidates
GD_OPTIONS = ("lr", "batch_size", "optimizer", "loss")  # --epochs is max_iter with gd


def wanted(args: argparse.Namespace) -> bool:
    """Whether the options ask for a penalized estimator (rather than ``LinearRegression``)."""
    penalty = getattr(args, "penalty", None)
    if getattr(args, "l1_ratio", None) is not None and penalty != "elasticnet":
        raise UsageError("--l1-ratio mixes the L1 and L2 penalties of --penalty elasticnet; add "
                         "--penalty elasticnet, or drop --l1-ratio.")
    return penalty in ("l1", "elasticnet") or getattr(args, "alpha", 0.0) == "cv"


def is_penalized(model) -> bool:
    base = sys.modules.get("linearlab.penalized.base")  # not imported: nothing is penalized
    return base is not None and isinstance(model, base.PenalizedBase)


def build(args: argparse.Namespace):
    """The estimator the options describe (after :func:`wanted` said yes)."""
    from linearlab.penalized import ElasticNet, ElasticNetCV, Lasso, LassoCV, RidgeCV

    penalty = args.penalty or "l2"
    given = [n for n in GD_OPTIONS if getattr(args, n, None) is not None]
    for flag, bad in (("--solver " + str(args.solver), args.solver not in ("auto", "gd")),
                      ("--backend torch", args.backend != "numpy"),
                      (", ".join("--" + n.replace("_", "-") for n in given), bool(given))):
        if bad:
            raise UsageError(
                f"{flag} does not apply to --penalty {penalty}: penalized models are fitted by "
                "coordinate descent on the data's Gram statistics. Drop it."
            )
    if args.solver == "gd" and (args.alpha == "cv" or penalty == "l2"):
        raise UsageError(
            "--solver gd trains --penalty l1 or elasticnet with a fixed --alpha A (proximal "
            "steps); cross-validation and ridge use exact solvers. Drop --solver gd."
        )
    if args.epochs is not None and args.solver != "gd":
        raise UsageError("--epochs applies to --solver gd; add it, or drop --epochs.")
    if args.standardize and args.solver == "gd":
        raise UsageError(
            f"--standardize with --penalty {penalty} is solved by coordinate descent (penalized "
            "on the standardized scale, reported on the original); drop --solver gd, or drop "
            "--standardize."
        )
    intercept = not args.no_intercept
    inputs = {"missing": getattr(args, "missing", "error"), "standardize": args.standardize}
    ratio = 0.5 if args.l1_ratio is None else args.l1_ratio
    tol = {} if args.tol is None else {"tol": args.tol}
    if args.solver == "gd":
        tol.update(solver="gd", **({} if args.epochs is None else {"max_iter": args.epochs}))
    if args.alpha == "cv":
        if penalty == "l2":
            return RidgeCV(alphas=RIDGE_ALPHAS, fit_intercept=intercept, **inputs)
        if penalty == "l1":
            return LassoCV(fit_intercept=intercept, **tol, **inputs)
        return ElasticNetCV(l1_ratio=ratio, fit_intercept=intercept, **tol, **inputs)
    if args.alpha == 0:
        raise UsageError(
            f"--penalty {penalty} needs a penalty strength: --alpha A (A > 0), or --alpha cv "
            "to choose it by 5-fold cross-validation."
        )
    if penalty == "l1":
        return Lasso(alpha=args.alpha, fit_intercept=intercept, **tol, **inputs)
    return ElasticNet(alpha=args.alpha, l1_ratio=ratio, fit_intercept=intercept, **tol, **inputs)


def _chosen(model) -> list[tuple[str, str]]:
    from linearlab.penalized import ElasticNet, ElasticNetCV, Lasso, LassoCV

    alpha = np.atleast_1d(getattr(model, "alpha_", getattr(model, "alpha", None)))
    rows = [("alpha", ", ".join(f"{a:.6g}" for a in alpha)
             + (" (chosen by cross-validation)" if hasattr(model, "alpha_") else ""))]
    if isinstance(model, (ElasticNet, ElasticNetCV)) and not isinstance(model, (Lasso, LassoCV)):
        rows.append(("l1_ratio", f"{getattr(model, 'l1_ratio_', model.l1_ratio):g}"))
    if hasattr(model, "mse_path_"):
        grid = np.asarray(model.alphas_)
        rows.append(("path", f"{grid.shape[-1]} alphas from {grid.max():.4g} to "
                             f"{grid.min():.4g}, {np.shape(model.mse_path_)[-1]} folds"))
    return rows


def print_fit(console: Console, source: io.Source, outcome) -> None:
    """The report of a penalized fit: the chosen alpha and the non-zero coefficients."""
    model, features, targets = outcome.model, outcome.features, outcome.targets
    how = "streamed in chunks" if outcome.streamed else "read whole"
    console.print(f"[bold]{escape(source.name)}[/bold]: {outcome.rows} rows ({how}); features "
                  f"{escape(', '.join(features))} → target {escape(', '.join(targets))}",
                  soft_wrap=True)
    if getattr(model, "n_dropped_", 0):
        console.print(f"Dropped {model.n_dropped_} row(s) with missing values (--missing drop)")
    console.print(f"\n[bold]{type(model).__name__}[/bold]")
    for name, value in _chosen(model):
        console.print(f"  {name}: {value}", markup=False, soft_wrap=True)
    coef = np.atleast_2d(model.coef_)
    keep = np.flatnonzero(np.any(coef != 0, axis=0))
    table = Table(title="Non-zero coefficients",
                  caption=f"{keep.size} of {len(features)} features kept")
    table.add_column("term")
    for target in targets:
        table.add_column(target, justify="right")
    for j in keep:
        table.add_row(features[j], *(f"{coef[t, j]:.10g}" for t in range(len(targets))))
    intercepts = np.atleast_1d(model.intercept_)
    table.add_row("intercept", *(f"{b:.10g}" for b in intercepts))
    console.print(table)
    dropped = [features[j] for j in range(len(features)) if j not in set(keep)]
    if dropped:
        console.print(f"Exactly zero (dropped by the L1 penalty): {', '.join(dropped)}",
                      markup=False, soft_wrap=True)
    console.print(cli_output.metrics_table(outcome.metrics, "Training fit"))
    if getattr(model, "solver", "cd") == "gd":
        console.print(f"Solver: [cyan]proximal gradient descent[/cyan] (FISTA, "
                      f"lr={model.learning_rate_:.6g}), {model.n_iter_} epochs")
        cli_output.print_epoch_log(console, model.history_, model)
        if model.converged_:
            console.print("[green]Converged[/green] to the penalized optimum.")
    else:
        console.print("Solver: [cyan]coordinate descent[/cyan] on the Gram statistics")


def payload(args: argparse.Namespace, source: io.Source, outcome) -> dict:
    """The JSON results of a penalized ``fit``."""
    model = outcome.model
    coef = np.atleast_2d(model.coef_)
    single = len(outcome.targets) == 1
    return {
        "data": args.data, "rows": outcome.rows, "streamed": outcome.streamed,
        "dropped": int(getattr(model, "n_dropped_", 0)),
        "features": outcome.features, "targets": outcome.targets,
        "estimator": type(model).__name__,
        **{name: value for name, value in (
            ("alpha", np.asarray(getattr(model, "alpha_", getattr(model, "alpha", None)))
             .tolist()),
            ("l1_ratio", getattr(model, "l1_ratio_", getattr(model, "l1_ratio", None))),
        ) if value is not None},
        "coef": dict(zip(outcome.features, coef[0].tolist(), strict=True)) if single
        else coef.tolist(),
        "nonzero": [f for j, f in enumerate(outcome.features) if np.any(coef[:, j] != 0)],
        "intercept": float(model.intercept_) if single else np.asarray(model.intercept_).tolist(),
        "metrics": outcome.metrics, "model_file": args.output, "warnings": outcome.warnings,
    }
