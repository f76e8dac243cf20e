"""Time a computation inside R on the same data (shared by the benchmark scripts).

Not a benchmark itself: ``run_all.py`` skips modules whose name starts with ``_``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd


def time_r(script_text: str, data: pd.DataFrame, reps: int, tmp: Path) -> dict[str, float]:
    """Run ``script_text`` with Rscript on ``data`` (CSV); parse its ``key=seconds`` lines.

    Empty when R is missing or fails (the R columns are then skipped).
    """
    if shutil.which("Rscript") is None:
        return {}
    csv = tmp / f"data_{len(data)}.csv"
    data.to_csv(csv, index=False)
    script = tmp / "bench.R"
    script.write_text(script_text)
    res = subprocess.run(
        ["Rscript", str(script), str(csv), str(reps)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        print(f"R failed: {res.stderr.strip()[:300]}", file=sys.stderr)
        return {}
    out = {}
    for line in res.stdout.splitlines():
        key, _, val = line.partition("=")
        out[key.strip()] = float(val)
    return out
