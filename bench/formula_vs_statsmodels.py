"""``LinearRegression.from_formula`` vs statsmodels' ``smf.ols(formula, data).fit()``.

Both build the design from the same formula (categoricals, interactions, transforms) on the same
DataFrame and solve ordinary least squares; the script checks that the coefficients and standard
errors agree (1e-10 and 1e-8 relative) and prints each one's time and the ratio, with the share
linearlab spends building the design (formulaic, columns in patsy's order).

    python bench/formula_vs_statsmodels.py [--rows 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from linearlab import LinearRegression
from linearlab.design.formula import FormulaDesign

FORMULA = "y ~ x1*C(g) + np.log(x2) + C(h) + x1:x3 + I(x1**2)"


def data(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "x1": rng.normal(size=rows), "x2": rng.uniform(1, 5, rows), "x3": rng.normal(size=rows),
        "g": rng.choice(["north", "south", "east", "west"], rows),
        "h": rng.choice(["a", "b", "c"], rows),
    })
    df["y"] = 1 + df.x1 + np.log(df.x2) + (df.g == "south") + rng.normal(size=rows)
    return df


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    df = data(args.rows)
    t_sm, ref = best_of(lambda: smf.ols(FORMULA, df).fit(), args.repeats)
    t_ll, model = best_of(lambda: LinearRegression.from_formula(FORMULA, df), args.repeats)
    t_design, _ = best_of(lambda: FormulaDesign(FORMULA).fit_transform(df), args.repeats)
    s = model.summary()
    assert s.names == list(ref.params.index), (s.names, list(ref.params.index))
    np.testing.assert_allclose(s.params, ref.params.values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.bse, ref.bse.values, rtol=1e-8)
    print(f"{args.rows:,} rows, {len(s.names)} parameters: {FORMULA}")
    print(f"  statsmodels smf.ols().fit()    {t_sm:8.3f} s")
    print(f"  linearlab from_formula()       {t_ll:8.3f} s   ({t_sm / t_ll:.2f}x statsmodels'"
          f" speed; design {t_design:.3f} s of it)")
    print("  coefficients agree to 1e-10 and standard errors to 1e-8 (relative)")


if __name__ == "__main__":
    main()
