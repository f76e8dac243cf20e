"""Benchmark: ``blinasim predict`` for 20 varied children, warm (issue 16: p95 < 2 s on 2 cores).

One warm-up prediction (numba cache load, posterior and parameter files read once per
process), then 20 children with the default settings (``blinasim.jobs.predict.predict``):
every risk group, known and unknown facts, MRD readouts below detection, in the bands and
indeterminate. Prints each child's wall and CPU time (the process's, all threads), matched
twins and matching window, then p50, p95 and the maximum, with the load average: on a
shared machine the wall time grows with the load, the CPU time much less.
``--n K`` times the first K children only. ``--mc S`` then predicts the first child with S
seeds (each seed draws other posterior draws and other twins) and compares the seed-to-seed
SD of each estimate, its Monte Carlo error, with the half-width of its 95% interval.
``--threads T`` runs the numba kernels on T threads instead of the package's choice.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import blinasim.jobs.predict as predict_module
from blinasim.jobs.predict import ChildFacts, predict

CHILDREN = (
    ChildFacts(5.0, "female", 10.0, 1, "neutral", None, 1e-3, 0.0, 1e-5, 0.0),
    ChildFacts(3.0, "male", 4.0, 1, "favorable", False, 2e-3, 0.0, 0.0, None),
    ChildFacts(7.5, "female", 30.0, 2, "neutral", None, 5e-3, 0.0, 2e-6, 1e-4),
    ChildFacts(4.0, "male", 12.0, 1, "neutral", None, 0.02, 5e-4, 2e-4, 0.0),
    ChildFacts(2.0, None, None, None, None, None, None, None, None, None),
    ChildFacts(8.0, "female", 45.0, 1, "unfavorable", None, 1e-3, 0.0, 1e-5, 0.0),
    ChildFacts(6.0, "male", 8.0, 1, "favorable", None, 5e-3, 2e-3, 2e-3, None),
    ChildFacts(1.5, "female", 2.0, 1, "neutral", None, 3e-4, 0.0, "indeterminate", 0.0),
    ChildFacts(9.5, "male", 20.0, 1, "neutral", None, None, 0.0, None, None),
    ChildFacts(5.5, None, 15.0, 1, "neutral", None, 0.012, 0.0, 3e-5, 0.0),
    ChildFacts(3.5, "female", None, None, "neutral", None, 1e-3, 1e-4, None, 5e-4),
    ChildFacts(4.5, "male", 6.0, 1, None, None, 1e-3, 0.0, 1e-5, 0.0),
    ChildFacts(2.5, "female", 9.0, 1, "favorable", None, 5e-4, 0.0, 0.0, 0.0),
    ChildFacts(7.0, "male", 35.0, 2, "favorable", None, 2e-3, 0.0, 1e-6, 0.0),
    ChildFacts(6.5, "female", 11.0, 1, "neutral", None, 1e-3, 3e-3, 1e-3, 2e-3),
    ChildFacts(5.0, "male", 7.0, 1, "unfavorable", None, None, 0.0, None, 0.0),
    ChildFacts(1.2, "female", 1.0, 1, "neutral", None, 0.0, 0.0, 0.0, 0.0),
    ChildFacts(8.5, None, 25.0, 1, "neutral", None, 8e-3, 0.0, 5e-5, None),
    ChildFacts(3.0, "male", 3.0, None, "favorable", None, None, 0.0, "indeterminate", None),
    ChildFacts(4.0, "female", 18.0, 1, "neutral", None, 1e-3, 0.0, 1e-5, None),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=len(CHILDREN))
    ap.add_argument("--mc", type=int, default=0, help="seeds for the Monte Carlo check")
    ap.add_argument(
        "--threads", type=int, default=0, help="numba kernel threads (default: the package's)"
    )
    args = ap.parse_args()
    if args.threads:
        predict_module.KERNEL_THREADS = args.threads
    print(f"numba kernel threads during a prediction: {predict_module.KERNEL_THREADS}")
    t0 = time.perf_counter()
    predict(CHILDREN[0], seed=1)
    print(f"warm-up (cold start): {time.perf_counter() - t0:.2f} s")
    times, cpus = [], []
    print(f"{'child':>5} {'wall s':>7} {'cpu s':>6} {'twins':>6} {'window':>7}  risk group")
    for i, facts in enumerate(CHILDREN[: args.n]):
        t, c = time.perf_counter(), time.process_time()
        p = predict(facts, seed=20241207 + i)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        times.append(dt)
        cpus.append(dc)
        w = p.matching["window_log10"]
        print(
            f"{i:>5} {dt:>7.2f} {dc:>6.2f} {p.matching['twins']:>6} "
            f"{'band' if w is None else f'±{w:g}':>7}  {p.risk_group}"
        )
    a, c = np.array(times), np.array(cpus)
    load = os.getloadavg()
    print(
        f"wall: p50 {np.percentile(a, 50):.2f} s, p95 {np.percentile(a, 95):.2f} s, "
        f"max {a.max():.2f} s over {a.size} children; CPU: p50 {np.percentile(c, 50):.2f} s, "
        f"p95 {np.percentile(c, 95):.2f} s (cpus {os.cpu_count()}, load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f})"
    )
    if args.mc > 1:
        monte_carlo(args.mc)


def monte_carlo(seeds: int) -> None:
    """Seed-to-seed SD of the first child's estimates against their interval half-widths."""
    runs = [predict(CHILDREN[0], seed=100 + s) for s in range(seeds)]
    print(f"Monte Carlo check, child 0, {seeds} seeds:")
    print(f"{'option':>13} {'measure':>8} {'estimate':>9} {'seed SD':>8} {'half-width':>11}")
    for opt in runs[0].options:
        for m in ("dfs", "os", "relapse"):
            for h in (5, 10):
                ivs = [r.options[opt].measures[m][h] for r in runs]
                est = np.array([iv.estimate for iv in ivs])
                half = np.mean([(iv.upper - iv.lower) / 2 for iv in ivs])
                print(
                    f"{opt:>13} {f'{m} {h}y':>8} {est.mean():>9.4f} {est.std(ddof=1):>8.4f} "
                    f"{half:>11.4f}"
                )


if __name__ == "__main__":
    main()
