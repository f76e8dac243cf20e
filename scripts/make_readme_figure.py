"""Regenerate docs/img/dfs.png (the README picture) from a small AALL1731 run.

Usage: .venv/bin/python scripts/make_readme_figure.py [replicates]

The figure is the run report's DFS figure (pooled Kaplan-Meier of the simulated trials by
arm, with the published 3-year DFS and its 95% interval), drawn with the shipped posterior.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from blinasim.jobs.run import RunConfig, run
from blinasim.reports import curves, figures
from blinasim.reports.run_tables import ARMS
from blinasim.units import DAYS_PER_YEAR

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        res = run(RunConfig(replicates=reps), tmp, report=False)
        data = pd.read_parquet(res.out_dir / "patients.parquet")
        cs = curves.km_curves(
            data, group="arm", time="dfs_days", event="dfs_event", order=ARMS,
            replicate="replicate", band="predictive",
        )  # fmt: skip
        pub = res.summary["published"]["dfs_3y"]
        marks = {
            arm: (3 * DAYS_PER_YEAR, p["estimate"], p["se"])
            for arm, p in pub.items()
            if p and p.get("estimate") is not None and p.get("se")
        }
        fig = figures.step_plot(
            cs,
            title=f"AALL1731 in silico: DFS by arm ({reps} simulated trials)",
            ylabel="Disease-free survival",
            ylim=(0.75, 1.0),
            xmax=5.0,
            xlabel="Years since randomization",
            published=marks,
        )
        out = REPO / "docs" / "img" / "dfs.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110, bbox_inches="tight", metadata={"Software": None})
        print(f"wrote {out} ({res.calibration})")


if __name__ == "__main__":
    main()
