"""The outcome part of a trial design file: survival laws and outcome sources (schema).

A parametric source gives a DFS law (exponential, piecewise exponential, Weibull, mixture
cure) or a hazard ratio against the control law for each arm and stratum; a mechanistic
source names the protocol and maps trial arms to protocol arms. Times carry their unit in
the field name; :mod:`blinasim.units` converts.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from blinasim.config import FrozenModel
from blinasim.units import DAYS_PER_YEAR


class Exponential(FrozenModel):
    """Constant hazard, by rate, median or survival at a time."""

    dist: Literal["exponential"]
    hazard_per_year: float | None = Field(default=None, gt=0)
    median_years: float | None = Field(default=None, gt=0)
    survival: float | None = Field(default=None, gt=0, lt=1)
    at_years: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Exponential:
        given = [
            self.hazard_per_year is not None,
            self.median_years is not None,
            self.survival is not None and self.at_years is not None,
        ]
        if sum(given) != 1 or ((self.survival is None) != (self.at_years is None)):
            raise ValueError(
                "exactly one of hazard_per_year, median_years, or survival with at_years"
            )
        return self

    def rate_per_day(self) -> float:
        """Hazard per day."""
        if self.hazard_per_year is not None:
            return self.hazard_per_year / DAYS_PER_YEAR
        if self.median_years is not None:
            return math.log(2.0) / (self.median_years * DAYS_PER_YEAR)
        assert self.survival is not None
        assert self.at_years is not None
        return -math.log(self.survival) / (self.at_years * DAYS_PER_YEAR)


class PiecewiseExponential(FrozenModel):
    """Hazard constant between breaks: ``len(hazards) == len(breaks) + 1``."""

    dist: Literal["piecewise_exponential"]
    breaks_years: list[float] = Field(min_length=1)
    hazards_per_year: list[float] = Field(min_length=2)

    @model_validator(mode="after")
    def _shape(self) -> PiecewiseExponential:
        b = self.breaks_years
        if any(x <= 0 for x in b) or any(y <= x for x, y in itertools.pairwise(b)):
            raise ValueError("positive increasing breaks_years")
        if len(self.hazards_per_year) != len(b) + 1:
            raise ValueError("one more hazards_per_year entry than breaks_years")
        if any(h < 0 for h in self.hazards_per_year):
            raise ValueError("hazards >= 0")
        return self


class Weibull(FrozenModel):
    """``S(t) = exp(-(t / scale)^shape)``."""

    dist: Literal["weibull"]
    shape: float = Field(gt=0)
    scale_years: float = Field(gt=0)


class MixtureCure(FrozenModel):
    """``S(t) = cure + (1 - cure) S_u(t)``; cured patients never have the event."""

    dist: Literal["mixture_cure"]
    cure_fraction: float = Field(ge=0, lt=1)
    uncured: Exponential | PiecewiseExponential | Weibull = Field(discriminator="dist")


BaseModelSpec = Annotated[
    Exponential | PiecewiseExponential | Weibull | MixtureCure, Field(discriminator="dist")
]


class OutcomeModel(FrozenModel):
    """DFS model of one arm in one stratum: a survival law, or a hazard ratio vs control.

    ``hazard_ratio`` (experimental arm only) makes ``S_exp(t) = S_ctrl(t)^HR`` with the
    control law of the same stratum. Death after a DFS event: with probability
    ``death_after_event`` the patient dies, exponentially with ``median_death_years``.
    """

    arm: str
    stratum: str | None = Field(default=None, description="None: every stratum")
    dfs: BaseModelSpec | None = None
    hazard_ratio: float | None = Field(default=None, gt=0)
    death_after_event: float = Field(default=0.0, ge=0, le=1)
    median_death_years: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _one(self) -> OutcomeModel:
        if (self.dfs is None) == (self.hazard_ratio is None):
            raise ValueError("exactly one of dfs and hazard_ratio")
        return self


class ParametricSource(FrozenModel):
    """Event times drawn from parametric laws per arm and stratum."""

    source: Literal["parametric"]
    models: list[OutcomeModel] = Field(min_length=1)
    assumption: str | None = None


class MechanisticSource(FrozenModel):
    """Event times from :func:`blinasim.model.simulate` on virtual cohorts.

    ``arms`` maps each trial arm id to the protocol arm of each stratum (AALL1731:
    chemotherapy = arm A in SR-Average, arm C in SR-High). Each trial draws its own
    children (``sample_cohort``) and runs them through the model, unless ``bank_size`` is
    set: then one bank of that many simulated children is made per seed and every trial
    resamples its enrollees from it (much faster for many replicates; the bank's own
    sampling error is then shared by all trials).
    """

    source: Literal["mechanistic"]
    protocol: str = Field(min_length=1)
    arms: dict[str, dict[str, str]] = Field(
        description="trial arm id -> stratum -> protocol arm name"
    )
    parameters: str | None = Field(default=None, description="parameter file (default shipped)")
    bank_size: int | None = Field(default=None, ge=1000)
    assumption: str | None = None


SourceSpec = Annotated[ParametricSource | MechanisticSource, Field(discriminator="source")]


__all__ = [
    "BaseModelSpec",
    "Exponential",
    "FrozenModel",
    "MechanisticSource",
    "MixtureCure",
    "OutcomeModel",
    "ParametricSource",
    "PiecewiseExponential",
    "SourceSpec",
    "Weibull",
]
