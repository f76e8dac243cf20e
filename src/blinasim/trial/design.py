"""Trial designs as data: the YAML schema (pydantic v2, frozen, unknown keys forbidden).

A design file describes a two-arm randomized trial: accrual over calendar time, who is
enrolled and when each stratum is randomized, the allocation and its stratified permuted
blocks, loss to follow-up, where the outcomes come from (a parametric model per arm and
stratum, or the mechanistic model of :mod:`blinasim.model`), the interim and final
analyses, the group-sequential boundaries and what happens at an early stop. The outcome
part of the schema (survival laws, parametric and mechanistic sources) is in
:mod:`blinasim.trial.laws`, the units in :mod:`blinasim.units`.

Times in the file carry their unit in the field name (``_days``, ``_months``,
``_years``); internally everything is days (a year is 365.25 days, a month 1/12 of it).
A bad file raises one :class:`~blinasim.errors.InputError` naming the file, the field path
and what was expected. Shipped designs live in ``blinasim/trial/designs``; load one by
name with :func:`load_design`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from blinasim.config import load_yaml_mapping
from blinasim.errors import InputError
from blinasim.trial.laws import (
    Exponential,
    FrozenModel,
    MechanisticSource,
    MixtureCure,
    OutcomeModel,
    ParametricSource,
    PiecewiseExponential,
    SourceSpec,
    Weibull,
)
from blinasim.units import DAYS_PER_MONTH, DAYS_PER_YEAR

# ---------------------------------------------------------------------------------------
# Accrual


class AccrualPeriod(FrozenModel):
    """A period of constant enrolment rate; the last period may be open-ended."""

    rate_per_month: float = Field(gt=0, description="enrolled patients per month")
    months: float | None = Field(default=None, gt=0, description="length (None: open-ended)")


class Accrual(FrozenModel):
    """Enrolment over calendar time, closed at a target or a date."""

    start_date: dt.date
    periods: list[AccrualPeriod] = Field(min_length=1)
    process: Literal["poisson", "uniform"] = "poisson"
    target_randomized: int | None = Field(default=None, gt=0)
    stop_date: dt.date | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _closing(self) -> Accrual:
        if (self.target_randomized is None) == (self.stop_date is None):
            raise ValueError("exactly one of target_randomized and stop_date")
        if any(p.months is None for p in self.periods[:-1]):
            raise ValueError("months on every accrual period but the last")
        if self.stop_date is not None and self.stop_date <= self.start_date:
            raise ValueError("a stop_date after start_date")
        return self


# ---------------------------------------------------------------------------------------
# Population: risk groups, strata and randomization points


class RiskGroup(FrozenModel):
    """A risk group among enrolled patients; randomized ones form a stratum."""

    name: str = Field(min_length=1)
    fraction: float = Field(gt=0, le=1, description="share of enrolled patients")
    randomized: bool = True
    randomized_fraction: float = Field(
        default=1.0, ge=0, le=1, description="share of the group that reaches randomization"
    )
    randomization_day: float = Field(
        default=0.0, ge=0, description="randomization point, days from enrolment (diagnosis)"
    )
    randomization_point: str | None = Field(default=None, description="e.g. end of induction")


class Population(FrozenModel):
    """Who is enrolled (parametric source): risk-group mix and randomization points.

    With the mechanistic source the risk groups and randomization days come from the
    model; ``risk_groups`` then only names the randomized strata (fractions unused).
    """

    risk_groups: list[RiskGroup] = Field(min_length=1)
    assumption: str | None = None

    @model_validator(mode="after")
    def _fractions(self) -> Population:
        names = [g.name for g in self.risk_groups]
        if len(set(names)) != len(names):
            raise ValueError("unique risk group names")
        total = sum(g.fraction for g in self.risk_groups)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"risk group fractions summing to 1, got sum {total:.6g}")
        if not any(g.randomized for g in self.risk_groups):
            raise ValueError("at least one randomized risk group")
        return self

    @property
    def strata(self) -> list[str]:
        """Names of the randomized strata, in file order."""
        return [g.name for g in self.risk_groups if g.randomized]


# ---------------------------------------------------------------------------------------
# Allocation


class Arm(FrozenModel):
    """A trial arm: a short id (used in the outcome models) and a label (ADaM TRT01P)."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    label: str = Field(min_length=1)


