"""From a protocol arm to what the model needs: phases, kill rates, IT doses, infusions.

A :class:`~blinasim.protocol.core.Arm` lists phases with drugs; the model needs, per
phase, its kind, its span in days, its chemotherapy dose intensity relative to the reference
protocol (so that dose and schedule variants change the kill), the number of intrathecal
doses, and the blinatumomab infusions. :func:`arm_plan` computes those once per arm;
:func:`schedule_for` turns a plan into contiguous kernel segments up to a horizon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

import numpy as np
from numpy.typing import NDArray

from blinasim.model.leukemia import ChemoParams, Schedule
from blinasim.model.toxicity import PhaseSpan
from blinasim.protocol.doses import capped_dose, reference_child

IT_ROUTE = "IT"
BLINATUMOMAB = "blinatumomab"


class _Admin(TypingProtocol):
    drug: str
    dose: float
    unit: str
    route: str
    max_dose: float | None


class _PhaseLike(TypingProtocol):
    name: str
    kind: str
    start_day: int
    end_day: int

    @property
    def drugs(self) -> Sequence[_Admin]: ...

    def offsets(self, admin: _Admin) -> NDArray[np.int64]: ...


class _ArmLike(TypingProtocol):
    name: str
    stratum: str
    randomized_after: str | None
    control: bool

    @property
    def phases(self) -> Sequence[_PhaseLike]: ...


@dataclass(frozen=True)
class Infusion:
    """A continuous blinatumomab infusion, days ``[start, end)`` from diagnosis."""

    start: float
    end: float
    dose: float
    unit: str
    max_dose: float | None = None
    """Cap of one day's infusion in the unit without ``/m2`` (µg/day), or None."""


@dataclass(frozen=True)
class PlannedPhase:
    """One phase as the model sees it."""

    name: str
    kind: str
    start: float
    end: float
    intensity: float
    """Systemic chemotherapy dose intensity relative to the reference phase of this kind."""
    it_doses: int
    infusions: tuple[Infusion, ...]

    @property
    def span(self) -> PhaseSpan:
        """The phase as a :class:`PhaseSpan` (for toxicity)."""
        return PhaseSpan(name=self.name, kind=self.kind, start=self.start, end=self.end)


@dataclass(frozen=True)
class ArmPlan:
    """A protocol arm as the model sees it."""

    name: str
    stratum: str
    control: bool
    randomization_day: float
    """End of the phase after which the arm is randomized (NaN if never)."""
    phases: tuple[PlannedPhase, ...]

    @property
    def end_day(self) -> float:
        """Scheduled end of protocol therapy."""
        return max(p.end for p in self.phases)

    @property
    def has_blinatumomab(self) -> bool:
        """True if any phase infuses blinatumomab."""
        return any(p.infusions for p in self.phases)

    def phase_end(self, kind: str) -> float:
        """End day of the first phase of ``kind`` (NaN if none)."""
        for p in self.phases:
            if p.kind == kind:
                return p.end
        return float("nan")


def _capped(a: _Admin) -> float:
    """The dose of ``a`` after its ``max_dose`` cap, for the reference child."""
    if a.max_dose is None:
        return float(a.dose)
    ref = reference_child()
    return float(
        capped_dose(a.dose, a.unit, a.max_dose, bsa_m2=ref.bsa_m2, weight_kg=ref.weight_kg)
    )


def _systemic_per_day(phase: _PhaseLike) -> dict[tuple[str, str], float]:
    """Average daily amount per (drug, unit) of systemic (non-IT) chemotherapy.

    ``max_dose`` caps apply at the reference child of ``data/dose_bounds.yaml`` (the
    intensity is one number per phase, shared by all children).
    """
    out: dict[tuple[str, str], float] = {}
    length = max(phase.end_day - phase.start_day, 1)
    for a in phase.drugs:
        if a.route == IT_ROUTE or a.drug == BLINATUMOMAB:
            continue
        key = (a.drug, a.unit.removesuffix("/day"))
        amount = _capped(a) * len(phase.offsets(a)) / length
        if not np.isfinite(amount):
            raise ValueError(f"non-finite dose intensity of {a.drug} in phase {phase.name}")
        out[key] = out.get(key, 0.0) + amount
    return out


def reference_intensities(arms: Sequence[_ArmLike]) -> dict[str, dict[tuple[str, str], float]]:
    """Per phase kind, the daily drug amounts of its first phase in ``arms`` (in order)."""
    ref: dict[str, dict[tuple[str, str], float]] = {}
    for arm in arms:
        for ph in arm.phases:
            if ph.kind not in ref and _systemic_per_day(ph):
                ref[ph.kind] = _systemic_per_day(ph)
    return ref


