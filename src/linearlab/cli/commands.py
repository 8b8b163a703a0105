"""The ``linearlab`` commands that work on data: ``fit``, ``plot``, ``predict``, ``evaluate``.

Arguments → library calls → readable output. No math here. Each command is one ``cmd_*``
function; ``fit`` and anything else that fits a model from DATA share :func:`_fit_from_args`.
Every output goes through :mod:`linearlab.io.outputs`: never over an input, never half-written,
``-`` for standard output, devices and FIFOs written in place. :mod:`linearlab.cli.main` imports
this module only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from linearlab import pipeline
from linearlab.cli import analyst as cli_analyst
from linearlab.cli import options as cli_options
from linearlab.cli import output as cli_output
from linearlab.cli import penalty as cli_penalty
from linearlab.cli import plots as cli_plots
from linearlab.cli import predictions as cli_predictions
from linearlab.data import sources as io
from linearlab.data import svmlight
from linearlab.errors import LinearLabError, NumericalError, UsageError
from linearlab.io import outputs
from linearlab.models import persist
from linearlab.models.linear import LinearModel
from linearlab.pipeline import streaming

GD_ONLY = ("lr", "epochs", "batch_size", "optimizer", "loss", "tol", "engine", "lr_schedule",
           "init")
#: Most feature columns a command-line fit takes: the normal equations hold a d x d matrix
#: (20,000 features: 3.2 GB).
MAX_FEATURES = 20_000


# --------------------------------------------------------------------------- small helpers
@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[streaming.Progress | None]:
    """A rich progress bar on stderr when it is a terminal (never with ``--json``)."""
    console = Console(stderr=True)
    if getattr(args, "json", False) or not console.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def report(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=done, total=total)

        yield report


def _model_from_args(args: argparse.Namespace) -> LinearModel:
    given = [name for name in GD_ONLY if getattr(args, name) is not None]
    if given and args.solver != "gd":
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(
            f"{flags} only {'applies' if len(given) == 1 else 'apply'} to gradient descent, "
            f"but --solver is {args.solver!r}. Add "
            "--solver gd, or drop those options to fit exactly."
        )
    settings = {name: getattr(args, name) for name in GD_ONLY if getattr(args, name) is not None}
    if "init" in settings:  # W,...,B -> (coef, intercept); counted once the columns are known
        settings["init"] = cli_options.initial_pair(settings["init"], not args.no_intercept)
    if args.device is not None:
        if args.backend != "torch":
            raise UsageError(f"--device {args.device} applies to --backend torch; add "
                             "--backend torch, or drop --device.")
        settings["device"] = args.device
    return LinearModel(
        solver=args.solver, fit_intercept=not args.no_intercept, alpha=args.alpha,
        standardize=args.standardize, random_state=args.seed, backend=args.backend, **settings,
    )


def _input_files(*specs: str | None) -> list[str]:
    """The arguments that name existing files (what an output must never overwrite)."""
    return [s for s in specs if s and s != "-" and os.path.lexists(s)]


def _check_finite_metrics(metrics: dict) -> None:
    bad = [k for k in ("r2", "rmse", "mae") if metrics.get(k) is not None
           and not math.isfinite(metrics[k])]
    if bad:
        raise NumericalError(
            f"The fit's {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not finite: the "
            "predictions overflow float64 (values near ±1e308). Rescale the features and target "
            "(e.g. divide them by a power of ten) and fit again; nothing was saved."
        )


def _table_columns(args: argparse.Namespace,
                   source: io.Source) -> tuple[list[str] | None, list[str] | None]:
    """``(features, targets)`` of a fit that takes the design step: none with ``--formula``
    (it names them itself), else ``-x``/``-y`` or the defaults (text columns included)."""
    if not getattr(args, "formula", None):
        return cli_analyst.chosen_columns(args, source)
    if args.features or args.target or args.no_intercept:
        raise UsageError("--formula names the target, the features and the intercept itself; "
                         "drop -x/-y/--no-intercept (write '- 1' for no intercept).")
    return None, None


def _fit_from_args(args: argparse.Namespace) -> tuple[io.Source, streaming.FitOutcome]:
    """Open DATA, build the model and choose the columns the options describe, then fit
    through the one entry :func:`linearlab.pipeline.fit_source` (shared by commands)."""
    if svmlight.is_svmlight(args.data):  # LIBSVM/svmlight: sparse X, scikit-learn's reader
        svmlight.check_options(args)  # -x/-y, --formula, --plots... read tables
        model = cli_penalty.build(args) if cli_penalty.wanted(args) else _model_from_args(args)
        source = svmlight.source(args.data, [])  # its columns x1, x2, ... come from the file
        return source, pipeline.fit_source(model, source)
    penalized = cli_penalty.wanted(args)  # --penalty l1|elasticnet, --alpha cv
    if penalized and getattr(args, "init", None) is not None:
        raise UsageError("--init sets the start of --solver gd for an unpenalized fit; "
                         "penalized models start from zero. Drop --init.")
    model = cli_penalty.build(args) if penalized else None  # refuses what does not apply
    if getattr(args, "scheduler", None) or getattr(args, "workers", None):  # on a Dask cluster
        if getattr(args, "weights", None):
            raise UsageError("--weights is not read on a Dask cluster from the command line; "
                             "fit in Python with sample_weight= (a Dask column), or drop "
                             "--scheduler/--workers.")
        cli_options.in_memory_solver(args, "the data on a Dask cluster", ("lsqr",))
        from linearlab.cli.distributed import fit_from_args

        return fit_from_args(args, model if penalized else _model_from_args(args))
    source = io.open_source(args.data)
    weight, formula = getattr(args, "weights", None), getattr(args, "formula", None) or None
    table = bool(weight) or cli_analyst.wants_table(args, source)  # formula, text, drop
    if table:
        features, targets = _table_columns(args, source)
    else:
        features, targets = io.select_columns(source, args.target, args.features)
        if not penalized and len(features) > MAX_FEATURES:
            raise UsageError(
                f"{source.name!r} has {len(features):,} feature columns; a fit over more than "
                f"{MAX_FEATURES:,} needs a {len(features):,} x {len(features):,} matrix, "
                "beyond memory. Choose the features with -x/--features."
            )
    if model is None:
        model = _model_from_args(args)
        if not table and getattr(args, "init", None) is not None:  # one value per coefficient
            model.init = cli_options.checked_start(args.init, features, len(targets),
                                                   model.fit_intercept)
    if table and "missing" in model.get_params():
        model.set_params(missing=getattr(args, "missing", "error"))
    chunks = pipeline.reads_in_chunks(model, source, features, targets, weight=weight,
                                      formula=formula, stream=args.stream)
    if chunks:  # qr, svd, lsqr need the whole table
        cli_options.in_memory_solver(args, repr(source.name))
    # --init is counted against the design's columns (a formula, text columns) when read whole;
    # a penalized formula's errors name the file's lines
    guard = (cli_options.init_errors(args) if table and not (penalized or chunks)
             else cli_analyst.file_lines(source) if penalized and formula and not chunks
             else contextlib.nullcontext())
    with guard, _progress(args) as report:
        outcome = pipeline.fit_source(model, source, features, targets, weight=weight,
                                      formula=formula, stream=args.stream, progress=report)
    return source, outcome


# --------------------------------------------------------------------------- commands
def _summary(args: argparse.Namespace, model: LinearModel):
    """``(summary, note)``: the statistical summary, or a line saying why there is none."""
    if not args.summary:
        return None, None
    try:
        return model.summary(), None
    except LinearLabError as exc:
        return None, f"No statistical summary: {exc}"


def cmd_fit(args: argparse.Namespace, console: Console) -> int:
    # checked before the (maybe long) fit: a bad output path costs nothing
    target = outputs.resolve(args.output, inputs=_input_files(args.data), force=args.force) \
        if args.output else None
    source, outcome = _fit_from_args(args)
    _check_finite_metrics(outcome.metrics)
    cli_output.check_descent(outcome.model)  # a run that ended above its start: exit 1
    if target is not None:
        persist.save(outcome.model, target, metrics=outcome.metrics,
                     training={"data": args.data, "rows": outcome.rows,
                               "streamed": outcome.streamed})
    summary, note = _summary(args, outcome.model)
    plots = cli_plots.plots_after_fit(args, source, outcome)
    if args.json:
        extra = {"plots": [str(p) for p in plots]} if args.plots else {}
        if args.summary:
            extra["summary"] = summary.to_dict() if summary is not None else None
            extra["summary_note"] = note
        if target is None or target.kind != "stdout":  # else the model is on stdout
            payload = (cli_penalty.payload if cli_penalty.is_penalized(outcome.model)
                       else cli_output.fit_payload)(args, source, outcome)
            cli_output.print_json({**payload, **extra})
        return 0
    if target is not None and target.kind == "stdout":  # the model is the output
        cli_output.print_warnings(outcome.warnings)
        return 0
    (cli_penalty.print_fit if cli_penalty.is_penalized(outcome.model)
     else cli_output.print_fit)(console, source, outcome)
    if summary is not None:
        console.out(str(summary), highlight=False)
    if note:
        console.print(cli_output.as_flags(note), style="yellow", markup=False, soft_wrap=True)
    cli_output.print_warnings([w for w in outcome.warnings
                               if w != getattr(outcome.model, "diagnosis_", None)])
    if args.output:
        console.print(f"Model saved to {args.output}", markup=False, soft_wrap=True)
    cli_plots.print_written(console, plots)
    return 0


def cmd_plot(args: argparse.Namespace, console: Console) -> int:
    return cli_plots.cmd_plot(args, console, _fit_from_args)


def _prediction_names(source: io.Source, targets: list[str]) -> list[str]:
    names = ["prediction"] if len(targets) == 1 else [f"prediction_{t}" for t in targets]
    clash = [n for n in names if n in source.columns]
    if clash:
        raise UsageError(
            f"{source.name!r} already has a column named {clash[0]!r}; rename it so the "
            "predictions can be added."
        )
    return names


def cmd_predict(args: argparse.Namespace, console: Console) -> int:
    if args.scheduler or args.workers:  # one output file per partition, on a Dask cluster
        from linearlab.cli.distributed import predict_from_args

        return predict_from_args(args, console)
    inputs = _input_files(args.model, args.data)
    target = (outputs.resolve(args.output, inputs=inputs, force=args.force)
              if args.output else None)
    fmt = cli_predictions.output_format(target, args.json)
    model = persist.load(args.model, LinearModel)  # the core class: no scikit-learn
    source = (svmlight.source(args.data, model.feature_names_) if svmlight.is_svmlight(args.data)
              else io.open_source(args.data))
    source.purpose = "predicting"
    features = model.feature_names_
    io.require_columns(source, features, f"the model {args.model!r}")
    names = _prediction_names(source, model.target_names_)
    if source.format == "svmlight":  # sparse rows: their label y, then the prediction(s)
        batches = svmlight.prediction_batches(model, args.data, names)
    elif cli_analyst.wants_table_predict(model, args):  # a design, --interval, --missing keep
        batches, names = cli_analyst.predict_batches(model, source, args, names)
    else:
        batches = streaming.predict_batches(model, source, features, names)
    rows = cli_predictions.write_predictions(batches, target, fmt, source)
    if target is None or target.kind == "stdout":
        return 0
    if args.json:
        cli_output.print_json({"model": args.model, "data": args.data, "output": args.output,
                               "format": fmt, "rows": rows, "columns": names})
    else:
        console.print(f"Wrote {rows} predictions to {args.output}", markup=False,
                      soft_wrap=True)
    return 0


def cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    model = persist.load(args.model, LinearModel)  # the core class: no scikit-learn
    source = io.open_source(args.data)
    source.purpose = "evaluating"
    features = model.feature_names_
    formula = getattr(model.design_, "kind", None) == "formula"  # its target may be np.log(y)
    targets = (list(model.target_names_) if formula else
               io.select_columns(source, args.target or model.target_names_, features)[1])
    io.require_columns(source, features, f"the model {args.model!r}")
    if len(targets) != len(model.target_names_):
        raise UsageError(f"The model predicts {len(model.target_names_)} target(s) but -y names "
                         f"{len(targets)}.")
    table = model.design_ is not None or args.missing != "error"  # read whole, rows dropped
    with _progress(args) as report:
        metrics = (cli_analyst.evaluate_table(model, source, targets, args.missing) if table
                   else streaming.evaluate_source(model, source, features, targets,
                                                  progress=report))
    if args.json:
        cli_output.print_json({"model": args.model, "data": args.data, "targets": targets,
                               **metrics})
        return 0
    console.print(cli_output.metrics_table(metrics, f"{args.model} on {source.name}"))
    return 0
