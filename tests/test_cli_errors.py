"""Bad input on the command line: exit status, a message that says what and where, no file left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_runner import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linearlab import LinearRegression, cli


def numeric_csv(rows=50, bad=None):
    lines = ["x,z,y"] + [f"{i},{i % 7},{2 * i + 1}" for i in range(rows)]
    if bad is not None:
        line, text = bad
        lines[line - 1] = text
    return "\n".join(lines) + "\n"


@pytest.fixture
def files(tmp_path):
    """Build the inputs the cases refer to; returns a name → path mapping."""
    paths = {}

    def put(name, content):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        paths[name] = str(path)

    put("good.csv", numeric_csv())
    put("empty.csv", "")
    put("header.csv", "x,z,y\n")
    put("missing.csv", numeric_csv(bad=(4, "2,,5")))
    put("text.csv", numeric_csv(rows=3000, bad=(2500, "2498,abc,4997")))
    put("lacking.csv", "x,y\n1,2\n")
    model = LinearRegression().fit(np.array([[0.0, 1], [1, 0], [2, 2]]), [1.0, 2, 4])
    model.feature_names_in_ = np.array(["x", "z"], dtype=object)
    model.save(tmp_path / "model.json")
    paths["model.json"] = str(tmp_path / "model.json")
    text = (tmp_path / "model.json").read_text()
    put("truncated.json", text[: len(text) // 2])
    put("corrupt.json", text.replace('"coef"', '"coef": "oops", "x"', 1))
    doc = json.loads(text)
    doc["format"] = "linearlab.model/9"
    put("future.json", json.dumps(doc))
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 7.0]}), buffer)
    data = buffer.getvalue().to_pybytes()
    put("truncated.parquet", data[: len(data) * 2 // 3])
    paths["out"] = str(tmp_path / "output.csv")
    return paths


CASES = [
    # (name, argv with {placeholders}, exit status, pieces of the message)
    ("missing file", ["fit", "{dir}/nope.csv", "-o", "{out}"], 2,
     ["No such file or built-in dataset", "nope.csv"]),
    ("empty file", ["fit", "{empty.csv}", "-o", "{out}"], 2, ["empty.csv", "is empty"]),
    ("header only", ["fit", "{header.csv}", "-o", "{out}"], 2, ["header", "no data rows"]),
    ("missing value", ["fit", "{missing.csv}", "-o", "{out}"], 2,
     ["column 'z' at line 4", "missing"]),
    ("text in numeric column", ["fit", "{text.csv}", "-o", "{out}"], 2,
     ["column 'z' at line 2500", "'abc' is not a number"]),
    ("unknown target", ["fit", "{good.csv}", "-y", "price", "-o", "{out}"], 2,
     ["Unknown target column 'price'", "x, z, y"]),
    ("unknown feature", ["fit", "{good.csv}", "-x", "x,w", "-o", "{out}"], 2,
     ["Unknown feature column 'w'"]),
    ("predict file lacks a feature", ["predict", "{model.json}", "{lacking.csv}", "-o", "{out}"],
     2, ["lacks the column(s) 'z'", "model.json"]),
    ("corrupt model", ["predict", "{corrupt.json}", "{good.csv}", "-o", "{out}"], 2,
     ["not a valid linearlab model file", "coef"]),
    ("truncated model", ["predict", "{truncated.json}", "{good.csv}", "-o", "{out}"], 2,
     ["not complete JSON", "truncated"]),
    ("unknown format version", ["evaluate", "{future.json}", "{good.csv}"], 2,
     ["linearlab.model/9", "Upgrade linearlab"]),
    ("truncated parquet", ["fit", "{truncated.parquet}", "-o", "{out}"], 2,
     ["truncated.parquet", "not a readable Parquet file"]),
    ("diverging lr", ["fit", "salary", "--solver", "gd", "--lr", "10", "-o", "{out}"], 1,
     ["diverged", "--lr 10", "stable"]),
    ("gd option without gd", ["fit", "{good.csv}", "--lr", "0.1", "-o", "{out}"], 2,
     ["--lr only applies to gradient descent", "--solver gd"]),
    ("bad option value", ["fit", "{good.csv}", "--epochs", "0", "-o", "{out}"], 2,
     ["must be between 1 and"]),
    ("unknown dataset-like name", ["evaluate", "{model.json}", "salry"], 2,
     ["No such file or built-in dataset: 'salry'"]),
    ("output directory missing", ["fit", "salary", "-o", "{dir}/no/such/dir/m.json"], 2,
     ["directory", "does not exist"]),
]


def expand(argv, files, directory):
    mapping = {**files, "dir": directory}
    expanded = []
    for arg in argv:
        for key, value in mapping.items():
            arg = arg.replace("{" + key + "}", value)
        expanded.append(arg)
    return expanded


@pytest.mark.parametrize("name, argv, status, pieces", CASES, ids=[c[0] for c in CASES])
def test_bad_input(files, tmp_path, capsys, name, argv, status, pieces):
    before = set(os.listdir(tmp_path))
    code = cli.main(expand(argv, files, str(tmp_path)))
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())  # undo any line wrapping
    assert code == status, captured.err
    for piece in pieces:
        assert piece in message, message
    assert "Traceback" not in captured.err
    assert not os.path.exists(files["out"])
    assert set(os.listdir(tmp_path)) == before  # no temporary or partial file left


def test_subprocess_exit_status_and_no_traceback(files, tmp_path):
    # one real process: `python -m linearlab` hands main's status to the shell, stdout empty
    proc = subprocess.run([sys.executable, "-m", "linearlab", "fit", files["text.csv"], "-o",
                           files["out"]], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    # the rest in-process (the same main, no interpreter start-up): status 1, --debug
    diverged = run_cli(["fit", "salary", "--solver", "gd", "--lr", "10"], ignore_warnings=False)
    assert diverged.status == 1 and not diverged.warnings, diverged.warnings
    assert diverged.stderr.startswith("error: ") and "Traceback" not in diverged.stderr
    assert diverged.stdout == ""
    debug = run_cli(["fit", files["header.csv"], "--debug"])
    assert debug.status == 2 and "Traceback" in debug.stderr
    assert not os.path.exists(files["out"])


def test_predict_failure_midway_leaves_no_output(tmp_path, files, capsys):
    bad = tmp_path / "late.csv"
    bad.write_text(numeric_csv(rows=200_000, bad=(150_000, "1,x,2")))
    code = cli.main(["predict", files["model.json"], str(bad), "-o", files["out"]])
    assert code == 2 and "line 150000" in " ".join(capsys.readouterr().err.split())
    assert not os.path.exists(files["out"])
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


csv_text = st.text(alphabet=st.sampled_from(list("0123456789.,-+eE\n\r\t\" xyabnNaIf;")),
                   max_size=200)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=csv_text, header=st.sampled_from(["x,y\n", "a,b,c\n", "", "x\n", "y,y\n"]),
       gd=st.booleans())
def test_malformed_csv_never_crashes(capsys, body, header, gd):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "fuzz.csv")
        with open(path, "w", newline="") as f:
            f.write(header + body)
        out = os.path.join(directory, "m.json")
        solver = ["--solver", "gd", "--epochs", "20"] if gd else []
        code = cli.main(["fit", path, "--json", "-o", out, *solver])
        captured = capsys.readouterr()
        assert code in ((0, 1, 2) if gd else (0, 2)), captured.err
        if code == 0:
            assert json.loads(captured.out)["rows"] >= 1 and os.path.exists(out)
            assert cli.main(["evaluate", out, path, "--json"]) == 0
            assert cli.main(["predict", out, path, "-o", os.path.join(directory, "p.csv")]) == 0
        else:
            assert captured.err.startswith("error: ") and not os.path.exists(out)
        capsys.readouterr()
