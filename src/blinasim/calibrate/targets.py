"""Calibration targets: published results with their uncertainty, read from YAML.

A target file (``data/targets/aall1731.yaml``) lists published estimates; each carries
exactly one uncertainty (``se``, ``ci95``, ``count`` or ``sd_n``), the population and time
point it refers to, its ``source`` and the simulated counterpart (``summary``) that
:mod:`blinasim.calibrate.summaries` computes. A bad file raises a one-line
:class:`~blinasim.errors.InputError` naming the file, the target and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from blinasim.config import load_yaml_mapping
from blinasim.errors import InputError

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
    "cd19neg_share",
    "marrow_share",
    "isolated_cns_incidence",
    "late_relapse_share",
    "median_relapse_months",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SummarySpec(_Frozen):
    """The simulated counterpart of a target: a statistic and its arguments."""

    statistic: Statistic
    years: float | None = Field(default=None, gt=0)
    months: float | None = Field(default=None, gt=0)
    stratum: Literal["all", "SR-Favorable", "SR-Average", "SR-High"] | None = None
    arm: Literal["blinatumomab", "chemotherapy"] | None = None
    event: Literal["febrile_neutropenia", "sepsis", "cytokine_release_syndrome"] | None = None
    mrd: Literal["negative", "low_positive"] | None = None
    dose_ug_per_day: float | None = Field(default=None, gt=0)
    population: Literal["adult_mrd_positive", "pediatric_relapse"] | None = None
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
    "cd19neg_share": ("arm",),
    "marrow_share": ("arm",),
    "isolated_cns_incidence": ("years",),
    "late_relapse_share": ("months", "arm"),
    "median_relapse_months": ("site", "arm"),
}


class Count(_Frozen):
    """``events`` out of ``n``."""

    events: int = Field(ge=0)
    n: int = Field(gt=0)

    @model_validator(mode="after")
    def _le(self) -> Count:
        if self.events > self.n:
            raise ValueError("events must be <= n")
        return self


class SdN(_Frozen):
    """A mean reported as ``mean ± SD`` over ``n`` patients."""

    sd: float = Field(gt=0)
    n: int = Field(gt=0)


class TargetSpec(_Frozen):
    """One published result (file schema)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=3)
    estimate: float
    se: float | None = Field(default=None, gt=0)
    ci95: tuple[float, float] | None = None
    count: Count | None = None
    sd_n: SdN | None = None
    population: str = Field(min_length=3)
    time: str = Field(min_length=1)
    summary: SummarySpec
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _one_uncertainty(self) -> TargetSpec:
        given = [k for k in ("se", "ci95", "count", "sd_n") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of se, ci95, count, sd_n (got {given or 'none'})")
        if self.ci95 is not None and not self.ci95[0] < self.estimate < self.ci95[1]:
            raise ValueError("ci95 must bracket the estimate")
        if self.count is not None and not math.isclose(
            self.estimate, self.count.events / self.count.n, abs_tol=5e-4
        ):
            raise ValueError("estimate must equal count.events / count.n")
        return self


class TargetFileSpec(_Frozen):
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
    """A published result ready for the likelihood.

    ``kind`` is ``"binomial"`` (a count: ``events`` of ``n``) or ``"normal"`` (an estimate
    with standard error ``se``, from ``se``, ``ci95`` as (hi - lo) / 3.92, or SD/sqrt(n)).
    """

    id: str
    description: str
    estimate: float
    se: float
    kind: Literal["binomial", "normal"]
    events: int
    n: int
    population: str
    time: str
    summary: SummarySpec
    source: str

    @property
    def is_assumption(self) -> bool:
        """True when the published figure is itself an assumption (not a read source)."""
        return self.source.strip().lower().startswith("assumption")


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


def default_targets_path() -> Path:
    """Path of the AALL1731 target file shipped with the package."""
    return Path(str(resources.files("blinasim") / "data" / "targets" / "aall1731.yaml"))


def _to_target(spec: TargetSpec) -> Target:
    if spec.count is not None:
        p = spec.count.events / spec.count.n
        se = math.sqrt(max(p * (1 - p), 0.25 / spec.count.n) / spec.count.n)
        return Target(
            spec.id,
            spec.description,
            spec.estimate,
            se,
            "binomial",
            spec.count.events,
            spec.count.n,
            spec.population,
            spec.time,
            spec.summary,
            spec.source,
        )
    if spec.se is not None:
        se = spec.se
    elif spec.ci95 is not None:
        se = (spec.ci95[1] - spec.ci95[0]) / (2 * 1.959964)
    else:
        assert spec.sd_n is not None
        se = spec.sd_n.sd / math.sqrt(spec.sd_n.n)
    return Target(
        spec.id,
        spec.description,
        spec.estimate,
        se,
        "normal",
        0,
        0,
        spec.population,
        spec.time,
        spec.summary,
        spec.source,
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


__all__ = [
    "Count",
    "SdN",
    "SummarySpec",
    "Target",
    "TargetFileSpec",
    "TargetSet",
    "TargetSpec",
    "default_targets_path",
    "load_targets",
]
