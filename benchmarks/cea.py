"""Wall time and peak memory of ``blinasim cea aall1731`` (issue 15: 500 PSA iterations x
30,000 children per arm, lifetime, in <= 60 s wall on 2 idle cores, peak < 4 GiB).

    .venv/bin/python benchmarks/cea.py [--psa 500] [--n 30000] [--workers 2]
        [--scale 20,60] [--setting canada-2024] [--quick] [--out FILE]

Runs the real command line (``python -m blinasim cea aall1731 --psa P --n N --workers K``)
into a fresh folder and samples, every 0.1 s, the resident memory of the main process and
of the whole process tree (main, fork server, workers). Prints the wall time, the peak
tree and main RSS, and the job's own timings (``manifest.json``).

``--profile``: instead, runs two PSA blocks in this process with one numba thread and
prints the CPU seconds per iteration spent in the model (engine, lifetime pathway, the
salvage pathway inside both) and in the economics (histories, pricing), from cProfile.

``--scale A,B`` (for a shared machine): runs ``--psa A`` and ``--psa B`` instead, fits wall
= fixed + per-iteration x P through the two points and projects the wall time of ``--psa``
iterations (default 500); the peak memory does not grow with the iterations (each block is
checkpointed and dropped), so the larger run's peak stands for it. ``--quick``: ``--scale
10,20`` with ``--n 30000``. Run it alone, with ``nice``; on a shared machine the figures
are upper bounds. Writes ``--out`` (JSON) if given. A research model, not medical advice.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numba
import psutil

from blinasim.jobs.cea import CeaConfig, make_tasks
from blinasim.jobs.cea_tasks import BLOCK, run_task

GIB = 1024.0**3


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    try:
        main = proc.memory_info().rss
        kids = 0
        for c in proc.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                kids += c.memory_info().rss
    except psutil.NoSuchProcess:
        return 0, 0
    return main, main + kids


def measure(psa: int, n: int, workers: int, setting: str, folder: Path) -> dict[str, Any]:
    """Run ``blinasim cea`` once and sample its memory until it ends."""
    cmd = [
        sys.executable, "-m", "blinasim", "cea", "aall1731", "--psa", str(psa), "--n", str(n),
        "--workers", str(workers), "--setting", setting, "--out", str(folder),
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak_main = peak_tree = 0
    while proc.poll() is None:
        m, t = _tree_rss(ps)
        peak_main, peak_tree = max(peak_main, m), max(peak_tree, t)
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"blinasim cea failed ({proc.returncode}):\n{err}")
    man = json.loads((folder / "manifest.json").read_text())
    summary = json.loads((folder / "summary.json").read_text())
    return {
        "psa": psa,
        "n": n,
        "workers": workers,
        "wall_s": wall,
        "peak_tree_gib": peak_tree / GIB,
        "peak_main_gib": peak_main / GIB,
        "job_timings_s": man.get("timings_s", {}),
        "icer": summary["icer"],
        "stdout": out,
    }


PROFILED = {
    "engine (model.engine.simulate)": ("model/engine.py", "simulate"),
    "salvage pathway, all calls (model.after_relapse.pathway.salvage)": (
        "after_relapse/pathway.py",
        "salvage",
    ),
    "lifetime histories (economics.history_from_model)": (
        "economics/history.py",
        "history_from_model",
    ),
    "  within it, model.after_relapse.history.lifetime": ("after_relapse/history.py", "lifetime"),
    "pricing (economics.evaluate)": ("economics/evaluate.py", "evaluate"),
    "cohort (cohort.sample.screen_cohort)": ("cohort/sample.py", "screen_cohort"),
}


def profile(n: int) -> None:
    """CPU seconds per PSA iteration by part (two blocks after a warm-up block)."""
    numba.set_num_threads(1)
    tasks, _ = make_tasks(CeaConfig(psa=5 * BLOCK, n=n))
    run_task(tasks[1])  # compile and cache
    c0 = time.process_time()
    for t in tasks[2:4]:
        run_task(t)
    its = 2 * BLOCK
    total = (time.process_time() - c0) / its
    prof = cProfile.Profile(time.process_time)
    c1 = time.process_time()
    prof.enable()
    for t in tasks[4:6]:
        run_task(t)
    prof.disable()
    profiled = (time.process_time() - c1) / its
    st = pstats.Stats(prof)
    cum: dict[str, float] = {}
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        for label, (suffix, name) in PROFILED.items():
            if file.endswith(suffix) and func == name:
                cum[label] = cum.get(label, 0.0) + ct
    print(f"CPU per PSA iteration, {n:,} children per arm, one thread: {total:.3f} s")
    print(f"shares of the CPU time under cProfile ({profiled:.3f} s per iteration with it):")
    for label in PROFILED:
        v = cum.get(label, 0.0) / its
        print(f"  {label}: {v / profiled:.0%}")
    print(f"-> 500 iterations on 2 cores: about {500 * total / 2:.0f} s of work per core")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--psa", type=int, default=500)
    ap.add_argument("--n", type=int, default=30_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--setting", default="canada-2024")
    ap.add_argument("--scale", default=None, help="two PSA sizes A,B: fit and project")
    ap.add_argument("--quick", action="store_true", help="--scale 10,20")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--profile", action="store_true", help="CPU per iteration by part")
    a = ap.parse_args()
    if a.profile:
        profile(a.n)
        return 0
    scale = "10,20" if a.quick and a.scale is None else a.scale
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} on {psutil.cpu_count()} cores", flush=True)
    runs = []
    sizes = [int(x) for x in scale.split(",")] if scale else [a.psa]
    with tempfile.TemporaryDirectory(prefix="cea-bench-") as tmp:
        for i, p in enumerate(sizes):
            r = measure(p, a.n, a.workers, a.setting, Path(tmp) / f"run{i}")
            runs.append(r)
            print(
                f"--psa {p} --n {a.n:,} --workers {a.workers}: wall {r['wall_s']:.1f} s, peak "
                f"RSS {r['peak_tree_gib']:.2f} GiB (tree), {r['peak_main_gib']:.2f} GiB (main); "
                f"job {r['job_timings_s']}",
                flush=True,
            )
    result: dict[str, Any] = {"runs": [{k: v for k, v in r.items() if k != "stdout"} for r in runs]}
    if len(runs) == 2:
        (p1, w1), (p2, w2) = ((r["psa"], r["wall_s"]) for r in runs)
        per = (w2 - w1) / (p2 - p1)
        fixed = w1 - per * p1
        proj = fixed + per * a.psa
        result["projection"] = {
            "psa": a.psa,
            "fixed_s": fixed,
            "per_iteration_s": per,
            "wall_s": proj,
            "peak_tree_gib": max(r["peak_tree_gib"] for r in runs),
        }
        print(
            f"fit: {fixed:.1f} s fixed + {per:.3f} s per iteration -> --psa {a.psa}: "
            f"{proj:.0f} s wall (projected from {p1} and {p2} iterations)"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    ic = runs[-1]["icer"]
    iv = ""
    if ic.get("lower") is not None:
        iv = f" (95% interval {ic['lower']:,.0f} to {ic['upper']:,.0f})"
    print(f"ICER (last run): {ic.get('statement')}{iv}")
    if a.out is not None:
        a.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
