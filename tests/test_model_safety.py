"""A model file is data: opening one, predicting or evaluating with it never runs code from it.

The formula of a model file is checked as formulaic will evaluate it (after formulaic's own
rewrite of backtick-quoted names), terms have bounded cost, and every stored number of the
design's state is checked. A fuzz test builds hostile formula model files (string tricks,
backticks, backslashes, escapes, dunders, power towers, huge degrees) and runs each under
``linearlab predict``, ``linearlab evaluate`` and ``load(f).predict(df)``: a marker file is never
created, and each case ends within 5 s (a signal alarm; nothing asserts how fast).
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("formulaic")

from linearlab import LinearRegression, load  # noqa: E402
from linearlab.errors import LinearLabError, ModelFileError  # noqa: E402

SECONDS = 5


def _data(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"area": rng.uniform(50, 200, n), "rooms": rng.integers(1, 6, n) * 1.0,
                       "g": rng.choice(["north", "south", "east"], n)})
    df["price"] = 3 * df.area + 10 * df.rooms + (df.g == "south") * 20 + rng.normal(0, 5, n)
    return df


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """data.csv and model.json (``price ~ center(area) + rooms + C(g)``)."""
    d = tmp_path_factory.mktemp("base")
    df = _data()
    df.to_csv(d / "data.csv", index=False)
    LinearRegression.from_formula("price ~ center(area) + rooms + C(g)", df).save(d / "model.json")
    return d


def _payload(marker: Path) -> str:
    """``__import__('os').system('touch MARKER')`` spelled without quotes."""
    command = "+".join(f"chr({ord(c)})" for c in f"touch {marker}")
    return f"__import__(chr(111)+chr(115)).system({command})"


# The issue's exploit: Python reads a list of strings; formulaic's rewrite of backtick names
# (whose quoted-string pattern mis-reads "'\\") turns string content into code.
ISSUE_TERM = r'''abs(["'\\", "\x60'", '\x60" + PAYLOAD\x5d\x29#'])'''


def hostile_model(base: Path, d: Path, term: str, marker: Path, *, where=("formula", "rhs")):
    """``d/model.json``: the base model with ``center(area)`` replaced by ``term``."""
    doc = json.loads((base / "model.json").read_text())
    term = term.replace("PAYLOAD", _payload(marker)).replace("MARKER", str(marker))
    for key in where:
        doc["design"][key] = doc["design"][key].replace("center(area)", term)
    (d / "model.json").write_text(json.dumps(doc))
    return d / "model.json"


class Overran(BaseException):
    """Raised by the alarm (a BaseException, so no ``except Exception`` can hide it)."""


@contextlib.contextmanager
def alarm(seconds: int = SECONDS):
    """Run the block under a ``seconds`` alarm; fail the test if it fires."""
    fired = []

    def expire(signum, frame):
        fired.append(True)
        raise Overran(f"the case ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    except Overran:
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired, f"the case ran past {seconds} s"


def _cli(*argv) -> int:
    from linearlab.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exc:
            status = int(exc.code or 0)
    message = err.getvalue()
    assert "Traceback" not in message and message.strip().count("\n\n") == 0, message
    assert status in (0, 1, 2), (status, message)
    return status


def _all_three(model: Path, data: Path, df: pd.DataFrame) -> list:
    """``load(model).predict(df)``, ``linearlab predict`` and ``linearlab evaluate``, each
    under a 5 s alarm: the outcome of each (an exit status or an exception's class)."""
    outcomes = []
    with alarm():
        try:
            load(model).predict(df)
            outcomes.append("ok")
        except LinearLabError as exc:
            outcomes.append(type(exc).__name__)
    for command in ("predict", "evaluate"):
        with alarm():
            outcomes.append(_cli(command, model, data))
    return outcomes


def test_issue_exploit_runs_nothing(base, tmp_path):
    marker = tmp_path / "owned"
    model = hostile_model(base, tmp_path, ISSUE_TERM, marker)
    with pytest.raises(ModelFileError, match="may not"):
        load(model)
    for command in ("predict", "evaluate"):
        result = subprocess.run(
            [sys.executable, "-m", "linearlab.cli.main", command, str(model),
             str(base / "data.csv")], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and "may not" in result.stderr
    assert not marker.exists()


def test_the_check_reads_the_rewritten_text():
    """The check sees what formulaic evaluates: the issue's term is a list of strings to
    Python, but code after formulaic's rewrite."""
    from linearlab.design.safety import check_term, evaluated_code

    term = 'abs(["\'\\\\", "`\'", \'`" + __import__(chr(111)).system(chr(105))])#\'])'
    code, _ = evaluated_code(term)
    assert "__import__" in code.split("#")[0] and "__import__" in term
    with pytest.raises(ValueError, match="may not"):
        check_term(term, ["area"])


# --------------------------------------------------------------------------- the fuzz
DIRECT = [
    "__import__('os').system('touch MARKER')", "PAYLOAD", "open('MARKER', 'w')",
    "eval('1')", "exec('1')", "(lambda v: v)(area)", "area[0]", "getattr(area, 'real')",
    "().__class__.__base__.__subclasses__()", "I(area.__class__)", "np.save('MARKER', area)",
    "np.lib.npyio.save('MARKER', area)", "np.add.outer(area, area)", "C(g, contr.mro)",
    "center(area).__class__", "{PAYLOAD}", "{open('MARKER', 'w')}", "f'{PAYLOAD}'",
    "I((v := area))", "[PAYLOAD for _ in area]", "np.log(area, out=area)",
    "`__import-_`(chr(111))", "Q('__builtins__')", "max(area, key=open)",
    "C(g, levels=[open('MARKER', 'w')])", "abs(*[area])", "round(area, **{})",
    "I(area if PAYLOAD else area)", "np.sqrt(`a\\`b`)", "center(`` + PAYLOAD + ``)",
]
COST = [
    "I(area + 10**10**10)", "pow(10, 10**10)", "I(area * 9**9**9)", "np.exp(10**10**10)",
    "I(area + (10**100)**(10**100))", "I(area + 2**(2**64))", "I(area + (1 << 10**9))",
    "poly(area, 200000)", "poly(area, degree=10**6)", "bs(area, df=100000)",
    "cr(area, df=100000)", "I(area + 10**1000000)", "I(area + " + "9" * 5000 + ")",
    "I(area + ((((7**99)**99)**99)**99))", "I(area * 'a' * 10**9)", "I([0] * 10**10)",
    # Wilkinson operators that formulaic expands into every product (2**29 terms, ...)
    "(area + rooms)**30", "*".join(f"I(area + {i})" for i in range(30)),
    "((area + rooms + g)**5)**5", "(" + "+".join(f"I(area + {i})" for i in range(500)) + ")**3",
    " + ".join(f"I(area + {i})" for i in range(3000)), "(area + rooms)^x",
]
FRAGMENTS = ['"\'\\\\"', '"\\x60\'"', "'\\x60\"'", '"`"', "'`'", "`", "'\\\\'", '"\\\\\\\\"',
             "\\x5d\\x29#", "\\x60", '"\\""', "'\\''", "PAYLOAD", '" + PAYLOAD + "',
             "' + PAYLOAD + '", "area", "#", '"""', "'''", "\\", "`'", '`"']


def _string_tricks(n: int, seed: int = 21) -> list[str]:
    """Terms built from quotes, backticks, backslashes and escapes around the payload."""
    rng = random.Random(seed)
    out = [ISSUE_TERM, ISSUE_TERM.replace("abs", "center"), ISSUE_TERM.replace("#", "")]
    while len(out) < n:
        parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(2, 6))]
        joiner = rng.choice([", ", " + ", "", " "])
        wrap = rng.choice(["abs([{}])", "center({})", "C(g, Treatment({}))", "I({})",
                           "np.log({})", "abs({})"])
        out.append(wrap.format(joiner.join(parts)))
    return out


