"""Lifetime outcomes after first-line therapy: speed, and HSCT / CAR-T / OS / life expectancy.

    .venv/bin/python benchmarks/lifetime.py [--children N] [--lifetime-children M]
        [--first-line-children K] [--seed S] [--out FILE]

1. Runs ``N`` AALL1731-eligible children (default 20,000) through the first-line model
   (``blinasim.model.engine.simulate``, every arm of their stratum, 10-year horizon), then
   each child's life to age 100 (``blinasim.model.after_relapse.history.lifetime``: the
   salvage pathway after a first relapse, then the life table with survivors' SMRs), and
   prints per arm: cumulative incidence of allogeneic HSCT and of CAR-T at 5 and 10 years
   from diagnosis, OS at 3, 5 and 10 years, and life expectancy (mean years from diagnosis
   to death or age 100) with the age at diagnosis; relapsing children continue the
   pathway the engine ran with their own clone.
2. Times the lifetime step for ``M`` children on one arm (default 1,000,000: the arm-A
   first-line outcomes above resampled to M children with fresh ids, so relapsing children
   run the salvage pathway here, with donor clones), wall seconds.
3. ``--first-line-children K``: also times the first-line model for K children on arm A
   and projects it to M children (the issue's "1,000,000 children to age 100 on one arm").

The machine is shared: run it alone, with ``nice``. Writes ``--out`` (JSON) if given.
A research model, not medical advice.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blinasim.cohort import sample_cohort
from blinasim.model import engine
from blinasim.model.after_relapse import AfterRelapseParams, site_codes
from blinasim.model.after_relapse.history import CAUSES, Lifetime, lifetime
from blinasim.model.after_relapse.pathway import Salvage
from blinasim.protocol import load_protocol
from blinasim.units import DAYS_PER_YEAR

FIRST_LINE_CAUSES = ("treatment-related", "second malignancy")


def lifetime_inputs(patients: pd.DataFrame, cohort: pd.DataFrame) -> dict[str, Any]:
    """Per row of ``patients``: the arrays :func:`lifetime` takes (ids, age, first line)."""
    c = cohort.set_index("patient_id").loc[patients["patient_id"]]
    cause = patients["death_cause"].astype(object).to_numpy()
    fl = np.where(
        np.isin(cause, FIRST_LINE_CAUSES),
        patients["death_day"].to_numpy(dtype=float),
        np.inf,
    )
    return {
        "ids": patients["patient_id"].to_numpy(dtype=np.int64),
        "age_years": c["age_years"].to_numpy(dtype=float),
        "first_line_death_day": fl,
        "relapse_day": patients["relapse_day"].fillna(np.inf).to_numpy(dtype=float),
        "site": site_codes(patients["relapse_site"].astype(object).to_numpy()),
        "cd19_negative": patients["relapse_cd19_negative"].to_numpy(dtype=bool),
        "favorable_genetics": (c["genetics"].astype(str) == "favorable").to_numpy(),
    }


def arm_summary(lt: Lifetime, age: np.ndarray) -> dict[str, float]:
    """Cumulative incidences, OS milestones and life expectancy of one arm."""
    out: dict[str, float] = {"n": float(lt.death_day.size)}
    for y in (5, 10):
        out[f"hsct_ci_{y}y"] = float(np.mean(lt.hsct_day <= y * DAYS_PER_YEAR))
        out[f"cart_ci_{y}y"] = float(np.mean(lt.cart_day <= y * DAYS_PER_YEAR))
    for y in (3, 5, 10):
        out[f"os_{y}y"] = float(np.mean(lt.death_day > y * DAYS_PER_YEAR))
    out["life_expectancy_years"] = float(lt.life_years.mean())
    out["mean_age_at_diagnosis"] = float(age.mean())
    dead = lt.death_cause >= 0
    for i, c in enumerate(CAUSES):
        out[f"death_share_{c}"] = float(np.mean(lt.death_cause[dead] == i)) if dead.any() else 0.0
    return out


def main() -> None:
    ap_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap_.add_argument("--children", type=int, default=20_000)
    ap_.add_argument("--lifetime-children", type=int, default=1_000_000)
    ap_.add_argument("--first-line-children", type=int, default=0)
    ap_.add_argument("--seed", type=int, default=20250107)
    ap_.add_argument("--out", type=Path, default=None)
    a = ap_.parse_args()
    ap = AfterRelapseParams.load()
    protocol = load_protocol("aall1731")
    cohort = sample_cohort(a.children, seed=a.seed)
    t0 = time.perf_counter()
    out = engine.simulate(cohort, protocol, seed=a.seed)
    t_first = time.perf_counter() - t0
    p = out.patients
    result: dict[str, Any] = {"children": a.children, "seed": a.seed, "arms": {}}
    print(f"first line: {a.children:,} children, all arms, {t_first:.1f} s")
    print(
        f"{'arm':<6}{'n':>7}{'HSCT 5y':>9}{'HSCT 10y':>10}{'CAR-T 5y':>10}{'CAR-T 10y':>11}"
        f"{'OS 3y':>8}{'OS 5y':>8}{'OS 10y':>8}{'LE (y)':>8}"
    )
    arms = [str(x) for x in p["arm"].cat.categories]
    for arm in arms:
        rows = p[p["arm"] == arm]
        if rows.empty:
            continue
        kw = lifetime_inputs(rows, cohort)
        # the engine's own pathway of each relapsing child (its clone), as trial_columns does
        pathway = Salvage.from_columns(rows.reset_index(drop=True))
        lt = lifetime(**kw, horizon_day=out.horizon_days, seed=a.seed, ap=ap, pathway=pathway)
        s = arm_summary(lt, kw["age_years"])
        result["arms"][arm] = s
        print(
            f"{arm:<6}{int(s['n']):>7}{s['hsct_ci_5y']:>9.2%}{s['hsct_ci_10y']:>10.2%}"
            f"{s['cart_ci_5y']:>10.2%}{s['cart_ci_10y']:>11.2%}{s['os_3y']:>8.2%}"
            f"{s['os_5y']:>8.2%}{s['os_10y']:>8.2%}{s['life_expectancy_years']:>8.1f}"
        )
    # speed: M children on arm A, resampled from the first-line outcomes above
    base = lifetime_inputs(p[p["arm"] == "A"], cohort)
    m = a.lifetime_children
    pick = np.random.default_rng(a.seed).integers(0, base["ids"].size, m)
    big = {k: v[pick] for k, v in base.items()}
    big["ids"] = np.arange(m, dtype=np.int64)
    t0 = time.perf_counter()
    lt = lifetime(**big, horizon_day=out.horizon_days, seed=a.seed, ap=ap)
    t_life = time.perf_counter() - t0
    result["lifetime_seconds"] = t_life
    result["lifetime_children"] = m
    print(
        f"lifetime step (salvage + life table to age 100), {m:,} children on arm A: {t_life:.2f} s"
    )
    print(f"  life expectancy {lt.life_years.mean():.2f} y from diagnosis")
    if a.first_line_children:
        k = a.first_line_children
        small = sample_cohort(k, seed=a.seed + 1)
        t0 = time.perf_counter()
        engine.simulate(small, protocol, arm="A", seed=a.seed + 1)
        t_k = time.perf_counter() - t0
        proj = t_k * m / k
        result["first_line_seconds"] = {"children": k, "seconds": t_k, "projected": proj}
        print(
            f"first line on arm A: {k:,} children {t_k:.1f} s -> {m:,} projected {proj:.1f} s; "
            f"total projected {proj + t_life:.1f} s"
        )
    if a.out is not None:
        a.out.write_text(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
