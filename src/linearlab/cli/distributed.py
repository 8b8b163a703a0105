"""``fit`` and ``predict`` of the command line on a Dask cluster (``--scheduler``, ``--workers``).

:func:`fit_from_args` connects and chooses the columns; the fit itself is
:func:`linearlab.pipeline.fit_source`'s, as every command-line fit, and returns what the in-memory
path returns (a source and a :class:`~linearlab.pipeline.FitOutcome`), so the command line
prints, saves and summarizes the model the same way. :func:`predict_from_args` writes one file
per input partition.
"""

from __future__ import annotations

import json
import os

import numpy as np

from linearlab.distributed.cluster import (
    ClusterSource,
    checked_numbers,
    connect,
    open_files,
    read_file,
    select_columns,
)
from linearlab.errors import ColumnError, UsageError
from linearlab.io import outputs


def fit_from_args(args, model):
    """Connect, open DATA and choose its columns, and fit ``model`` on the cluster's
    partitions through :func:`linearlab.pipeline.fit_source`; returns (source, FitOutcome)."""
    from linearlab import pipeline

    for flag, value in (("--plots", getattr(args, "plots", None)),
                        ("--stream", getattr(args, "stream", False))):
        if value:
            raise UsageError(f"{flag} cannot be combined with --scheduler/--workers; drop it.")
    formula = getattr(args, "formula", None) or None
    if formula and (args.features or args.target or args.no_intercept):
        raise UsageError("--formula names the target, the features and the intercept itself; "
                         "drop -x/-y/--no-intercept (write '- 1' for no intercept).")
    model.set_params(missing=getattr(args, "missing", None) or "error")  # drop: rows with gaps
    with connect(args.scheduler, args.workers):
        source = open_files(args.data)
        features, targets = ((None, None) if formula
                             else select_columns(source, args.target, args.features))
        outcome = pipeline.fit_source(model, source, features, targets, formula=formula)
    return source, outcome


# --------------------------------------------------------------------------- predict
def _read_for_prediction(path: str, kind: str, features: list[str]):
    """Every column of one file, the model's features checked and converted to float64."""
    frame = read_file(path, kind, None)
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise ColumnError(f"{path!r} has no column {missing[0]!r}, which the model needs.")
    return frame.assign(**checked_numbers(frame, path, kind, features))


def _output_format(output: str, source: ClusterSource) -> str:
    lower = output.rstrip("/").lower()
    if lower.endswith((".csv", ".tsv")):
        return "csv"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    return "parquet" if source.format == "parquet" else "csv"


def _write(frame, directory: str, fmt: str) -> None:
    if fmt == "parquet":
        frame.to_parquet(directory, write_index=False)
    else:
        frame.to_csv(os.path.join(directory, "part-*.csv"), index=False,
                     name_function=lambda i: f"{i:05d}")


def predict_from_args(args, console) -> int:
    """``linearlab predict MODEL DATA -o DIR --scheduler ... | --workers N``."""
    import dask.dataframe as dd

    from linearlab.models import persist

    if not args.output or args.output == "-":
        raise UsageError("With --scheduler/--workers, predict writes one file per partition: "
                         "name an output directory with -o DIR.")
    model = persist.load(args.model)
    features = list(model.feature_names_)
    names = (["prediction"] if len(model.target_names_) == 1
             else [f"prediction_{t}" for t in model.target_names_])
    remote = "://" in args.output
    with connect(args.scheduler, args.workers):
        source = open_files(args.data)
        clash = [n for n in names if n in source.columns]
        if clash:
            raise UsageError(f"{args.data!r} already has a column named {clash[0]!r}; rename it "
                             "so the predictions can be added.")
        head = read_file(source.paths[0], source.format, None, nrows=100)
        table = dd.from_map(_read_for_prediction, source.paths, kind=source.format,
                            features=features, meta=head.iloc[:0].astype(
                                {c: np.float64 for c in features if c in head.columns}),
                            enforce_metadata=False, label="linearlab-read")
        predicted = model.predict(table[features])
        if len(names) == 1:
            out = table.assign(**{names[0]: predicted})
        else:
            out = table.assign(**{n: predicted[t] for n, t in zip(names, model.target_names_,
                                                                   strict=True)})
        fmt = _output_format(args.output, source)
        if remote:  # object stores have no atomic rename: written in place
            _write(out, args.output, fmt)
        else:
            inputs = [args.model, args.data, *source.paths]
            with outputs.atomic_directory(args.output, inputs=inputs, force=args.force) as tmp:
                _write(out, tmp, fmt)
    if args.json:
        print(json.dumps({"model": args.model, "data": args.data, "output": args.output,
                          "format": fmt, "partitions": len(source.paths), "columns": names}))
    else:
        console.print(f"Wrote predictions for {len(source.paths)} partition(s) to "
                      f"{args.output} ({fmt})", markup=False, soft_wrap=True)
    return 0
