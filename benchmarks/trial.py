"""Time blinasim.trial.operating.replicate against rpact::getSimulationSurvival, in one run.

    .venv/bin/python benchmarks/trial.py            # 10,000 replicates each, 2 workers
    .venv/bin/python benchmarks/trial.py --quick    # 1,000 replicates each

Rows:
  parametric   the shipped design ``aall1731_parametric`` (about 3,500 enrolled, 1,800
               randomized in 2 strata, looks at 78/117/156 DFS events, asOF): blinasim
               with 2 worker processes (pool start-up included) and with 1 process;
  rpact        ``getSimulationSurvival`` on the same trial as rpact can state it (one
               stratum: the strata's hazards pooled 58:42, piecewise exponential with a
               break at 3 years, the same randomization rate, dropout and looks), timed
               inside R with system.time (single-threaded C++);
  mechanistic  the shipped design ``aall1731`` with the mechanistic model as outcome
               source, children resampled from a bank of simulated children (``bank_size``)
               made once per worker (bank simulation included in the time).
The ratio printed is rpact time / blinasim time (> 1: blinasim is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from blinasim.trial.design import load_design
from blinasim.trial.operating import replicate

ROOT = Path(__file__).resolve().parents[1]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(rpact))
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[1])
d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF",
                              informationRates = c(78, 117, 156) / 156)
# randomized per month: enrolled rate x share reaching randomization (0.33*0.9 + 0.27*0.8)
share <- 0.33 * 0.9 + 0.27 * 0.8
lam2 <- (0.58 * c(0.034390, 0.017195) + 0.42 * c(0.054969, 0.027485)) / 12
lam1 <- (0.58 * c(0.008439, 0.004220) + 0.42 * c(0.020268, 0.010134)) / 12
drop <- 1 - exp(-0.01)
tm <- system.time(s <- getSimulationSurvival(
  d, piecewiseSurvivalTime = c(0, 36), lambda2 = lam2, lambda1 = lam1,
  accrualTime = c(0, 12), accrualIntensity = c(30, 53) * share, maxNumberOfSubjects = 1800,
  plannedEvents = c(78, 117, 156), dropoutRate1 = drop, dropoutRate2 = drop,
  dropoutTime = 12, directionUpper = FALSE, maxNumberOfIterations = n, seed = 1))
cat(sprintf('{"seconds": %.4f, "power": %.5f, "stop1": %.5f}\n', tm[["elapsed"]],
            s$overallReject, s$rejectPerStage[1]))
"""


def time_rpact(n: int) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
        path = fh.name
    try:
        out = subprocess.run(
            ["Rscript", path, str(n)], capture_output=True, text=True, check=False, timeout=3600
        )
    finally:
        os.unlink(path)
    if out.returncode != 0:
        print("rpact failed:", out.stderr.strip().splitlines()[-1:] or "?")
        return None
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
    return dict(json.loads(line))


def time_blinasim(design_name: str, n: int, workers: int, bank_size: int | None = None):
    d = load_design(design_name)
    if bank_size is not None:
        d = d.model_copy(
            update={"outcomes": d.outcomes.model_copy(update={"bank_size": bank_size})}
        )
    t0 = time.perf_counter()
    oc = replicate(d, n, seed=1, workers=workers, block_size=100)
    return time.perf_counter() - t0, oc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 replicates instead of 10,000")
    ap.add_argument("--n", type=int, default=None, help="replicates (overrides --quick)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bank-size", type=int, default=40_000)
    ap.add_argument("--skip-mechanistic", action="store_true")
    ap.add_argument("--skip-serial", action="store_true")
    args = ap.parse_args()
    n = args.n or (1_000 if args.quick else 10_000)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"replicates {n}, workers {args.workers}, cores {os.cpu_count()}, load {load:.1f}")

    # warm the numba cache and the imports outside the timed runs
    time_blinasim("aall1731_parametric", 20, 1)

    rows: list[tuple[str, float, str]] = []
    t_par, oc = time_blinasim("aall1731_parametric", n, args.workers)
    rows.append(
        (
            f"blinasim parametric, {args.workers} workers",
            t_par,
            f"power {oc.rejection_probability:.4f}, P(stop at look 1) {oc.stop_efficacy[0]:.4f}",
        )
    )
    if not args.skip_serial:
        t_one, oc1 = time_blinasim("aall1731_parametric", n, 1)
        rows.append(
            ("blinasim parametric, 1 process", t_one, f"power {oc1.rejection_probability:.4f}")
        )
    r = time_rpact(n)
    if r is not None:
        rows.append(
            (
                "rpact getSimulationSurvival (1 thread)",
                r["seconds"],
                f"power {r['power']:.4f}, P(stop at look 1) {r['stop1']:.4f}",
            )
        )
    if not args.skip_mechanistic:
        t_m, ocm = time_blinasim("aall1731", n, args.workers, bank_size=args.bank_size)
        rows.append(
            (
                f"blinasim mechanistic (bank {args.bank_size}), {args.workers} workers",
                t_m,
                f"power {ocm.rejection_probability:.4f}, "
                f"P(stop at look 1) {ocm.stop_efficacy[0]:.4f}",
            )
        )
    width = max(len(a) for a, _, _ in rows)
    print(f"{'run':<{width}}  {'seconds':>8}  result")
    for a, t, note in rows:
        print(f"{a:<{width}}  {t:8.2f}  {note}")
    if r is not None:
        ratio = r["seconds"] / t_par
        print(f"ratio rpact / blinasim parametric ({args.workers} workers): {ratio:.2f}")
        if not args.skip_serial:
            print(f"ratio rpact / blinasim parametric (1 process): {r['seconds'] / t_one:.2f}")
    if not args.skip_mechanistic:
        verdict = "met" if t_m < 120 else "NOT met"
        print(f"mechanistic goal (< 120 s for {n} replicates): {verdict}")


if __name__ == "__main__":
    main()
