"""The command line on a Dask cluster: ``linearlab fit DATA --scheduler ADDRESS | --workers N``.

DATA is a file, a directory, a glob (``'data/*.parquet'``) or any fsspec URL the user has
credentials for; CSV/TSV and Parquet are read with ``dask.dataframe`` (``from_map``: one partition
per file), where the workers are. A value that is not a number names its file and line (CSV; row
for Parquet). ``predict`` writes one output file per input partition into a directory, created
under a temporary name and renamed into place when every partition is written, so an
interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

import numpy as np

from linearlab.errors import BackendUnavailableError, ColumnError, DataFileError, UsageError

#: Seconds to wait for a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 10
__all__ = ["ClusterSource", "checked_numbers", "connect", "open_files",
           "read_file", "read_table", "select_columns"]

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".txt": "csv"}


def _require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise BackendUnavailableError(
            "--scheduler/--workers need Dask: install it with pip install 'linearlab[dask]'."
        ) from None


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None):
    """A ``distributed.Client`` on ``scheduler``, or on a new ``LocalCluster`` of ``workers``."""
    _require_dask()
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"Cannot reach the Dask scheduler at {scheduler!r} ({type(exc).__name__}: "
                f"{exc}). Check the address (e.g. tcp://host:8786) and that the scheduler is "
                "running and reachable from here, or use --workers N for a local cluster."
            ) from None
        with client:
            yield client
        return
    cores = os.cpu_count() or 1
    if workers is not None and workers > cores:
        raise UsageError(
            f"--workers {workers} asks for more workers than this machine has cores ({cores}); "
            "each worker is a process with its own memory, so more of them than cores only "
            f"costs memory. Use --workers {cores} or fewer, or --scheduler ADDRESS to run on a "
            "cluster."
        )
    with _local_cluster(workers) as client:
        yield client


@contextlib.contextmanager
def _local_cluster(workers: int | None):
    """A ``LocalCluster`` and its client: no dashboard (no web page, no "Port 8787 is already
    in use" warning), the workers' logs off the terminal, and Ctrl-C at any moment (start-up
    included) leaves no Dask traceback at exit."""
    import logging

    from distributed import Client, LocalCluster
    from distributed.deploy.spec import SpecCluster

    before = set(SpecCluster._instances)
    quiet = dict(silence_logs=logging.CRITICAL, dashboard_address=None,
                 scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
    cluster = client = None
    try:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, **quiet)
        client = Client(cluster)
        yield client
    except KeyboardInterrupt:
        _abandon(client, cluster, before)
        raise
    client.close()
    cluster.close()


def _abandon(client, cluster, before: set) -> None:
    """After Ctrl-C: close what started, quietly; what cannot close is dropped from Dask's exit
    hook (whose traceback would follow the "interrupted" line)."""
    import logging

    from distributed.deploy.spec import SpecCluster

    for name in ("asyncio", "distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    for closable in (client, cluster):
        try:
            if closable is not None:
                closable.close(timeout=2)
        except BaseException:  # noqa: BLE001 - an interrupted start-up cannot always close
            pass
    for instance in set(SpecCluster._instances) - before:
        SpecCluster._instances.discard(instance)


# --------------------------------------------------------------------------- reading
@dataclass
class ClusterSource:
    """What the command line reports about DATA read on a cluster (a Source look-alike)."""

    name: str
    paths: list[str]
    format: str
    columns: list[str]
    storage_options: dict = field(default_factory=dict)


def _format_of(path: str) -> str:
    lower = path.lower()
    for suffix in (".gz", ".bz2", ".zst", ".xz"):
        lower = lower.removesuffix(suffix)
    for suffix, kind in _FORMATS.items():
        if lower.endswith(suffix):
            return kind
    raise UsageError(
        f"Cannot tell the format of {path!r}; name files .csv, .tsv or .parquet (optionally "
        "compressed .gz/.bz2/.zst/.xz)."
    )


def open_files(data: str) -> ClusterSource:
    """Expand DATA (file, directory, glob or fsspec URL) into the files to read, in order."""
    _require_dask()
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(data)
    if any(ch in root for ch in "*?["):
        found = sorted(fs.glob(root))
    elif fs.isdir(root):
        found = sorted(p for p in fs.find(root) if not os.path.basename(p).startswith((".", "_")))
    else:
        found = [root] if fs.exists(root) else []
    if not found:
        raise DataFileError(f"No data files match {data!r}; check the path or pattern.",
                            path=data)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    paths = [p if protocol in ("file", "local") else f"{protocol}://{p}" for p in found]
    kinds = {_format_of(p) for p in paths}
    if len(kinds) > 1:
        raise UsageError(f"{data!r} mixes file formats ({', '.join(sorted(kinds))}); "
                         "read one format at a time.")
    kind = kinds.pop()
    head = read_file(paths[0], kind, None, nrows=100)
    return ClusterSource(name=data, paths=paths, format=kind, columns=[str(c) for c in head])


def read_file(path: str, kind: str, columns: list[str] | None, nrows: int | None = None):
    """One CSV/TSV/Parquet file (local path or fsspec URL, compression inferred) as pandas."""
    import fsspec
    import pandas as pd

    with fsspec.open(path, "rb", compression="infer") as f:
        if kind == "parquet":
            return pd.read_parquet(f, columns=columns)
        sep = "\t" if kind == "tsv" else ","
        return pd.read_csv(f, sep=sep, usecols=columns, nrows=nrows, skipinitialspace=True)


def checked_numbers(frame, path: str, kind: str, columns: list[str], *,
                    missing_ok: bool = False) -> dict:
    """``columns`` of ``frame`` as float64 arrays; a value that is not a finite number (or is
    missing, unless ``missing_ok``: then NaN) raises :class:`DataFileError` naming the file, the
    line (CSV) or row, and column."""
    import pandas as pd

    out = {}
    for name in columns:
        values = frame[name]
        numbers = pd.to_numeric(values, errors="coerce").astype(np.float64).to_numpy()
        bad = ~np.isfinite(numbers)
        if missing_ok:
            bad &= values.notna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            line = row + 2 if kind != "parquet" else None  # the header is line 1
            where = f"line {line}" if line else f"row {row + 1}"
            raw = values.iloc[row]
            what = "a missing value" if pd.isna(raw) else f"{raw!r}, which is not a finite number"
            advice = "Fix or drop that row (or choose other columns with -x/-y)."
            present = values.dropna()
            if isinstance(raw, str) and (~present.map(_is_number_text)).mean() > 0.5:  # text
                advice += (" A text column is one-hot encoded on one machine; on a cluster, "
                           f"through a formula: --formula 'TARGET ~ ... + C({name})'.")
            raise DataFileError(f"{path}, {where}, column {name!r}: {what}. {advice}",
                                path=path, column=name, line=line)
        out[name] = numbers
    return out


def _is_number_text(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _read_numeric(path: str, kind: str, columns: list[str]):
    """One file as a float64 DataFrame of ``columns`` (runs on a worker)."""
    import pandas as pd

    try:
        frame = read_file(path, kind, columns)
    except ValueError as exc:  # usecols naming a column the file lacks
        raise ColumnError(f"{path!r}: {exc}. Every file must have the same columns.") from None
    return pd.DataFrame(checked_numbers(frame, path, kind, columns), index=frame.index)


def read_table(source: ClusterSource, columns: list[str]):
    """A Dask DataFrame of ``columns`` as float64, one partition per file (read on workers)."""
    import dask.dataframe as dd
    import pandas as pd

    meta = pd.DataFrame({c: np.empty(0) for c in columns})
    return dd.from_map(
        _read_numeric, source.paths, kind=source.format, columns=columns, meta=meta,
        enforce_metadata=False, label="linearlab-read",
    )


def select_columns(source: ClusterSource, target: str | None, features: str | None):
    """(features, targets) the way the in-memory command line chooses them."""
    split = (lambda s: [c.strip() for c in s.split(",") if c.strip()])  # noqa: E731
    targets = split(target) if target else [source.columns[-1]]
    chosen = split(features) if features else [c for c in source.columns if c not in targets]
    missing = [c for c in targets + chosen if c not in source.columns]
    if missing:
        raise ColumnError(
            f"{source.name!r} has no column {missing[0]!r}; its columns are "
            f"{', '.join(source.columns)}."
        )
    return chosen, targets
