"""Time blinasim.stats.fine_gray against R cmprsk::crr on the same data, side by side.

    .venv/bin/python benchmarks/finegray.py            # n = 500 ... 4000; 1e5, 1e6 ours only
    .venv/bin/python benchmarks/finegray.py --quick    # n = 500, 1000

Data: three covariates (one binary), two causes and censoring, integer days (ties). Both
sides fit the model, its sandwich variance and the baseline used by ``predict``. Times are
the best of a few repeats (seconds, computation only: R is timed inside R with
system.time on data read once from a temp file). ``crr`` is quadratic (its variance worse)
in n, so R is skipped at a size when the previous size predicts more than 60 s; R is skipped
entirely when Rscript or cmprsk is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _r import time_r

R_LIMIT_S = 60.0

R_SCRIPT = r"""
suppressPackageStartupMessages(library(cmprsk))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- as.integer(args[2])
x <- as.matrix(d[, c("x1", "x2", "arm")])
best <- min(sapply(seq_len(reps), function(i)
  system.time(crr(d$time, d$cause, x))[["elapsed"]]))
f <- crr(d$time, d$cause, x)
cat(sprintf("crr=%.6f\ncoef1=%.17g\n", best, f$coef[1]))
"""


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    out = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def make_data(n: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(size=n)
    arm = rng.integers(0, 2, n)
    t1 = rng.exponential(900 / np.exp(0.4 * x1 - 0.5 * arm))
    t2 = rng.exponential(1500 / np.exp(0.3 * x2), size=n)
    cens = rng.uniform(30, 2400, n)
    cause = np.where(cens <= np.minimum(t1, t2), 0, np.where(t1 <= t2, 1, 2))
    return pd.DataFrame(
        {
            "time": np.ceil(np.minimum(np.minimum(t1, t2), cens)),
            "cause": cause,
            "x1": np.round(x1, 4),
            "x2": np.round(x2, 4),
            "arm": arm,
        }
    )


def r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    res = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('cmprsk', quietly = TRUE))"],
        capture_output=True,
        check=False,
    )
    return res.returncode == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 500 and 1000 only")
    args = ap.parse_args(argv)
    from blinasim.stats import fine_gray

    sizes = [500, 1000] if args.quick else [500, 1000, 2000, 4000, 100_000, 1_000_000]
    have_r = r_available()
    if not have_r:
        print("Rscript or cmprsk not found: R columns are empty")
    rows = []
    r_prev: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for n in sizes:
            d = make_data(n)
            t = d["time"].to_numpy()
            c = d["cause"].to_numpy()
            x = d[["x1", "x2", "arm"]].to_numpy(dtype=np.float64)
            reps = 5 if n <= 100_000 else 2

            def run(t: Any = t, c: Any = c, x: Any = x) -> Any:
                return fine_gray(t, c, x)

            ours = best_of(run, reps)
            fit = run()
            r_s = float("nan")
            agree = float("nan")
            predicted = np.inf if r_prev is None else r_prev[1] * (n / r_prev[0]) ** 2
            if have_r and (r_prev is None or predicted <= R_LIMIT_S):
                res = time_r(R_SCRIPT, d, 3 if n <= 1000 else 1, tmp)
                if res:
                    r_s = res["crr"]
                    agree = abs(fit.coef[0] / res["coef1"] - 1.0)
                    r_prev = (n, r_s)
            rows.append(
                {
                    "n": n,
                    "blinasim_s": ours,
                    "R_crr_s": r_s,
                    "R/blinasim": r_s / ours,
                    "coef_rel_diff": agree,
                    "iterations": fit.iterations,
                }
            )
    table = pd.DataFrame(rows)
    with pd.option_context("display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    print(f"R skipped where the previous size predicts more than {R_LIMIT_S:.0f} s (quadratic)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
