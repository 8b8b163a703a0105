"""Correct significant digits on ill-conditioned least-squares problems: linearlab vs peers.

Every library fits the same doubles; the reference is the exact least-squares answer for those
doubles in 50-digit arithmetic (mpmath). For each quantity the table shows the fewest correct
significant digits over its entries (16 = all of double precision; "-" = not provided).

    python bench/accuracy.py                 # prints the tables and writes docs/accuracy.md
    python bench/accuracy.py --no-write      # print only
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from accuracy_problems import correct_digits, problems, reference  # noqa: E402

PEERS = ["linearlab (auto)", "numpy lstsq", "scikit-learn", "statsmodels OLS"]
QUANTITIES = [
    ("coef", "Coefficients (intercept included)"),
    ("bse", "Standard errors"),
    ("sd", "Residual standard deviation"),
    ("r2", "R²"),
]


def _design(X):
    return np.hstack([np.ones((X.shape[0], 1)), X])


def _linearlab(X, y):
    from linearlab import ConditioningWarning, LinearRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConditioningWarning)
        s = LinearRegression().fit(X, y).summary()
    return {"coef": s.params, "bse": s.bse, "sd": np.sqrt(s.scale), "r2": s.rsquared}


def _numpy(X, y):
    A = _design(X)
    coef, ssr, _, _ = np.linalg.lstsq(A, y, rcond=None)
    ssr = float(ssr[0]) if ssr.size else float(((y - A @ coef) ** 2).sum())
    dof = len(y) - A.shape[1]
    tss = float(((y - y.mean()) ** 2).sum())
    return {"coef": coef, "bse": None, "sd": np.sqrt(ssr / dof), "r2": 1 - ssr / tss}


def _sklearn(X, y):
    from sklearn.linear_model import LinearRegression

    m = LinearRegression().fit(X, y)
    resid = y - m.predict(X)
    dof = len(y) - X.shape[1] - 1
    return {"coef": np.r_[m.intercept_, m.coef_], "bse": None,
            "sd": np.sqrt(resid @ resid / dof), "r2": m.score(X, y)}


def _statsmodels(X, y):
    import statsmodels.api as sm

    r = sm.OLS(y, _design(X)).fit()
    return {"coef": r.params, "bse": r.bse, "sd": np.sqrt(r.scale), "r2": r.rsquared}


FITS = [_linearlab, _numpy, _sklearn, _statsmodels]


def measure():
    rows = []
    for problem in problems():
        ref = reference(problem)
        refs = {"coef": ref.params, "bse": ref.bse, "sd": ref.resid_sd, "r2": ref.rsquared}
        A = _design(problem.X)
        sv = np.linalg.svd(A, compute_uv=False)
        digits = {}
        for peer, fit in zip(PEERS, FITS, strict=True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = fit(problem.X, problem.y)
            digits[peer] = {
                q: None if out[q] is None else correct_digits(out[q], refs[q])
                for q, _ in QUANTITIES
            }
        rows.append((problem, sv[0] / sv[-1], digits))
    return rows


def render(rows) -> str:
    lines = []
    for key, title in QUANTITIES:
        lines += [f"### {title}", "", "| problem | cond. no. | " + " | ".join(PEERS) + " |",
                  "|---|---:|" + "---:|" * len(PEERS)]
        for problem, cond, digits in rows:
            cells = [
                "-" if digits[p][key] is None else f"{digits[p][key]:.1f}" for p in PEERS
            ]
            lines.append(f"| {problem.name} | {cond:.1e} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/accuracy.md")
    args = parser.parse_args(argv)
    rows = measure()
    tables = render(rows)
    print(tables)
    if not args.no_write:
        doc = ROOT / "docs" / "accuracy.md"
        text = doc.read_text() if doc.exists() else ""
        begin, end = "<!-- accuracy-table:begin -->", "<!-- accuracy-table:end -->"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + begin + "\n" + tables + "\n" + end + rest.split(end, 1)[1]
        else:
            text = text + f"\n{begin}\n{tables}\n{end}\n"
        doc.write_text(text)
        print(f"wrote {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
