"""Figures from the command line: ``fit --plots DIR``, ``linearlab plot`` and the demo's folder.

Arguments → :mod:`linearlab.viz` calls → a list of files written. No math here. ``cli`` imports
this module (never the reverse); the pieces ``plot`` shares with ``fit`` (its options, fitting
from DATA) are passed in by ``cli``.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
from rich.console import Console

from linearlab.cli.parser import KIND_NAMES
from linearlab.data import sources as io
from linearlab.data import svmlight
from linearlab.data.datasets import list_datasets
from linearlab.errors import LinearLabError, UsageError
from linearlab.models import persist

#: Rows of a data file drawn at most (the first ones; a fit may have streamed many more).
MAX_PLOT_ROWS = 100_000
#: Figures drawn from the model alone (its loss history, its regularization path): no data read.
NO_DATA_KINDS = ("history", "path")


# --------------------------------------------------------------------------- data
def read_for_plots(source: io.Source, features: list[str], targets: list[str]):
    """``(X, Y, rows_total_or_None)``: the first :data:`MAX_PLOT_ROWS` rows of the columns."""
    blocks, rows = [], 0
    stream = io.ChunkStream(source, [*features, *targets])
    for block in stream:
        blocks.append(block)
        rows += block.shape[0]
        if rows > MAX_PLOT_ROWS:
            break
    table = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    clipped = table.shape[0] > MAX_PLOT_ROWS
    table = table[:MAX_PLOT_ROWS]
    d = len(features)
    return table[:, :d], table[:, d:], clipped


def data_for_plots(model, source: io.Source, features: list[str], targets: list[str]):
    """``(X, Y, names, clipped)``: the first :data:`MAX_PLOT_ROWS` rows to draw ``model`` on.

    A model with a design (formula, text columns) or fitted with ``--missing drop`` gets the raw
    table (the figures apply its design and drop incomplete rows, as the fit did), and its
    figures name the design's columns; other models get the numeric ``features``."""
    design = getattr(model, "design_", None)
    if design is None and getattr(model, "missing", "error") != "drop":
        X, Y, clipped = read_for_plots(source, features, targets)
        return X, Y, list(features), clipped
    from linearlab.cli.analyst import design_table  # analyst never imports this module

    X, Y, clipped = design_table(model, source, targets, MAX_PLOT_ROWS)
    return X, Y, list(design.names) if design is not None else list(features), clipped


def svmlight_for_plots(model, path: str):
    """``(X, Y, names, clipped)``: the first :data:`MAX_PLOT_ROWS` rows of a LIBSVM/svmlight
    file, X still sparse (CSR), with the model's number of columns."""
    d = int(getattr(model, "n_features_in_", 0) or 0) or None
    data = svmlight.read(path, n_features=d)
    clipped = data.X.shape[0] > MAX_PLOT_ROWS
    X, y = data.X[:MAX_PLOT_ROWS], data.y[:MAX_PLOT_ROWS]
    return X, y.reshape(-1, 1), list(data.features), clipped


def _sparse_kinds(model, X, kinds: list[str] | None) -> list[str] | None:
    """The figures drawn on sparse rows too wide to make dense: those of the model's
    predictions; the ones that evaluate the loss over a parameter grid are left out, and said
    so in one line (refused when nothing else was asked for)."""
    from linearlab.viz.files import applicable_kinds
    from linearlab.viz.view import DENSE_KINDS, DENSE_PLOT_NUMBERS, stays_sparse

    if not stays_sparse(X):
        return kinds
    wanted = applicable_kinds(model) if kinds is None else kinds
    left = [k for k in wanted if k in DENSE_KINDS]
    if not left:
        return kinds
    n, d = X.shape
    why = (f"{'it evaluates' if len(left) == 1 else 'they evaluate'} the loss over a grid of "
           f"parameters on dense rows, and {n:,} rows x {d:,} sparse features would be "
           f"{n * d:,} numbers dense, over the {DENSE_PLOT_NUMBERS:,} drawn at most")
    drawn = [k for k in wanted if k not in DENSE_KINDS]
    if not drawn:
        raise UsageError(f"Cannot draw {', '.join(left)}: {why}. Draw --kind fit,residuals "
                         "(or history for --solver gd) instead.")
    Console(stderr=True).print(f"Not drawn: {', '.join(left)} ({why}).", markup=False,
                               highlight=False, soft_wrap=True)
    return drawn


def write_plots(model, X, Y, features: list[str], targets: list[str],
                directory: str, kinds: list[str] | None = None,
                frames: int | None = None) -> list[Path]:
    """Every requested figure (default: all that apply) of ``model`` on ``(X, Y)`` (``Y`` None:
    a formula model reads its target from the table ``X``). A sparse ``X`` is drawn as it is
    when small and, when too wide to make dense, without the figures that need dense rows."""
    from linearlab import viz

    kinds = _sparse_kinds(model, X, kinds)
    y = Y[:, 0] if Y is not None and Y.ndim == 2 and Y.shape[1] == 1 else Y
    return viz.save_plots(model, X, y, directory, kinds=kinds, frames=frames,
                          feature_names=list(features), target_name=targets[0])