CASES = DIRECT + COST + _string_tricks(60)


@pytest.mark.parametrize("term", CASES, ids=range(len(CASES)))
def test_hostile_terms_run_nothing_and_end(base, tmp_path, term):
    marker = tmp_path / "owned"
    model = hostile_model(base, tmp_path, term, marker)
    outcomes = _all_three(model, base / "data.csv", _data())
    assert not marker.exists()
    assert outcomes[0] != "ok" or outcomes[1] == 0  # either refused or a harmless term


@pytest.mark.parametrize("term", ["PAYLOAD", ISSUE_TERM, "I(area + 10**10**10)"])
def test_hostile_rhs_alone_or_formula_alone(base, tmp_path, term):
    marker = tmp_path / "owned"
    for where in (("rhs",), ("formula",)):
        model = hostile_model(base, tmp_path, term, marker, where=where)
        _all_three(model, base / "data.csv", _data())
    assert not marker.exists()


def test_hostile_target_is_checked(base, tmp_path):
    marker = tmp_path / "owned"
    doc = json.loads((base / "model.json").read_text())
    doc["design"]["formula"] = doc["design"]["formula"].replace(
        "price", ISSUE_TERM.replace("PAYLOAD", _payload(marker)), 1)
    (tmp_path / "model.json").write_text(json.dumps(doc))
    assert _all_three(tmp_path / "model.json", base / "data.csv", _data())[0] == "ModelFileError"
    assert not marker.exists()


