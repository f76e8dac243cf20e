"""The randomized children of a relapse-trial prediction, one row each (``patients.parquet``).

The same children as :func:`blinasim.model.after_relapse.trials.predict` (same virtual
relapsed cohort, same arm runs with common random numbers, same eligibility, the first
``n_per_arm`` of each arm per simulated trial), so the report's Kaplan-Meier curves pool the
trials whose milestones ``summary.json`` holds (a test checks that the two agree). Times are
days from randomization: ``endpoint_days``/``endpoint_event`` (DFS or EFS: second relapse or
death) and ``os_days``/``os_event``, administratively censored at 3 years; the model history
(not censored): ``hsct_day``, ``relapse2_day``, ``cart_day``, ``death_day`` (NaN: never).
A research model, not medical advice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.trials import (
    ARMS,
    RelapseTrial,
    _arm_runs,
    _eligible,
    relapsed_cohort,
)
from blinasim.units import DAYS_PER_YEAR

HORIZON_DAYS = 3.0 * DAYS_PER_YEAR
"""Administrative censoring of the trial endpoints, as in ``predict``."""


def randomized_patients(
    spec: RelapseTrial, *, replicates: int, seed: int, ap: AfterRelapseParams
) -> pd.DataFrame:
    """One row per randomized child per simulated trial (see the module docstring)."""
    per = sum(spec.n_per_arm.values())
    need = replicates * per
    n = max(4 * need, 10_000)
    while True:
        c = relapsed_cohort(spec, n, seed)
        runs = _arm_runs(spec, c, seed, ap)
        idx = np.flatnonzero(_eligible(spec, c, runs))
        if idx.size >= need:
            break
        n *= 2
    n_blina = spec.n_per_arm[ARMS[0]]
    frames = []
    for r in range(replicates):
        block = idx[r * per : (r + 1) * per]
        for arm, rows in ((ARMS[0], block[:n_blina]), (ARMS[1], block[n_blina:])):
            s = runs[arm]
            rand = c.relapse_day[rows] + spec.randomization_after_days

            def since(day: np.ndarray, rand: np.ndarray = rand) -> np.ndarray:
                x = np.asarray(day, dtype=np.float64) - rand
                return np.where(np.isfinite(x), x, np.nan)

            death = s.death_day[rows] - rand
            end = np.minimum(death, s.relapse2_day[rows] - rand)
            frames.append(
                pd.DataFrame(
                    {
                        "replicate": np.full(rows.size, r, dtype=np.int64),
                        "arm": arm,
                        "endpoint_days": np.minimum(end, HORIZON_DAYS),
                        "endpoint_event": (end <= HORIZON_DAYS).astype(np.int64),
                        "os_days": np.minimum(death, HORIZON_DAYS),
                        "os_event": (death <= HORIZON_DAYS).astype(np.int64),
                        "hsct_day": since(s.hsct_day[rows]),
                        "relapse2_day": since(s.relapse2_day[rows]),
                        "cart_day": since(s.cart_day[rows]),
                        "death_day": since(s.death_day[rows]),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
