"""A command imports only what it uses: ``--help`` and ``datasets`` answer without the heavy
libraries (scikit-learn, SciPy, pandas, pyarrow, matplotlib, torch). Checked by the modules a
fresh interpreter holds after the command, never by timing it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from linearlab.data.datasets import LISTED_WITHOUT_LOADING, describe_dataset, load_dataset

HEAVY = ("sklearn", "scipy", "pandas", "pyarrow", "matplotlib", "torch", "dask")


def modules_after(*argv: str, full: bool = False) -> tuple[int, set[str]]:
    """The exit status and the top-level packages (``full``: every module) a fresh
    interpreter holds after running the command."""
    name = "m" if full else "m.split('.')[0]"
    code = ("import sys, json, contextlib, io\n"
            "from linearlab.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    status = main({list(argv)!r})\n"
            f"print(json.dumps([status, sorted({name} for m in sys.modules)]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    status, modules = json.loads(out.strip().splitlines()[-1])
    return status, set(modules)


@pytest.mark.parametrize("argv", [("--help",), ("fit", "--help"), ("datasets",),
                                  ("predict", "--help"), ("fit",)])
def test_light_commands_import_no_heavy_library(argv):
    status, modules = modules_after(*argv)
    assert status in (0, 2)  # `fit` without DATA is a usage error, answered by the parser
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_a_fitting_command_imports_what_it_needs():
    status, modules = modules_after("fit", "three-points", "--json")
    assert status == 0 and "numpy" in modules and "sklearn" not in modules


@pytest.fixture()
def small_csv(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    return path


def test_fit_predict_evaluate_import_neither_scikit_learn_nor_pandas(small_csv, tmp_path):
    """The plain command-line paths use LinearModel, not the scikit-learn estimator, and read
    and write columns without pyarrow's pandas conversions."""
    model = tmp_path / "m.json"
    for argv in (("fit", str(small_csv), "-o", str(model)),
                 ("predict", str(model), str(small_csv), "-o", str(tmp_path / "p.csv")),
                 ("evaluate", str(model), str(small_csv))):
        status, modules = modules_after(*argv)
        assert status == 0, argv
        assert not modules & {"sklearn", "pandas"}, (argv, sorted(modules & {"sklearn", "pandas"}))
    assert (tmp_path / "p.csv").read_text().splitlines()[1] == "1,2,1.9900000000000002"


def test_a_penalized_fit_still_imports_scikit_learn(small_csv):
    status, modules = modules_after("fit", str(small_csv), "--penalty", "l1", "--alpha", "0.1")
    assert status == 0 and "sklearn" in modules


@pytest.mark.parametrize("name", sorted(LISTED_WITHOUT_LOADING))
def test_datasets_listed_without_loading_match_the_data(name):
    data = load_dataset(name)
    rows, features, target, about = describe_dataset(name)
    assert (rows, features, target, about) == (data.X.shape[0], list(data.feature_names),
                                                data.target_name, data.description)


ENGINE = {"linearlab.descent.loop", "linearlab.descent.driver", "linearlab.descent.shell"}


def test_an_exact_fit_does_not_load_the_gradient_descent_engine(small_csv, tmp_path):
    status, modules = modules_after("fit", str(small_csv), "-o", str(tmp_path / "m.json"),
                                    full=True)
    assert status == 0 and not modules & ENGINE, sorted(modules & ENGINE)
    status, modules = modules_after("fit", str(small_csv), "--solver", "gd", "--epochs", "5",
                                    full=True)
    assert status in (0, 1) and ENGINE <= modules  # (1: a run that has not converged)
