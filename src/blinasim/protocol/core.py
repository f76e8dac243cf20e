"""Resolved protocol objects: days counted from diagnosis (day 0), inheritance applied.

``Phase.start_day`` is the first day of the phase and ``end_day`` the first day after it
(exclusive); day ``d`` of a phase (1-based, as written in protocol documents) is absolute
day ``start_day + d - 1``. Build these objects with :func:`blinasim.protocol.load_protocol`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blinasim.config import check_source
from blinasim.protocol.doses import capped_dose, reference_child


def _provenance(source: str) -> Literal["published", "assumption", "calibrated"]:
    """Provenance of a protocol value from its ``source``, by a fixed, checked rule.

    Protocol files give one ``source`` per phase and dose, not a separate field: a source
    that starts with the label ``assumption:`` (then a reason) is an ``assumption``, one
    that starts with ``calibrated:`` (then against what) is ``calibrated``, and any other is
    a citation, ``published``. Nothing is guessed from the wording: a source that reads like
    an assumption without the label (``"assumed: ..."``, ``"Assumption - ..."``) or a label
    without a reason is a ValueError (:func:`blinasim.config.check_source`, the rule
    parameter files use to check their ``provenance`` field).
    """
    head = source.strip().split(":", 1)[0].strip().lower() if ":" in source else ""
    prov: Literal["published", "assumption", "calibrated"] = "published"
    if head == "assumption":
        prov = "assumption"
    elif head == "calibrated":
        prov = "calibrated"
    check_source(prov, source)
    return prov


@dataclasses.dataclass(frozen=True)
class DrugAdministration:
    """One drug in a phase.

    ``dose`` is in ``unit``: per administration (``mg/m2``, ``IU/m2``, ``mg``, ``mg/kg``,
    ``g/m2``) or per day on each listed day / infusion day (units ending in ``/day``).
    ``days`` lists the days of the phase (or of each cycle, when the phase repeats) on which
    it is given; ``continuous`` is an infusion ``(from_day, to_day)``, inclusive. ``max_dose``
    caps one administration (or one day) in the unit without ``/m2`` or ``/kg``.
    """

    drug: str
    dose: float
    unit: str
    route: str
    days: tuple[int, ...] | None
    continuous: tuple[int, int] | None
    max_dose: float | None
    source: str
    note: str | None = None
    dose_by_age: tuple[tuple[float, float], ...] | None = None
    """Age-based dosing (intrathecal drugs): ``((from_age_years, dose), ...)``, ascending."""

    @property
    def provenance(self) -> Literal["published", "assumption", "calibrated"]:
        """``published``, ``assumption`` or ``calibrated`` (from ``source``)."""
        return _provenance(self.source)

    def dose_for_age(self, age_years: NDArray[np.float64]) -> NDArray[np.float64]:
        """Dose for each child's age: the age bracket's dose, else ``dose`` (vectorized).

        Children younger than the first bracket get the first bracket's dose.
        """
        age = np.asarray(age_years, dtype=np.float64)
        if self.dose_by_age is None:
            return np.full(age.shape, self.dose)
        starts = np.array([b[0] for b in self.dose_by_age])
        doses = np.array([b[1] for b in self.dose_by_age])
        idx = np.clip(np.searchsorted(starts, age, side="right") - 1, 0, len(doses) - 1)
        out: NDArray[np.float64] = doses[idx]
        return out

    def capped(self, bsa_m2: float | None = None, weight_kg: float | None = None) -> float:
        """``dose`` after the ``max_dose`` cap for a child of ``bsa_m2`` and ``weight_kg``.

        Default: the reference child of ``data/dose_bounds.yaml`` (the size at which the
        model's arm-level dose intensities apply caps). Stays in ``unit``.
        """
        if self.max_dose is None:
            return float(self.dose)
        ref = reference_child()
        return float(
            capped_dose(
                self.dose,
                self.unit,
                self.max_dose,
                bsa_m2=ref.bsa_m2 if bsa_m2 is None else bsa_m2,
                weight_kg=ref.weight_kg if weight_kg is None else weight_kg,
            )
        )

    @property
    def is_continuous(self) -> bool:
        """True for a continuous infusion."""
        return self.continuous is not None

    @property
    def cycle_days(self) -> tuple[int, ...]:
        """Days (1-based) within one cycle of the phase on which the drug is given."""
        if self.continuous is not None:
            return tuple(range(self.continuous[0], self.continuous[1] + 1))
        assert self.days is not None
        return self.days

    @property
    def base_unit(self) -> str:
        """The unit of one day's amount (``unit`` without a trailing ``/day``)."""
        return self.unit.removesuffix("/day")

    def describe(self) -> str:
        """A short human summary, e.g. ``vincristine 1.5 mg/m2 IV d1,8,15,22 (max 2)``."""
        dose = f"{self.dose:g} {self.unit}"
        if self.continuous is not None:
            when = f"d{self.continuous[0]}-{self.continuous[1]}"
        else:
            when = "d" + _compress(self.cycle_days)
        cap = f" (max {self.max_dose:g})" if self.max_dose is not None else ""
        by_age = " (by age)" if self.dose_by_age is not None else ""
        return f"{self.drug} {dose}{by_age} {self.route} {when}{cap}"


def _compress(days: tuple[int, ...]) -> str:
    """``(1,2,3,8,15)`` -> ``"1-3,8,15"``."""
    out: list[str] = []
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1:
            j += 1
        out.append(f"{days[i]}-{days[j]}" if j - i >= 2 else ",".join(map(str, days[i : j + 1])))
        i = j + 1
    return ",".join(out)


@dataclasses.dataclass(frozen=True)
class DoseIntensity:
    """Amount of a drug given in a phase, averaged over the phase's days."""

    drug: str
    phase: str
    total: float
    """Total amount over the phase, in ``total_unit`` (e.g. ``mg/m2``)."""
    total_unit: str
    per_day: float
    """``total / length_days``, in ``total_unit + "/day"``."""
    days_given: int


@dataclasses.dataclass(frozen=True)
class Phase:
    """A resolved phase of an arm."""

    name: str
    kind: str
    start_day: int
    end_day: int
    drugs: tuple[DrugAdministration, ...]
    source: str
    gap_days: int = 0
    repeat_every_days: int | None = None
    ends_after_start_of: str | None = None
    ends_days: int | None = None
    note: str | None = None

    @property
    def length_days(self) -> int:
        """Number of days of the phase."""
        return self.end_day - self.start_day

    @property
    def provenance(self) -> Literal["published", "assumption", "calibrated"]:
        """Provenance of the phase length."""
        return _provenance(self.source)

    def contains(self, day: float) -> bool:
        """True when ``start_day <= day < end_day``."""
        return self.start_day <= day < self.end_day

    def offsets(self, admin: DrugAdministration) -> NDArray[np.int64]:
        """0-based day offsets within the phase on which ``admin`` is given (cycles repeated)."""
        base = np.asarray(admin.cycle_days, dtype=np.int64) - 1
        if self.repeat_every_days is None:
            out = base
        else:
            n_cycles = -(-self.length_days // self.repeat_every_days)
            starts = np.arange(n_cycles, dtype=np.int64) * self.repeat_every_days
            out = (starts[:, None] + base[None, :]).ravel()
        return out[out < self.length_days]

    def administrations(
        self, drug: str, route: str | None = None
    ) -> tuple[DrugAdministration, ...]:
        """The entries of ``drug`` (optionally by ``route``) in this phase."""
        return tuple(
            a for a in self.drugs if a.drug == drug and (route is None or a.route == route)
        )

    def drug_days(self, drug: str, route: str | None = None) -> NDArray[np.int64]:
        """Absolute days (from diagnosis) on which ``drug`` is given in this phase, sorted."""
        parts = [self.offsets(a) + self.start_day for a in self.administrations(drug, route)]
        if not parts:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(parts))

    def dose_intensity(
        self,
        drug: str,
        route: str | None = None,
        *,
        bsa_m2: float | None = None,
        weight_kg: float | None = None,
    ) -> DoseIntensity:
        """Total amount of ``drug`` in the phase and its average per day of the phase.

        Entries with different base units (e.g. IT methotrexate in mg and IV methotrexate in
        mg/m2) cannot be added: pass ``route`` to pick one. ``max_dose`` caps apply for a
        child of ``bsa_m2`` / ``weight_kg`` (default: the reference child of
        ``data/dose_bounds.yaml``, as in the model).
        """
        admins = self.administrations(drug, route)
        units = {a.base_unit for a in admins}
        if len(units) > 1:
            raise ValueError(
                f"{drug} is given in {sorted(units)} in phase {self.name}: pass route="
            )
        total = 0.0
        days: set[int] = set()
        for a in admins:
            off = self.offsets(a)
            total += a.capped(bsa_m2, weight_kg) * len(off)
            days.update(int(d) for d in off)
        unit = units.pop() if units else "-"
        return DoseIntensity(
            drug=drug,
            phase=self.name,
            total=total,
            total_unit=unit,
            per_day=total / self.length_days,
            days_given=len(days),
        )

    def drugs_summary(self) -> str:
        """One line listing the drugs given, e.g. ``vincristine 1.5 mg/m2 IV d1,8; ...``."""
        return "; ".join(a.describe() for a in self.drugs)


@dataclasses.dataclass(frozen=True)
class Arm:
    """A resolved treatment arm, from diagnosis (day 0) to the end of its last phase."""

    name: str
    label: str
    stratum: str
    randomized_after: str | None
    control: bool
    phases: tuple[Phase, ...]
    source: str | None = None
    description: str | None = None
    extends: str | None = None

    @property
    def end_day(self) -> int:
        """First day after the last phase."""
        return self.phases[-1].end_day

    @property
    def phase_names(self) -> tuple[str, ...]:
        """Phase names in order."""
        return tuple(p.name for p in self.phases)

    @property
    def randomization_day(self) -> int | None:
        """Day of randomization (end of ``randomized_after``), or None when not randomized."""
        if self.randomized_after is None:
            return None
        return self.phase(self.randomized_after).end_day

    def phase(self, name: str) -> Phase:
        """The phase called ``name`` (KeyError if none)."""
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(f"arm {self.name} has no phase {name!r}; phases: {list(self.phase_names)}")

    def phase_at(self, day: float) -> Phase | None:
        """The phase running on ``day`` (None before day 0 and after the end of therapy).

        Days in a gap between phases belong to no phase.
        """
        for p in self.phases:
            if p.contains(day):
                return p
        return None

    def phase_index_at(self, days: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.intp]:
        """Vectorized :meth:`phase_at`: index into :attr:`phases`, or -1 (no phase)."""
        d = np.asarray(days, dtype=np.float64)
        starts = np.array([p.start_day for p in self.phases], dtype=np.float64)
        ends = np.array([p.end_day for p in self.phases], dtype=np.float64)
        idx = np.searchsorted(starts, d, side="right") - 1
        ok = (idx >= 0) & (d < ends[np.clip(idx, 0, None)])
        return np.where(ok, idx, -1).astype(np.intp)

    def phases_of_kind(self, kind: str) -> tuple[Phase, ...]:
        """Phases of a kind (``"blinatumomab"``, ``"maintenance"``, ...), in order."""
        return tuple(p for p in self.phases if p.kind == kind)

    def blinatumomab_days(self) -> int:
        """Total days of blinatumomab infusion in the arm."""
        return sum(len(p.drug_days("blinatumomab")) for p in self.phases)

    def dose_intensity(
        self,
        drug: str,
        phase: str,
        route: str | None = None,
        *,
        bsa_m2: float | None = None,
        weight_kg: float | None = None,
    ) -> DoseIntensity:
        """Dose intensity of ``drug`` in phase ``phase`` (see :meth:`Phase.dose_intensity`)."""
        return self.phase(phase).dose_intensity(drug, route, bsa_m2=bsa_m2, weight_kg=weight_kg)

    def timeline(self) -> pd.DataFrame:
        """One row per phase: phase, kind, start_day, end_day (exclusive), length_days, drugs."""
        return pd.DataFrame(
            {
                "phase": [p.name for p in self.phases],
                "kind": [p.kind for p in self.phases],
                "start_day": np.array([p.start_day for p in self.phases], dtype=np.int64),
                "end_day": np.array([p.end_day for p in self.phases], dtype=np.int64),
                "length_days": np.array([p.length_days for p in self.phases], dtype=np.int64),
                "drugs": [p.drugs_summary() for p in self.phases],
            }
        )

    def schedule(self) -> pd.DataFrame:
        """Every administration day: day, phase, kind, drug, route, dose, unit, max_dose."""
        rows: dict[str, list[object]] = {
            k: [] for k in ("day", "phase", "kind", "drug", "route", "dose", "unit", "max_dose")
        }
        for p in self.phases:
            for a in p.drugs:
                days = p.offsets(a) + p.start_day
                n = len(days)
                rows["day"].extend(days.tolist())
                for key, val in (
                    ("phase", p.name),
                    ("kind", p.kind),
                    ("drug", a.drug),
                    ("route", a.route),
                    ("dose", a.dose),
                    ("unit", a.unit),
                    ("max_dose", np.nan if a.max_dose is None else a.max_dose),
                ):
                    rows[key].extend([val] * n)
        out = pd.DataFrame(rows)
        out["day"] = out["day"].astype(np.int64)
        out["dose"] = out["dose"].astype(np.float64)
        out["max_dose"] = out["max_dose"].astype(np.float64)
        return out.sort_values(["day", "phase", "drug"], kind="stable").reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A resolved protocol: named arms for the strata it serves."""

    name: str
    description: str
    source: str
    arms: Mapping[str, Arm]
    origin: str = "<memory>"

    def __post_init__(self) -> None:
        object.__setattr__(self, "arms", MappingProxyType(dict(self.arms)))

    @property
    def arm_names(self) -> tuple[str, ...]:
        """Arm names in file order."""
        return tuple(self.arms)

    def arm(self, name: str) -> Arm:
        """The arm called ``name`` (KeyError listing the arms if none)."""
        try:
            return self.arms[name]
        except KeyError:
            raise KeyError(
                f"protocol {self.name} has no arm {name!r}; arms: {list(self.arms)}"
            ) from None

    def arms_for(self, stratum: str) -> tuple[Arm, ...]:
        """The arms serving ``stratum`` (control arm first)."""
        arms = [a for a in self.arms.values() if a.stratum == stratum]
        return tuple(sorted(arms, key=lambda a: not a.control))

    def strata(self) -> tuple[str, ...]:
        """The strata served, in order of first appearance."""
        return tuple(dict.fromkeys(a.stratum for a in self.arms.values()))

    def summary(self) -> pd.DataFrame:
        """One row per arm: arm, label, stratum, control, randomized_after, phases, days."""
        return pd.DataFrame(
            {
                "arm": list(self.arms),
                "label": [a.label for a in self.arms.values()],
                "stratum": [a.stratum for a in self.arms.values()],
                "control": [a.control for a in self.arms.values()],
                "randomized_after": [a.randomized_after for a in self.arms.values()],
                "n_phases": [len(a.phases) for a in self.arms.values()],
                "end_day": [a.end_day for a in self.arms.values()],
                "blinatumomab_days": [a.blinatumomab_days() for a in self.arms.values()],
            }
        )
