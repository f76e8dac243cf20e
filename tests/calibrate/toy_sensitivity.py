"""A toy trial simulator for the sensitivity analysis (tests only, never a result).

It has the calibration simulator's ``outcomes(values)`` and returns a patient table with
the engine's columns, so the key outputs run through the real summaries. Known effects:

* every child relapses with probability ``a = 0.1 + 0.4 F_R(x_R)`` on the chemotherapy arms
  (A, C) and ``0.4 a`` on the blinatumomab arms (B, D), at day ``90 + 2000 u``
  (randomization at day 90): 3-year DFS of arm A is ``1 - a * 1095.75 / 2000``;
* a relapse is isolated CNS with probability ``0.5 F_C(x_C)``;
* no other parameter is read.

``x_R`` is the first parameter of the parameter file with a uniform prior, ``x_C`` the first
with another prior (neither a free parameter of the config), ``F`` their prior CDFs: both
effects are linear in the factor's prior quantile, whatever the parameter file holds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from blinasim import rng
from blinasim.calibrate.likelihood import FreeParameter, free_parameters
from blinasim.calibrate.summaries import SummaryValue
from blinasim.config import ParameterSet
from blinasim.model.engine import PATIENT_COLUMNS

DFS3_SLOPE = 0.4 * 1095.75 / 2000.0
"""d(3-year DFS of arm A) / d F_R."""
CNS_SLOPE = 0.5
"""d(isolated-CNS share) / d F_C."""


def read_factors(free: tuple[str, ...]) -> tuple[FreeParameter, FreeParameter]:
    """(x_R, x_C): see the module docstring."""
    ps = ParameterSet.load()
    keys = [k for k, p in ps.params.items() if p.prior is not None and k not in free]
    r = next(k for k in keys if ps[k].prior.dist == "uniform")  # type: ignore[union-attr]
    c = next(k for k in keys if ps[k].prior.dist != "uniform")  # type: ignore[union-attr]
    return free_parameters(ps, [r])[0], free_parameters(ps, [c])[0]


class ToyTrialSimulator:
    """Two strata of ``n / 2`` children, each simulated on both arms of its stratum."""

    def __init__(self, config: Any) -> None:
        self.seed = int(config.seed)
        self.n = int(config.simulation.n_patients)
        self.factors = read_factors(tuple(config.free_parameters))

    def outcomes(self, values: Mapping[str, float]) -> Any:
        """A patient table (engine columns) at these values."""
        delay = float(os.environ.get("BLINASIM_TOY_SLEEP_S", "0"))
        if delay:
            time.sleep(delay)
        fr, fc = self.factors
        a = 0.1 + 0.4 * fr.cdf(float(values[fr.key]))
        cns = CNS_SLOPE * fc.cdf(float(values[fc.key]))
        u = rng.uniforms(self.seed, "example.toy.sensitivity", 0, self.n, k=4)
        pid = np.arange(self.n)
        high = pid >= self.n // 2
        frames = []
        for blina in (False, True):
            arm = np.where(high, "D" if blina else "C", "B" if blina else "A")
            p = 0.4 * a if blina else a
            rel = u[:, 0] < p
            frames.append(
                pd.DataFrame(
                    {
                        "patient_id": pid,
                        "arm": arm,
                        "risk_group": np.where(high, "SR-High", "SR-Average"),
                        "risk_reason": "randomized",
                        "randomization_day": 90.0,
                        "relapse_day": np.where(rel, 90.0 + 2000.0 * u[:, 1], np.nan),
                        "relapse_site": np.where(
                            rel, np.where(u[:, 2] < cns, "cns", "marrow"), None
                        ),
                        "relapse_cd19_negative": rel & blina & (u[:, 3] < 0.15),
                        "death_day": np.nan,
                        "second_malignancy_day": np.nan,
                        "eoi_flow": 0.0,
                    }
                )
            )
        patients = pd.concat(frames, ignore_index=True)
        for col in PATIENT_COLUMNS:  # every other column of the engine's table: not simulated
            if col not in patients:
                patients[col] = 0.0 if col.endswith("_flow") else np.nan
        return SimpleNamespace(patients=patients)

    def __call__(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        """The calibration's interface (no targets here)."""
        return {}


class NoOutcomes:
    """A simulator without ``outcomes`` (the sensitivity analysis refuses it)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def __call__(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        """Nothing."""
        return {}