# --------------------------------------------------------------------------- stored state
def _tampered(base: Path, d: Path, formula: str, change) -> Path:
    df = _data()
    LinearRegression.from_formula(formula, df).save(d / "model.json")
    doc = json.loads((d / "model.json").read_text())
    change(doc["design"])
    (d / "model.json").write_text(json.dumps(doc))
    return d / "model.json"


def _set(path: tuple, value):
    def change(design):
        node = design
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


@pytest.mark.parametrize("formula, change, says", [
    ("price ~ center(area)", _set(("transform_state", "center(area)", "center"),
                                  {"__float__": "nan"}), "non-finite"),
    ("price ~ scale(area)", _set(("transform_state", "scale(area)", "scale"), 0), "positive"),
    ("price ~ center(area)", _set(("transform_state",), {}), "missing"),
    ("price ~ poly(area, 3)", _set(("transform_state", "poly(area, 3)", "alpha", "__int_keys__"),
                                   [[0, 1.0]]), "degree 3"),
    ("price ~ poly(area, 3)", _set(("rhs",), "1 + poly(area, 200000)"), "at most 50"),
    ("price ~ bs(area, df=4)", _set(("transform_state", "bs(area, df=4)", "knots"),
                                    [1.0] * 1000), "knots"),
    ("price ~ C(g)", _set(("encoder_state", "abs(__import__('os').system('id'))(1)"),
                          {"kind": "categorical", "state": {}}), "no term has"),
    ("price ~ center(area)", _set(("transform_state", "center(area)", "center"),
                                  {"__ndarray__": [1], "dtype": "V2000000000"}), "dtype"),
])
def test_stored_state_is_checked(base, tmp_path, formula, change, says):
    model = _tampered(base, tmp_path, formula, change)
    with alarm(), pytest.raises(ModelFileError, match=says):
        load(model)
    assert _cli("predict", model, base / "data.csv") == 2


def test_polynomial_models_round_trip(tmp_path):
    df = _data()
    model = LinearRegression.from_formula("price ~ poly(area, 3) + bs(rooms, df=4)", df)
    model.save(tmp_path / "m.json")
    np.testing.assert_array_equal(load(tmp_path / "m.json").predict(df), model.predict(df))


