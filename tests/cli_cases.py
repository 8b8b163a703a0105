"""The table of bad (and tricky) inputs to the ``linearlab`` command and what each one gets.

One row per case: the files it starts from, the command, the exit status and a piece of the
one-paragraph message. ``tests/test_cli_cases.py`` runs every row as a subprocess and checks
that inputs are unchanged byte for byte, no temporary file is left and no device or link was
replaced; ``scripts/errors_table.py`` renders the same rows as ``docs/errors.md``.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROWS = 30


@dataclass(frozen=True)
class Case:
    """One row of the table (see the module notes)."""

    id: str
    section: str
    what: str  # the input, in words
    argv: tuple[str, ...]  # after `linearlab`; run in the case's folder
    status: int
    says: str  # a piece of the message (stderr when status != 0, else stdout)
    setup: Callable[[Path], None] = lambda d: None
    writes: tuple[str, ...] = ()  # files the command may create or replace ("dir/*": a folder)
    check: Callable[[Path, dict], None] | None = None  # more assertions on the result
    python: str | None = None  # run `python -c` this instead of the command
    interrupt: int | None = None  # signal sent once a temporary file appears
    fifo_reader: str | None = None  # a FIFO read by a thread while the command runs
    shown: str | None = None  # the command as docs/errors.md shows it
    does: str = ""  # what happens, for docs/errors.md (default: the message piece ``says``)
    env: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- builders
def _table(n: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 20, size=(n, 2)).astype(float)
    return X, X @ [2.0, -1.0] + 3 + rng.integers(0, 3, n)


def numeric(d: Path) -> None:
    """data.csv (integer columns a, b, y; a text column name) and model.json fitted on it."""
    X, y = _table()
    lines = ["id,a,b,name,y"] + [f"{i},{int(a)},{int(b)},row {i},{int(v)}"
                                 for i, ((a, b), v) in enumerate(zip(X, y, strict=True))]
    (d / "data.csv").write_text("\n".join(lines) + "\n")
    _model(d / "model.json", X, y, training="data.csv")


def _model(path: Path, X, y, training: str | None = None, names=("a", "b")) -> None:
    import pandas as pd

    from linearlab import LinearRegression
    from linearlab.models import persist

    model = LinearRegression().fit(pd.DataFrame(X, columns=list(names)), y)
    model.target_names_ = ["y"]
    persist.save(model, path, training={"data": training} if training else None)


def with_model_doc(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        numeric(d)
        doc = json.loads((d / "model.json").read_text())
        change(doc)
        (d / "model.json").write_text(json.dumps(doc))
    return setup


def model_text(text: bytes) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        numeric(d)
        (d / "model.json").write_bytes(text)
    return setup


def mknod(path: Path, major: int, minor: int) -> None:
    """A character device node (needs root; the runner skips the case otherwise)."""
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))


def csv_bytes(name: str, content: bytes, model: bool = False) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        (d / name).write_bytes(content)
        if model:
            X, y = _table()
            _model(d / "model.json", X, y)
    return setup


def _parquet(d: Path, frame_change: Callable) -> None:
    import pandas as pd

    X, y = _table()
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})
    frame.loc[3, "a"] = None
    frame_change(frame).to_parquet(d / "data.parquet")


def _corrupt_parquet(d: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = _table(2000)
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "y": y}), d / "data.parquet",
                   compression="none")
    raw = bytearray((d / "data.parquet").read_bytes())
    middle = len(raw) // 3
    raw[middle:middle + 200] = bytes(range(200))  # a data page full of control bytes
    (d / "data.parquet").write_bytes(bytes(raw))


def _empty_parquet(d: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    numeric(d)
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "b": pa.array([], pa.float64())}),
                   d / "empty.parquet")


def _fifo(name: str, extra: Callable[[Path], None] = numeric) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        extra(d)
        os.mkfifo(d / name)
    return setup


def _links(d: Path) -> None:
    numeric(d)
    (d / "real.json").write_text("{}\n")
    (d / "link.json").symlink_to("real.json")
    (d / "data-link.csv").symlink_to("data.csv")
    os.link(d / "data.csv", d / "hard.csv")


def _read_only(d: Path) -> None:
    numeric(d)
    (d / "ro.json").write_text("keep me\n")
    (d / "ro.json").chmod(0o444)


def _big_data(d: Path) -> None:
    numeric(d)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400_000, 2))
    np.savetxt(d / "big.csv", np.column_stack([X, X @ [1.0, 2.0]]), delimiter=",",
               header="a,b,y", comments="", fmt="%.6f")


def _elsewhere(d: Path) -> None:
    (d / "work").mkdir()
    X, y = _table()
    np.savetxt(d / "work" / "train.csv", np.column_stack([X, y]), delimiter=",",
               header="a,b,y", comments="", fmt="%g")
    _model(d / "work" / "model.json", X, y, training="train.csv")
    (d / "other").mkdir()


def _scaled(factor: float, solver: str = "auto") -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        X, y = _table()
        if factor > 1:
            X, y = X * factor, y * factor
        else:
            X = X * factor
        np.savetxt(d / "data.csv", np.column_stack([X, y]), delimiter=",", header="a,b,y",
                   comments="", fmt="%.17g")
    return setup


# --------------------------------------------------------------------------- checks
def _is_json_model(name: str):
    def check(d: Path, result: dict) -> None:
        assert json.loads((d / name).read_text())["format"] == "linearlab.model/1"
    return check


def _link_kept(d: Path, result: dict) -> None:
    assert (d / "link.json").is_symlink() and os.readlink(d / "link.json") == "real.json"
    assert json.loads((d / "real.json").read_text())["format"] == "linearlab.model/1"


def _kept_mode(d: Path, result: dict) -> None:
    assert stat.S_IMODE((d / "ro.json").stat().st_mode) == 0o444
    assert json.loads((d / "ro.json").read_text())["format"] == "linearlab.model/1"


def _device_kept(d: Path, result: dict) -> None:
    assert stat.S_ISCHR((d / "null").lstat().st_mode)


def _csv_types_kept(d: Path, result: dict) -> None:
    lines = result["stdout"].splitlines()
    assert lines[0].replace('"', "") == "id,a,b,name,y,prediction"
    assert lines[1].startswith('0,') and ',"row 0",' in lines[1]  # numbers unquoted, text quoted


def _parquet_types_kept(d: Path, result: dict) -> None:
    import pyarrow.parquet as pq

    schema = pq.read_schema(d / "p.parquet")
    assert [str(schema.field(n).type) for n in ("id", "a", "name", "prediction")] == [
        "int64", "int64", "string", "double"]


def _json_records(where: str):
    def check(d: Path, result: dict) -> None:
        text = result["stdout"] if where == "-" else (d / where).read_text()
        rows = json.loads(text)
        assert len(rows) == ROWS and rows[0]["id"] == 0 and rows[0]["name"] == "row 0"
        assert isinstance(rows[0]["a"], int) and isinstance(rows[0]["prediction"], float)
    return check


def _fifo_got_csv(d: Path, result: dict) -> None:
    assert stat.S_ISFIFO((d / "out.fifo").lstat().st_mode)
    assert result["fifo"].decode().splitlines()[0].replace('"', "").endswith(",prediction")


def _features(expected: list[str]):
    def check(d: Path, result: dict) -> None:
        assert json.loads(result["stdout"])["features"] == expected
    return check


def _created(name: str):
    def check(d: Path, result: dict) -> None:
        assert (d / name).exists()
    return check


def _not_created(name: str):
    def check(d: Path, result: dict) -> None:
        assert not (d / name).exists()
    return check


def _narrow(d: Path, result: dict) -> None:
    assert max(len(line) for line in result["stdout"].splitlines()) <= 80
    assert "diabetes: Diabetes progression" in " ".join(result["stdout"].split())


# --------------------------------------------------------------------------- model files are data
_ISSUE21_TERM = r'''abs(["'\\", "\x60'", '\x60" + PAYLOAD\x5d\x29#'])'''


def _touch_payload(name: str) -> str:
    """``__import__('os').system('touch NAME')`` spelled without quotes."""
    return "__import__(chr(111)+chr(115)).system(" + "+".join(
        f"chr({ord(c)})" for c in f"touch {name}") + ")"


def _formula_model(term: str | None = None, state=None) -> Callable[[Path], None]:
    """data.csv (area, rooms, price) and model.json fitted with ``price ~ center(area) +
    rooms``; ``term`` replaces ``center(area)`` in the stored formula, ``state`` edits the
    stored design."""
    def setup(d: Path) -> None:
        import pandas as pd

        from linearlab import LinearRegression

        rng = np.random.default_rng(0)
        df = pd.DataFrame({"area": rng.uniform(50, 200, ROWS), "rooms": rng.integers(1, 6, ROWS)})
        df["price"] = 3 * df.area + 10 * df.rooms + rng.normal(0, 5, ROWS)
        df.to_csv(d / "data.csv", index=False)
        LinearRegression.from_formula("price ~ center(area) + rooms", df).save(d / "model.json")
        doc = json.loads((d / "model.json").read_text())
        if term is not None:
            text = term.replace("PAYLOAD", _touch_payload("owned"))
            for key in ("formula", "rhs"):
                doc["design"][key] = doc["design"][key].replace("center(area)", text)
        if state is not None:
            state(doc["design"])
        (d / "model.json").write_text(json.dumps(doc))
    return setup


def _nan_center(design: dict) -> None:
    design["transform_state"]["center(area)"]["center"] = {"__float__": "nan"}


def _cv_short_alphas(d: Path) -> None:
    from linearlab import LassoCV

    numeric(d)
    X, y = _table()
    LassoCV().fit(X, y).save(d / "model.json")
    doc = json.loads((d / "model.json").read_text())
    doc["penalized"]["alphas_"] = doc["penalized"]["alphas_"][:10]
    (d / "model.json").write_text(json.dumps(doc))


def _many_levels(d: Path) -> None:
    """levels.csv: a numeric a, a text column g of 50,000 levels (some repeated, so it is not
    an identifier column), y."""
    rng = np.random.default_rng(0)
    n = 60_000
    lines = ["a,g,y"] + [f"{a:.4f},L{i % 50_000},{y:.4f}" for i, (a, y) in
                         enumerate(zip(rng.normal(size=n), rng.normal(size=n), strict=True))]
    (d / "levels.csv").write_text("\n".join(lines) + "\n")


def _zero_filled(d: Path) -> None:
    """zeros.csv: a header and a row, then 2 GB of zero bytes (a sparse file)."""
    with open(d / "zeros.csv", "wb") as f:
        f.write(b"a,b,y\n1,2,3\n")
        f.truncate(2 * 2**30)


def _partition_folder(d: Path) -> None:
    numeric(d)
    (d / "dd").mkdir()
    (d / "data.csv").rename(d / "dd" / "part0.csv")


def _epochs_true(doc: dict) -> None:
    doc["params"]["epochs"] = True


def _said_once(piece: str):
    def check(d: Path, result: dict) -> None:
        assert result["stderr"].count(piece) == 1, result["stderr"]
    return check


# --------------------------------------------------------------------------- the table
DATA_LOSS = "Data loss and unsafe writes"
WRONG = "Silent wrong answers"
TRACEBACKS = "Bad input that used to end in a traceback"
HANGS = "Hangs and untrusted paths"
MESSAGES = "Messages"

PICKLE = pickle.dumps({"coef": [1.0, 2.0]})
GZIP_CSV = gzip.compress(b"a,b,y\n1,2,3\n2,3,5\n3,5,9\n4,4,9\n")
BINARY = bytes(range(256)) * 8

def _with_holes(d: Path) -> None:
    """holes.csv (a, b, a text column city, y; a missing at row 3) and cat.json, a model
    fitted on a, b, city of the complete rows."""
    from linearlab import LinearRegression

    rng = np.random.default_rng(4)
    rows = ["a,b,city,y"]
    X, y = [], []
    for i in range(40):
        a, b, city = float(i % 7), float(rng.integers(0, 9)), ["oslo", "rome"][i % 2]
        target = 2 * a - b + (city == "rome") + float(rng.normal())
        rows.append(f"{'' if i == 3 else a},{b},{city},{target:.6f}")
        if i != 3:
            X.append([a, b, city])
            y.append(target)
    (d / "holes.csv").write_text("\n".join(rows) + "\n")
    model = LinearRegression().fit(np.array(X, dtype=object), np.array(y),
                                   feature_names=["a", "b", "city"])
    model.save(d / "cat.json")


def _svmlight_model(d: Path) -> None:
    """svm.json, fitted on 3 sparse features, and wide.svm, whose rows have a ninth."""
    from scipy import sparse

    from linearlab import LinearRegression

    X = sparse.csr_matrix(np.array([[1.0, 0, 2], [0, 3, 1], [2, 1, 0], [1, 1, 1]]))
    LinearRegression().fit(X, np.array([1.0, 2, 3, 5])).save(d / "svm.json")
    (d / "wide.svm").write_text("1 1:1 9:2\n")


def _api_refusal(code: str) -> str:
    """``python -c`` text running ``code`` and printing a LinearLabError as one paragraph."""
    return ("import sys\nimport numpy as np\nfrom linearlab import Lasso, LinearRegression\n"
            "from linearlab.errors import LinearLabError\ntry:\n    " + code +
            "\nexcept LinearLabError as exc:\n    sys.stderr.write(str(exc) + '\\n')\n"
            "    sys.exit(2)\n")


CASES = [
    # ---------------------------------------------------------------- data loss
    Case("fit-onto-data", DATA_LOSS, "the model output is the training data",
         ("fit", "data.csv", "-x", "a,b", "-y", "y", "-o", "data.csv"), 2,
         "is the same file as the input 'data.csv'", numeric),
    Case("predict-onto-model", DATA_LOSS, "predictions written over the model file",
         ("predict", "model.json", "data.csv", "-o", "model.json"), 2,
         "is the same file as the input 'model.json'", numeric),
    Case("predict-onto-data", DATA_LOSS, "predictions written over the data",
         ("predict", "model.json", "data.csv", "-o", "data.csv"), 2,
         "is the same file as the input 'data.csv'", numeric),
    Case("predict-onto-symlink", DATA_LOSS, "the output is a symbolic link to the data",
         ("predict", "model.json", "data.csv", "-o", "data-link.csv"), 2,
         "is the same file as the input", _links),
    Case("predict-onto-hardlink", DATA_LOSS, "the output is a hard link to the data",
         ("predict", "model.json", "data.csv", "-o", "hard.csv"), 2,
         "is the same file as the input", _links),
    Case("fit-to-device", DATA_LOSS, "`-o` names a device (a `mknod`'d null device)",
         ("fit", "salary", "-o", "null"), 0, "Model saved to null",
         lambda d: mknod(d / "null", 1, 3), check=_device_kept),
    Case("predict-to-dev-stdout", DATA_LOSS, "`-o /dev/stdout`",
         ("predict", "model.json", "data.csv", "-o", "/dev/stdout"), 0, "prediction", numeric),
    Case("predict-to-dash", DATA_LOSS, "`-o -` (standard output)",
         ("predict", "model.json", "data.csv", "-o", "-"), 0, "prediction", numeric),
    Case("predict-to-fifo", DATA_LOSS, "`-o` names a FIFO that another process reads",
         ("predict", "model.json", "data.csv", "-o", "out.fifo"), 0, "Wrote 30 predictions",
         _fifo("out.fifo"), fifo_reader="out.fifo", check=_fifo_got_csv),
    Case("fit-through-symlink", DATA_LOSS, "`-o` is a symbolic link to another file",
         ("fit", "salary", "-o", "link.json"), 0, "Model saved to link.json", _links,
         writes=("real.json",), check=_link_kept),
    Case("fit-onto-read-only", DATA_LOSS, "`-o` names a read-only file",
         ("fit", "salary", "-o", "ro.json"), 2, "is read-only (mode 0444)", _read_only),
    Case("fit-onto-read-only-force", DATA_LOSS, "a read-only file with `--force`",
         ("fit", "salary", "-o", "ro.json", "--force"), 0, "Model saved to ro.json", _read_only,
         writes=("ro.json",), check=_kept_mode),
    Case("predict-sigterm", DATA_LOSS, "SIGTERM while `predict -o p.csv` writes",
         ("predict", "model.json", "big.csv", "-o", "p.csv"), 143, "", _big_data,
         interrupt=15, check=_not_created("p.csv")),
    Case("predict-missing-dir", DATA_LOSS, "`-o` into a directory that does not exist",
         ("predict", "model.json", "data.csv", "-o", "nodir/sub/p.csv"), 2,
         "directory 'nodir/sub' does not exist", numeric),
    Case("plots-missing-dir", DATA_LOSS, "`--plots` under a directory that does not exist "
         "(the same rule as `-o`: the folder named is created, not its parents)",
         ("fit", "salary", "--plots", "nodir/sub/plots"), 2,
         "directory 'nodir/sub' does not exist"),
    Case("plots-new-folder", DATA_LOSS, "`--plots` names a new folder",
         ("fit", "salary", "--plots", "figures", "--json"), 0, "figures/fit.png",
         writes=("figures/*",),
         check=_created("figures/fit.png")),
    # ---------------------------------------------------------------- wrong answers
    Case("parquet-pandas-index", WRONG, "Parquet written by pandas after filtering "
         "(`__index_level_0__`)", ("fit", "data.parquet", "--json"), 0, '"features"',
         lambda d: _parquet(d, lambda f: f.dropna()), check=_features(["a", "b"])),
    Case("parquet-named-index", WRONG, "Parquet with a named pandas index",
         ("fit", "data.parquet", "--json"), 0, '"features"',
         lambda d: _parquet(d, lambda f: f.dropna().rename_axis("row_id")),
         check=_features(["a", "b"])),
    Case("fit-tiny-scale", WRONG, "features around 1e-308 (the slope overflows)",
         ("fit", "data.csv"), 1, "The fit overflowed", _scaled(1e-308)),
    Case("fit-huge-values", WRONG, "values near 1e308",
         ("fit", "data.csv"), 1, "their squares overflow", _scaled(1e306)),
    Case("predict-json-flag", WRONG, "`predict --json`",
         ("predict", "model.json", "data.csv", "--json"), 0, '"prediction":', numeric,
         check=_json_records("-")),
    Case("predict-json-file", WRONG, "`predict -o p.json`",
         ("predict", "model.json", "data.csv", "-o", "p.json"), 0, "Wrote 30 predictions",
         numeric, writes=("p.json",), check=_json_records("p.json")),
    Case("predict-xlsx", WRONG, "`predict -o p.xlsx`",
         ("predict", "model.json", "data.csv", "-o", "p.xlsx"), 2,
         "cannot write .xlsx ('p.xlsx'). Name the output with one of .csv, .json, .parquet",
         numeric),
    Case("predict-types-csv", WRONG, "pass-through columns in CSV output",
         ("predict", "model.json", "data.csv"), 0, "prediction", numeric,
         check=_csv_types_kept),
    Case("predict-types-parquet", WRONG, "pass-through columns in Parquet output",
         ("predict", "model.json", "data.csv", "-o", "p.parquet"), 0, "Wrote 30 predictions",
         numeric, writes=("p.parquet",), check=_parquet_types_kept),
    # ---------------------------------------------------------------- tracebacks
    Case("header-latin1", TRACEBACKS, "non-UTF-8 bytes in a CSV header",
         ("fit", "h.csv"), 2, "line 1 (the header), column 1 ('caf\\\\xe9'): the byte 0xe9 is "
         "not UTF-8", csv_bytes("h.csv", b"caf\xe9,b,y\n1,2,3\n2,3,4\n")),
    Case("blank-first-line", TRACEBACKS, "a blank line above the header, then non-UTF-8 bytes",
         ("fit", "h.csv"), 2, "Line 1 of 'h.csv' is empty",
         csv_bytes("h.csv", b"\n\x80,y\n1,2\n")),
    Case("gzip-without-gz", TRACEBACKS, "a gzip file whose name does not end in .gz",
         ("fit", "data.csv"), 0, "y = ", csv_bytes("data.csv", GZIP_CSV)),
    Case("duplicate-x", TRACEBACKS, "`-x a,a`", ("fit", "data.csv", "-x", "a,a"), 2,
         "-x/--features names the column 'a' twice", numeric),
    Case("duplicate-y", TRACEBACKS, "`-y y,y`", ("fit", "data.csv", "-y", "y,y"), 2,
         "-y/--target names the column 'y' twice", numeric),
    Case("model-nested", TRACEBACKS, "a model file of 100,000 nested lists",
         ("predict", "model.json", "data.csv"), 2, "nested too deeply",
         model_text(b"[" * 100_000 + b"]" * 100_000)),
    Case("model-huge-int", TRACEBACKS, "a 401-digit integer in `coef`",
         ("predict", "model.json", "data.csv"), 2, "an integer of 401 digits",
         with_model_doc(lambda doc: doc.update(coef=[1.5, "HUGE"]))),
    Case("model-dev-zero", TRACEBACKS, "a device that never ends (`/dev/zero`) as the model",
         ("predict", "zero", "data.csv"), 2, "is not a regular file",
         lambda d: (numeric(d), mknod(d / "zero", 1, 5))),
    Case("model-too-big", TRACEBACKS, "a model file larger than the cap (a 300 MB sparse file)",
         ("predict", "model.json", "data.csv"), 2, "is larger than 256 MiB",
         lambda d: (numeric(d), os.truncate(d / "model.json", 300 * 2**20))),
    Case("model-pickle", TRACEBACKS, "a pickle file as the model",
         ("predict", "model.pkl", "data.csv"), 2,
         "it looks like a Python pickle, which linearlab never loads",
         lambda d: (numeric(d), (d / "model.pkl").write_bytes(PICKLE))),
    Case("predict-empty-parquet", TRACEBACKS, "`predict` on a Parquet file with zero rows",
         ("predict", "model.json", "empty.parquet"), 2, "but no data rows", _empty_parquet),
    Case("seed-negative", TRACEBACKS, "`--seed -1`", ("fit", "salary", "--seed", "-1"), 2,
         "argument --seed: must be between 0 and 4,294,967,295"),
    Case("seed-huge", TRACEBACKS, "`--seed 99999999999999`",
         ("fit", "salary", "--seed", "99999999999999"), 2, "argument --seed: must be between"),
    Case("epochs-huge", TRACEBACKS, "`--epochs 99999999999999999999`",
         ("fit", "salary", "--solver", "gd", "--epochs", "99999999999999999999"), 2,
         "argument --epochs: must be between 1 and 1,000,000,000"),
    Case("gd-1e200", TRACEBACKS, "features around 1e200 with `--solver gd`",
         ("fit", "data.csv", "--solver", "gd"), 1, "their squares overflow", _scaled(1e200)),
    Case("corrupt-parquet", TRACEBACKS, "a corrupt Parquet data page",
         ("fit", "data.parquet"), 2, "Cannot read 'data.parquet' as Parquet: its data is "
         "corrupt", _corrupt_parquet),
    Case("binary-as-csv", TRACEBACKS, "a binary file named .csv", ("fit", "bin.csv"), 2,
         "does not look like a text table: its first line holds the control byte 0x00",
         csv_bytes("bin.csv", BINARY)),
    Case("wide-header", TRACEBACKS, "a header of 1,000,000 columns", ("fit", "wide.csv"), 2,
         "has about 1,000,000 columns in its header",
         csv_bytes("wide.csv", (",".join(f"c{i}" for i in range(10**6)) + "\n"
                                + ",".join("1" for _ in range(10**6)) + "\n").encode())),
    Case("long-field", TRACEBACKS, "a 10 MB field in a column that is not used",
         ("fit", "field.csv", "-x", "a", "-y", "y", "--json"), 0, '"features"',
         csv_bytes("field.csv", b"a,b,y\n1,2,3\n2,x,5\n" + b"3," + b"x" * 10**7 + b",8\n"
                   + b"4,4,9\n")),
    # ---------------------------------------------------------------- hangs
    Case("fifo-data", HANGS, "a FIFO as the data file (nothing writes to it)",
         ("fit", "f.csv"), 2, "is a named pipe (FIFO), not a regular file",
         _fifo("f.csv", lambda d: None)),
    Case("plot-recorded-fifo", HANGS, "`plot model.json` whose recorded data is a FIFO",
         ("plot", "model.json"), 2, "records its training data as 'data.csv', which is not a "
         "regular file here", _fifo("data.csv", lambda d: _model(d / "model.json", *_table(),
                                                                 training="data.csv"))),
    Case("plot-relative", HANGS, "`plot model.json` run from another directory",
         ("plot", "../work/model.json", "-o", "plots"), 2,
         "It is a relative path, so it is looked up from the current directory", _elsewhere,
         env={"cwd": "other"}),
    Case("plot-recorded-file", HANGS, "`plot model.json` whose recorded data is a regular file",
         ("plot", "model.json", "--kind", "fit", "-o", "plots"), 0, "Plots written to",
         numeric, writes=("plots/*",)),
    # ---------------------------------------------------------------- messages
    Case("predict-missing", MESSAGES, "missing values in `predict`",
         ("predict", "model.json", "gaps.csv"), 2,
         "While predicting, linearlab found 2 missing value(s) in that column in all",
         lambda d: (numeric(d), (d / "gaps.csv").write_text("a,b\n1,2\n,3\n4,5\n,6\n"))),
    Case("evaluate-missing", MESSAGES, "missing values in `evaluate`",
         ("evaluate", "model.json", "gaps.csv"), 2, "While evaluating",
         lambda d: (numeric(d), (d / "gaps.csv").write_text("a,b,y\n1,2,3\n,3,4\n"))),
    Case("advice-as-flags", MESSAGES, "a diverging learning rate",
         ("fit", "salary", "--solver", "gd", "--lr", "10"), 1, "--lr auto"),
    Case("ridge-summary", MESSAGES, "`fit --alpha 10 --summary -o ridge.json`",
         ("fit", "salary", "--alpha", "10", "--summary", "-o", "ridge.json"), 0,
         "No statistical summary", writes=("ridge.json",), check=_is_json_model("ridge.json")),
    Case("datasets-80", MESSAGES, "`linearlab datasets` at 80 columns", ("datasets",), 0,
         "Built-in datasets", check=_narrow, env={"COLUMNS": "80"}),
    Case("bom-missing", MESSAGES, "a missing value in a BOM-prefixed first column",
         ("fit", "bom.csv"), 2, "column 'a' at line 3: the value is missing",
         csv_bytes("bom.csv", b"\xef\xbb\xbfa,b,y\n1,2,3\n,5,6\n3,3,3\n")),
    Case("ragged-row", MESSAGES, "a row with too few fields", ("fit", "rag.csv"), 2,
         "line 3 has 2 field(s), but the header has 3",
         csv_bytes("rag.csv", b"a,b,y\n1,2,3\n4,5\n6,7,8\n")),
    Case("passthrough-utf8", MESSAGES, "bad UTF-8 in a pass-through column",
         ("predict", "model.json", "t.csv"), 2, "column 'name' at line 3: the text is not UTF-8",
         csv_bytes("t.csv", b"a,name,b\n1,ok,3\n4,b\xffd,5\n", model=True)),
    Case("interrupt-at-start", MESSAGES, "Ctrl-C while linearlab starts", (), 130,
         "interrupted", python="import sys; sys.argv[0] = 'linearlab'; import linearlab; "
         "raise KeyboardInterrupt", shown="Ctrl-C during `import linearlab` in the command"),
    Case("backend-torch", MESSAGES, "`--backend torch`",
         ("fit", "salary", "--solver", "gd", "--backend", "torch", "--standardize", "--json"), 0,
         '"solver": "gd"'),
    Case("device-without-torch", MESSAGES, "`--device cuda` without `--backend torch`",
         ("fit", "salary", "--device", "cuda"), 2, "--device cuda applies to --backend torch"),
    # ---------------------------------------------------------------- refusals of the
    # composition table (tests/test_composition.py): a feature a path does not take
    Case("lassocv-two-targets", MESSAGES, "`--alpha cv` (LassoCV) with two targets",
         ("fit", "data.csv", "-x", "b", "-y", "a,y", "--penalty", "l1", "--alpha", "cv"), 2,
         "LassoCV fits one target", numeric),
    Case("cv-streamed-text", MESSAGES,
         "`--alpha cv` over a file read in chunks, with a text column (or --missing drop)",
         ("fit", "data.csv", "-x", "a,name", "-y", "y", "--penalty", "l1", "--alpha", "cv",
          "--stream", "--json"), 0, '"streamed": true', numeric),
    Case("formula-stateful-streamed", MESSAGES,
         "a formula with `center()` over a file read in chunks (or on Dask)",
         ("fit", "data.csv", "--formula", "y ~ center(a) + b", "--stream"), 2,
         "stateful transforms", numeric),
    Case("identifier-streamed", MESSAGES,
         "an identifier column (5,000 distinct values) as a feature over a file read in chunks",
         ("fit", "ids.csv", "-x", "a,id", "-y", "y", "--stream"), 2,
         "brings the design past 4,096 columns",
         csv_bytes("ids.csv", b"a,id,y\n" + b"".join(
             f"{i},id{i},{i % 7}\n".encode() for i in range(5000)))),
    # ---------------------------------------------------------------- the CLI as a teacher
    Case("init-seed-002", MESSAGES, "`--init` with seed 002's start, SSE, lr 0.001, 100 epochs",
         ("fit", "three-points", "--solver", "gd", "--init", "0.97213265,0.28608494", "--loss",
          "sse", "--lr", "0.001", "--epochs", "100"), 0, "y = 2.05165·x + 0.779187"),
    Case("init-count", MESSAGES, "`--init` with three values for one feature",
         ("fit", "three-points", "--solver", "gd", "--init", "1,2,3"), 2,
         "--init has 3 values, but this fit has 1 feature and an intercept: give 2 numbers"),
    Case("init-count-no-intercept", MESSAGES, "`--init W,B` with `--no-intercept`",
         ("fit", "three-points", "--solver", "gd", "--no-intercept", "--init", "1,2"), 2,
         "give 1 number, the coefficient of x"),
    Case("init-count-design", MESSAGES, "`--init W,B` when a text column adds a column per level",
         ("fit", "cat.csv", "--solver", "gd", "--init", "1,2"), 2,
         "--init has 2 values, but the design has 2 columns and an intercept: give 3 numbers",
         csv_bytes("cat.csv", b"a,g,y\n1,u,3\n2,v,4\n3,u,8\n4,v,9\n5,u,7\n")),
    Case("init-not-a-number", MESSAGES, "`--init a,2`",
         ("fit", "three-points", "--solver", "gd", "--init", "a,2"), 2,
         "expected numbers separated by commas"),
    Case("init-infinite", MESSAGES, "`--init inf,0`",
         ("fit", "three-points", "--solver", "gd", "--init", "inf,0"), 2,
         "the starting values must be finite"),
    Case("init-exact", MESSAGES, "`--init` without `--solver gd`",
         ("fit", "three-points", "--init", "1,2"), 2, "--init only applies to gradient descent"),
    Case("init-penalized", MESSAGES, "`--init` with `--penalty l1`",
         ("fit", "three-points", "--penalty", "l1", "--alpha", "0.1", "--init", "1,2"), 2,
         "penalized models start from zero"),
    Case("adam-rises", MESSAGES, "`--optimizer adam --lr 1e6 --epochs 50` (the loss rises "
         "without exploding)", ("fit", "salary", "--solver", "gd", "--optimizer", "adam", "--lr",
                                "1e6", "--epochs", "50", "-o", "m.json"), 1,
         "lower the learning rate (try --lr 1e+05)"),
    Case("rise-stopped-by-tol", MESSAGES, "the same run stopped by `--tol 1`",
         ("fit", "salary", "--solver", "gd", "--optimizer", "adam", "--lr", "1e6", "--epochs",
          "50", "--tol", "1"), 1, "over 6 epochs the mse loss rose"),
    # ---------------------------------------------------------------- penalties, evaluate,
    # summaries and figures on every path (issue 18): what is refused, and why
    Case("evaluate-missing-text", MESSAGES, "`evaluate` on a file with a missing value (a model "
         "with a text column)", ("evaluate", "cat.json", "holes.csv"), 2,
         "at line 5, column 'a'", _with_holes),
    Case("evaluate-missing-drop", MESSAGES, "`evaluate --missing drop` on that file",
         ("evaluate", "cat.json", "holes.csv", "--missing", "drop", "--json"), 0,
         '"dropped": 1', _with_holes),
    Case("penalty-formula", MESSAGES, "`--formula` with a penalty",
         ("fit", "data.csv", "--formula", "y ~ a + np.log(b + 1)", "--penalty", "l1", "--alpha",
          "0.1", "--json"), 0, '"np.log(b + 1)"', numeric),
    Case("penalty-standardize-gd", MESSAGES, "`--standardize` with a penalty and `--solver gd`",
         ("fit", "data.csv", "-x", "a,b", "-y", "y", "--penalty", "l1", "--alpha", "0.1",
          "--standardize", "--solver", "gd"), 2, "drop --solver gd, or drop --standardize",
         numeric),
    Case("api-standardize-partial-fit", MESSAGES, "`Lasso(standardize=True).partial_fit` a "
         "second chunk", (), 2, "partial_fit never sees at once",
         python=_api_refusal("m = Lasso(standardize=True).partial_fit(np.eye(3), [1., 2, 3])\n"
                             "    m.partial_fit(np.eye(3), [1., 2, 3])"),
         shown="`Lasso(standardize=True).partial_fit(X1, y1).partial_fit(X2, y2)`"),
    Case("api-standardize-sparse", MESSAGES, "`Lasso(standardize=True)` on a sparse X", (), 2,
         "making it dense",
         python=_api_refusal("from scipy import sparse\n"
                             "    Lasso(standardize=True).fit(sparse.eye(5, format='csr'), "
                             "np.arange(5.))"),
         shown="`Lasso(standardize=True).fit(scipy.sparse X, y)`"),
    Case("api-standardize-gd", MESSAGES, "`Lasso(standardize=True, solver='gd')`", (), 2,
         "is solved by coordinate descent",
         python=_api_refusal("Lasso(standardize=True, solver='gd').fit(np.eye(3), [1., 2, 3])"),
         shown="`Lasso(standardize=True, solver='gd').fit(X, y)`"),
    Case("api-formula-summary-y", MESSAGES, "a robust summary of a `from_formula` model given y",
         (), 2, "pass the training table alone",
         python=_api_refusal("import pandas as pd\n"
                             "    df = pd.DataFrame({'x': [1., 2, 3, 5], 'y': [2., 3, 5, 9]})\n"
                             "    m = LinearRegression.from_formula('y ~ x', df)\n"
                             "    m.summary(cov_type='HC3', X=df, y=df['y'])"),
         shown="`model.summary(cov_type='HC3', X=df, y=df.y)` (a from_formula model)"),
    Case("api-formula-summary-no-data", MESSAGES, "a robust summary of a `from_formula` model "
         "without its data", (), 2, "X=data) (the formula reads y from it",
         python=_api_refusal("import pandas as pd\n"
                             "    df = pd.DataFrame({'x': [1., 2, 3, 5], 'y': [2., 3, 5, 9]})\n"
                             "    LinearRegression.from_formula('y ~ x', df).summary('HC3')"),
         shown="`model.summary(cov_type='HC3')` (a from_formula model)"),
    # ---------------------------------------------------------------- sparse X (issue 20)
    Case("svmlight-bad-line", MESSAGES, "an svmlight file with a bad line",
         ("fit", "bad.svm"), 2, "'bad.svm', line 3: the value in '2:x' is not a number",
         lambda d: (d / "bad.svm").write_text("1 1:2 3:4\n# a comment\n2 1:1 2:x\n")),
    Case("svmlight-wider", MESSAGES, "an svmlight file with more features than the model",
         ("predict", "svm.json", "wide.svm"), 2, "more feature columns than the 3",
         _svmlight_model),
    Case("api-sparse-nan", MESSAGES, "a sparse X with a stored NaN", (), 2,
         "stored NaN at row 2, column 2",
         python=_api_refusal("from scipy import sparse\n"
                             "    X = sparse.eye(5, format='csr')\n"
                             "    X.data[2] = np.nan\n"
                             "    LinearRegression().fit(X, np.arange(5.))"),
         shown="`LinearRegression().fit(X, y)`, X sparse with a NaN stored"),
    Case("api-sparse-wider", MESSAGES, "a sparse X with more columns than the model", (), 2,
         "X has 7 columns, more than the 5",
         python=_api_refusal("from scipy import sparse\n"
                             "    m = LinearRegression().fit(sparse.eye(5, format='csr'), "
                             "np.arange(5.))\n"
                             "    m.predict(sparse.eye(5, 7, format='csr'))"),
         shown="`model.predict(X)`, sparse X wider than the training X"),
    Case("api-sparse-qr", MESSAGES, "a dense-only option with a sparse X", (), 2,
         "does not accept sparse X",
         python=_api_refusal("from scipy import sparse\n"
                             "    LinearRegression(solver='qr').fit(sparse.eye(5, format='csr'), "
                             "np.arange(5.))"),
         shown="`LinearRegression(solver='qr').fit(scipy.sparse X, y)`"),
    Case("api-sparse-summary", MESSAGES, "`summary()` of a fit by LSQR (wide sparse X)", (), 2,
         "which this model fitted by LSQR did not form",
         python=_api_refusal("from scipy import sparse\n"
                             "    m = LinearRegression(solver='lsqr').fit("
                             "sparse.eye(5, format='csr'), np.arange(5.))\n"
                             "    m.summary()"),
         shown="`LinearRegression(solver='lsqr').fit(scipy.sparse X, y).summary()`"),
    # ---------------------------------------------------------------- model files are data
    Case("formula-own-python", HANGS, "`--formula` whose terms are Python (`np.log(b + 1)`)",
         ("fit", "data.csv", "--formula", "y ~ a + np.log(b + 1)", "--json"), 0,
         '"np.log(b + 1)"', numeric),
    Case("model-code-issue21", HANGS, "a formula model whose term runs a shell command after "
         "formulaic's rewrite of backtick names (issue 21)", ("predict", "model.json", "data.csv"),
         2, "may not", _formula_model(_ISSUE21_TERM), check=_not_created("owned")),
    Case("model-code-evaluate", HANGS, "the same model under `evaluate`",
         ("evaluate", "model.json", "data.csv"), 2, "may not", _formula_model(_ISSUE21_TERM),
         check=_not_created("owned")),
    Case("model-code-direct", HANGS, "a formula model whose term calls `__import__`",
         ("predict", "model.json", "data.csv"), 2, "may not", _formula_model("abs(PAYLOAD)"),
         check=_not_created("owned")),
    Case("model-power-tower", HANGS, "`I(area + 10**10**10)` in a model's formula",
         ("predict", "model.json", "data.csv"), 2, "raises to the power",
         _formula_model("I(area + 10**10**10)")),
    Case("model-pow-call", HANGS, "`pow(10, 10**10)` in a model's formula",
         ("predict", "model.json", "data.csv"), 2, "calls 'pow'",
         _formula_model("I(area + pow(10, 10**10))")),
    Case("model-huge-degree", HANGS, "`poly(area, 200000)` in a model's formula",
         ("predict", "model.json", "data.csv"), 2, "at most 50",
         _formula_model("poly(area, 200000)")),
    Case("model-nan-center", WRONG, "a NaN `center` in a model's transform state",
         ("predict", "model.json", "data.csv"), 2, "non-finite",
         _formula_model(state=_nan_center)),
    Case("model-cv-short-alphas", TRACEBACKS, "a CV model whose `alphas_` is shorter than "
         "`mse_path_`", ("plot", "model.json", "--kind", "path"), 2, "does not match",
         _cv_short_alphas),
    Case("model-epochs-true", MESSAGES, '`"epochs": true` in a model file',
         ("predict", "model.json", "data.csv"), 2, "parameter 'epochs' has an invalid value",
         with_model_doc(_epochs_true), check=_said_once("is not a valid linearlab model file")),
    Case("text-50000-levels", TRACEBACKS, "a text column of 50,000 levels",
         ("fit", "levels.csv"), 2, "Column 'g' has 50,000 levels", _many_levels),
    Case("formula-50000-levels", TRACEBACKS, "`--formula 'y ~ a + C(g)'` on 50,000 levels",
         ("fit", "levels.csv", "--formula", "y ~ a + C(g)"), 2, "Column 'g' has 50,000 levels",
         _many_levels),
    Case("binary-zero-filled", TRACEBACKS, "a header, then 2 GB of zero bytes",
         ("fit", "zeros.csv"), 2, "NUL bytes", _zero_filled),
    Case("workers-beyond-cores", TRACEBACKS, "`--workers 1024`",
         ("fit", "data.csv", "--workers", "1024"), 2, "more workers than this machine has cores",
         numeric),
    Case("predict-into-input-folder", DATA_LOSS, "`predict MODEL dd -o dd/out` (dd: the input "
         "folder)", ("predict", "model.json", "dd", "-o", "dd/out", "--workers", "1"), 2,
         "lies inside the input folder", _partition_folder),
    Case("weights-on-dask", MESSAGES, "`--weights COLUMN` with `--workers` (a Dask cluster)",
         ("fit", "data.csv", "--weights", "a", "--workers", "1"), 2,
         "--weights is not read on a Dask cluster", numeric),
    Case("text-column-on-dask", MESSAGES, "a text column without `--formula` on a Dask cluster",
         ("fit", "data.csv", "-x", "a,name", "-y", "y", "--workers", "1"), 2,
         "A text column is one-hot encoded on one machine; on a cluster, through a formula",
         numeric),
    Case("weights-also-feature", MESSAGES, "`--weights a -x a,b` (the weight column as a feature)",
         ("fit", "data.csv", "--weights", "a", "-x", "a,b"), 2,
         "The weight column 'a' is also a target or a feature", numeric),
    Case("playground-port-99999", MESSAGES, "`playground --port 99999` (issue 21)",
         ("playground", "--port", "99999"), 2, "99999 is not a TCP port: give 0 to 65535",
         check=_said_once("usage: linearlab playground")),
]

# What the cases that succeed do, in words (docs/errors.md).
_DOES = {
    "formula-own-python": "fits: `--formula` and `from_formula` evaluate the terms as Python, the "
                          "user's own code, as statsmodels does; a model file's terms are data, "
                          "checked and never run as code (the rows below)",
    "fit-to-device": "writes the model into the device; `null` stays a character device",
    "predict-to-dev-stdout": "CSV on standard output",
    "predict-to-dash": "CSV on standard output",
    "predict-to-fifo": "streams CSV into the FIFO, which stays a FIFO",
    "fit-through-symlink": "replaces `real.json` atomically; `link.json` stays a link to it",
    "fit-onto-read-only-force": "replaces the file, keeping its mode 0444",
    "predict-sigterm": "exits 143; the temporary file is removed and `p.csv` is not created",
    "plots-new-folder": "creates `figures/` and writes the PNG files into it",
    "parquet-pandas-index": "drops `__index_level_0__`: the features are a, b",
    "parquet-named-index": "drops the index column named in pandas' metadata",
    "predict-json-flag": "a JSON array of records on standard output",
    "predict-json-file": "writes a JSON array of records",
    "predict-types-csv": "integer columns stay unquoted integers, text stays text",
    "predict-types-parquet": "int64 stays int64, text stays string, predictions are double",
    "gzip-without-gz": "recognises gzip by its magic bytes and fits",
    "long-field": "reads the line with larger blocks and fits",
    "plot-recorded-file": "says “Drawing on data.csv, the training data recorded in model.json”",
    "ridge-summary": "saves ridge.json and prints “No statistical summary: ...” (ridge has no "
                     "OLS inference)",
    "datasets-80": "a four-column table, then one paragraph per dataset",
    "interrupt-at-start": "prints “interrupted”, no traceback",
    "backend-torch": "trains with torch.optim",
    "cv-streamed-text": "streams: k-fold statistics split block by block, the coefficients "
                        "of the fit read whole",
    "init-seed-002": "W = 2.051653, b = 0.7791867, the seed's printed numbers; the epoch log "
                     "shows x and b after each epoch",
}
CASES = [replace(case, does=_DOES.get(case.id, "")) for case in CASES]

# A coefficient of 401 digits cannot be written by json.dumps of a float: patch the text.
_HUGE = "9" * 401


def expand_model_text(d: Path) -> None:
    """Replace the ``"HUGE"`` placeholder of the 401-digit case by the integer itself."""
    path = d / "model.json"
    if path.is_file() and not path.is_symlink() and path.stat().st_size < 2**20:
        text = path.read_text()
        if '"HUGE"' in text:
            path.write_text(text.replace('"HUGE"', _HUGE))
