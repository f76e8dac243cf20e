"""Cost and Monte Carlo noise of the calibration's likelihood evaluations.

    .venv/bin/python benchmarks/calibrate.py [--config FILE] [--evals K] [--seeds R]

1. Time K evaluations of the log posterior at the parameter file's values (one process,
   one numba thread: what each worker does), wall and CPU seconds, and project the full
   run onto 2 cores: stage 1, walkers x (steps + 1) evaluations, plus stage 2,
   ``importance.draws`` evaluations (the other work of stage 2, proposal draws and
   Pareto smoothing, takes well under a second).
3. ``--dask-check DIR``: the first 2 steps of the chain on a 2-worker Dask LocalCluster,
   compared with the checkpoint of a finished local run in DIR (must be bit-identical).
4. ``--pool-check K``: throughput of K local worker processes (evaluations per second,
   seconds per evaluation and core), through the pool as the sampler uses it (the log
   posterior unpickled once per worker) and the way it was before (pickled with every
   task, so each evaluation re-did the simulator's set-up).
2. Monte Carlo noise: the same parameters simulated with R different seeds; for every
   target the SD across seeds next to its published SE. The likelihood adds the simulator's
   Monte Carlo variance, but it should be small beside the published one (ratio << 1).

Writes results/bench_calibrate.json. The machine is shared: the CPU-time projection is the
number that does not depend on other load.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from blinasim.calibrate.config import load_config
from blinasim.calibrate.simulator import LogPosterior


def main() -> None:
    """Run the benchmark and print a summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--evals", type=int, default=6)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("results/bench_calibrate.json"))
    ap.add_argument("--dask-check", type=Path, default=None)
    ap.add_argument("--pool-check", type=int, default=0, metavar="K")
    a = ap.parse_args()
    cfg = load_config(a.config)
    if a.dask_check is not None:
        dask_check(cfg, a.dask_check)
        return
    if a.pool_check:
        pool_check(cfg, a.pool_check, max(a.evals, a.pool_check))
        return
    post = LogPosterior(cfg)
    theta = np.array([fp.default for fp in post.free])
    post(theta)  # warm-up: cohort, protocol, numba caches
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.evals):
        post(theta)
    wall = (time.perf_counter() - w0) / a.evals
    cpu = (time.process_time() - c0) / a.evals
    n_stage1 = cfg.sampler.walkers * (cfg.sampler.steps + 1)
    n_stage2 = cfg.importance.draws if cfg.importance is not None else 0
    n_evals = n_stage1 + n_stage2
    load = os.getloadavg()[0]
    print(
        f"per evaluation ({cfg.simulation.n_patients:,} patients): "
        f"{wall:.3f} s wall, {cpu:.3f} s CPU"
    )
    print(
        f"full run: {n_stage1} (emcee) + {n_stage2} (importance) = {n_evals} evaluations -> "
        f"{n_evals * cpu / 2 / 60:.1f} min on 2 idle cores (CPU time / 2); "
        f"load average now {load:.1f}"
    )
    targets = post.targets
    vals = []
    for s in range(a.seeds):
        c2 = cfg.model_copy(update={"seed": cfg.seed + 1000 + s})
        p2 = LogPosterior(c2)
        _, blob = p2(theta)
        vals.append(blob[: len(targets)])
    v = np.array(vals)
    rows = []
    print(
        f"\n{'target':32s} {'used':8s} {'published SE':>12s} {'SD over seeds':>13s} {'ratio':>6s}"
    )
    for j, t in enumerate(targets):
        sd = float(np.nanstd(v[:, j], ddof=1)) if np.isfinite(v[:, j]).sum() > 1 else float("nan")
        used = "fit" if t.id in cfg.fit else "held out"
        rows.append({"target": t.id, "used": used, "published_se": t.se, "sd_over_seeds": sd})
        print(f"{t.id:32s} {used:8s} {t.se:12.4g} {sd:13.4g} {sd / t.se:6.2f}")
    fit_ratios = [r["sd_over_seeds"] / r["published_se"] for r in rows if r["used"] == "fit"]
    print(
        f"\nfitted targets: max SD/SE {np.nanmax(fit_ratios):.2f}, "
        f"median {np.nanmedian(fit_ratios):.2f}"
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(
        json.dumps(
            {
                "n_patients": cfg.simulation.n_patients,
                "wall_s_per_eval": wall,
                "cpu_s_per_eval": cpu,
                "n_evals_stage1_emcee": n_stage1,
                "n_evals_stage2_importance": n_stage2,
                "n_evals_full_run": n_evals,
                "projected_min_on_2_cores": n_evals * cpu / 2 / 60,
                "load_average": load,
                "noise": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {a.out}")


def pool_check(cfg: Any, workers: int, n: int) -> None:
    """Evaluations through ``workers`` processes: cached function versus pickled per task."""
    from blinasim.calibrate.sampler import ProcessPool

    post = LogPosterior(cfg)
    theta = np.array([fp.default for fp in post.free])
    pool = ProcessPool(workers)
    try:
        pool.map(post, [theta] * workers)  # start the workers, compile
        for label, run in (
            ("pickled per task (before)", lambda: list(pool._ex.map(post, [theta] * n))),
            ("once per worker (now)", lambda: pool.map(post, [theta] * n)),
        ):
            t = time.perf_counter()
            run()
            dt = time.perf_counter() - t
            print(
                f"{label:26s}: {n} evaluations on {workers} workers in {dt:.1f} s = "
                f"{dt * workers / n:.3f} s per evaluation and core "
                f"(load average {os.getloadavg()[0]:.1f})"
            )
    finally:
        pool.close()


def dask_check(cfg: Any, run_dir: Path) -> None:
    """Two steps on a local Dask cluster versus the same steps of a finished run."""
    import tempfile

    from distributed import Client, LocalCluster

    from blinasim.calibrate.sampler import CHECKPOINT, load_chain, run_sampler

    ref = load_chain(run_dir / CHECKPOINT)
    short = cfg.model_copy(
        update={"sampler": cfg.sampler.model_copy(update={"steps": 2, "burn_in": 1})}
    )
    t = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as lc,
        Client(lc) as client,
    ):
        ch = run_sampler(short, tmp, scheduler=client, resume=False)
    same = np.array_equal(ch.chain, ref.chain[:3]) and np.array_equal(ch.log_prob, ref.log_prob[:3])
    print(
        f"Dask, 2 workers, 2 steps: {time.perf_counter() - t:.1f} s; identical to the run: {same}"
    )


if __name__ == "__main__":
    main()
