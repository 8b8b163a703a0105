"""Each example script redoes its seed document and prints what the seed printed.

The scripts run in this process (``runpy``, as ``__main__``, from the repository's root, with
``examples/`` first on ``sys.path`` as ``python examples/NAME.py`` puts it), which spares an
interpreter and a PyTorch import per script; one of them also runs as a real ``python`` process,
concurrently, to show the scripts work standalone.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = [
    "seed000_salary.py",
    "seed001_noisy_line.py",
    "seed002_three_points.py",
    "seed003_doubling.py",
    "seed004_arange_line.py",
]
STANDALONE = "seed003_doubling.py"  # the cheapest, run as a real process too


def run_in_process(name: str) -> tuple[int, str, str]:
    """``python examples/NAME`` as ``runpy.run_path``: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = os.getcwd(), list(sys.path), torch.get_default_dtype()
    code = 0
    try:
        os.chdir(EXAMPLES.parent)
        sys.path.insert(0, str(EXAMPLES))
        torch.set_default_dtype(torch.float32)  # a fresh interpreter's
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
            warnings.resetwarnings()
            try:
                runpy.run_path(str(EXAMPLES / name), run_name="__main__")
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Exception:  # reported as the process would report it
                traceback.print_exc(file=err)
                code = 1
    finally:
        os.chdir(saved[0])
        sys.path[:] = saved[1]
        torch.set_default_dtype(saved[2])
        sys.modules.pop("_common", None)  # the scripts' helper module, examples/_common.py
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def outputs():
    """Run every script once and keep its stdout; STANDALONE also as a process, meanwhile."""
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / STANDALONE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=EXAMPLES.parent)
    try:
        results = {name: run_in_process(name) for name in SCRIPTS}
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    results["standalone"] = (proc.returncode, out, err)
    return results


def run(outputs, name) -> str:
    code, out, err = outputs[name]
    assert code == 0, f"{name} failed:\n{err}"
    assert "Traceback" not in err, err
    return out


def sections(out: str) -> dict[str, str]:
    parts = re.split(r"^=== (.*) ===$", out, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def by_backend(out: str) -> tuple[str, str]:
    found = {title.split(":")[0]: body for title, body in sections(out).items()}
    return found["backend='numpy'"], found["backend='torch'"]


def test_a_script_run_as_a_process_prints_what_it_prints_in_process(outputs):
    assert run(outputs, "standalone") == run(outputs, STANDALONE)


def test_every_seed_has_an_example():
    assert sorted(p.name for p in EXAMPLES.glob("seed*.py")) == SCRIPTS


def test_seed000_salary(outputs):
    out = run(outputs, "seed000_salary.py")
    numpy_part, torch_part = by_backend(out)
    assert numpy_part == torch_part  # same log, line, prediction and diagnosis
    logs = re.findall(r"^Epoch +(\d+)/10001  loss \S+  w = \S+, b = \S+$", numpy_part, re.M)
    assert logs == [str(e) for e in range(0, 10001, 1000)]
    assert "f(x) = 25627.31x + 1505.55" in numpy_part
    assert "prediction for x = 8: [206524.05]" in numpy_part
    assert "converged: False" in numpy_part
    assert "The exact optimum is y = 25642.85714·x + 1428.571429" in numpy_part
    assert out.rstrip().endswith("f(x) = 25642.86x + 1428.57\nprediction for x = 8: [206571.43]")


def test_seed001_noisy_line(outputs):
    out = run(outputs, "seed001_noisy_line.py")
    numpy_part, torch_part = by_backend(out)
    assert torch_part.startswith(numpy_part.rstrip("\n"))  # torch adds model.parameters()
    assert len(re.findall(r"^epoch +\d+  loss \d+\.\d{4}$", numpy_part, re.M)) == 20
    assert torch_part.count("Parameter containing:") == 2
    assert "Not converged" in numpy_part
    assert "w = 7.3551, b = 5.0732" in sections(out)["the normal equation (solver='normal')"]


def test_seed002_three_points(outputs):
    out = run(outputs, "seed002_three_points.py")
    assert "before weight : [[0.97213265]]" in out and "before bias   : [[0.28608494]]" in out
    assert "loss : 8.37530066172" in out
    assert "after weight : [[2.05165305]]" in out and "after bias   : [[0.77918673]]" in out
    assert "loss : 0.0155866261443" in out
    assert out.count("after pred : [2.9034 4.9793 7.0551]") == 2
    assert "all agree to 1e-7 relative: yes" in out


def test_seed003_doubling(outputs):
    out = run(outputs, "seed003_doubling.py")
    numpy_part, torch_part = by_backend(out)
    for part in (numpy_part, torch_part):
        assert re.findall(r"^Epoch +(\d+)/500", part, re.M) == ["0", "100", "200", "300", "400"]
        value = float(re.search(r"^Prediction \(after training\) 4 (\S+)$", part, re.M)[1])
        assert abs(value - 8.0) < 0.05


def test_seed004_arange_line(outputs):
    out = run(outputs, "seed004_arange_line.py")
    parts = sections(out)
    gap = float(re.search(r"two loss histories: (\S+)", out)[1])
    assert gap < 1e-12
    minibatch = [body for title, body in parts.items() if title.startswith("(3)")]
    assert len(minibatch) == 2 and minibatch[0] == minibatch[1]
    final = re.search(r"^w = (\S+), b = (\S+)  \(true", parts[next(iter(parts))], re.M)
    exact = parts["the exact answer (solver='auto')"].strip()
    assert exact == f"w = {final[1]}, b = {final[2].rstrip(',')}"
    assert f"beta = [{final[2]}, {final[1]}]" in out
    assert "all agree to 1e-7 relative: yes" in out
