"""From a protocol arm to what the model needs: phases, kill rates, IT doses, infusions.

A :class:`~blinasim.protocol.core.Arm` lists phases with drugs; the model needs, per
phase, its kind, its span in days, its systemic chemotherapy (so that dose and schedule
variants change the kill through the drug-class Emax of :mod:`blinasim.model.chemo_effect`),
the number of intrathecal doses, and the blinatumomab infusions. :func:`arm_plan` computes
those once per arm; :func:`schedule_for` turns a plan into contiguous kernel segments up to
a horizon. The reference phases are AALL1731's (:func:`reference_intensities`): the phase
kill rates were calibrated on them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from typing import Protocol as TypingProtocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from blinasim.model import chemo_effect as ce
from blinasim.model.leukemia import ChemoParams, Schedule
from blinasim.model.toxicity import PhaseSpan
from blinasim.protocol import load_protocol
from blinasim.protocol.doses import reference_child

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


Reference = Mapping[str, Mapping[ce.AmountKey, float]]
"""Per phase kind, the daily drug amounts (per m², reference child) of its reference phase."""


@dataclass(frozen=True)
class PlannedPhase:
    """One phase as the model sees it."""

    name: str
    kind: str
    start: float
    end: float
    doses: tuple[ce.SystemicDose, ...]
    """Systemic chemotherapy of the phase (caps kept: applied per child)."""
    reference: Reference
    """The reference phases its kill is relative to (:func:`reference_intensities`)."""
    it_doses: int
    infusions: tuple[Infusion, ...]

    @property
    def span(self) -> PhaseSpan:
        """The phase as a :class:`PhaseSpan` (for toxicity)."""
        return PhaseSpan(name=self.name, kind=self.kind, start=self.start, end=self.end)

    def kill(
        self,
        cp: ChemoParams,
        bsa_m2: ArrayLike | None = None,
        weight_kg: ArrayLike | None = None,
    ) -> NDArray[np.float64]:
        """Systemic kill per day at sensitivity 1, per child (default: the reference child).

        ``max_dose`` caps apply at each child's ``bsa_m2`` / ``weight_kg``.
        """
        ref = reference_child()
        bsa = ref.bsa_m2 if bsa_m2 is None else bsa_m2
        wt = ref.weight_kg if weight_kg is None else weight_kg
        mine = ce.class_amounts(ce.daily_amounts(self.doses, bsa, wt), cp)
        return ce.kill_rate(self.kind, mine, _class_reference(self.reference, cp), cp)

    def intensity(self, cp: ChemoParams) -> float:
        """Kill at the reference child relative to the kind's reference kill (1 if none)."""
        k = cp.kill_for_kind(self.kind)
        return float(self.kill(cp)) / k if k > 0 else 1.0


def _class_reference(reference: Reference, cp: ChemoParams) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind, amounts in reference.items():
        out[kind] = {c: float(v) for c, v in ce.class_amounts(amounts, cp).items()}
    return out


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


def _systemic_doses(phase: _PhaseLike) -> tuple[ce.SystemicDose, ...]:
    """The systemic chemotherapy lines of ``phase`` (IT, leucovorin, blinatumomab left out)."""
    length = max(phase.end_day - phase.start_day, 1)
    return tuple(
        ce.SystemicDose(
            drug=a.drug,
            dose=float(a.dose),
            unit=a.unit,
            max_dose=None if a.max_dose is None else float(a.max_dose),
            per_day=len(phase.offsets(a)) / length,
        )
        for a in phase.drugs
        if a.route != IT_ROUTE and a.drug in ce.DRUG_CLASS
    )


def _systemic_per_day(phase: _PhaseLike) -> dict[ce.AmountKey, float]:
    """Average daily amount per (drug, basis) of systemic chemotherapy, reference child."""
    ref = reference_child()
    amounts = ce.daily_amounts(_systemic_doses(phase), ref.bsa_m2, ref.weight_kg)
    out: dict[ce.AmountKey, float] = {}
    for k, v in amounts.items():
        if not np.isfinite(v).all():
            raise ValueError(f"non-finite dose intensity of {k[0]} in phase {phase.name}")
        out[k] = float(v)
    return out


def _first_phases(arms: Sequence[_ArmLike]) -> dict[str, dict[ce.AmountKey, float]]:
    ref: dict[str, dict[ce.AmountKey, float]] = {}
    for arm in arms:
        for ph in arm.phases:
            if ph.kind not in ref and _systemic_per_day(ph):
                ref[ph.kind] = _systemic_per_day(ph)
    return ref


CALIBRATION_PROTOCOL = "aall1731"
"""The protocol whose phases the kill rates were calibrated on."""


@functools.lru_cache(maxsize=1)
def calibration_reference() -> dict[str, dict[ce.AmountKey, float]]:
    """The reference phases the kill rates were calibrated on.

    Per phase kind, the daily drug amounts of the first phase of that kind in the shipped
    AALL1731 control arms (A, then C).
    """
    proto = load_protocol(CALIBRATION_PROTOCOL)
    arms: list[Any] = [proto.arm(n) for n in proto.arm_names]
    return _first_phases([a for a in arms if a.control])


def reference_intensities(arms: Sequence[_ArmLike] = ()) -> dict[str, dict[ce.AmountKey, float]]:
    """Per phase kind, the daily drug amounts of its reference phase.

    The reference is AALL1731's (:func:`calibration_reference`) for every kind it has, so
    that a protocol's own control arm (a variant of AALL1731 in a what-if protocol) is
    measured against the phases the kill rates mean; ``arms`` (in order) supply the first
    phase of a kind AALL1731 lacks.
    """
    return {**_first_phases(arms), **calibration_reference()}


def relative_intensity(
    phase: _PhaseLike, reference: Reference, cp: ChemoParams | None = None
) -> float:
    """Kill of ``phase`` relative to the reference kill of its kind (drug-class Emax).

    ``sum_c share_c * E_c(x_c) / E_c(1)`` plus the classes the reference phase lacks; 1 for
    the reference phase itself and when the kind has no reference or no kill rate.
    """
    cps = ChemoParams.load() if cp is None else cp
    planned = _planned(phase, reference)
    return planned.intensity(cps)


def _planned(ph: _PhaseLike, reference: Reference) -> PlannedPhase:
    return PlannedPhase(
        name=ph.name,
        kind=ph.kind,
        start=float(ph.start_day),
        end=float(ph.end_day),
        doses=_systemic_doses(ph),
        reference=reference,
        it_doses=int(sum(len(ph.offsets(a)) for a in ph.drugs if a.route == IT_ROUTE)),
        infusions=_infusions(ph),
    )


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


def arm_plan(arm: _ArmLike, reference: Reference) -> ArmPlan:
    """The model's view of ``arm``; kill rates relative to ``reference``."""
    for ph in arm.phases:
        _systemic_per_day(ph)  # refuse a non-finite dose intensity early
    phases = tuple(_planned(ph, reference) for ph in arm.phases)
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
    are spread evenly over it (a log-linear average). Chemotherapy kill is the reference
    child's (the kernel takes one kill rate per segment); :meth:`PlannedPhase.kill` gives
    it per child with that child's ``max_dose`` caps.
    """
    for p in phases[:1]:
        ce.check_shares(cp, _class_reference(p.reference, cp))
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
        chemo[inside] = float(p.kill(cp))
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
