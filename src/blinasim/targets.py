"""Published numbers: the one place they live (``data/targets/``), each with its role.

A target file (``data/targets/aall1731.yaml``) lists published estimates. Each carries:

* ``role``: what the number did in building the model. ``fitted`` (the calibration's
  likelihood uses it), ``held_out`` (not used to build the model: only these count as
  validation), ``derived`` (computed from fitted targets, e.g. a pooled DFS), ``closed_form``
  (a parameter or setting was computed from it) or ``input`` (the model takes it as given,
  e.g. the number randomized). ``role_note`` says why where it is not obvious.
* ``provenance``: ``published`` or ``assumption`` (a figure no primary source confirms), a
  field, never read from the text of ``source``; an ``assumption`` source starts with
  ``assumption:`` and a ``published`` one must not.
* fields to look it up by: ``quantity``, ``study``, ``arm``, ``stratum``, ``time_years``,
  ``event``, ``subgroup`` (code finds a target by these, never by parsing its id);
* at most one uncertainty (``se``, ``ci95``, ``count`` {events, n}, ``sd_n`` {sd, n} or
  ``range`` [low, high], read as a 95% range): exactly one, except for an ``input``, which
  may be exact;
* ``summary``: its simulated counterpart in the calibration
  (:mod:`blinasim.calibrate.summaries`); a target without one is not compared there.

A bad file raises a one-line :class:`~blinasim.errors.InputError` naming the file, the
target and the field. This module sits below the model and calibration layers so that both
read the same numbers (:func:`published`; for a run's summary:
:func:`blinasim.calibrate.targets.published_for_run`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from blinasim.config import FrozenModel, check_source, load_yaml_mapping
from blinasim.errors import InputError

Role = Literal["fitted", "held_out", "derived", "closed_form", "input"]
ROLES: tuple[Role, ...] = ("fitted", "held_out", "derived", "closed_form", "input")
TargetProvenance = Literal["published", "assumption"]
Arm = Literal["blinatumomab", "chemotherapy"]
Stratum = Literal["all", "SR-Favorable", "SR-Average", "SR-High"]
Event = Literal["febrile_neutropenia", "sepsis", "cytokine_release_syndrome"]

Statistic = Literal[
    "dfs",
    "at_risk",
    "sr_average_share",
    "adverse_event",
    "eoi_flow_negative",
    "efs_by_eoi_mrd",
    "efs",
    "os",
    "css_mean",
    "blina_mrd_response",
    "blina_cr_response",
    "hazard_ratio",
    "cd19neg_share",
    "marrow_share",
    "isolated_cns_incidence",
    "late_relapse_share",
    "median_relapse_months",
]

Quantity = Literal[
    "dfs",
    "efs",
    "os",
    "at_risk",
    "n_randomized",
    "sr_average_share",
    "adverse_event",
    "eoi_flow_negative",
    "efs_by_eoi_mrd",
    "css_mean",
    "mrd_response",
    "cr_response",
    "hazard_ratio",
    "cd19neg_share",
    "marrow_share",
    "isolated_cns_incidence",
    "late_relapse_share",
    "median_relapse_months",
    "death_in_remission",
    "hsct",
]


class SummarySpec(FrozenModel):
    """The simulated counterpart of a target: a statistic and its arguments."""

    statistic: Statistic
    years: float | None = Field(default=None, gt=0)
    months: float | None = Field(default=None, gt=0)
    stratum: Stratum | None = None
    arm: Arm | None = None
    event: Event | None = None
    mrd: Literal["negative", "low_positive", "eoc_positive"] | None = None
    dose_ug_per_day: float | None = Field(default=None, gt=0)
    population: (
        Literal[
            "adult_mrd_positive",
            "pediatric_relapse",
            "pediatric_relapsed_refractory",
            "adult_relapsed_refractory",
        ]
        | None
    ) = None
    site: Literal["marrow", "cns"] | None = None

    @model_validator(mode="after")
    def _required(self) -> SummarySpec:
        need = _REQUIRED[self.statistic]
        for name in need:
            if getattr(self, name) is None:
                raise ValueError(f"statistic {self.statistic} needs '{name}'")
        return self


_REQUIRED: dict[str, tuple[str, ...]] = {
    "dfs": ("years", "stratum", "arm"),
    "at_risk": ("years", "arm"),
    "sr_average_share": (),
    "adverse_event": ("event", "stratum", "arm"),
    "eoi_flow_negative": (),
    "efs_by_eoi_mrd": ("years", "mrd"),
    "efs": ("years", "stratum"),
    "os": ("years", "stratum"),
    "css_mean": ("dose_ug_per_day",),
    "blina_mrd_response": ("population",),
    "blina_cr_response": ("population",),
    "hazard_ratio": (),
    "cd19neg_share": ("arm",),
    "marrow_share": ("arm",),
    "isolated_cns_incidence": ("years",),
    "late_relapse_share": ("months", "arm"),
    "median_relapse_months": ("site", "arm"),
}


class Count(FrozenModel):
    """``events`` out of ``n``."""

    events: int = Field(ge=0)
    n: int = Field(gt=0)

    @model_validator(mode="after")
    def _le(self) -> Count:
        if self.events > self.n:
            raise ValueError("events must be <= n")
        return self


class SdN(FrozenModel):
    """A mean reported as ``mean ± SD`` over ``n`` patients."""

    sd: float = Field(gt=0)
    n: int = Field(gt=0)


_UNCERTAINTIES = ("se", "ci95", "count", "sd_n", "range")


class TargetSpec(FrozenModel):
    """One published result (file schema)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=3)
    role: Role
    role_note: str | None = Field(default=None, min_length=10)
    provenance: TargetProvenance
    study: str = Field(min_length=2)
    quantity: Quantity
    arm: Arm | None = None
    stratum: Stratum | None = None
    time_years: float | None = Field(default=None, gt=0)
    event: Event | None = None
    subgroup: str | None = Field(default=None, min_length=2)
    estimate: float
    se: float | None = Field(default=None, gt=0)
    ci95: tuple[float, float] | None = None
    range: tuple[float, float] | None = None
    count: Count | None = None
    sd_n: SdN | None = None
    population: str = Field(min_length=3)
    time: str = Field(min_length=1)
    summary: SummarySpec | None = None
    fitted_by: Literal["after_relapse"] | None = None
    """A fit other than the first-line calibration that uses this target (then ``fitted``
    needs no first-line simulated counterpart): ``after_relapse`` (relapse cohorts)."""
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _consistent(self) -> TargetSpec:
        given = [k for k in _UNCERTAINTIES if getattr(self, k) is not None]
        if self.role == "input" and len(given) > 1:
            raise ValueError(f"at most one of se, ci95, count, sd_n, range (got {given})")
        if self.role != "input" and len(given) != 1:
            raise ValueError(f"exactly one of se, ci95, count, sd_n, range (got {given or 'none'})")
        if self.ci95 is not None and not self.ci95[0] < self.estimate < self.ci95[1]:
            raise ValueError("ci95 must bracket the estimate")
        if self.range is not None and not self.range[0] < self.estimate < self.range[1]:
            raise ValueError("range must bracket the estimate")
        if self.count is not None and not math.isclose(
            self.estimate, self.count.events / self.count.n, abs_tol=5e-4
        ):
            raise ValueError("estimate must equal count.events / count.n")
        if self.role == "fitted" and self.summary is None and self.fitted_by is None:
            raise ValueError(
                "a fitted target needs a summary (its simulated counterpart) or fitted_by"
            )
        if self.fitted_by is not None and self.role != "fitted":
            raise ValueError(f"fitted_by is for fitted targets (role is {self.role!r})")
        if self.summary is not None:
            s = self.summary
            for name in ("arm", "stratum", "event"):
                mine, theirs = getattr(self, name), getattr(s, name)
                if mine is not None and theirs is not None and mine != theirs:
                    raise ValueError(f"{name} {mine!r} differs from summary.{name} {theirs!r}")
            if self.time_years is not None and s.years is not None and s.years != self.time_years:
                raise ValueError(f"time_years {self.time_years} differs from summary.years")
        check_source(self.provenance, self.source)
        return self