class Allocation(FrozenModel):
    """Two arms, control first; stratified permuted blocks."""

    control: Arm
    experimental: Arm
    ratio: tuple[int, int] = (1, 1)
    block_sizes: list[int] = Field(default_factory=lambda: [2, 4], min_length=1)
    stratified: bool = True

    @model_validator(mode="after")
    def _blocks(self) -> Allocation:
        if self.control.id == self.experimental.id:
            raise ValueError("different control and experimental arm ids")
        if min(self.ratio) < 1:
            raise ValueError("positive integer ratio entries")
        unit = sum(self.ratio)
        for b in self.block_sizes:
            if b <= 0 or b % unit:
                raise ValueError(f"block sizes that are multiples of {unit}, got {b}")
        return self


# ---------------------------------------------------------------------------------------
# Analyses and monitoring


class Analysis(FrozenModel):
    """One look: at a number of DFS events, a fraction of the final events, or a date."""

    name: str = Field(min_length=1)
    events: int | None = Field(default=None, gt=0)
    information_fraction: float | None = Field(default=None, gt=0, le=1)
    date: dt.date | None = None

    @model_validator(mode="after")
    def _one(self) -> Analysis:
        if sum(x is not None for x in (self.events, self.information_fraction, self.date)) != 1:
            raise ValueError("exactly one of events, information_fraction and date")
        return self


class Futility(FrozenModel):
    """Futility bounds on the z-scale, one per interim look."""

    bounds_z: list[float] = Field(min_length=1)
    binding: bool = False


class Monitoring(FrozenModel):
    """Group-sequential boundaries of the primary test."""

    spending: Literal["asOF", "asP", "asHSD", "asKD", "OF", "P", "WT"] = "asOF"
    alpha: float = Field(default=0.025, gt=0, lt=0.5)
    sided: Literal[1, 2] = 1
    gamma: float | None = None
    delta_wt: float | None = None
    futility: Futility | None = None
    planned_events: int | None = Field(default=None, gt=0, description="final-look events")
    assumption: str | None = None


class Crossover(FrozenModel):
    """At an efficacy stop, control patients within a window after randomization cross over.

    AALL1731: chemotherapy-arm patients not yet in maintenance were offered
    blinatumomab. A crossed-over patient's DFS and OS are censored at the stop date for
    the randomized comparison (CNSDTDSC ``CROSSOVER``).
    """

    window_days: dict[str, float] = Field(
        description="per stratum: days from randomization during which a patient may cross"
    )


class EarlyStop(FrozenModel):
    """What happens when a look stops the trial."""

    stop_randomization: bool = True
    crossover: Crossover | None = None
    additional_follow_up_days: float = Field(
        default=0.0, ge=0, description="follow-up after the stop before the reported data cut"
    )


class Primary(FrozenModel):
    """Primary analysis.

    ``weighted_logrank`` is the Fleming-Harrington FH(rho, gamma) test (``fh``), and
    ``maxcombo`` the maximum of FH(0,0), FH(0,0.5), FH(0.5,0), FH(0.5,0.5) with its
    multivariate-normal p-value (both as R simtrial ``wlr`` / ``maxcombo``, stratified by the
    randomization strata when ``stratified``), for trials whose effect is not proportional.
    They need a single analysis: group-sequential boundaries for weighted tests would need
    the weighted tests' own information fractions, which blinasim does not model.
    """

    endpoint: Literal["DFS"] = "DFS"
    test: Literal["stratified_logrank", "logrank", "weighted_logrank", "maxcombo"] = (
        "stratified_logrank"
    )
    fh: tuple[float, float] = Field(
        default=(0.0, 0.0), description="(rho, gamma) of the weighted log-rank test"
    )
    stratified: bool = Field(
        default=True, description="weighted tests: stratified by the randomization strata"
    )
    milestone_years: float = Field(default=3.0, gt=0, description="for S(t) estimates")
    rmst_tau_years: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _weights(self) -> Primary:
        if min(self.fh) < 0:
            raise ValueError("primary.fh: rho and gamma >= 0")
        return self

    @property
    def weighted(self) -> bool:
        """Whether the primary test is a weighted log-rank or MaxCombo test."""
        return self.test in ("weighted_logrank", "maxcombo")