def plots_after_fit(args: argparse.Namespace, source: io.Source, outcome) -> list[Path]:
    """``fit --plots DIR``: draw the model just fitted (nothing when the option is absent)."""
    if not getattr(args, "plots", None):
        return []
    features = list(getattr(outcome.model, "feature_names_", None) or outcome.features)
    if source.format == "svmlight":  # sparse rows, read again (the fit kept none)
        X, Y, names, _ = svmlight_for_plots(outcome.model, source.path)
    else:
        X, Y, names, _ = data_for_plots(outcome.model, source, features, outcome.targets)
    return write_plots(outcome.model, X, Y, names, outcome.targets, args.plots)


def demo_plots(args: argparse.Namespace, data, model) -> list[Path]:
    """The demo's figures of its gradient-descent model, in ``args.plots``."""
    if getattr(args, "no_plots", False) or not getattr(args, "plots", None):
        return []
    return write_plots(model, data.X, data.y.reshape(-1, 1), data.feature_names,
                       [data.target_name], args.plots)


def print_written(console: Console, paths: list[Path]) -> None:
    if not paths:
        return
    folder = os.path.dirname(paths[0]) or "."
    names = ", ".join(p.name for p in paths)
    console.print(f"Plots written to [bold]{folder}{os.sep}[/bold]: {names}", soft_wrap=True)


# --------------------------------------------------------------------------- the command
def _kinds(text: str) -> list[str] | None:
    if text.strip() in ("", "all"):
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KIND_NAMES]
    if unknown:
        raise UsageError(f"Unknown --kind {unknown[0]!r}; choose from {', '.join(KIND_NAMES)} "
                         "(comma-separated) or 'all'.")
    return kinds


def _is_model_file(text: str) -> bool:
    return text.lower().endswith(".json")


def _fit_options_given(args: argparse.Namespace) -> list[str]:
    names = ("lr", "epochs", "batch_size", "optimizer", "loss", "tol", "seed", "target",
             "features", "device", "formula", "weights")
    given = [n for n in names if getattr(args, n, None) is not None]
    flags = (("solver", "auto"), ("alpha", 0.0), ("no_intercept", False),
             ("standardize", False), ("backend", "numpy"), ("missing", "error"))
    given += [n for n, default in flags if getattr(args, n, default) != default]
    return ["--" + n.replace("_", "-") for n in given]


def _recorded_source(model_path: str, model, console: Console) -> io.Source:
    """The training data a model file records, opened only when it is a built-in dataset or a
    regular file (a model file is data, not instructions: it cannot make linearlab read a
    device, a pipe or a directory), and only after saying so."""
    recorded = (getattr(model, "training_", None) or {}).get("data")
    if not isinstance(recorded, str) or not recorded:
        raise UsageError(
            f"{model_path!r} does not record its training data; pass the data to draw with "
            "--data DATA."
        )
    key = recorded.strip().lower().replace("_", "-")
    if key in list_datasets() and not os.path.lexists(recorded):
        return io.open_source(key)
    try:
        regular = stat.S_ISREG(os.stat(recorded).st_mode)
    except OSError:
        regular = False
    if not regular:
        relative = "" if os.path.isabs(recorded) else (
            " It is a relative path, so it is looked up from the current directory, not "
            "from where the model was fitted."
        )
        raise UsageError(
            f"{model_path!r} records its training data as {recorded!r}, which is not a "
            f"regular file here.{relative} Pass the data to draw with --data DATA."
        )
    Console(stderr=True).print(
        f"Drawing on {recorded}, the training data recorded in {model_path} (choose other data "
        "with --data).", markup=False, highlight=False, soft_wrap=True)
    return io.open_source(recorded)


def _sparse_data(model, args: argparse.Namespace) -> str | None:
    """The LIBSVM/svmlight file a model file would be drawn on (``--data``, else the training
    data it records), or None when that is a table."""
    recorded = (getattr(model, "training_", None) or {}).get("data")
    data = args.plot_data or (recorded if isinstance(recorded, str) else None)
    return data if data and svmlight.is_svmlight(data) else None


