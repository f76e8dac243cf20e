"""Benchmark: pricing one arm of 30,000 children (economics.evaluate), per PSA iteration.

The history is built once from a simulated cohort (the arm-B/D rows of AALL1731: the
children on chemotherapy + blinatumomab), then ``evaluate`` prices it with the setting's
base-case numbers (median of repeated calls) and with 500 PSA draws (``draw_values`` +
``evaluate`` per iteration, as the ``cea`` job does for one arm). Prints wall and CPU
seconds (CPU time is this process's own, so it stays meaningful on a shared machine; the
load average is printed beside it).
"""

from __future__ import annotations

import os
import statistics
import time

from blinasim.cohort import sample_cohort
from blinasim.config import ParameterSet
from blinasim.economics import base_values, draw_values, evaluate, history_from_model, load_setting
from blinasim.model import engine
from blinasim.protocol import load_protocol

N = int(os.environ.get("BLINASIM_BENCH_N", "30000"))
ITER = int(os.environ.get("BLINASIM_BENCH_ITER", "500"))
SETTING = os.environ.get("BLINASIM_BENCH_SETTING", "canada-2024")
SEED = 31


def main() -> None:
    proto = load_protocol("aall1731")
    cohort = sample_cohort(int(N * 2.4), seed=SEED)
    out = engine.simulate(cohort, proto, seed=SEED)
    p = out.patients
    rows = p[p["arm"].isin(["B", "D"])].iloc[:N].reset_index(drop=True)
    ae = out.adverse_events[out.adverse_events["arm"].isin(["B", "D"])]
    params = ParameterSet.load()  # as the job passes each iteration's parameters
    t0 = time.perf_counter()
    h = history_from_model(
        rows, ae, cohort, proto, seed=SEED, horizon_days=out.horizon_days, params=params
    )
    t_hist = time.perf_counter() - t0
    setting = load_setting(SETTING)
    v = base_values(setting)
    evaluate(h, v)  # warm-up
    times, cpus = [], []
    for _ in range(21):
        t0, c0 = time.perf_counter(), time.process_time()
        evaluate(h, v)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    draws = [draw_values(setting, SEED, i) for i in range(ITER)]
    t_draw, c_draw = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    for d in draws:
        evaluate(h, d)
    t_psa, c_psa = time.perf_counter() - t0, time.process_time() - c0
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"children in the arm: {h.n:,}; adverse events: {h.ae_child.size:,}")
    print(f"history_from_model: {t_hist:.3f} s wall")
    print(
        f"evaluate, one iteration: median {statistics.median(times) * 1e3:.2f} ms wall, "
        f"{statistics.median(cpus) * 1e3:.2f} ms CPU (wall min {min(times) * 1e3:.2f})"
    )
    print(
        f"draw_values x {ITER}: {t_draw:.3f} s wall, {c_draw:.3f} s CPU "
        f"({c_draw / ITER * 1e3:.2f} ms CPU each)"
    )
    print(
        f"evaluate x {ITER}: {t_psa:.3f} s wall, {c_psa:.3f} s CPU "
        f"({c_psa / ITER * 1e3:.2f} ms CPU each)"
    )


if __name__ == "__main__":
    main()
