"""Regenerate docs/img/dfs.png (the README picture) from a small AALL1731 run.

Usage: .venv/bin/python scripts/make_readme_figure.py [replicates]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from blinasim.jobs.run import RunConfig, run
from blinasim.reports import figures
from blinasim.reports.run import _published_points, km_curves

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        res = run(RunConfig(replicates=reps), tmp, report=False)
        data = pd.read_parquet(res.out_dir / "patients.parquet")
        fig = figures.step_plot(
            km_curves(data, len(res.estimates), time="dfs_days", event="dfs_event"),
            title=f"AALL1731 in silico: DFS by arm ({reps} simulated trials)",
            ylabel="Disease-free survival",
            ylim=(0.75, 1.0),
            xmax=5.0,
            xlabel="Years since randomization",
            published=_published_points(res.summary["published"]["dfs_3y"]),
        )
        out = REPO / "docs" / "img" / "dfs.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110, bbox_inches="tight", metadata={"Software": None})
        print(f"wrote {out} ({res.calibration})")


if __name__ == "__main__":
    main()
