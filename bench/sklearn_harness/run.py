"""scikit-learn's own linear_model tests, with only their imports pointed at linearlab.

Copies ``test_base.py``, ``test_coordinate_descent.py`` and ``test_ridge.py`` from the installed
scikit-learn's ``linear_model/tests`` (skipped when they are not installed) to a temporary
folder, rewrites each ``from sklearn.linear_model import ...`` so that the estimators linearlab
has (LinearRegression, Lasso, ElasticNet, LassoCV, ElasticNetCV, RidgeCV) come from linearlab,
runs them with pytest (scikit-learn's conftest loaded for its fixtures) and sorts the failures:

- *sparse-caused*: a test run on a sparse container (its id names csr/csc/coo/lil/dok/bsr/dia
  or "sparse") that fails while the same test passes on every dense parametrization, or a
  failure whose message says sparse input is refused;
- *fails on dense too*: sparse runs of a test that also fails on dense input (an API
  difference, not sparse input: e.g. ``positive=True`` for LinearRegression, private helpers);
- *other*: failures of tests that never see sparse input.

    python bench/sklearn_harness/run.py                      # all three files (minutes)
    python bench/sklearn_harness/run.py --files test_base.py -k sparse
    python bench/sklearn_harness/run.py -v --report report.xml   # list every failure, keep XML
"""

from __future__ import annotations

import argparse
import ast
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

FILES = ("test_base.py", "test_coordinate_descent.py", "test_ridge.py")
OURS = {"LinearRegression", "Lasso", "ElasticNet", "LassoCV", "ElasticNetCV", "RidgeCV"}
SPARSE_ID = re.compile(r"csr|csc|coo|lil|dok|bsr|dia_|sparse", re.IGNORECASE)
REFUSED = re.compile(r"sparse input is not supported|does not accept sparse", re.IGNORECASE)


def tests_dir() -> str | None:
    """The installed scikit-learn's linear_model/tests folder, or None."""
    try:
        import sklearn
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(sklearn.__file__), "linear_model", "tests")
    return path if all(os.path.exists(os.path.join(path, f)) for f in FILES) else None


def point_at_linearlab(source: str) -> str:
    """``source`` with linearlab's estimators imported from linearlab (nothing else changed)."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    edits = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "sklearn.linear_model":
            names = [a for a in node.names]
            ours = [a for a in names if a.name in OURS]
            if not ours:
                continue
            rest = [a for a in names if a.name not in OURS]

            def spell(aliases):
                return ", ".join(a.name + (f" as {a.asname}" if a.asname else "")
                                 for a in aliases)

            text = f"from linearlab import {spell(ours)}\n"
            if rest:
                text += f"from sklearn.linear_model import {spell(rest)}\n"
            edits.append((node.lineno - 1, node.end_lineno, text))
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text]
    return "".join(lines)


def run(files, keyword: str | None, workdir: str) -> str:
    source_dir = tests_dir()
    for name in files:
        with open(os.path.join(source_dir, name)) as f:
            text = point_at_linearlab(f.read())
        with open(os.path.join(workdir, name), "w") as f:
            f.write(text)
    report = os.path.join(workdir, "report.xml")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
           "sklearn.conftest", "--junitxml", report, "-o", "junit_family=xunit1",
           "--tb=line", "-W", "ignore", *[os.path.join(workdir, f) for f in files]]
    if keyword:
        cmd += ["-k", keyword]
    subprocess.run(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return report


def classify(report: str, verbose: bool = False) -> None:
    cases = ET.parse(report).getroot().iter("testcase")
    outcome, messages = {}, {}
    for case in cases:
        test = f"{case.get('classname')}::{case.get('name')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped") is not None
        outcome[test] = "skipped" if skipped else ("failed" if bad is not None else "passed")
        if bad is not None:
            messages[test] = (bad.get("message") or "").splitlines()[0][:160]
    counts = collections.Counter(outcome.values())
    by_function = collections.defaultdict(list)
    for test, result in outcome.items():
        by_function[test.split("[")[0]].append((test, result))
    sparse_caused, dense_too, other = [], [], []
    for test, result in outcome.items():
        if result != "failed":
            continue
        params = test.split("[", 1)[1] if "[" in test else ""
        function = test.split("::")[-1].split("[")[0]
        if REFUSED.search(messages[test]):
            sparse_caused.append(test)
        elif SPARSE_ID.search(params) or (not params and SPARSE_ID.search(function)):
            siblings = [r for t, r in by_function[test.split("[")[0]]
                        if not SPARSE_ID.search(t.split("[", 1)[1] if "[" in t else "")]
            (dense_too if "failed" in siblings or not siblings else sparse_caused).append(test)
        else:
            other.append(test)
    print(f"{sum(counts.values())} tests: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped")
    print(f"  failures caused by sparse input: {len(sparse_caused)}")
    print(f"  failures on sparse input of tests that fail on dense input too: {len(dense_too)}")
    print(f"  other failures (no sparse input): {len(other)}")
    for title, group in (("sparse-caused", sparse_caused), ("dense too", dense_too),
                         ("other", other)):
        common = collections.Counter(messages[t] for t in group).most_common(8)
        if common:
            print(f"\nmost common messages ({title}):")
            for message, n in common:
                print(f"  {n:4d}  {message}")
    for title, group in (("sparse-caused", sparse_caused), ("dense too", dense_too),
                         ("other", other)):
        if group and (title == "sparse-caused" or verbose):
            print(f"\n{title} failures:")
            for test in group:
                print(f"  {test.split('::')[-1]}: {messages[test]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", nargs="+", default=list(FILES), choices=FILES)
    parser.add_argument("-k", dest="keyword")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    parser.add_argument("--report", help="also keep pytest's JUnit XML report here")
    parser.add_argument("--from-report", help="only sort the failures of a kept report")
    args = parser.parse_args()
    if args.from_report:
        classify(args.from_report, args.verbose)
        return 0
    if tests_dir() is None:
        print("skipped: the installed scikit-learn has no linear_model/tests folder")
        return 0
    with tempfile.TemporaryDirectory() as workdir:
        report = run(args.files, args.keyword, workdir)
        if args.report:
            shutil.copyfile(report, args.report)
        classify(report, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
