"""The mechanistic outcome source: trial patients from :func:`blinasim.model.simulate`.

For trial ``replicate`` the adapter draws eligible children with
:func:`blinasim.cohort.sample_cohort` and runs each through every arm of their stratum
(common random numbers: the same child has the same draws on each arm) with the root
seed of that replicate (a stable function of the trial seed and the replicate index). The
model decides each child's risk group and randomization day (end of consolidation for
SR-Average and SR-High, no randomization when ineligible); the
trial engine decides the arm, and the adapter returns that arm's relapse, death and
second-malignancy days, converted to days from randomization.

With ``bank_size`` the children come from one bank of simulated children per (seed,
parameters, protocol), drawn once per outcome source (a block of replicates) and kept by
that source only, keyed by content (:func:`content_digest`): trial ``r``'s enrollee ``i``
is bank child ``floor(u * bank_size)`` with ``u`` from the per-patient stream
``trial.bank``. The bank depends only on the seed and the contents, so the numbers do not
depend on how replicates are grouped.

:func:`check_protocol_placement` refuses a protocol whose arms the two-arm design cannot
all run (arms it cannot place, a stratum without arms).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim import rng
from blinasim.cohort import screen_cohort
from blinasim.config import ParameterSet
from blinasim.errors import ProtocolError
from blinasim.model.engine import Outcomes, simulate
from blinasim.protocol.loader import load_protocol
from blinasim.protocol.schema import STRATA
from blinasim.trial.design import MechanisticSource, TrialDesign
from blinasim.trial.sources.base import (
    CAUSE_DEATH,
    CAUSE_NONE,
    CAUSE_RELAPSE,
    CAUSE_SECOND_MALIGNANCY,
    Enrollees,
    EventTimes,
)
from blinasim.units import DAYS_PER_YEAR

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


def content_digest(params: ParameterSet | None, protocol: Any) -> str:
    """A stable hash of the parameter values and the resolved protocol's contents.

    ``None`` parameters stand for the shipped file, hashed by its values too. Two parameter
    sets with equal values (and equal protocols) share a digest; any difference in a value,
    a dose, a day or a phase changes it.
    """
    ps = ParameterSet.given(params)
    values = {k: p.value for k, p in sorted(ps.params.items())}
    h = hashlib.sha256()
    h.update(json.dumps(values, sort_keys=True, default=repr).encode())
    h.update(b"\0")
    h.update(repr(protocol).encode())
    return h.hexdigest()


def check_protocol_placement(design: TrialDesign, protocol: Any = None) -> None:
    """Refuse a protocol the design cannot run in full (one :class:`ProtocolError` line).

    A two-arm design places protocol arms by ``outcomes.arms`` (trial arm -> stratum ->
    protocol arm). Every arm of the protocol must be placed: mapped there, or the only arm
    of a stratum that is not randomized (SR-Favorable: chemotherapy, no randomization).
    Every mapped arm must exist and serve its stratum, and every stratum the model assigns
    children to must have an arm (else its children would vanish from the trial). A
    protocol with more variants than the design has arms (``aall1731_three_cycles``: B3 and
    B5 beside A and B) is refused, naming the arms: ``blinasim compare`` runs such variants.
    """
    src = design.outcomes
    if not isinstance(src, MechanisticSource):
        return
    proto = protocol if protocol is not None else load_protocol(src.protocol)
    arms = proto.arms
    ctrl, exp = design.allocation.control.id, design.allocation.experimental.id
    randomized = list(design.population.strata)
    problems: list[str] = []
    placed: set[str] = set()
    for arm_id in (ctrl, exp):
        for stratum in randomized:
            name = src.arms[arm_id][stratum]
            placed.add(name)
            if name not in arms:
                problems.append(f"no arm {name} for trial arm {arm_id} in {stratum}")
            elif arms[name].stratum != stratum:
                problems.append(
                    f"arm {name} (trial arm {arm_id} in {stratum}) serves {arms[name].stratum}"
                )
            elif arms[name].randomized_after is None:
                problems.append(f"arm {name} (trial arm {arm_id} in {stratum}) is not randomized")
    for stratum in sorted({a.stratum for a in arms.values()} - set(randomized)):
        own = [a for a in arms.values() if a.stratum == stratum]
        if len(own) == 1 and own[0].randomized_after is None:
            placed.add(own[0].name)
    unplaced = [n for n in arms if n not in placed]
    if unplaced:
        what = (
            f"arm {unplaced[0]} has" if len(unplaced) == 1 else f"arms {', '.join(unplaced)} have"
        )
        problems.append(
            f"{what} no place in the {len(randomized)}-stratum "
            f"two-arm design {design.name} (use 'blinasim compare' to compare protocol variants)"
        )
    # off-study children fall back to a stand-in arm when the protocol has none
    uncovered = [
        s for s in STRATA if s != "off-study" and not any(a.stratum == s for a in arms.values())
    ]
    for s in uncovered:
        if s not in randomized:  # a randomized stratum is already reported above
            problems.append(f"no arm for {s} (the model assigns children to it)")
    if problems:
        # the problems go in the message itself: a "got" value would be cut at 80 characters
        raise ProtocolError(
            f"a protocol whose every arm the design {design.name} runs (found: "
            + "; ".join(problems)
            + ")",
            file=getattr(proto, "origin", src.protocol),
            field="arms",
        )


class MechanisticOutcomes:
    """Outcome source backed by the mechanistic patient model."""

    def __init__(self, design: TrialDesign, params: Any = None) -> None:
        src = design.outcomes
        if not isinstance(src, MechanisticSource):
            raise TypeError("MechanisticOutcomes needs a design with a mechanistic source")
        self.source = src
        self.strata = tuple(design.population.strata)
        self.protocol = load_protocol(src.protocol)
        check_protocol_placement(design, self.protocol)
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
        self._content_key = content_digest(self.params, self.protocol)
        self._banks: dict[tuple[Any, ...], _Simulated] = {}

    # -- simulated children ------------------------------------------------------------

    def _bank(self, seed: int) -> _Simulated:
        size = self.source.bank_size
        assert size is not None
        # keyed by content (never by id(): a reused address would hand a new parameter set
        # the children of the previous one); at most one bank held, by this instance
        key = (seed, size, self._content_key, self.horizon_days)
        bank = self._banks.get(key)
        if bank is None:
            bank = _simulate(
                size,
                _seed_for(seed, "trial.bank.model"),
                self.protocol,
                self.params,
                self.horizon_days,
            )
            self._banks.clear()
            self._banks[key] = bank
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


__all__ = [
    "MechanisticOutcomes",
    "check_protocol_placement",
    "content_digest",
    "simulate_children",
]
