"""Simulators the calibration evaluates, and the log-posterior it samples.

A simulator maps the free parameters' values to the simulated counterpart of every target
(:class:`~blinasim.calibrate.summaries.SummaryValue` by target id). The real one,
:class:`ModelSimulator`, runs the mechanistic model on a fixed virtual cohort with a fixed
seed: common random numbers, so the likelihood surface is smooth in the parameters and an
evaluation depends only on them (never on the worker or the order of evaluation).

The simulator is named in the config (``simulation.simulator: "module:Class"``) and built
as ``Class(config)``, so tests can run the whole machinery on a cheap toy.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from blinasim.calibrate.config import CalibrationConfig
from blinasim.calibrate.likelihood import FreeParameter, free_parameters, log_likelihood, log_prior
from blinasim.calibrate.summaries import SummaryValue, _frame, summarize
from blinasim.calibrate.targets import Target
from blinasim.cohort import sample_cohort
from blinasim.config import ParameterSet
from blinasim.errors import InputError
from blinasim.model.engine import ModelParams, simulate
from blinasim.protocol import load_protocol
from blinasim.units import DAYS_PER_YEAR

FloatArray = NDArray[np.float64]


class Simulator(Protocol):
    """What the calibration needs from a simulator."""

    def __call__(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        """Simulated counterpart of every target at these parameter values."""
        ...


class ModelSimulator:
    """The mechanistic model on a fixed cohort with a fixed seed (common random numbers).

    Built lazily in each worker process (the cohort and protocol are not pickled).
    """

    def __init__(self, config: CalibrationConfig) -> None:
        self.config = config
        self._state: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "_state": None}

    def _setup(self) -> dict[str, Any]:
        if self._state is None:
            cfg = self.config
            self._state = {
                "cohort": sample_cohort(cfg.simulation.n_patients, seed=cfg.seed),
                "protocol": load_protocol(cfg.simulation.protocol),
                "base": ParameterSet.load(),
                "targets": cfg.load_targets().targets,
                "vx": cfg.virtual.experiments(),
            }
        return self._state

    def outcomes(self, values: Mapping[str, float]) -> Any:
        """The simulated :class:`~blinasim.model.engine.Outcomes` at these values."""
        st = self._setup()
        ps = st["base"].with_values(dict(values), source="calibrated: proposal")
        return simulate(
            st["cohort"],
            st["protocol"],
            params=ps,
            seed=self.config.seed,
            horizon_days=self.config.simulation.horizon_days,
        )

    def __call__(self, values: Mapping[str, float]) -> dict[str, SummaryValue]:
        """Simulate the cohort with these values and summarize it."""
        st = self._setup()
        ps = st["base"].with_values(dict(values), source="calibrated: proposal")
        out = self.outcomes(values)
        return summarize(
            out,
            st["targets"],
            params=ModelParams.from_parameters(ps),
            blina_arms=self.config.simulation.blinatumomab_arms,
            vx=st["vx"],
            seed=self.config.seed,
        )


def dfs_curve_task(args: tuple[CalibrationConfig, dict[str, float], tuple[float, ...]]) -> Any:
    """DFS from randomization at ``years`` by stratum and arm kind for one parameter draw.

    Returns a DataFrame with columns stratum, arm, years, dfs, n (a module-level function so
    that it can run in worker processes).
    """
    import pandas as pd

    config, values, years = args
    sim = ModelSimulator(config)
    out = sim.outcomes(values)
    f = _frame(out.patients, config.simulation.blinatumomab_arms)
    rows = []
    for stratum in ("all", "SR-Average", "SR-High"):
        sm = np.ones(f.arm.size, dtype=bool) if stratum == "all" else f.group == stratum
        for arm, am in (("blinatumomab", f.blina), ("chemotherapy", ~f.blina)):
            m = f.randomized & am & sm
            t = f.first_event[m] - f.rand[m]
            for y in years:
                rows.append(
                    {
                        "stratum": stratum,
                        "arm": arm,
                        "years": y,
                        "dfs": float(np.mean(t > y * DAYS_PER_YEAR)) if t.size else math.nan,
                        "n": int(t.size),
                    }
                )
    return pd.DataFrame(rows)


def build_simulator(config: CalibrationConfig) -> Simulator:
    """Instantiate ``config.simulation.simulator`` (``"module:Class"``) with the config."""
    spec = config.simulation.simulator
    mod, _, attr = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            "an importable simulator 'module:Class'", field="simulation.simulator", got=spec
        ) from exc
    sim: Simulator = cls(config)
    return sim


class LogPosterior:
    """The log posterior ``theta -> (log posterior, blob)``.

    The blob holds every target's simulated value then its Monte Carlo SE (fit and held-out
    targets alike), for posterior predictions.

    Picklable (module-level class), so emcee can hand it to worker processes or Dask.
    """

    def __init__(self, config: CalibrationConfig, simulator: Simulator | None = None) -> None:
        self.config = config
        self.simulator = simulator if simulator is not None else build_simulator(config)
        ts = config.load_targets()
        self.targets: tuple[Target, ...] = ts.targets
        self.fit_targets: tuple[Target, ...] = tuple(ts.get(i) for i in config.fit)
        self.free: tuple[FreeParameter, ...] = free_parameters(
            ParameterSet.load(), config.free_parameters
        )

    @property
    def n_blob(self) -> int:
        """Length of the blob vector."""
        return 2 * len(self.targets)

    def values(self, theta: FloatArray) -> dict[str, float]:
        """Parameter values by key."""
        return {fp.key: float(x) for fp, x in zip(self.free, theta, strict=True)}

    def evaluate(self, theta: FloatArray) -> tuple[float, float, dict[str, SummaryValue]]:
        """(log prior, log likelihood, summaries); summaries empty outside the prior."""
        lp = log_prior(self.free, theta)
        if not math.isfinite(lp):
            return lp, -math.inf, {}
        summ = self.simulator(self.values(theta))
        ll = log_likelihood(self.fit_targets, summ, self.config.discrepancy_sd)
        return lp, ll, summ

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Log posterior and blob (NaN blob outside the prior)."""
        lp, ll, summ = self.evaluate(np.asarray(theta, dtype=np.float64))
        blob = np.full(self.n_blob, np.nan)
        m = len(self.targets)
        for i, t in enumerate(self.targets):
            if t.id in summ:
                blob[i] = summ[t.id].value
                blob[m + i] = summ[t.id].mc_se
        total = lp + ll
        return (total if math.isfinite(total) else -math.inf), blob


__all__ = ["LogPosterior", "ModelSimulator", "Simulator", "build_simulator"]