class TargetFileSpec(FrozenModel):
    """A target file."""

    version: int = Field(ge=1)
    trial: str = Field(min_length=1)
    targets: list[TargetSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> TargetFileSpec:
        seen: set[str] = set()
        for t in self.targets:
            if t.id in seen:
                raise ValueError(f"duplicate target id {t.id!r}")
            seen.add(t.id)
        return self


@dataclass(frozen=True)
class Target:
    """A published result, ready for tables and the likelihood.

    ``kind`` is ``"binomial"`` (a count: ``events`` of ``n``), ``"normal"`` (an estimate
    with standard error ``se``: from ``se``, ``ci95`` or ``range`` as (hi - lo) / 3.92, or
    SD/sqrt(n)) or ``"exact"`` (an ``input`` without uncertainty, ``se`` 0). ``low`` and
    ``high`` bound its 95% interval (the CI or range as published, else estimate ± 1.96 SE).
    """

    id: str
    description: str
    estimate: float
    se: float
    kind: Literal["binomial", "normal", "exact"]
    events: int
    n: int
    population: str
    time: str
    summary: SummarySpec | None
    source: str
    role: Role
    role_note: str | None
    fitted_by: str | None
    provenance: TargetProvenance
    study: str
    quantity: Quantity
    arm: Arm | None
    stratum: Stratum | None
    time_years: float | None
    event: Event | None
    subgroup: str | None
    low: float
    high: float

    @property
    def is_assumption(self) -> bool:
        """True when the published figure is itself an assumption (``provenance`` field)."""
        return self.provenance == "assumption"

    @property
    def is_validation(self) -> bool:
        """True only for ``held_out`` targets: the only ones that count as validation."""
        return self.role == "held_out"


_FIELDS = ("quantity", "study", "arm", "stratum", "time_years", "event", "subgroup", "role")


@dataclass(frozen=True)
class TargetSet:
    """All targets of a file, in file order."""

    trial: str
    version: int
    targets: tuple[Target, ...]
    origin: str

    def ids(self) -> tuple[str, ...]:
        """Target ids in file order."""
        return tuple(t.id for t in self.targets)

    def get(self, target_id: str) -> Target:
        """The target with this id (an unknown id is an input error)."""
        for t in self.targets:
            if t.id == target_id:
                return t
        raise InputError(
            f"one of the target ids {list(self.ids())}", field="targets", got=target_id
        )

    def subset(self, ids: tuple[str, ...] | list[str]) -> TargetSet:
        """The targets with these ids, in the order given."""
        return TargetSet(self.trial, self.version, tuple(self.get(i) for i in ids), self.origin)

    def with_role(self, *roles: Role) -> tuple[Target, ...]:
        """The targets with one of these roles, in file order."""
        return tuple(t for t in self.targets if t.role in roles)

    def find(self, quantity: Quantity | None = None, **fields: object) -> tuple[Target, ...]:
        """Targets whose fields equal every one given (``None`` or absent: any value).

        Fields: ``quantity``, ``study``, ``arm``, ``stratum``, ``time_years``, ``event``,
        ``subgroup``, ``role``.
        """
        unknown = sorted(set(fields) - set(_FIELDS))
        if unknown:
            raise TypeError(f"unknown target field {unknown[0]!r} (one of {list(_FIELDS)})")
        want = {k: v for k, v in {"quantity": quantity, **fields}.items() if v is not None}
        return tuple(t for t in self.targets if all(getattr(t, k) == v for k, v in want.items()))

    def published(self, quantity: Quantity, **fields: object) -> Target:
        """The one target matching these fields (none or several: an input error)."""
        hits = self.find(quantity, **fields)
        if len(hits) != 1:
            what = ", ".join(f"{k}={v}" for k, v in {"quantity": quantity, **fields}.items())
            raise InputError(
                f"exactly one target with {what}",
                file=self.origin,
                field="targets",
                got=[t.id for t in hits] or "none",
            )
        return hits[0]


def default_targets_path() -> Path:
    """Path of the AALL1731 target file shipped with the package."""
    return Path(str(resources.files("blinasim") / "data" / "targets" / "aall1731.yaml"))


def _to_target(spec: TargetSpec) -> Target:
    events, n = 0, 0
    kind: Literal["binomial", "normal", "exact"] = "normal"
    if spec.count is not None:
        kind, events, n = "binomial", spec.count.events, spec.count.n
        p = events / n
        se = math.sqrt(max(p * (1 - p), 0.25 / n) / n)
    elif spec.se is not None:
        se = spec.se
    elif spec.ci95 is not None:
        se = (spec.ci95[1] - spec.ci95[0]) / (2 * 1.959964)
    elif spec.range is not None:
        se = (spec.range[1] - spec.range[0]) / (2 * 1.959964)
    elif spec.sd_n is not None:
        se = spec.sd_n.sd / math.sqrt(spec.sd_n.n)
    else:
        kind, se = "exact", 0.0
    bounds = spec.ci95 or spec.range
    if bounds is not None:
        low, high = bounds
    else:
        low, high = spec.estimate - 1.96 * se, spec.estimate + 1.96 * se
        if kind == "binomial":  # a proportion
            low, high = max(low, 0.0), min(high, 1.0)
    return Target(
        id=spec.id,
        description=spec.description,
        estimate=spec.estimate,
        se=se,
        kind=kind,
        events=events,
        n=n,
        population=spec.population,
        time=spec.time,
        summary=spec.summary,
        source=spec.source,
        role=spec.role,
        role_note=spec.role_note,
        fitted_by=spec.fitted_by,
        provenance=spec.provenance,
        study=spec.study,
        quantity=spec.quantity,
        arm=spec.arm,
        stratum=spec.stratum,
        time_years=spec.time_years,
        event=spec.event,
        subgroup=spec.subgroup,
        low=float(low),
        high=float(high),
    )


def _location(doc: dict[str, object], loc: tuple[int | str, ...]) -> str:
    """Readable location of a validation error: ``targets[dfs3_all_blina].se``."""
    parts: list[str] = []
    items = doc.get("targets")
    i = 0
    while i < len(loc):
        key = loc[i]
        if key == "targets" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            idx = int(loc[i + 1])
            name: object = idx
            if isinstance(items, list) and idx < len(items) and isinstance(items[idx], dict):
                name = items[idx].get("id", idx)
            parts.append(f"targets[{name}]")
            i += 2
            continue
        if isinstance(key, str) and not key.startswith("function"):
            parts.append(key)
        i += 1
    return ".".join(parts) or "<top>"


def load_targets(path: str | Path | None = None) -> TargetSet:
    """Read and validate a target file (default: the shipped AALL1731 targets)."""
    p = Path(path) if path is not None else default_targets_path()
    doc = load_yaml_mapping(p, "calibration targets")
    try:
        spec = TargetFileSpec.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _location(doc, tuple(err["loc"]))
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise InputError(
            msg,
            file=p,
            field=where,
            got=err.get("input")
            if err["type"] not in ("model_type", "missing")
            and not isinstance(err.get("input"), dict)
            else None,
        ) from None
    return TargetSet(
        trial=spec.trial,
        version=spec.version,
        targets=tuple(_to_target(t) for t in spec.targets),
        origin=str(p),
    )


@functools.lru_cache(maxsize=1)
def shipped_targets() -> TargetSet:
    """The shipped AALL1731 targets (read once per process)."""
    return load_targets()


@functools.lru_cache(maxsize=1)
def shipped_target_sets() -> dict[str, TargetSet]:
    """Every target file of ``data/targets/`` (``*.yaml``), by file stem, read once.

    ``aall1731`` is the calibration's file (:func:`shipped_targets`); others hold published
    comparisons that are predicted but never fitted (``backbone``: the what-if validation).
    """
    folder = default_targets_path().parent
    return {p.stem: load_targets(p) for p in sorted(folder.glob("*.yaml"))}


def published(
    quantity: Quantity,
    *,
    arm: Arm | None = None,
    stratum: Stratum | None = None,
    time_years: float | None = None,
    event: Event | None = None,
    study: str | None = None,
    subgroup: str | None = None,
    targets: TargetSet | None = None,
) -> Target:
    """The one published target with these fields (default: the shipped AALL1731 file).

    ``None`` matches any value; none or several matches is an :class:`InputError`. E.g.
    ``published("dfs", arm="blinatumomab", stratum="SR-High", time_years=3).role``.
    """
    ts = targets if targets is not None else shipped_targets()
    return ts.published(
        quantity,
        arm=arm,
        stratum=stratum,
        time_years=time_years,
        event=event,
        study=study,
        subgroup=subgroup,
    )


__all__ = [
    "ROLES",
    "Count",
    "Role",
    "SdN",
    "SummarySpec",
    "Target",
    "TargetFileSpec",
    "TargetSet",
    "TargetSpec",
    "default_targets_path",
    "load_targets",
    "published",
    "shipped_targets",
]
