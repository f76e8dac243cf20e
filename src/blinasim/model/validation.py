"""Model outputs next to the published figures they should reproduce.

The published figures are the targets of ``data/targets/aall1731.yaml``
(:mod:`blinasim.targets`), found by their fields; each row shows the target's ``role``, and
only ``held_out`` rows count as validation. ``python -m blinasim.model.validation
[n_children] [seed]`` simulates a cohort on AALL1731 with the shipped parameters and prints
the table of :func:`summarize`. A research model, not medical advice.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.cohort import sample_cohort
from blinasim.disclaimer import DISCLAIMER
from blinasim.model.engine import Outcomes, simulate
from blinasim.protocol import load_protocol
from blinasim.targets import Target, TargetSet, shipped_targets

YEAR = 365.25


def _dfs_at(arm: str, stratum: str, years: float) -> dict[str, Any]:
    return {"quantity": "dfs", "arm": arm, "stratum": stratum, "time_years": years}


Lookup = dict[str, Any]

ROWS: tuple[tuple[str, Lookup], ...] = (
    ("EOI flow MRD negative", {"quantity": "eoi_flow_negative"}),
    ("3-y DFS chemotherapy (A+C)", _dfs_at("chemotherapy", "all", 3)),
    ("3-y DFS blinatumomab (B+D)", _dfs_at("blinatumomab", "all", 3)),
    ("3-y DFS arm A (SR-Average chemo)", _dfs_at("chemotherapy", "SR-Average", 3)),
    ("3-y DFS arm B (SR-Average blina)", _dfs_at("blinatumomab", "SR-Average", 3)),
    ("3-y DFS arm C (SR-High chemo)", _dfs_at("chemotherapy", "SR-High", 3)),
    ("3-y DFS arm D (SR-High blina)", _dfs_at("blinatumomab", "SR-High", 3)),
    ("1-y DFS chemotherapy (A+C)", _dfs_at("chemotherapy", "all", 1)),
    ("2-y DFS chemotherapy (A+C)", _dfs_at("chemotherapy", "all", 2)),
    (
        "5-y EFS all SR on chemotherapy",
        {"quantity": "efs", "stratum": "all", "time_years": 5, "study": "AALL0932"},
    ),
    ("5-y EFS SR-Favorable", {"quantity": "efs", "stratum": "SR-Favorable", "time_years": 5}),
    (
        "5-y EFS, EOI MRD negative",
        {"quantity": "efs_by_eoi_mrd", "study": "P9900", "subgroup": "eoi_mrd_negative"},
    ),
    (
        "5-y EFS, EOI MRD 0.01-0.1%",
        {"quantity": "efs_by_eoi_mrd", "study": "P9900", "subgroup": "eoi_mrd_0.01-0.1%"},
    ),
    (
        "5-y EFS, EOI MRD 0.01-0.1% (modern)",
        {"quantity": "efs_by_eoi_mrd", "study": "AALL0232", "subgroup": "eoi_mrd_0.01-0.1%"},
    ),
    ("relapses >= 36 months (chemo arms)", {"quantity": "late_relapse_share"}),
    ("CD19-negative share of post-blina relapses", {"quantity": "cd19neg_share"}),
    ("6-y isolated CNS relapse (chemo arms)", {"quantity": "isolated_cns_incidence"}),
    ("death in remission (chemo, 10 y)", {"quantity": "death_in_remission"}),
)
"""Each row of the table: its label and the fields of its published target."""


def published_targets(targets: TargetSet | None = None) -> dict[str, Target]:
    """The published target of each row of :func:`summarize` (default: the shipped file)."""
    ts = targets if targets is not None else shipped_targets()
    return {label: ts.published(**fields) for label, fields in ROWS}


def _first_event(df: pd.DataFrame) -> NDArray[np.float64]:
    cols = ["relapse_day", "second_malignancy_day", "death_day"]
    return np.asarray(df[cols].fillna(np.inf).min(axis=1), dtype=np.float64)


def _dfs(df: pd.DataFrame, years: float) -> float:
    t = _first_event(df) - df["randomization_day"].to_numpy(dtype=np.float64)
    return float(1.0 - np.mean(t <= years * YEAR))


def _efs(df: pd.DataFrame, years: float) -> float:
    return float(1.0 - np.mean(_first_event(df) <= years * YEAR))


def summarize(outcomes: Outcomes, targets: TargetSet | None = None) -> pd.DataFrame:
    """One row per published figure, with the target's id and role.

    Columns: metric, target, role, model, published, low and high (its 95% range), in_range,
    source.

    Only rows whose ``role`` is ``held_out`` are validation: the others were fitted, derived
    from fitted numbers, used to set a parameter (``closed_form``) or taken as given.
    """
    published = published_targets(targets)
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
            "target": t.id,
            "role": t.role,
            "model": model[k],
            "published": t.estimate,
            "low": t.low,
            "high": t.high,
            "in_range": bool(t.low <= model[k] <= t.high),
            "source": t.source,
        }
        for k, t in published.items()
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
