"""Grade >= 3 adverse events and death in remission, per treatment phase.

Febrile neutropenia and sepsis have a constant daily hazard that depends on the phase kind
(so a longer or an added intensive phase carries more risk); cytokine release syndrome and
neurotoxicity have a probability per blinatumomab cycle. A patient has at most one event of
each type per phase (the trial tables count patients with >= 1 event, so that is what the
hazards are fitted to): ``P(>= 1 event over an arm) = 1 - exp(-sum_phases h_kind * days)``.

The event day is uniform within the phase (``u / p`` of the same uniform that decided the
event, which is uniform on (0, 1) given ``u < p``); the grade is 4 with a per-event
probability, else 3. Death in remission (treatment-related mortality) has a daily hazard by
phase kind; its day comes from inverting the cumulative hazard at ``-log(u)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from blinasim.config import ParameterSet
from blinasim.model import _draws

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

EVENTS = ("febrile_neutropenia", "sepsis", "cytokine_release_syndrome", "neurotoxicity")
KINDS = (
    "induction",
    "consolidation",
    "interim_maintenance",
    "delayed_intensification",
    "maintenance",
    "blinatumomab",
    "rest",
)


@dataclass(frozen=True)
class ToxicityParams:
    """The ``toxicity`` section of ``parameters.yaml``."""

    fn_hazard_per_day_induction: float
    fn_hazard_per_day_consolidation: float
    fn_hazard_per_day_interim_maintenance: float
    fn_hazard_per_day_delayed_intensification: float
    fn_hazard_per_day_maintenance: float
    fn_hazard_per_day_blinatumomab: float
    sepsis_hazard_per_day_induction: float
    sepsis_hazard_per_day_consolidation: float
    sepsis_hazard_per_day_interim_maintenance: float
    sepsis_hazard_per_day_delayed_intensification: float
    sepsis_hazard_per_day_maintenance: float
    sepsis_hazard_per_day_blinatumomab: float
    fn_sr_high_hazard_ratio: float
    sepsis_sr_high_hazard_ratio: float
    crs_prob_per_blina_cycle: float
    neurotoxicity_prob_per_blina_cycle: float
    fn_grade4_fraction: float
    sepsis_grade4_fraction: float
    crs_grade4_fraction: float
    neurotoxicity_grade4_fraction: float
    trm_hazard_per_day_induction: float
    trm_hazard_per_day_intensive: float
    trm_hazard_per_day_maintenance: float
    trm_hazard_per_day_blinatumomab: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> ToxicityParams:
        """Read the ``toxicity`` section (default: the shipped parameter file)."""
        return (params or ParameterSet.load()).section("toxicity", cls)

    def hazard(self, event: str, kind: str) -> float:
        """Daily hazard of ``event`` (FN or sepsis) in a phase of ``kind``."""
        prefix = {"febrile_neutropenia": "fn", "sepsis": "sepsis"}[event]
        name = f"{prefix}_hazard_per_day_{kind}"
        return float(getattr(self, name, 0.0))

    def cycle_probability(self, event: str) -> float:
        """Probability of ``event`` (CRS or neurotoxicity) per blinatumomab cycle."""
        return {
            "cytokine_release_syndrome": self.crs_prob_per_blina_cycle,
            "neurotoxicity": self.neurotoxicity_prob_per_blina_cycle,
        }[event]

    def grade4_fraction(self, event: str) -> float:
        """Share of grade >= 3 events of this type that are grade 4."""
        return {
            "febrile_neutropenia": self.fn_grade4_fraction,
            "sepsis": self.sepsis_grade4_fraction,
            "cytokine_release_syndrome": self.crs_grade4_fraction,
            "neurotoxicity": self.neurotoxicity_grade4_fraction,
        }[event]

    def trm_hazard(self, kind: str) -> float:
        """Daily hazard of death in remission during a phase of ``kind``."""
        if kind == "induction":
            return self.trm_hazard_per_day_induction
        if kind in ("consolidation", "interim_maintenance", "delayed_intensification"):
            return self.trm_hazard_per_day_intensive
        if kind == "maintenance":
            return self.trm_hazard_per_day_maintenance
        if kind == "blinatumomab":
            return self.trm_hazard_per_day_blinatumomab
        return 0.0


@dataclass(frozen=True)
class PhaseSpan:
    """One protocol phase on the time axis (days from diagnosis)."""

    name: str
    kind: str
    start: float
    end: float


@dataclass(frozen=True)
class AdverseEvents:
    """One entry per adverse event (row index into the patient arrays)."""

    patient_index: IntArray
    phase: NDArray[np.object_]
    event: NDArray[np.object_]
    grade: IntArray
    day: FloatArray


def event_probability(
    event: str, phase: PhaseSpan, tp: ToxicityParams, hazard_ratio: FloatArray | float = 1.0
) -> FloatArray:
    """Probability of >= 1 ``event`` in ``phase`` (per patient if ``hazard_ratio`` is an array)."""
    hr = np.asarray(hazard_ratio, dtype=np.float64)
    if event in ("cytokine_release_syndrome", "neurotoxicity"):
        p = tp.cycle_probability(event) if phase.kind == "blinatumomab" else 0.0
        return np.broadcast_to(np.asarray(p, dtype=np.float64), hr.shape).copy()
    h = tp.hazard(event, phase.kind) * hr
    return np.asarray(-np.expm1(-h * (phase.end - phase.start)), dtype=np.float64)


def probability_any(
    event: str, phases: Sequence[PhaseSpan], tp: ToxicityParams, hazard_ratio: float = 1.0
) -> float:
    """Probability of >= 1 ``event`` over ``phases`` (no competing stop)."""
    none = 1.0
    for ph in phases:
        none *= 1.0 - float(event_probability(event, ph, tp, hazard_ratio))
    return 1.0 - none


def stratum_hazard_ratio(
    event: str, stratum_high: NDArray[np.bool_], tp: ToxicityParams
) -> FloatArray:
    """Hazard multiplier of FN or sepsis in SR-High (1 elsewhere and for other events)."""
    hr = {
        "febrile_neutropenia": tp.fn_sr_high_hazard_ratio,
        "sepsis": tp.sepsis_sr_high_hazard_ratio,
    }.get(event, 1.0)
    return np.where(np.asarray(stratum_high, dtype=bool), hr, 1.0)


def adverse_events(
    ids: IntArray,
    phases: Sequence[PhaseSpan],
    stop_day: FloatArray,
    stratum_high: NDArray[np.bool_],
    *,
    seed: int,
    tp: ToxicityParams,
    cache: _draws.ChunkDraws | None = None,
) -> AdverseEvents:
    """Draw grade >= 3 adverse events for patients ``ids`` over ``phases``.

    Events on or after ``stop_day`` (relapse or death ends protocol therapy) are dropped.
    Streams are named by event and phase name, so a phase shared by two arms gives the same
    child the same events on both.

    The probabilities are computed once per stratum (SR-High or not) and the event days
    only for the children with an event: the same numbers as element-wise over all children.
    """
    pidx: list[IntArray] = []
    labels: list[tuple[str, str]] = []
    grades: list[IntArray] = []
    days: list[FloatArray] = []
    stop = np.asarray(stop_day, dtype=np.float64)
    high = np.asarray(stratum_high, dtype=bool)
    n = np.asarray(ids).size
    n_high = int(np.count_nonzero(high))
    # which strata (0: not SR-High, 1: SR-High) have children; a row per stratum below
    strata = [s for s, m in ((0, n - n_high), (1, n_high)) if m > 0]
    # [not SR-High, SR-High]: the same arithmetic as per child, on the two values
    hr2 = {ev: stratum_hazard_ratio(ev, _STRATA, tp) for ev in EVENTS}
    rows: NDArray[np.intp] | None = None
    for ph in phases:
        for ev in EVENTS:
            p2 = event_probability(ev, ph, tp, hr2[ev])
            if not any(p2[s] > 0.0 for s in strata):
                continue
            name = f"toxicity.{ev}.{ph.name}"
            if cache is None:
                u = _draws.uniforms(seed, name, ids, k=2)
            else:
                if rows is None:  # the children's rows in the chunk, once for every stream
                    cache.check_seed(seed)
                    rows = cache.rows(ids)
                u = cache.uniforms_at(name, rows, k=2)
            u0 = u[:, 0]
            p = p2[strata[0]] if len(strata) == 1 else p2[high.view(np.uint8)]
            idx = np.flatnonzero(u0 < p)
            p_hit = p if np.ndim(p) == 0 else p[idx]
            day = ph.start + (ph.end - ph.start) * (u0[idx] / np.maximum(p_hit, 1e-300))
            keep = day < stop[idx]
            idx = idx[keep]
            if idx.size == 0:
                continue
            pidx.append(idx.astype(np.int64))
            labels.append((ph.name, ev))
            grades.append(np.where(u[idx, 1] < tp.grade4_fraction(ev), 4, 3).astype(np.int64))
            days.append(day[keep])
    if not pidx:
        return AdverseEvents(
            patient_index=np.empty(0, dtype=np.int64),
            phase=np.empty(0, dtype=object),
            event=np.empty(0, dtype=object),
            grade=np.empty(0, dtype=np.int64),
            day=np.empty(0),
        )
    counts = [a.size for a in pidx]
    phase_names = np.empty(len(labels), dtype=object)
    phase_names[:] = [ph for ph, _ in labels]
    event_names = np.empty(len(labels), dtype=object)
    event_names[:] = [ev for _, ev in labels]
    return AdverseEvents(
        patient_index=np.concatenate(pidx),
        phase=np.repeat(phase_names, counts),
        event=np.repeat(event_names, counts),
        grade=np.concatenate(grades),
        day=np.concatenate(days),
    )


_STRATA = np.array([False, True])
"""Not SR-High, SR-High: the two hazard ratios :func:`adverse_events` computes with."""


def death_in_remission_day(
    ids: IntArray,
    phases: Sequence[PhaseSpan],
    *,
    seed: int,
    tp: ToxicityParams,
    cache: _draws.ChunkDraws | None = None,
) -> FloatArray:
    """Day of treatment-related death (inf if none during therapy) by inverse cumulative hazard.

    One uniform per patient (stream ``competing.death_in_remission``): pre-randomization
    phases have the same hazard on every arm, so early deaths are common to both arms.
    """
    target = -np.log(_draws.uniforms(seed, "competing.death_in_remission", ids, cache=cache))
    out = np.full(target.size, np.inf)
    cum = 0.0
    for ph in sorted(phases, key=lambda x: x.start):
        h = tp.trm_hazard(ph.kind)
        if h <= 0.0:
            continue
        nxt = cum + h * (ph.end - ph.start)
        inside = np.isinf(out) & (target < nxt)
        out[inside] = ph.start + (target[inside] - cum) / h
        cum = nxt
    return out