def data_free_kinds(model, kinds: list[str] | None, why: str) -> list[str]:
    """The figures of ``model`` drawn without its data (:data:`NO_DATA_KINDS`): ``kinds``, or
    by default those that apply. A kind that needs the data is refused in one paragraph, as is
    a model with none of these figures; ``why`` says why there are no rows to draw."""
    from linearlab.viz.files import applicable_kinds

    available = [k for k in applicable_kinds(model) if k in NO_DATA_KINDS]
    wanted = available if kinds is None else kinds
    refused = [k for k in wanted if k not in NO_DATA_KINDS]
    if wanted and not refused:
        return wanted
    if available:
        advice = (f"Draw --kind {','.join(available)}, which needs no data, or draw on a "
                  "CSV/TSV/Parquet table")
    else:
        advice = ("This model has no figure drawn without data (the loss history needs "
                  "--solver gd, the path a penalized model): draw on a CSV/TSV/Parquet table")
    shown = ", ".join(refused) if refused else "the figures that apply"
    raise UsageError(
        f"Cannot draw {shown}: {'they draw' if len(refused) != 1 else 'it draws'} the model on "
        f"its data rows, but {why}. {advice} with the same columns (--data TABLE)."
    )


def _model_and_data(args: argparse.Namespace, console: Console, kinds: list[str] | None):
    """``(model, source or None, features, targets, kinds)`` for ``plot MODEL.json``; no source
    (nothing read) for ``--kind path``, for ``--kind history`` when the recorded data cannot be
    read (the data only adds the optimum's floor), or when the data is an svmlight file (only
    those kinds can be drawn then)."""
    model = persist.load(args.data)
    given = _fit_options_given(args)
    if given:
        raise UsageError(
            f"{', '.join(given)} {'is an option' if len(given) == 1 else 'are options'} for "
            f"fitting DATA, but {args.data!r} is a fitted model. Drop "
            f"{'it' if len(given) == 1 else 'them'}, or pass DATA instead of the model file."
        )
    # set by persist.load, named or x0, x1, ... (not on a penalized model fitted on sparse X)
    d = int(getattr(model, "n_features_in_", 0) or 0)
    features = list(getattr(model, "feature_names_", None) or [f"x{j}" for j in range(d)])
    targets = list(getattr(model, "target_names_", None) or ["y"])
    sparse = _sparse_data(model, args)
    if sparse is not None:
        why = (f"{os.path.basename(sparse)!r} is a LIBSVM/svmlight file (sparse rows, which "
               "the figures do not read)")
        return model, None, features, targets, data_free_kinds(model, kinds, why)
    # history and path need no data: the recorded data only adds the history's optimum
    data_free = bool(kinds) and all(k in NO_DATA_KINDS for k in kinds) and not args.plot_data
    if data_free and "history" not in kinds:
        return model, None, features, targets, kinds  # the model file alone
    try:
        source = io.open_source(args.plot_data) if args.plot_data else _recorded_source(
            args.data, model, console)
        formula = getattr(getattr(model, "design_", None), "kind", None) == "formula"
        needed = features if formula else [*features, *targets]  # a formula reads its target
        io.require_columns(source, needed, f"the model {args.data!r}")
    except LinearLabError:
        if not data_free:
            raise
        return model, None, features, targets, kinds  # the history without its optimum's floor
    return model, source, features, targets, kinds


def _fit_sparse(args: argparse.Namespace, kinds: list[str] | None, fit_from_args):
    """``plot DATA.svm``: fit the svmlight file (as ``fit`` does; ``-o`` names the figures'
    folder, not fit's ``--plots``), then only the figures that need no rows."""
    fit_args = argparse.Namespace(**{**vars(args), "plots": None})
    source, outcome = fit_from_args(fit_args)
    why = (f"{os.path.basename(args.data)!r} is a LIBSVM/svmlight file (sparse rows, which the "
           "figures do not read)")
    return source, outcome, data_free_kinds(outcome.model, kinds, why)


def cmd_plot(args: argparse.Namespace, console: Console, fit_from_args) -> int:
    """``linearlab plot MODEL_OR_DATA``: fit DATA (or load the model) and draw figures."""
    kinds = _kinds(args.kind)
    if _is_model_file(args.data):
        model, source, features, targets, kinds = _model_and_data(args, console, kinds)
    else:
        if args.plot_data:
            raise UsageError("--data goes with a model file; DATA itself is the positional "
                             "argument here.")
        if svmlight.is_svmlight(args.data):
            source, outcome, kinds = None, *_fit_sparse(args, kinds, fit_from_args)[1:]
        else:
            source, outcome = fit_from_args(args)
        model, targets = outcome.model, outcome.targets
        features = list(getattr(model, "feature_names_", None) or outcome.features)
    if source is None:  # the loss history, the path: from the model alone
        X, Y, names, clipped = None, None, features, False
    else:
        X, Y, names, clipped = data_for_plots(model, source, features, targets)
    paths = write_plots(model, X, Y, names, targets, args.plots, kinds, args.frames)
    if args.json:
        sys.stdout.write(json.dumps({"plots": [str(p) for p in paths],
                                     "rows_drawn": 0 if X is None else int(len(X))},
                                    indent=2) + "\n")
        return 0
    if clipped:
        console.print(f"Drew the first {MAX_PLOT_ROWS} rows of {source.name}.")
    print_written(console, paths)
    return 0
