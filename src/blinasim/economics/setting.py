"""Economic settings as data: a YAML file of costs and utilities, each with its source.

``load_setting(name_or_path)`` reads a shipped setting (``canada-2024``, ``uk-nice``,
``us``: ``data/settings/*.yaml``) or a YAML file and returns a validated :class:`Setting`.
Every input is a :class:`Quantity` (value, unit, year for costs, source, and a PSA
distribution: ``fixed``, ``gamma`` for costs, ``beta`` for utilities, ``lognormal`` for
hazard ratios, ``normal``; ``se`` is the standard error of the mean, on the log scale for
``lognormal``; ``range`` the low/high bounds of the one-way sensitivity analysis, by
default the distribution's 2.5% and 97.5% quantiles). A cost stated in another year than
the setting's ``price_year`` is converted by the setting's ``price_index`` (the factor from
that year to the price year; its absence is an error). Unknown keys are errors; a bad file
raises :class:`~blinasim.errors.InputError` naming the file, the field and what was
expected (the CLI prints it on one line, exit status 2).

Sections: ``currency``, ``price_year``, ``price_index``, ``discount`` (costs, effects),
``threshold`` (value, ``alternatives``, CEAC grid), ``population`` (optional, for the
population EVPI), ``blinatumomab`` (vial price and size, dose, cap, ``wastage``, bag hours,
nurse visit, pump, inpatient days and their cost, post-relapse cycles), ``chemotherapy``
(cost per day of each phase kind), ``adverse_events`` (cost, grade-4 cost, disutility,
durations), ``relapse`` (reinduction, consolidation, HSCT, CAR-T, third line, follow-up),
``follow_up``, ``late_effects`` (survivorship per year and each late effect of the model:
cost at onset, cost and disutility per year), ``end_of_life``, ``utilities`` (first line by
phase kind, off therapy, long-term survivor, after relapse and after HSCT: short then long
term). The peer model's phase-weighted first-line utility (ALL-Policy: 0.845 for the first
two years) is expressible by giving every phase kind and ``off_therapy`` that value.

The numbers themselves are drawn and flattened by :mod:`blinasim.economics.values`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from blinasim.errors import InputError
from blinasim.model.after_relapse.late_effects import LATE_EFFECTS

Distribution = Literal["fixed", "gamma", "beta", "lognormal", "normal"]
AE_TYPES = ("febrile_neutropenia", "sepsis", "cytokine_release_syndrome", "neurotoxicity")
"""Adverse events priced (the model's grade >= 3 events, :data:`blinasim.model.toxicity.EVENTS`)."""
PHASE_KINDS = (
    "induction",
    "consolidation",
    "interim_maintenance",
    "delayed_intensification",
    "maintenance",
    "blinatumomab",
    "rest",
)
"""First-line phase kinds a setting prices and weighs (the protocols' kinds)."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantity(_Spec):
    """One input: value, unit, year (costs), source, PSA distribution and tornado range."""

    value: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1)
    year: int | None = None
    source: str = Field(min_length=3)
    distribution: Distribution = "fixed"
    se: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Quantity:
        d, v, se = self.distribution, self.value, self.se
        if d != "fixed" and se is None:
            raise ValueError(f"a standard error 'se' for a {d} distribution")
        if d == "gamma" and not v > 0:
            raise ValueError("a positive value for a gamma distribution")
        if d == "lognormal" and not v > 0:
            raise ValueError("a positive value for a lognormal distribution")
        if d == "beta":
            if not 0 < v < 1:
                raise ValueError("a value in (0, 1) for a beta distribution")
            if se is not None and se * se >= v * (1 - v):
                raise ValueError("se**2 < value * (1 - value) for a beta distribution")
        if self.range is not None:
            lo, hi = self.range
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= v <= hi):
                raise ValueError("a range [low, high] around the value")
        return self


class Rate(Quantity):
    """A discount rate per year, in [0, 1)."""

    @field_validator("value")
    @classmethod
    def _unit_interval(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError("a rate in [0, 1)")
        return v


class Discount(_Spec):
    """Discount rates per year of costs and of effects."""

    costs: Rate
    effects: Rate


class CeacGrid(_Spec):
    """Willingness-to-pay grid of the acceptability curve (``from``, ``to``, ``step``)."""

    start: float = Field(ge=0, alias="from", allow_inf_nan=False)
    stop: float = Field(gt=0, alias="to", allow_inf_nan=False)
    step: float = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> CeacGrid:
        if not self.stop > self.start:
            raise ValueError("'to' above 'from'")
        if (self.stop - self.start) / self.step > 10_000:
            raise ValueError("at most 10,000 steps between 'from' and 'to'")
        return self

    def values(self) -> tuple[float, ...]:
        """The grid of willingness-to-pay values (both ends included)."""
        n = math.floor((self.stop - self.start) / self.step + 1e-9)
        return tuple(self.start + i * self.step for i in range(n + 1))


class Threshold(_Spec):
    """Willingness to pay per QALY, other thresholds to report, and the CEAC grid."""

    value: float = Field(gt=0, allow_inf_nan=False)
    unit: str = Field(min_length=1)
    source: str = Field(min_length=3)
    alternatives: tuple[float, ...] = ()
    """Other thresholds to report (e.g. NICE's 30,000 beside 20,000)."""

    @field_validator("alternatives")
    @classmethod
    def _positive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not (math.isfinite(x) and x > 0) for x in v):
            raise ValueError("positive finite thresholds")
        return v

    ceac: CeacGrid


class Blinatumomab(_Spec):
    """Blinatumomab drug, administration and inpatient inputs."""

    vial_price: Quantity
    vial_ug: Quantity
    dose_ug_per_m2_day: Quantity
    cap_ug_per_day: Quantity
    wastage: bool
    """Whole vials per bag (unused drug discarded) when true, fractional vials when false."""
    bag_hours: Quantity
    nurse_visit_cost: Quantity
    """Per bag change (one visit per bag)."""
    pump_cost_per_day: Quantity
    inpatient_days_per_cycle: Quantity
    inpatient_cost_per_day: Quantity
    relapse_cycles: Quantity
    """Blinatumomab cycles of a post-relapse blinatumomab consolidation (priced like first-line)."""


class AdverseEvent(_Spec):
    """Cost per episode (grade 3, and grade 4 if different), disutility and duration."""

    cost: Quantity
    cost_grade4: Quantity | None = None
    disutility: Quantity
    duration_days: Quantity
    duration_days_grade4: Quantity | None = None


class AdverseEvents(_Spec):
    """Each priced grade >= 3 adverse event."""

    febrile_neutropenia: AdverseEvent
    sepsis: AdverseEvent
    cytokine_release_syndrome: AdverseEvent
    neurotoxicity: AdverseEvent


class Relapse(_Spec):
    """Therapy after a first relapse, priced per course or per year."""

    reinduction: Quantity
    consolidation_chemotherapy: Quantity
    hsct: Quantity
    cart: Quantity
    third_line: Quantity
    """Salvage after a second relapse or refractory disease without CAR-T."""
    follow_up_per_year: Quantity
    follow_up_years: Quantity


class FollowUp(_Spec):
    """Follow-up in first remission after first-line therapy."""

    per_year: Quantity
    """Off-therapy follow-up in first remission, per year."""
    years: Quantity
    """For how long after the end of first-line therapy."""


class LateEffect(_Spec):
    """One late effect: a cost at onset, then a cost and a disutility per year for life."""

    cost: Quantity
    per_year: Quantity
    disutility: Quantity


class LateEffects(_Spec):
    """Care of long-term survivors, and each late effect of the model."""

    per_year: Quantity
    """Survivorship care per year from ``from_years`` after diagnosis, lifelong."""
    from_years: Quantity
    effects: dict[str, LateEffect]
    """Every late effect of :data:`~blinasim.model.after_relapse.late_effects.LATE_EFFECTS`."""

    @field_validator("effects")
    @classmethod
    def _names(cls, v: dict[str, LateEffect]) -> dict[str, LateEffect]:
        missing = [k for k in LATE_EFFECTS if k not in v]
        extra = [k for k in v if k not in LATE_EFFECTS]
        if missing or extra:
            raise ValueError(
                f"one entry per late effect of the model {LATE_EFFECTS}"
                + (f", missing {missing}" if missing else "")
                + (f", unknown {extra}" if extra else "")
            )
        return v


class Phased(_Spec):
    """A utility for ``short_term_years`` after an event, then a long-term utility."""

    short_term: Quantity
    short_term_years: Quantity
    long_term: Quantity


class Utilities(_Spec):
    """Utilities by state and phase."""

    first_line: dict[str, Quantity]
    """On first-line therapy, by phase kind (:data:`PHASE_KINDS`)."""
    off_therapy: Quantity
    """In first remission after first-line therapy, until ``long_term_from_years``."""
    long_term_survivor: Quantity
    long_term_from_years: Quantity
    after_relapse: Phased
    after_hsct: Phased

    @field_validator("first_line")
    @classmethod
    def _kinds(cls, v: dict[str, Quantity]) -> dict[str, Quantity]:
        missing = [k for k in PHASE_KINDS if k not in v]
        if missing:
            raise ValueError(f"a utility for every phase kind {PHASE_KINDS}, missing {missing}")
        extra = [k for k in v if k not in PHASE_KINDS]
        if extra:
            raise ValueError(f"phase kinds among {PHASE_KINDS}, got {extra}")
        return v


class Setting(_Spec):
    """A validated economic setting (see the module docstring)."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    price_year: int = Field(ge=1990, le=2100)
    price_index: dict[int, Quantity] = {}
    """Factor from a cost's year to ``price_year`` (e.g. a consumer price index ratio)."""
    discount: Discount
    threshold: Threshold
    population: Quantity | None = None
    """Children who would receive the decision (population EVPI), if stated."""
    blinatumomab: Blinatumomab
    chemotherapy: dict[str, Quantity]
    """First-line cost per day by phase kind (:data:`PHASE_KINDS`)."""
    adverse_events: AdverseEvents
    relapse: Relapse
    follow_up: FollowUp
    late_effects: LateEffects
    end_of_life: Quantity
    utilities: Utilities

    @field_validator("chemotherapy")
    @classmethod
    def _chemo_kinds(cls, v: dict[str, Quantity]) -> dict[str, Quantity]:
        return Utilities._kinds(v)

    @model_validator(mode="after")
    def _years(self) -> Setting:
        for path, q in quantities(self).items():
            code = currency_of(q)
            if code is None:
                continue
            if code != self.currency:
                raise ValueError(f"{path}.unit: a cost in the setting's currency {self.currency}")
            if q.year is None:
                raise ValueError(f"{path}.year: a price year for a cost")
            if q.year != self.price_year and q.year not in self.price_index:
                raise ValueError(
                    f"{path}.year: a year with a price_index entry ({q.year} has none)"
                )
        return self


def currency_of(q: Quantity) -> str | None:
    """The currency code a cost's unit starts with (``CAD per vial``), None if not a cost."""
    head = q.unit.replace("/", " ").split()[0]
    return head if len(head) == 3 and head.isalpha() and head.isupper() else None


def quantities(setting: Setting) -> dict[str, Quantity]:
    """Every :class:`Quantity` of ``setting`` by dotted path (``blinatumomab.vial_price``)."""
    out: dict[str, Quantity] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, Quantity):
            out[prefix] = obj
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                walk(f"{prefix}.{name}" if prefix else name, getattr(obj, name))
        elif isinstance(obj, Mapping):
            for k, v in obj.items():
                if prefix == "price_index":
                    continue
                walk(f"{prefix}.{k}", v)

    walk("", setting)
    return out


