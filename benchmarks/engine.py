"""Benchmark: 1,000,000 children through the AALL1731 engine (time and peak memory).

Prints one table (wall and CPU seconds, peak memory): cohort sampling, the engine with arm B
forced (issue 13's measure: cohort + arm B for 1M children in < 2 s on 2 idle cores), engine
with every arm of each stratum (common random numbers: ~1.7 rows per child), and the engine
with arm A forced (induction, MRD and risk
assignment for every child, then arm A for the SR-Average children). Peak memory is the
process's maximum resident set size (``resource.getrusage``) after each step, which bounds
the step's own peak from above.
"""

from __future__ import annotations

import os
import resource
import sys
import time

from blinasim.cohort import sample_cohort
from blinasim.config import ParameterSet
from blinasim.model import engine
from blinasim.protocol import load_protocol

N = int(os.environ.get("BLINASIM_BENCH_N", "1000000"))
CHUNK = int(os.environ.get("BLINASIM_BENCH_CHUNK", "100000"))


def peak_gib() -> float:
    """Maximum resident set size of this process so far, in GiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024**2 if sys.platform != "darwin" else kib / 1024**3


def main() -> None:
    proto = load_protocol("aall1731")
    params = ParameterSet.load()  # YAML parsing is not part of the engine's time
    warm = sample_cohort(2000, seed=1)
    engine.simulate(warm, proto, params=params, seed=1)  # numba compile / cache load
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    cohort = sample_cohort(N, seed=1, params=params)  # parameters parsed above, as for the engine
    rows.append(
        (
            "sample_cohort",
            len(cohort),
            time.perf_counter() - t0,
            time.process_time() - c0,
            peak_gib(),
        )
    )
    t0, c0 = time.perf_counter(), time.process_time()
    out = engine.simulate(cohort, proto, arm="B", params=params, seed=1, chunk_size=CHUNK)
    rows.append(
        (
            "simulate arm='B'",
            len(out.patients),
            time.perf_counter() - t0,
            time.process_time() - c0,
            peak_gib(),
        )
    )
    del out
    t0, c0 = time.perf_counter(), time.process_time()
    out = engine.simulate(cohort, proto, arm="A", params=params, seed=1, chunk_size=CHUNK)
    rows.append(
        (
            "simulate arm='A'",
            len(out.patients),
            time.perf_counter() - t0,
            time.process_time() - c0,
            peak_gib(),
        )
    )
    del out
    t0, c0 = time.perf_counter(), time.process_time()
    out = engine.simulate(cohort, proto, params=params, seed=1, chunk_size=CHUNK)
    rows.append(
        (
            "simulate all arms",
            len(out.patients),
            time.perf_counter() - t0,
            time.process_time() - c0,
            peak_gib(),
        )
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"children: {N:,}  chunk_size: {CHUNK:,}  cpus: {os.cpu_count()}  load: {load:.1f}")
    print(f"{'step':<22}{'rows':>12}{'wall s':>9}{'CPU s':>9}{'peak RSS GiB':>14}")
    for name, n, sec, cpu, mem in rows:
        print(f"{name:<22}{n:>12,}{sec:>9.2f}{cpu:>9.2f}{mem:>14.2f}")
    print("CPU s sums both cores (the leukemia kernel is parallel); wall time depends on load.")
    print(f"adverse events (all arms): {len(out.adverse_events):,}")


if __name__ == "__main__":
    main()
