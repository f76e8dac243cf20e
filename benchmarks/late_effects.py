"""Late effects as events: wall time for many children, and each effect's share by exposure.

    .venv/bin/python benchmarks/late_effects.py [--children N] [--seed S] [--out FILE]

Draws the late-effect days (``blinasim.model.after_relapse.late_effects``) of ``N`` children
(default 1,000,000) with a mix of exposures like a relapse-heavy cohort (10% relapse at 2
years, a third of them transplanted half a year later; deaths drawn uniformly over 0-60
years for 20%), three timed calls after a warm-up, and prints the share of children with
each effect by exposure group (among those alive at the end of the effect's window) beside
the parameter (the largest probability of the exposures received). The machine is shared:
run it alone, with ``nice``. A research model, not medical advice.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from blinasim.model.after_relapse.late_effects import (
    EXPOSURES,
    LATE_EFFECTS,
    LateEffectsParams,
    late_effects,
)
from blinasim.units import DAYS_PER_YEAR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20250107)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    le = LateEffectsParams.load()
    n = a.children
    ids = np.arange(n, dtype=np.int64)
    g = np.random.default_rng(a.seed)
    relapse = np.where(g.random(n) < 0.10, 2 * DAYS_PER_YEAR, np.inf)
    hsct = np.where(np.isfinite(relapse) & (g.random(n) < 1 / 3), 2.5 * DAYS_PER_YEAR, np.inf)
    death = np.where(g.random(n) < 0.2, g.uniform(0, 60, n) * DAYS_PER_YEAR, np.inf)
    late_effects(ids[:10], relapse[:10], hsct[:10], death[:10], seed=a.seed, params=le)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = late_effects(ids, relapse, hsct, death, seed=a.seed, params=le)
        times.append(time.perf_counter() - t0)
    print(f"late effects of {n:,} children: " + ", ".join(f"{t:.2f}" for t in times) + " s")
    groups = {
        "first_line": ~np.isfinite(relapse),
        "relapse": np.isfinite(relapse) & ~np.isfinite(hsct),
        "hsct": np.isfinite(hsct),
    }
    result: dict[str, Any] = {"children": n, "seconds": times, "effects": {}}
    print(f"{'effect':<27}" + "".join(f"{x:>22}" for x in EXPOSURES))
    for e in LATE_EFFECTS:
        _, to = le.window(e)
        row = {}
        cells = []
        for k, (x, sel) in enumerate(groups.items()):
            start = {"first_line": 0.0, "relapse": 2.0, "hsct": 2.5}[x] * DAYS_PER_YEAR
            alive = sel & (death > start + to * DAYS_PER_YEAR)
            share = float(np.isfinite(out.days[e][alive]).mean())
            p = max(le.probability(e, y) for y in EXPOSURES[: k + 1])
            row[x] = {"share": share, "parameter": p}
            cells.append(f"{share:>11.2%} ({p:>6.2%})")
        result["effects"][e] = row
        print(f"{e:<27}" + "".join(f"{c:>22}" for c in cells))
    if a.out is not None:
        a.out.write_text(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
