"""A cheap toy simulator with the calibration's interface (tests only, never a result)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from blinasim import rng
from blinasim.calibrate.summaries import SummaryValue

A = "chemo.kill_maintenance_per_day"
B = "blinatumomab.kmax_per_day"


class ToySimulator:
    """Summaries as smooth functions of two parameters plus fixed-seed 'Monte Carlo' noise."""

    def __init__(self, config: Any) -> None:
        self.seed = int(config.seed)
        self.n = int(config.simulation.n_patients)

    def __call__(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        delay = float(os.environ.get("BLINASIM_TOY_SLEEP_S", "0"))
        if delay:
            time.sleep(delay)  # lets the resume test kill a run mid-way
        a, b = values[A], values[B]
        noise = rng.normals(self.seed, "example.toy.noise", 0, 3) / math.sqrt(self.n)
        pa = 0.5 + a + 0.1 * noise[0]
        pb = 0.5 * b + 0.1 * noise[1]
        pc = a + 0.1 * b + 0.1 * noise[2]
        se = 0.1 / math.sqrt(self.n)
        return {
            "toy_a": SummaryValue(float(pa), se, self.n),
            "toy_b": SummaryValue(float(np.clip(pb, 0, 1)), se, self.n),
            "toy_c": SummaryValue(float(pc), se, self.n),
        }


class LinearToySimulator:
    """Noise-free linear summaries: with normal targets the posterior is known exactly."""

    def __init__(self, config: Any) -> None:
        self.n = int(config.simulation.n_patients)

    def __call__(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        a, b = values[A], values[B]
        return {
            "toy_a": SummaryValue(0.5 + a, 0.0, self.n),
            "toy_b": SummaryValue(0.5 * b, 0.0, self.n),
            "toy_c": SummaryValue(a + 0.1 * b, 0.0, self.n),
        }


_UNPICKLED = [0]


class WhoAmI:
    """Returns (process id, unpickled copies so far in this process, x)."""

    def __init__(self) -> None:
        self.tag = "who"  # a non-empty state, so that unpickling calls __setstate__

    def __setstate__(self, state: dict[str, Any]) -> None:
        _UNPICKLED[0] += 1
        self.__dict__.update(state)

    def __call__(self, x: int) -> tuple[int, int, int]:
        return os.getpid(), _UNPICKLED[0], x