LEGIT = [
    "np.log(price) ~ np.sqrt(`class`) + center(`höhe m`) + I(area ** 2 / 1e3) "
    "+ C(g, Treatment('south')) + abs(area - 100) + standardize(area) "
    "+ np.log(`höhe m`):C(g, Sum)",
    "price ~ C(g, contr.treatment('south')) + C(g, contr.sum):area + C(g, contr.diff):area",
    "price ~ C(g, levels=['south', 'north', 'east']) + np.power(area, 2) + I(area > 100)",
    "price ~ cr(area, df=4) + bs(`höhe m`, df=5, degree=2) + scale(area, ddof=0)",
    "price ~ C(g, Helmert) + poly(area, degree=2, raw=True) + C(g, Poly):area",
    "price ~ np.log1p(area) + np.exp(-`höhe m` / 10) + round(area, 1) + Q('class') - 1",
    "price ~ (area + `höhe m`)**2 + C(g, Diff)",
]


@pytest.mark.filterwarnings("ignore:X is rank-deficient")  # overlapping codings: not the point
@pytest.mark.parametrize("formula", LEGIT)
def test_allowed_terms_still_load(tmp_path, formula):
    df = _data().rename(columns={"rooms": "höhe m"})
    df["class"] = df["area"] / 10
    model = LinearRegression.from_formula(formula, df)
    model.save(tmp_path / "m.json")
    again = load(tmp_path / "m.json")
    np.testing.assert_array_equal(again.predict(df), model.predict(df))
    assert again.design_.names == model.design_.names


# --------------------------------------------------------------------------- Dask limits
_INTERRUPTED_START = """
import os, signal, sys, threading, time
import distributed, psutil
from linearlab.distributed.cluster import connect

def interrupt_once_a_worker_process_starts():
    me = psutil.Process()
    while not me.children(recursive=True):
        time.sleep(0.02)
    time.sleep(float(sys.argv[1]))
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt_once_a_worker_process_starts, daemon=True).start()
try:
    with connect(workers=1) as client:
        time.sleep(60)
except KeyboardInterrupt:
    print("interrupted")
"""


@pytest.mark.parametrize("after", [0.0, 0.5])
def test_ctrl_c_during_dask_start_up_leaves_no_traceback(tmp_path, after):
    """Ctrl-C while the local cluster starts its worker process: no traceback from Dask's exit
    hook (``close_clusters``: ``AssertionError: Status.init``)."""
    pytest.importorskip("distributed")
    result = subprocess.run([sys.executable, "-c", _INTERRUPTED_START, str(after)],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.stdout.strip() == "interrupted"
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


def test_local_cluster_has_no_dashboard_and_workers_are_capped():
    import os

    pytest.importorskip("distributed")
    from linearlab.distributed.cluster import connect
    from linearlab.errors import UsageError

    with pytest.raises(UsageError, match="more workers than this machine has cores"):
        with connect(workers=(os.cpu_count() or 1) + 1):
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Port 8787 is already in use" was a UserWarning
        with connect(workers=1) as client:
            assert client.submit(sum, [1, 2]).result() == 3
            port = client.scheduler_info().get("services", {}).get("dashboard")
            assert port != 8787  # the scheduler's health routes, on a free port
            if port:  # and no dashboard page there
                with pytest.raises(urllib.error.HTTPError, match="404"):
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10)


@pytest.mark.parametrize("term", ["np.multiply(area, [[1.0]] * 500)",
                                  "np.multiply(area, [[1.0], [2.0], [3.0]])",
                                  "bs(area, knots=[" + ", ".join(["100.0"] * 60) + "])",
                                  "np.add(area, 'x')"])
def test_terms_cannot_broadcast_the_data(base, tmp_path, term):
    """A list given to a NumPy function would broadcast the data to the list's size."""
    model = hostile_model(base, tmp_path, term, tmp_path / "owned")
    with alarm(), pytest.raises(ModelFileError):
        load(model)
