"""Write ``src/blinasim/data/salvage/relapse_clones.csv``: relapsing clones of the first-line model.

    nice -n 10 .venv/bin/python scripts/salvage/relapse_clones.py [--children N] [--seed S]
        [--per-cell K] [--out FILE]

Runs ``N`` AALL1731-eligible children (default 100,000) through the first-line model
(``blinasim.model.engine.simulate``, every arm of their stratum, shipped parameters), records
the relapsing clone the engine hands to the salvage pathway (sensitivity, growth, T-cell
fitness, blinatumomab Css at 15 µg/m²/day), and keeps up to ``K`` (default 400) relapses per
cell (timing early / intermediate / late x marrow involvement x CD19 phenotype), chosen at
random. The sensitivity is stored without the genetic factor (the pathway applies the child's).
Children without a first-line state (relapse trials' cohorts, the after-relapse fit, a patient
table's lifetime) draw their clone from this table (``clone.donor_clones``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import blinasim.model.after_relapse as ar
from blinasim.cohort import sample_cohort
from blinasim.model import engine
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.clone import TABLE_COLUMNS, timing_of
from blinasim.model.leukemia import ChemoParams
from blinasim.protocol import load_protocol

OUT = Path("src/blinasim/data/salvage/relapse_clones.csv")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--children", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=20241)
    p.add_argument("--per-cell", type=int, default=400)
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    got: list[dict[str, Any]] = []
    original = ar.salvage_rows

    def capture(*args: Any, **kw: Any) -> Any:
        ids, day, site, neg, _fav = args
        c = kw["clone"]
        got.append(
            {
                "patient_id": ids,
                "relapse_day": day,
                "site": site,
                "cd19_negative": neg,
                "sensitivity": c.sensitivity,
                "growth_per_day": c.growth_per_day,
                "tcell_fitness": c.tcell_fitness,
                "css_pg_per_ml": c.css_pg_per_ml,
            }
        )
        return original(*args, **kw)

    ar.salvage_rows = capture
    cohort = sample_cohort(a.children, seed=a.seed)
    engine.simulate(cohort, load_protocol("aall1731"), seed=a.seed)
    ar.salvage_rows = original
    df = pd.concat([pd.DataFrame(g) for g in got], ignore_index=True)
    df = df[np.isfinite(df["relapse_day"])].drop_duplicates("patient_id")
    cp = ChemoParams.load()
    ap = AfterRelapseParams.load()
    gen = cohort.set_index("patient_id").loc[df["patient_id"], "genetics"].astype(str).to_numpy()
    shift = np.where(
        gen == "favorable",
        cp.sensitivity_log_shift_favorable,
        np.where(gen == "unfavorable", -cp.sensitivity_log_shift_unfavorable, 0.0),
    )
    out = pd.DataFrame(
        {
            "timing": timing_of(df["relapse_day"].to_numpy(), ap),
            "marrow": (df["site"].astype(object) != "cns").astype(int).to_numpy(),
            "cd19_negative": df["cd19_negative"].astype(int).to_numpy(),
            "log_sensitivity": np.log(df["sensitivity"].to_numpy()) - shift,
            "growth_per_day": df["growth_per_day"].to_numpy(),
            "tcell_fitness": df["tcell_fitness"].to_numpy(),
            "css_pg_per_ml": df["css_pg_per_ml"].to_numpy(),
        }
    )
    g = np.random.default_rng(a.seed)
    keep = []
    for _, cell in out.groupby(["timing", "marrow", "cd19_negative"]):
        idx = cell.index.to_numpy()
        keep.append(g.permutation(idx)[: a.per_cell])
    tab = out.loc[np.sort(np.concatenate(keep)), list(TABLE_COLUMNS)].reset_index(drop=True)
    tab = tab.sort_values(["timing", "marrow", "cd19_negative"], kind="stable")
    header = (
        f"# relapsing clones of the first-line model: scripts/salvage/relapse_clones.py "
        f"--children {a.children} --seed {a.seed} --per-cell {a.per_cell} "
        f"({len(df)} relapses, {len(tab)} kept; shipped parameters)\n"
    )
    with a.out.open("w", encoding="utf-8") as fh:
        fh.write(header)
        tab.to_csv(fh, index=False, float_format="%.6g")
    counts = tab.groupby(["timing", "marrow", "cd19_negative"]).size()
    print(f"{len(df)} relapses; kept per cell:\n{counts.to_string()}")
    print(
        "median sensitivity by timing:",
        out.groupby("timing")["log_sensitivity"].median().map(math.exp).round(3).to_dict(),
    )


if __name__ == "__main__":
    main()
