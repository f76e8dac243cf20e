"""The YAML schema of a treatment protocol (pydantic v2, frozen, unknown keys forbidden).

These are the *specifications* read from a file. :mod:`blinasim.protocol.loader` turns them
into resolved :class:`~blinasim.protocol.core.Protocol` objects (inheritance applied, days
from diagnosis computed, cross-references checked).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PhaseKind = Literal[
    "induction",
    "consolidation",
    "interim_maintenance",
    "delayed_intensification",
    "maintenance",
    "blinatumomab",
    "rest",
]
Stratum = Literal["SR-Favorable", "SR-Average", "SR-High", "off-study"]
DrugName = Literal[
    "vincristine",
    "dexamethasone",
    "prednisone",
    "prednisolone",
    "pegaspargase",
    "erwinia_asparaginase",
    "methotrexate",
    "mercaptopurine",
    "cytarabine",
    "doxorubicin",
    "daunorubicin",
    "cyclophosphamide",
    "thioguanine",
    "blinatumomab",
    "leucovorin",
    "hydrocortisone",
]
Unit = Literal[
    "mg/m2",
    "mg/m2/day",
    "g/m2",
    "ug/m2/day",
    "IU/m2",
    "mg",
    "mg/day",
    "mg/kg",
    "mg/kg/day",
    "ug/kg/day",
]
Route = Literal["IV", "PO", "IT", "SC", "IM", "CIV"]

PHASE_KINDS: tuple[str, ...] = get_args(PhaseKind)
STRATA: tuple[str, ...] = get_args(Stratum)
DRUGS: tuple[str, ...] = get_args(DrugName)
UNITS: tuple[str, ...] = get_args(Unit)
ROUTES: tuple[str, ...] = get_args(Route)

DRUG_ROUTES: Mapping[str, tuple[str, ...]] = {
    "vincristine": ("IV",),  # intrathecal vincristine is fatal: never allowed
    "dexamethasone": ("PO", "IV"),
    "prednisone": ("PO",),
    "prednisolone": ("PO", "IV"),
    "pegaspargase": ("IV", "IM"),
    "erwinia_asparaginase": ("IM", "IV"),
    "methotrexate": ("IV", "PO", "IT", "IM"),
    "mercaptopurine": ("PO",),
    "cytarabine": ("IV", "SC", "IT"),
    "doxorubicin": ("IV",),
    "daunorubicin": ("IV",),
    "cyclophosphamide": ("IV",),
    "thioguanine": ("PO",),
    "blinatumomab": ("CIV",),
    "leucovorin": ("PO", "IV"),
    "hydrocortisone": ("IT", "IV"),
}
"""Routes by which each drug may be given."""

MAX_PHASE_DAYS = 3650
"""Longest phase accepted (10 years): a guard against typos such as 73000."""

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError("a name of letters, digits, '_', '.', '+', '-' (at most 64)")
    return value


def _source(value: str) -> str:
    if len(value.strip()) < 3:
        raise ValueError("a citation or 'assumption: why'")
    return value


def parse_days(value: object, limit: int = MAX_PHASE_DAYS) -> tuple[int, ...]:
    """Days from ``[1, 8, "15-21", "29-78/7"]``: integers, ranges ``a-b``, steps ``a-b/k``."""
    items: list[object]
    if isinstance(value, str | int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, list) and value:
        items = list(value)
    else:
        raise ValueError("a day, a range like '1-28', or a non-empty list of them")
    out: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"a day number, got {item!r}")
        if isinstance(item, int):
            lo, hi, step = item, item, 1
        elif isinstance(item, str):
            m = re.fullmatch(r"\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*(?:/\s*(\d{1,5})\s*)?)?", item)
            if m is None:
                raise ValueError(f"a day or range like '1-28' or '1-78/7', got {item!r}")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) else lo
            step = int(m.group(3)) if m.group(3) else 1
        else:
            raise ValueError(f"a day number or range, got {item!r}")
        if lo < 1 or hi < lo or step < 1 or hi > limit:
            raise ValueError(f"days within 1..{limit} in increasing ranges, got {item!r}")
        out.update(range(lo, hi + 1, step))
    return tuple(sorted(out))


class ContinuousSpec(_Spec):
    """A continuous infusion from ``from_day`` to ``to_day`` (inclusive, days of the phase)."""

    from_day: int = Field(ge=1, le=MAX_PHASE_DAYS)
    to_day: int = Field(ge=1, le=MAX_PHASE_DAYS)

    @model_validator(mode="after")
    def _ordered(self) -> ContinuousSpec:
        if self.to_day < self.from_day:
            raise ValueError("to_day >= from_day")
        return self


class AgeDose(_Spec):
    """Dose from age ``from_age_years`` on (until the next bracket)."""

    from_age_years: float = Field(ge=0, le=30)
    dose: float = Field(ge=0)


class DrugSpec(_Spec):
    """One drug in a phase: dose, unit, route and schedule, with its provenance."""

    drug: DrugName
    dose: float = Field(ge=0)
    unit: Unit
    route: Route
    days: tuple[int, ...] | None = None
    continuous: ContinuousSpec | None = None
    max_dose: float | None = Field(default=None, gt=0)
    dose_by_age: tuple[AgeDose, ...] | None = None
    source: str
    note: str | None = None

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        return None if value is None else parse_days(value)

    _src = field_validator("source")(_source)

    @model_validator(mode="after")
    def _consistent(self) -> DrugSpec:
        if (self.days is None) == (self.continuous is None):
            raise ValueError("exactly one of 'days' or 'continuous'")
        if self.route not in DRUG_ROUTES[self.drug]:
            raise ValueError(
                f"route of {self.drug} one of {list(DRUG_ROUTES[self.drug])}, got {self.route!r}"
            )
        if (self.continuous is not None) != (self.route == "CIV"):
            raise ValueError("'continuous' together with route CIV (and CIV only with it)")
        if self.continuous is not None and not self.unit.endswith("/day"):
            raise ValueError(f"a per-day unit for a continuous infusion, got {self.unit!r}")
        if self.dose_by_age is not None:
            ages = [b.from_age_years for b in self.dose_by_age]
            if not ages or ages != sorted(set(ages)):
                raise ValueError("dose_by_age brackets with increasing from_age_years")
            if self.unit not in ("mg", "mg/day"):
                raise ValueError(f"dose_by_age only with a flat unit (mg), got {self.unit!r}")
        return self


class EndsSpec(_Spec):
    """End rule: the phase ends ``days`` after the start of phase ``days_after_start_of``."""

    days_after_start_of: str
    days: int = Field(gt=0, le=MAX_PHASE_DAYS)


class PhaseSpec(_Spec):
    """A phase: a name, a kind, a length (or end rule), and the drugs given."""

    name: str
    kind: PhaseKind
    length_days: int | None = Field(default=None, gt=0, le=MAX_PHASE_DAYS)
    ends: EndsSpec | None = None
    gap_days: int = Field(default=0, ge=0, le=MAX_PHASE_DAYS)
    repeat_every_days: int | None = Field(default=None, gt=0, le=MAX_PHASE_DAYS)
    source: str
    note: str | None = None
    drugs: tuple[DrugSpec, ...] = ()

    _nm = field_validator("name")(_name)
    _src = field_validator("source")(_source)

    @model_validator(mode="after")
    def _one_length(self) -> PhaseSpec:
        if (self.length_days is None) == (self.ends is None):
            raise ValueError("exactly one of 'length_days' or 'ends'")
        return self


class DoseOverride(_Spec):
    """Set the dose of ``drug`` (optionally only by ``route`` / in ``phase``) to ``dose``."""

    drug: DrugName
    dose: float = Field(ge=0)
    phase: str | None = None
    route: Route | None = None
    source: str

    _src = field_validator("source")(_source)


class EditSpec(_Spec):
    """One edit of an inherited arm: exactly one of the action keys."""

    insert_after: str | None = None
    insert_before: str | None = None
    replace: str | None = None
    remove: str | None = None
    set_dose: DoseOverride | None = None
    phases: tuple[PhaseSpec, ...] | None = None

    @model_validator(mode="after")
    def _one_action(self) -> EditSpec:
        actions = [
            a
            for a in ("insert_after", "insert_before", "replace", "remove", "set_dose")
            if getattr(self, a) is not None
        ]
        if len(actions) != 1:
            raise ValueError(
                "exactly one of insert_after, insert_before, replace, remove, set_dose"
            )
        needs_phases = actions[0] in ("insert_after", "insert_before", "replace")
        if needs_phases and not self.phases:
            raise ValueError(f"'phases' (a non-empty list) with {actions[0]}")
        if not needs_phases and self.phases is not None:
            raise ValueError(f"no 'phases' with {actions[0]}")
        return self


class ArmSpec(_Spec):
    """An arm: either complete (``phases``) or ``extends`` another arm with ``edits``."""

    extends: str | None = None
    label: str | None = None
    stratum: Stratum | None = None
    randomized_after: str | None = None
    control: bool | None = None
    source: str | None = None
    description: str | None = None
    phases: tuple[PhaseSpec, ...] | None = None
    edits: tuple[EditSpec, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> ArmSpec:
        if self.extends is None:
            missing = [
                k for k in ("label", "stratum", "control", "phases") if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(f"{missing[0]!r} (or 'extends' an arm)")
            if "randomized_after" not in self.model_fields_set:
                raise ValueError("'randomized_after' (a phase name, or null)")
            if self.edits:
                raise ValueError("'edits' only together with 'extends'")
        elif self.phases is not None:
            raise ValueError("either 'extends' with 'edits', or 'phases', not both")
        return self


class IncludeSpec(_Spec):
    """Bring in the arms of another protocol (a shipped name or a path)."""

    protocol: str
    arms: tuple[str, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"protocol": value} if isinstance(value, str) else value


class ProtocolSpec(_Spec):
    """A protocol file."""

    name: str
    description: str
    source: str
    include: IncludeSpec | None = None
    arms: dict[str, ArmSpec] = Field(default_factory=dict)

    _nm = field_validator("name")(_name)
    _src = field_validator("source")(_source)

    @field_validator("arms")
    @classmethod
    def _arm_names(cls, value: dict[str, ArmSpec]) -> dict[str, ArmSpec]:
        for key in value:
            _name(key)
        return value
