"""``linearlab fit`` on a CSV of 1 GB or more: wall time and peak memory against its peers.

Generates a CSV of about ``--gigabytes`` GB (10 numeric columns: 9 features and a target) in a
temporary directory (deleted afterwards), then runs, each in its own process:

- ``linearlab fit big.csv --json`` (streams the file: bounded memory),
- pandas.read_csv + scikit-learn ``LinearRegression().fit`` (loads the whole table),
- pyarrow's bare ``pyarrow.csv.read_csv`` (multi-threaded parse of the whole file, no fit),
- pyarrow's streaming reader alone (``open_csv``, 1 MB blocks, no conversion or fit): the floor
  for a streamed fit.

Peak RSS is GNU time's maximum resident set size of each command. Prints a table with ratios. Goals:
linearlab's peak RSS under 400 MB, and its time within 1.5x of the bare pyarrow read.

Usage::

    .venv/bin/python bench/big_csv.py [--gigabytes 1.0] [--skip-pandas]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

N_FEATURES = 9
ROWS_PER_CHUNK = 500_000
COEF = np.linspace(-2.0, 2.0, N_FEATURES)
INTERCEPT = 3.0


def generate(path: str, gigabytes: float) -> int:
    """Write a CSV of at least ``gigabytes`` GB; returns the number of rows."""
    rng = np.random.default_rng(0)
    names = [f"x{j}" for j in range(N_FEATURES)] + ["y"]
    rows = 0
    with pacsv.CSVWriter(path, pa.schema([(n, pa.float64()) for n in names])) as writer:
        while os.path.getsize(path) < gigabytes * 1e9:
            X = rng.normal(size=(ROWS_PER_CHUNK, N_FEATURES))
            y = X @ COEF + INTERCEPT + rng.normal(size=ROWS_PER_CHUNK)
            arrays = [pa.array(X[:, j]) for j in range(N_FEATURES)] + [pa.array(y)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, names=names))
            rows += ROWS_PER_CHUNK
    return rows


def measure(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process, via /usr/bin/time.

    GNU time forks the command from its own small process: a child forked straight from this
    (larger) Python process would report this process's RSS as its peak (Linux keeps the
    pre-exec high-water mark in ru_maxrss).
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M", *argv],
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{argv[:3]} failed ({proc.returncode}):\n{proc.stderr}")
        peak_kb = float(report.read().strip().splitlines()[-1])
    return wall, peak_kb / 1024.0, proc.stdout


PANDAS = """
import sys, json, pandas as pd
from sklearn.linear_model import LinearRegression
df = pd.read_csv(sys.argv[1])
m = LinearRegression().fit(df.iloc[:, :-1].to_numpy(), df.iloc[:, -1].to_numpy())
print(json.dumps({"coef": m.coef_.tolist(), "intercept": float(m.intercept_)}))
"""
PYARROW = "import sys, pyarrow.csv as c; t = c.read_csv(sys.argv[1]); print(t.num_rows)"
STREAMED = """
import sys, pyarrow.csv as c
reader = c.open_csv(sys.argv[1], read_options=c.ReadOptions(block_size=1 << 20))
print(sum(batch.num_rows for batch in reader))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    linearlab = os.path.join(os.path.dirname(sys.executable), "linearlab")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.csv")
        t0 = time.perf_counter()
        rows = generate(path, args.gigabytes)
        size = os.path.getsize(path) / 1e9
        print(f"generated {path}: {size:.2f} GB, {rows} rows, {N_FEATURES + 1} columns "
              f"in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPU(s)")
        results = {}
        results["pyarrow.csv.read_csv (bare read)"] = measure([sys.executable, "-c", PYARROW,
                                                                path])
        results["pyarrow.csv.open_csv (streamed read)"] = measure([sys.executable, "-c",
                                                                   STREAMED, path])
        wall, rss, out = measure([linearlab, "fit", path, "--json"])
        results["linearlab fit"] = (wall, rss, out)
        fitted = json.loads(out)
        if not args.skip_pandas:
            results["pandas.read_csv + sklearn"] = measure([sys.executable, "-c", PANDAS, path])
            peer = json.loads(results["pandas.read_csv + sklearn"][2])
            diff = max(abs(a - b) for a, b in zip(fitted["coef"].values(), peer["coef"],
                                                  strict=True))
            print(f"max |coef linearlab - coef sklearn| = {diff:.3g}")
    base = results["pyarrow.csv.read_csv (bare read)"][0]
    ours_t, ours_m = results["linearlab fit"][:2]
    print(f"\n{'tool':37s} {'wall s':>8s} {'peak RSS MB':>12s} {'time / pyarrow':>15s} "
          f"{'time / linearlab':>17s} {'RSS / linearlab':>16s}")
    for name, (wall, rss, _) in results.items():
        print(f"{name:37s} {wall:8.2f} {rss:12.0f} {wall / base:15.2f} {wall / ours_t:17.2f} "
              f"{rss / ours_m:16.2f}")
    print(f"\ngoals: peak RSS < 400 MB: {'met' if ours_m < 400 else 'MISSED'} ({ours_m:.0f} MB); "
          f"time <= 1.5x bare pyarrow read: {'met' if ours_t <= 1.5 * base else 'MISSED'} "
          f"({ours_t / base:.2f}x)")


if __name__ == "__main__":
    main()
