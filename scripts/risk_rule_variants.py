"""Risk-rule variants of review point 9: stratum shares and SR-Favorable 5-year EFS.

Runs the same children (``BLINASIM_N``, default 20,000; seed 7) through the AALL1731 engine
under the shipped risk rules and under the variants that the sources leave open
(``favorable_requires_cns1``, ``eoi_hts_mrd_favorable_max``), and prints per variant the share
of each risk group, the share of SR-Average children without a randomization day (not
randomized, or an event before randomization), and the 5-year EFS of
arm FAV (first of relapse, death, second malignancy; the AALL1731 aim is > 93% for boys).
Numbers quoted in docs/model_v2_risk.md come from this script.

    .venv/bin/python scripts/risk_rule_variants.py
"""

from __future__ import annotations

import os

import numpy as np

from blinasim.cohort import sample_cohort
from blinasim.config import ParameterSet
from blinasim.model import engine
from blinasim.protocol import load_protocol

VARIANTS: dict[str, dict[str, object]] = {
    "shipped": {},
    "favorable needs CNS1": {"risk_groups.favorable_requires_cns1": True},
    "favorable HTS cut 1e-6 (old)": {"risk_groups.eoi_hts_mrd_favorable_max": 1e-6},
    "favorable: no HTS criterion": {"risk_groups.eoi_hts_mrd_favorable_max": 1.0},
}


def main() -> None:
    n = int(os.environ.get("BLINASIM_N", "20000"))
    base = ParameterSet.load()
    cohort = sample_cohort(n, seed=7, params=base)
    proto = load_protocol("aall1731")
    print(f"children: {n:,} (seed 7)")
    head = f"{'variant':<30}{'FAV':>7}{'Avg':>7}{'High':>7}{'off':>7}{'Avg no rand.':>14}"
    print(head + f"{'FAV 5-y EFS':>13}")
    for name, values in VARIANTS.items():
        ps = base.with_values(values, source="assumption: rule variant") if values else base
        p = engine.simulate(cohort, proto, params=ps, seed=7).patients
        child = p.drop_duplicates("patient_id")
        share = child["risk_group"].astype(str).value_counts(normalize=True)
        avg = child[child["risk_group"] == "SR-Average"]
        not_rand = float(avg["randomization_day"].isna().mean()) if len(avg) else float("nan")
        fav = p[p["arm"] == "FAV"]
        first = np.fmin(
            np.fmin(fav["relapse_day"], fav["death_day"]), fav["second_malignancy_day"]
        ).to_numpy(dtype=float)
        efs5 = float(np.mean(~(first <= 5 * 365.25)))
        cells = [share.get(g, 0.0) for g in ("SR-Favorable", "SR-Average", "SR-High", "off-study")]
        print(
            f"{name:<30}" + "".join(f"{c:>7.1%}" for c in cells) + f"{not_rand:>14.1%}{efs5:>13.3f}"
        )
    print("a model, not medical advice: simulated children under assumed rules")


if __name__ == "__main__":
    main()
