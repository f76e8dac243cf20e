"""Peak memory of ``blinasim run`` as the number of replicates grows (issue: bounded memory).

``python benchmarks/run_memory.py [--replicates 50,2000] [--workers 2] [--quick]``

Runs the real command line for each replicate count into a fresh folder and samples, every
0.2 s, the resident memory of the main process and of the whole process tree (main, fork
server, workers). Prints peak main RSS, peak tree RSS, wall time, and the ratio of each
count's peaks to the first count's. The goal: the largest run within 1.5x of the smallest.
``--quick`` runs 10 and 100 replicates.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    try:
        main = proc.memory_info().rss
        kids = sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.NoSuchProcess:
        return 0, 0
    return main, main + kids


def measure(replicates: int, workers: int, folder: Path) -> dict[str, float]:
    """Run ``blinasim run -r replicates`` and sample its memory until it ends."""
    cmd = [
        sys.executable,
        "-m",
        "blinasim",
        "run",
        "aall1731",
        "-r",
        str(replicates),
        "--workers",
        str(workers),
        "--out",
        str(folder),
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak_main = peak_tree = 0
    while proc.poll() is None:
        m, t = _tree_rss(ps)
        peak_main, peak_tree = max(peak_main, m), max(peak_tree, t)
        time.sleep(0.2)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"blinasim run -r {replicates} failed:\n{err[-2000:]}")
    return {
        "replicates": replicates,
        "wall_s": time.perf_counter() - t0,
        "peak_main_mib": peak_main / 2**20,
        "peak_tree_mib": peak_tree / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", default="50,2000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    counts = [10, 100] if a.quick else [int(x) for x in a.replicates.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            rows.append(measure(n, a.workers, Path(tmp) / f"r{n}"))
            r = rows[-1]
            print(
                f"{n:>6} replicates: {r['wall_s']:7.1f} s wall, peak main {r['peak_main_mib']:6.0f}"
                f" MiB, peak tree {r['peak_tree_mib']:6.0f} MiB",
                flush=True,
            )
    base = rows[0]
    print("\n| replicates | wall (s) | peak main (MiB) | peak all processes (MiB) | vs first |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['replicates']} | {r['wall_s']:.0f} | {r['peak_main_mib']:.0f} | "
            f"{r['peak_tree_mib']:.0f} | main {r['peak_main_mib'] / base['peak_main_mib']:.2f}x, "
            f"all {r['peak_tree_mib'] / base['peak_tree_mib']:.2f}x |"
        )


if __name__ == "__main__":
    main()
