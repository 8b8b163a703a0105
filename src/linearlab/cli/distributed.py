"""``fit`` and ``predict`` of the command line on a Dask cluster (``--scheduler``, ``--workers``).

:func:`fit_from_args` returns what the in-memory path returns (a source and a
:class:`~linearlab.pipeline.streaming.FitOutcome`), so the command line prints, saves and
summarizes the model the same way. :func:`predict_from_args` writes one file per input partition.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from linearlab.distributed.cluster import (
    ClusterSource,
    checked_numbers,
    connect,
    open_files,
    read_file,
    read_table,
    select_columns,
)
from linearlab.errors import ColumnError, UsageError
from linearlab.exact.gram import Gram
from linearlab.io import outputs


def _metrics_leaf(X, Y, w, coef, intercept):
    resid = Y - (X @ coef + intercept)
    return Gram.from_arrays(resid, Y), np.abs(resid).sum(axis=0)


def _merge_metrics(parts):
    grams = [g for g, _ in parts]
    merged = grams[0]
    for g in grams[1:]:
        merged = merged.merge(g)
    return merged, sum(s for _, s in parts)


def _metrics(model, X, y) -> dict:
    """R², RMSE and MAE of the fitted model on the cluster data (one more pass)."""
    from linearlab.distributed.blocks import partitions
    from linearlab.distributed.reduce import map_combine
    from linearlab.pipeline.streaming import metrics_from_sums

    state = model.fitted_state_
    gram, sae = map_combine(partitions(X, y), _metrics_leaf, _merge_metrics, state.coef,
                            state.intercept, name="metrics")
    sse = np.diag(gram.sxx) + gram.weight_sum * gram.mean_x**2
    return metrics_from_sums(gram.count, sse, np.diag(gram.syy).copy(), sae)


def fit_from_args(args, model):
    """Fit ``model`` on DATA read by the cluster's workers; returns (source, FitOutcome)."""
    from linearlab.pipeline.streaming import FitOutcome

    for flag, value in (("--plots", getattr(args, "plots", None)),
                        ("--formula", getattr(args, "formula", None)),
                        ("--stream", getattr(args, "stream", False))):
        if value:
            raise UsageError(f"{flag} cannot be combined with --scheduler/--workers; drop it.")
    if getattr(args, "missing", "error") not in (None, "error"):
        raise UsageError("--missing drop cannot be combined with --scheduler/--workers: "
                         "clean the files first.")
    with connect(args.scheduler, args.workers):
        source = open_files(args.data)
        features, targets = select_columns(source, args.target, args.features)
        table = read_table(source, features + targets)
        X = table[features]
        y = table[targets[0]] if len(targets) == 1 else table[targets]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(X, y)
            metrics = _metrics(model, X, y)
    notes = [str(w.message) for w in caught if w.category.__module__.startswith("linearlab")]
    outcome = FitOutcome(model, features, targets, metrics, streamed=True,
                         rows=int(model.fitted_state_.gram.count), warnings=notes)
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