class LossToFollowUp(FrozenModel):
    """Exponential loss to follow-up after randomization."""

    rate_per_year: float = Field(default=0.0, ge=0)


class TrialDesign(FrozenModel):
    """A complete two-arm trial design."""

    name: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    accrual: Accrual
    population: Population
    allocation: Allocation
    outcomes: SourceSpec
    loss_to_follow_up: LossToFollowUp = LossToFollowUp()
    analyses: list[Analysis] = Field(min_length=1)
    monitoring: Monitoring = Monitoring()
    primary: Primary = Primary()
    early_stop: EarlyStop = EarlyStop()
    max_follow_up_years: float = Field(
        default=15.0, gt=0, description="administrative end if the final look never happens"
    )
    references: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TrialDesign:
        strata = set(self.population.strata)
        arm_ids = {self.allocation.control.id, self.allocation.experimental.id}
        src = self.outcomes
        if isinstance(src, ParametricSource):
            for i, m in enumerate(src.models):
                if m.arm not in arm_ids:
                    raise ValueError(f"outcomes.models[{i}].arm among the arm ids, got {m.arm!r}")
                if m.stratum is not None and m.stratum not in strata:
                    raise ValueError(
                        f"outcomes.models[{i}].stratum among the randomized strata, "
                        f"got {m.stratum!r}"
                    )
                if m.hazard_ratio is not None and m.arm != self.allocation.experimental.id:
                    raise ValueError(
                        f"outcomes.models[{i}]: hazard_ratio on the experimental arm only"
                    )
            for arm in sorted(arm_ids):
                for s in self.population.strata:
                    n = sum(1 for m in src.models if m.arm == arm and m.stratum in (None, s))
                    if n != 1:
                        raise ValueError(
                            f"outcomes.models: exactly one model for arm {arm!r} and "
                            f"stratum {s!r}, found {n}"
                        )
            ctrl = self.allocation.control.id
            if any(m.hazard_ratio is not None for m in src.models if m.arm == ctrl):
                raise ValueError("a dfs law (not a hazard_ratio) for the control arm")
        else:
            if set(src.arms) != arm_ids:
                raise ValueError(f"outcomes.arms mapping exactly the arm ids {sorted(arm_ids)}")
            for arm, by_stratum in src.arms.items():
                if set(by_stratum) != strata:
                    raise ValueError(
                        f"outcomes.arms.{arm} mapping exactly the strata {sorted(strata)}"
                    )
        if self.primary.weighted and len(self.analyses) != 1:
            raise ValueError(
                f"a single analysis with primary.test {self.primary.test} (no group-sequential "
                "boundaries for weighted tests)"
            )
        if self.primary.test == "maxcombo" and self.monitoring.sided != 1:
            raise ValueError("monitoring.sided 1 with primary.test maxcombo (a one-sided test)")
        kinds = {
            "events" if a.events is not None else "fraction" if a.information_fraction else "date"
            for a in self.analyses
        }
        if "fraction" in kinds and self.monitoring.planned_events is None:
            raise ValueError("monitoring.planned_events with analyses by information_fraction")
        fr = [self._fraction(a) for a in self.analyses]
        if all(f is not None for f in fr):
            vals = [f for f in fr if f is not None]
            if any(b <= a for a, b in itertools.pairwise(vals)):
                raise ValueError("analyses in increasing order of information")
        dates = [a.date for a in self.analyses if a.date is not None]
        if any(b <= a for a, b in itertools.pairwise(dates)):
            raise ValueError("increasing analysis dates")
        fut = self.monitoring.futility
        if fut is not None and len(fut.bounds_z) != len(self.analyses) - 1:
            raise ValueError("monitoring.futility.bounds_z with one bound per interim analysis")
        if self.early_stop.crossover is not None:
            unknown = set(self.early_stop.crossover.window_days) - strata
            if unknown:
                raise ValueError(
                    "early_stop.crossover.window_days for randomized strata only, "
                    f"got {sorted(unknown)}"
                )
        return self

    def _fraction(self, a: Analysis) -> float | None:
        if a.information_fraction is not None:
            return a.information_fraction
        if a.events is not None:
            final = self.final_events()
            return a.events / final if final else None
        return None

    def final_events(self) -> int | None:
        """Planned DFS events at the final look (None if the final look is by date)."""
        last = self.analyses[-1]
        if last.events is not None:
            return last.events
        return self.monitoring.planned_events

    def look_events(self, index: int) -> int | None:
        """Planned DFS events of look ``index`` (None for a look by date)."""
        a = self.analyses[index]
        if a.events is not None:
            return a.events
        if a.information_fraction is not None and self.monitoring.planned_events:
            return max(1, round(a.information_fraction * self.monitoring.planned_events))
        return None

    def planned_events(self) -> list[int] | None:
        """Planned events of each look, or None when some look is by calendar date."""
        out = [self.look_events(k) for k in range(len(self.analyses))]
        if any(e is None for e in out):
            return None
        return [e for e in out if e is not None]

    def design_hash(self) -> str:
        """SHA-256 of the canonical JSON of the design (binds checkpoints and manifests)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def designs_dir() -> Path:
    """Folder of the shipped designs."""
    return Path(str(resources.files("blinasim.trial") / "designs"))


def shipped_designs() -> list[str]:
    """Names of the shipped designs."""
    return sorted(p.stem for p in designs_dir().glob("*.yaml"))


def resolve_design_path(design: str | Path) -> Path:
    """A file path, or the path of a shipped design given by name."""
    p = Path(design)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    cand = designs_dir() / f"{design}.yaml"
    if cand.is_file():
        return cand
    raise InputError(
        f"a design file or one of the shipped designs {shipped_designs()}",
        field="design",
        got=str(design),
    )


def _loc(err: Any) -> str:
    parts = []
    for x in err["loc"]:
        s = str(x)
        if isinstance(x, int):
            parts.append(f"[{x}]")
            continue
        if s in (
            "function-after",
            "Exponential",
            "PiecewiseExponential",
            "Weibull",
            "MixtureCure",
            "ParametricSource",
            "MechanisticSource",
        ) or s in ("exponential", "piecewise_exponential", "weibull", "mixture_cure"):
            continue
        if s in ("parametric", "mechanistic"):
            continue
        parts.append(("." if parts else "") + s)
    return "".join(parts)


def design_from_dict(doc: dict[str, Any], *, file: str | Path = "<design>") -> TrialDesign:
    """Validate a design mapping; errors name ``file`` and the field path."""
    try:
        return TrialDesign.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _loc(err)
        msg = str(err["msg"])
        msg = msg.removeprefix("Value error, ").removeprefix("Input should be ")
        if err["type"] == "missing":
            msg = "this field to be present"
        got = err.get("input")
        if err["type"] == "extra_forbidden":
            msg = "no such field (unknown key)"
            got = None
        elif err["type"] == "missing" or isinstance(got, dict | list):
            got = None
        raise InputError(
            msg[0].lower() + msg[1:], file=file, field=loc or "<top>", got=got
        ) from None


def load_design(design: str | Path) -> TrialDesign:
    """Load a design from a YAML file or by the name of a shipped design."""
    path = resolve_design_path(design)
    doc = load_yaml_mapping(path, "trial design")
    return design_from_dict(doc, file=path)


__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "Accrual",
    "AccrualPeriod",
    "Allocation",
    "Analysis",
    "Arm",
    "Crossover",
    "EarlyStop",
    "Exponential",
    "Futility",
    "LossToFollowUp",
    "MechanisticSource",
    "MixtureCure",
    "Monitoring",
    "OutcomeModel",
    "ParametricSource",
    "PiecewiseExponential",
    "Population",
    "Primary",
    "RiskGroup",
    "TrialDesign",
    "Weibull",
    "design_from_dict",
    "designs_dir",
    "load_design",
    "resolve_design_path",
    "shipped_designs",
]
