"""The mechanistic outcome source: trial patients from :func:`blinasim.model.simulate`.

For trial ``replicate`` the adapter draws eligible children with
:func:`blinasim.cohort.sample_cohort` and runs each through every arm of their stratum
(common random numbers: the same child has the same draws on each arm) with the root
seed of that replicate (a stable function of the trial seed and the replicate index). The
model decides each child's risk group and randomization day (end of induction for
SR-Average, end of consolidation for SR-High, no randomization when ineligible); the
trial engine decides the arm, and the adapter returns that arm's relapse, death and
second-malignancy days, converted to days from randomization.

With ``bank_size`` the children come from one bank of simulated children per (seed,
parameters), drawn once per process: trial ``r``'s enrollee ``i`` is bank child
``floor(u * bank_size)`` with ``u`` from the per-patient stream ``trial.bank``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim import rng
from blinasim.config import ParameterSet
from blinasim.model.engine import Outcomes
from blinasim.trial.design import DAYS_PER_YEAR, MechanisticSource, TrialDesign
from blinasim.trial.outcomes import (
    CAUSE_DEATH,
    CAUSE_NONE,
    CAUSE_RELAPSE,
    CAUSE_SECOND_MALIGNANCY,
    Enrollees,
    EventTimes,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class _Simulated:
    """Simulated children: per child risk group etc.; per protocol arm the event days."""

    risk_group: NDArray[np.object_]
    randomization_day: FloatArray
    screened: IntArray
    relapse: dict[str, FloatArray]
    death: dict[str, FloatArray]
    smn: dict[str, FloatArray]
    cohort: pd.DataFrame
    outcomes: Outcomes


def _seed_for(seed: int, name: str, *keys: int) -> int:
    state = rng.seed_sequence(seed, name, *keys).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def simulate_children(
    n: int, seed: int, protocol: Any, params: ParameterSet | None, horizon_days: float
) -> tuple[pd.DataFrame, Outcomes]:
    """The first ``n`` eligible children of root ``seed`` and their model outcomes."""
    from blinasim.cohort import screen_cohort
    from blinasim.model.engine import simulate

    cohort = screen_cohort(n, seed=seed, params=params).patients
    return cohort, simulate(cohort, protocol, params=params, seed=seed, horizon_days=horizon_days)


def _simulate(
    n: int, seed: int, protocol: Any, params: ParameterSet | None, horizon_days: float
) -> _Simulated:
    cohort, out = simulate_children(n, seed, protocol, params, horizon_days)
    pts = out.patients
    pid = pts["patient_id"].to_numpy(dtype=np.int64)
    first = ~pd.Index(pid).duplicated()
    per_child = pts.loc[first].set_index("patient_id").reindex(cohort["patient_id"])
    relapse: dict[str, FloatArray] = {}
    death: dict[str, FloatArray] = {}
    smn: dict[str, FloatArray] = {}
    size = len(cohort)
    for arm, rows in pts.groupby("arm", sort=False, observed=True):
        ids = rows["patient_id"].to_numpy(dtype=np.int64)
        for store, col in (
            (relapse, "relapse_day"),
            (death, "death_day"),
            (smn, "second_malignancy_day"),
        ):
            a = np.full(size, np.nan)
            a[ids] = rows[col].to_numpy(dtype=np.float64)
            store[str(arm)] = a
    cand = cohort["candidate_index"].to_numpy(dtype=np.int64)
    return _Simulated(
        risk_group=per_child["risk_group"].astype(str).to_numpy(dtype=object),
        randomization_day=per_child["randomization_day"].to_numpy(dtype=np.float64),
        screened=cand + 1,
        relapse=relapse,
        death=death,
        smn=smn,
        cohort=cohort,
        outcomes=out,
    )


_BANKS: dict[tuple[Any, ...], _Simulated] = {}


class MechanisticOutcomes:
    """Outcome source backed by the mechanistic patient model."""

    def __init__(self, design: TrialDesign, params: Any = None) -> None:
        from blinasim.protocol.loader import load_protocol

        src = design.outcomes
        if not isinstance(src, MechanisticSource):
            raise TypeError("MechanisticOutcomes needs a design with a mechanistic source")
        self.source = src
        self.strata = tuple(design.population.strata)
        self.protocol = load_protocol(src.protocol)
        if params is None and src.parameters is not None:
            params = ParameterSet.load(Path(src.parameters))
        self.params: ParameterSet | None = params
        self.horizon_days = design.max_follow_up_years * DAYS_PER_YEAR + 120.0
        names = [g.name for g in design.population.risk_groups]
        self.risk_group_names = tuple(names)
        ctrl, exp = design.allocation.control.id, design.allocation.experimental.id
        # (stratum code, arm code) -> protocol arm name
        self.cell_arm = {
            (s, a): src.arms[arm_id][name]
            for s, name in enumerate(self.strata)
            for a, arm_id in enumerate((ctrl, exp))
        }
        self._current: tuple[int, int, _Simulated, IntArray | None] | None = None

    # -- simulated children ------------------------------------------------------------

    def _bank(self, seed: int) -> _Simulated:
        size = self.source.bank_size
        assert size is not None
        key = (seed, size, self.source.protocol, id(self.params), self.horizon_days)
        bank = _BANKS.get(key)
        if bank is None:
            bank = _simulate(
                size,
                _seed_for(seed, "trial.bank.model"),
                self.protocol,
                self.params,
                self.horizon_days,
            )
            _BANKS.clear()
            _BANKS[key] = bank
        return bank

    def _children(self, n: int, seed: int, replicate: int) -> tuple[_Simulated, IntArray | None]:
        cur = self._current
        if cur is not None and cur[0] == seed and cur[1] == replicate:
            sim, rows = cur[2], cur[3]
            have = sim.randomization_day.size if rows is None else rows.size
            if have >= n:
                return sim, rows
        if self.source.bank_size is not None:
            bank = self._bank(seed)
            u = rng.uniforms(seed, "trial.bank", 0, n, replicate)
            rows = np.minimum(
                (u * self.source.bank_size).astype(np.int64), self.source.bank_size - 1
            )
            self._current = (seed, replicate, bank, rows)
            return bank, rows
        sim = _simulate(
            n,
            _seed_for(seed, "trial.model", replicate),
            self.protocol,
            self.params,
            self.horizon_days,
        )
        self._current = (seed, replicate, sim, None)
        return sim, None

    def children_detail(
        self, n: int, *, seed: int, replicate: int
    ) -> tuple[pd.DataFrame, Outcomes, IntArray]:
        """Covariates and full model outcomes behind trial patients ``0 .. n-1``.

        Returns the cohort, the model's outcomes (every arm of each child's stratum) and,
        for each trial patient, the row of its child in them (the identity unless the
        design draws children from a bank). These are the children :meth:`outcomes` used:
        after a trial, the simulation it ran is reused, not repeated.
        """
        sim, rows = self._children(n, seed, replicate)
        child = np.arange(n, dtype=np.int64) if rows is None else rows[:n]
        return sim.cohort, sim.outcomes, child

    # -- OutcomeSource -----------------------------------------------------------------

    def enroll(self, n: int, *, seed: int, replicate: int) -> Enrollees:
        """Risk group and randomization day of ``n`` simulated eligible children."""
        sim, rows = self._children(n, seed, replicate)
        sel = np.arange(n) if rows is None else rows[:n]
        groups = sim.risk_group[sel]
        names = list(self.risk_group_names)
        for g in sorted(set(groups.tolist()) - set(names)):
            names.append(g)
        code = {g: i for i, g in enumerate(names)}
        rg = np.array([code[g] for g in groups.tolist()], dtype=np.int64)
        stratum_of = np.array(
            [self.strata.index(g) if g in self.strata else -1 for g in names], dtype=np.int64
        )
        rday = sim.randomization_day[sel]
        stratum = np.where(np.isfinite(rday), stratum_of[rg], -1)
        # a bank child counts as screened once
        screened = sim.screened[:n] if rows is None else np.arange(1, n + 1, dtype=np.int64)
        return Enrollees(
            risk_group_names=tuple(names),
            risk_group=rg,
            stratum=stratum.astype(np.int64),
            randomization_delay=np.where(stratum >= 0, rday, np.nan),
            screened=screened,
        )

    def outcomes(
        self,
        patient: IntArray,
        stratum: IntArray,
        arm: IntArray,
        *,
        seed: int,
        replicate: int,
    ) -> EventTimes:
        """DFS (first of relapse, death, second malignancy) and death, from randomization."""
        n_max = int(patient.max()) + 1 if patient.size else 0
        sim, rows = self._children(n_max, seed, replicate)
        child = patient if rows is None else rows[patient]
        m = patient.size
        rel = np.full(m, np.inf)
        dth = np.full(m, np.inf)
        smn = np.full(m, np.inf)
        for (s, a), name in self.cell_arm.items():
            sel = (stratum == s) & (arm == a)
            if not sel.any():
                continue
            c = child[sel]
            rel[sel] = np.nan_to_num(sim.relapse[name][c], nan=np.inf)
            dth[sel] = np.nan_to_num(sim.death[name][c], nan=np.inf)
            smn[sel] = np.nan_to_num(sim.smn[name][c], nan=np.inf)
        rday = sim.randomization_day[child]
        first = np.minimum(np.minimum(rel, dth), smn)
        cause = np.full(m, CAUSE_NONE, dtype=np.int64)
        finite = np.isfinite(first)
        cause[finite & (smn == first)] = CAUSE_SECOND_MALIGNANCY
        cause[finite & (dth == first)] = CAUSE_DEATH
        cause[finite & (rel == first)] = CAUSE_RELAPSE
        dfs = np.maximum(first - rday, 0.0)
        death = np.maximum(dth - rday, 0.0)
        return EventTimes(dfs=dfs, dfs_cause=cause, death=death)


__all__ = ["MechanisticOutcomes", "simulate_children"]