SHIPPED = ("canada-2024", "uk-nice", "us")
"""The shipped settings (``data/settings/<name>.yaml``)."""


def shipped_settings() -> dict[str, Path]:
    """Shipped setting files by name."""
    base = Path(str(resources.files("blinasim") / "data" / "settings"))
    return {p.stem: p for p in sorted(base.glob("*.yaml"))}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"found duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _loc(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    return ".".join(parts) or "<top>"


def _error(exc: ValidationError, file: str) -> InputError:
    err = exc.errors(include_url=False)[0]
    kind = err.get("type", "")
    field = _loc(err["loc"])
    msg = str(err.get("msg", "a valid value"))
    for prefix in ("Value error, ", "Input should be ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    got: object = None
    if kind == "missing":
        msg = "this field (it is required)"
    elif kind == "extra_forbidden":
        msg = "no unknown field"
        got = f"unknown field {err['loc'][-1]!r}"
    else:
        got = err.get("input")
        if isinstance(got, dict | list):
            got = type(got).__name__
    if ": " in msg and kind == "value_error" and field == "<top>":
        field, msg = msg.split(": ", 1)
    return InputError(" ".join(msg.split()), file=file, field=field, got=got)


def parse_setting(doc: object, origin: str) -> Setting:
    """Validate a parsed YAML document (``origin`` names it in errors)."""
    if not isinstance(doc, dict):
        raise InputError(
            "a YAML mapping (an economic setting)", file=origin, got=type(doc).__name__
        )
    try:
        return Setting.model_validate(doc)
    except ValidationError as exc:
        raise _error(exc, origin) from None


def _read(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("a readable UTF-8 YAML file", file=path, got=str(exc)) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None)
        what = f"valid YAML ({' '.join(str(problem).split())})" if problem else "valid YAML"
        raise InputError(what, file=path, field=where) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise InputError("valid YAML", file=path, field="document", got=str(exc)) from None


def load_setting(name_or_path: str | Path) -> Setting:
    """A shipped setting by name (:data:`SHIPPED`) or a setting YAML file by path."""
    s = str(name_or_path)
    shipped = shipped_settings()
    if isinstance(name_or_path, str) and s in shipped:
        return _load_path(shipped[s])
    if isinstance(name_or_path, Path) or s.endswith((".yaml", ".yml")) or "/" in s:
        p = Path(s)
        if not p.is_file():
            raise InputError("an existing setting file", file=p, field="setting", got=s)
        return _load_path(p)
    raise InputError(
        f"a shipped setting (one of {sorted(shipped)}) or a path to a YAML file",
        field="setting",
        got=s,
    )


@functools.lru_cache(maxsize=16)
def _load_cached(path: str, mtime_ns: int) -> Setting:
    return parse_setting(_read(Path(path)), path)


def _load_path(path: Path) -> Setting:
    return _load_cached(str(path), path.stat().st_mtime_ns)