def relative_intensity(
    phase: _PhaseLike, reference: Mapping[str, Mapping[tuple[str, str], float]]
) -> float:
    """Mean over the reference phase's drugs of (this phase's daily amount / reference's).

    A drug of the reference phase missing here counts 0; a drug not in the reference phase
    is ignored (the model has no kill rate for it). 1 when the kind has no reference.
    """
    ref = reference.get(phase.kind)
    if not ref:
        return 1.0
    mine = _systemic_per_day(phase)
    ratios = [mine.get(k, 0.0) / v for k, v in ref.items() if v > 0]
    return float(np.mean(ratios)) if ratios else 1.0


def _infusions(phase: _PhaseLike) -> tuple[Infusion, ...]:
    out: list[Infusion] = []
    for a in phase.drugs:
        if a.drug != BLINATUMOMAB:
            continue
        days = np.unique(np.asarray(phase.offsets(a), dtype=np.int64))
        if days.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(days) > 1)
        starts = np.concatenate([[days[0]], days[breaks + 1]])
        ends = np.concatenate([days[breaks], [days[-1]]]) + 1
        for s, e in zip(starts, ends, strict=True):
            out.append(
                Infusion(
                    start=float(phase.start_day + s),
                    end=float(phase.start_day + e),
                    dose=float(a.dose),
                    unit=a.unit,
                    max_dose=None if a.max_dose is None else float(a.max_dose),
                )
            )
    return tuple(sorted(out, key=lambda x: x.start))


def arm_plan(arm: _ArmLike, reference: Mapping[str, Mapping[tuple[str, str], float]]) -> ArmPlan:
    """The model's view of ``arm``; intensities relative to ``reference``."""
    phases = tuple(
        PlannedPhase(
            name=ph.name,
            kind=ph.kind,
            start=float(ph.start_day),
            end=float(ph.end_day),
            intensity=relative_intensity(ph, reference),
            it_doses=int(sum(len(ph.offsets(a)) for a in ph.drugs if a.route == IT_ROUTE)),
            infusions=_infusions(ph),
        )
        for ph in arm.phases
    )
    rand = float("nan")
    if arm.randomized_after is not None:
        rand = next(p.end for p in phases if p.name == arm.randomized_after)
    return ArmPlan(
        name=arm.name,
        stratum=arm.stratum,
        control=bool(arm.control),
        randomization_day=rand,
        phases=phases,
    )


def schedule_for(phases: Sequence[PlannedPhase], horizon_days: float, cp: ChemoParams) -> Schedule:
    """Contiguous segments from day 0 to ``horizon_days``; gaps and after-therapy are rest.

    A phase is cut at the start and end of each blinatumomab infusion; the phase's IT doses
    are spread evenly over it (a log-linear average).
    """
    cuts: set[float] = {0.0, float(horizon_days)}
    for p in phases:
        cuts.update((p.start, p.end))
        for inf in p.infusions:
            cuts.update((inf.start, inf.end))
    edges = np.array(sorted(c for c in cuts if 0.0 <= c <= horizon_days))
    start, end = edges[:-1], edges[1:]
    nseg = start.size
    chemo = np.zeros(nseg)
    it = np.zeros(nseg)
    blina = np.zeros(nseg)
    cap = np.full(nseg, np.inf)
    phase_idx = np.full(nseg, -1, dtype=np.int64)
    units = {inf.unit for p in phases for inf in p.infusions}
    if len(units) > 1:
        raise ValueError(f"blinatumomab doses in several units {sorted(units)}")
    mid = (start + end) / 2.0
    for j, p in enumerate(phases):
        inside = (mid >= p.start) & (mid < p.end)
        phase_idx[inside] = j
        chemo[inside] = cp.kill_for_kind(p.kind) * p.intensity
        it[inside] = p.it_doses * cp.it_log_kill_per_dose / max(p.end - p.start, 1.0)
        for inf in p.infusions:
            on = (mid >= inf.start) & (mid < inf.end)
            blina[on] = inf.dose
            cap[on] = np.inf if inf.max_dose is None else inf.max_dose
    return Schedule(
        start=start,
        end=end,
        chemo_kill=chemo,
        it_kill=it,
        blina_dose=blina,
        blina_unit=units.pop() if units else "µg/m²/day",
        phase=phase_idx,
        blina_cap=cap,
    )
