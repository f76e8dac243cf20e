"""Model outputs next to the published figures they should reproduce.

``python -m blinasim.model.validation [n_children] [seed]`` simulates a cohort on AALL1731
with the shipped parameters and prints the table of :func:`summarize`. A research model,
not medical advice.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.model.engine import Outcomes

YEAR = 365.25


@dataclass(frozen=True)
class Target:
    """A published figure: value (NaN if only a range is given), range and source."""

    value: float
    low: float
    high: float
    source: str


TARGETS = {
    "EOI flow MRD negative": Target(0.78, 0.75, 0.80, "reference section 2 [A]"),
    "3-y DFS chemotherapy (A+C)": Target(0.879, 0.837, 0.921, "Gupta, NEJM 2025 (± 2 SE)"),
    "3-y DFS blinatumomab (B+D)": Target(0.960, 0.936, 0.984, "Gupta, NEJM 2025 (± 2 SE)"),
    "3-y DFS arm A (SR-Average chemo)": Target(0.902, 0.856, 0.948, "Gupta, NEJM 2025"),
    "3-y DFS arm B (SR-Average blina)": Target(0.975, 0.949, 1.0, "Gupta, NEJM 2025"),
    "3-y DFS arm C (SR-High chemo)": Target(0.848, 0.772, 0.924, "Gupta, NEJM 2025"),
    "3-y DFS arm D (SR-High blina)": Target(0.941, 0.891, 0.991, "Gupta, NEJM 2025"),
    "1-y DFS chemotherapy (A+C)": Target(0.97, 0.95, 0.99, "AALL1731 curve reconstruction"),
    "2-y DFS chemotherapy (A+C)": Target(0.93, 0.90, 0.96, "AALL1731 curve reconstruction"),
    "5-y EFS all SR on chemotherapy": Target(0.920, 0.911, 0.928, "Angiolillo, JCO 2021"),
    "5-y EFS SR-Favorable": Target(np.nan, 0.93, 1.0, "AALL1731 aim (> 93%)"),
    "5-y EFS, EOI MRD negative": Target(0.88, 0.86, 0.90, "Borowitz 2008 (all-risk)"),
    "5-y EFS, EOI MRD 0.01-0.1%": Target(0.59, 0.49, 0.69, "Borowitz 2008 (all-risk)"),
    "5-y EFS, EOI MRD 0.01-0.1% (modern)": Target(0.74, 0.66, 0.82, "Borowitz 2015 (AALL0232)"),
    "relapses >= 36 months (chemo arms)": Target(0.50, 0.45, 0.55, "Rheingold 2024"),
    "CD19-negative share of post-blina relapses": Target(np.nan, 0.10, 0.20, "Braig 2017"),
    "6-y isolated CNS relapse (chemo arms)": Target(
        np.nan, 0.034, 0.059, "Matloub 2006 (1996-2000)"
    ),
    "death in remission (chemo, 10 y)": Target(np.nan, 0.01, 0.02, "NOPHO; UKALL2003"),
}


def _first_event(df: pd.DataFrame) -> NDArray[np.float64]:
    cols = ["relapse_day", "second_malignancy_day", "death_day"]
    return np.asarray(df[cols].fillna(np.inf).min(axis=1), dtype=np.float64)


def _dfs(df: pd.DataFrame, years: float) -> float:
    t = _first_event(df) - df["randomization_day"].to_numpy(dtype=np.float64)
    return float(1.0 - np.mean(t <= years * YEAR))


def _efs(df: pd.DataFrame, years: float) -> float:
    return float(1.0 - np.mean(_first_event(df) <= years * YEAR))


def summarize(outcomes: Outcomes) -> pd.DataFrame:
    """One row per target: metric, model value, published value and range, source."""
    p = outcomes.patients
    arm = p["arm"].astype(object)

    def rand(arms: list[str]) -> pd.DataFrame:
        return p[arm.isin(arms) & p["randomization_day"].notna()]

    one = p.drop_duplicates("patient_id")
    chemo_all = p[arm.isin(["FAV", "A", "C"]) | arm.isna()].drop_duplicates("patient_id")
    on_chemo = p[arm.isin(["FAV", "A", "C"])].drop_duplicates("patient_id")
    rel_chemo = rand(["A", "C"])["relapse_day"].dropna()
    rb = rand(["B", "D"])
    rb = rb[rb["relapse_day"].notna()]
    ac = rand(["A", "C"])
    site = ac["relapse_site"].astype(object)
    low_mrd = on_chemo[(on_chemo["eoi_flow"] >= 1e-4) & (on_chemo["eoi_flow"] < 1e-3)]
    model = {
        "EOI flow MRD negative": float(np.mean(one["eoi_flow"] == 0)),
        "3-y DFS chemotherapy (A+C)": _dfs(rand(["A", "C"]), 3),
        "3-y DFS blinatumomab (B+D)": _dfs(rand(["B", "D"]), 3),
        "3-y DFS arm A (SR-Average chemo)": _dfs(rand(["A"]), 3),
        "3-y DFS arm B (SR-Average blina)": _dfs(rand(["B"]), 3),
        "3-y DFS arm C (SR-High chemo)": _dfs(rand(["C"]), 3),
        "3-y DFS arm D (SR-High blina)": _dfs(rand(["D"]), 3),
        "1-y DFS chemotherapy (A+C)": _dfs(rand(["A", "C"]), 1),
        "2-y DFS chemotherapy (A+C)": _dfs(rand(["A", "C"]), 2),
        "5-y EFS all SR on chemotherapy": _efs(chemo_all, 5),
        "5-y EFS SR-Favorable": _efs(p[arm == "FAV"], 5),
        "5-y EFS, EOI MRD negative": _efs(on_chemo[on_chemo["eoi_flow"] == 0], 5),
        "5-y EFS, EOI MRD 0.01-0.1%": _efs(low_mrd, 5),
        "5-y EFS, EOI MRD 0.01-0.1% (modern)": _efs(low_mrd, 5),
        "relapses >= 36 months (chemo arms)": float(np.mean(rel_chemo >= 3 * YEAR)),
        "CD19-negative share of post-blina relapses": float(rb["relapse_cd19_negative"].mean()),
        "6-y isolated CNS relapse (chemo arms)": float(
            np.mean((site == "cns") & (ac["relapse_day"] < 6 * YEAR))
        ),
        "death in remission (chemo, 10 y)": float(
            np.mean(on_chemo["death_cause"].astype(object) == "treatment-related")
        ),
    }
    rows = [
        {
            "metric": k,
            "model": model[k],
            "published": t.value,
            "low": t.low,
            "high": t.high,
            "in_range": t.low <= model[k] <= t.high,
            "source": t.source,
        }
        for k, t in TARGETS.items()
    ]
    return pd.DataFrame(rows)


def dfs_by_year(outcomes: Outcomes, years: tuple[float, ...] = (0.5, 1, 2, 3, 5)) -> pd.DataFrame:
    """DFS from randomization per randomized arm at ``years`` (rows: arms)."""
    p = outcomes.patients
    arm = p["arm"].astype(object)
    rows = {}
    for a in sorted(arm[p["randomization_day"].notna()].dropna().unique()):
        d = p[(arm == a) & p["randomization_day"].notna()]
        rows[a] = {f"{y:g} y": _dfs(d, y) for y in years}
    return pd.DataFrame.from_dict(rows, orient="index")


def stratum_mix(outcomes: Outcomes) -> pd.Series:
    """Share of children per risk group (one row per child)."""
    one = outcomes.patients.drop_duplicates("patient_id")
    return one["risk_group"].astype(object).value_counts(normalize=True)


def main(argv: list[str] | None = None) -> int:
    """Simulate ``n`` children (default 100,000) and print :func:`summarize`."""
    from blinasim.cohort import sample_cohort
    from blinasim.disclaimer import DISCLAIMER
    from blinasim.model.engine import simulate
    from blinasim.protocol import load_protocol

    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 100_000
    seed = int(args[1]) if len(args) > 1 else 1
    out = simulate(sample_cohort(n, seed=seed), load_protocol("aall1731"), seed=seed)
    table = summarize(out)
    with pd.option_context("display.width", 160, "display.max_colwidth", 40):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print("\nDFS from randomization by arm:")
        print(dfs_by_year(out).to_string(float_format=lambda x: f"{x:.3f}"))
        print("\nrisk groups:", ", ".join(f"{k} {v:.1%}" for k, v in stratum_mix(out).items()))
    print(f"{n:,} children, seed {seed}. {DISCLAIMER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
