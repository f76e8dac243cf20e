"""The schema of a parameter file: each section and the consumer that reads it.

:mod:`blinasim.config` loads parameter files and checks values, units, provenance and
sources, but knows no consumer (it sits below the model). This module names the consumer
dataclass of each section, so that unknown sections and keys are refused at any depth, and
builds every consumer of a user file so that a file it accepts is a file the model runs.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from blinasim.cohort.risk import RiskRules
from blinasim.cohort.sample import CohortParams
from blinasim.config import Known, ParameterSet, read_parameter_file
from blinasim.errors import BlinasimError, ParameterError
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.engine import ModelParams
from blinasim.model.leukemia import BlinaParams, ChemoParams, LeukemiaParams
from blinasim.model.mrd import MRDParams
from blinasim.model.pk import PKParams
from blinasim.model.toxicity import ToxicityParams

PARAMETER_SECTIONS: dict[str, type] = {
    "cohort": CohortParams,
    "pk": PKParams,
    "leukemia": LeukemiaParams,
    "chemo": ChemoParams,
    "blinatumomab": BlinaParams,
    "mrd": MRDParams,
    "after_relapse": AfterRelapseParams,
    "risk_groups": RiskRules,
    "toxicity": ToxicityParams,
}
"""Each section of a parameter file and the dataclass that reads it."""


@functools.cache
def known_parameters() -> Known:
    """The parameter names each section may hold: the fields of its consumer dataclass."""
    return {
        section: tuple(f.name for f in dataclasses.fields(cls))
        for section, cls in PARAMETER_SECTIONS.items()
    }


def check_consumers(ps: ParameterSet) -> None:
    """Build every consumer of ``ps`` (their own checks run); errors name ``ps.origin``."""
    try:
        ModelParams.from_parameters(ps)
        CohortParams.load(ps)
        RiskRules.load(ps)
    except BlinasimError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ParameterError(
            "parameter values the model accepts", file=ps.origin, got=str(exc)
        ) from None


def load_parameters(path: str | Path | None = None) -> ParameterSet:
    """A complete parameter file (default: the shipped one), unknown keys refused."""
    return ParameterSet.load(path, known=known_parameters())


def load_parameter_file(path: str | Path) -> ParameterSet:
    """A user parameter file over the shipped parameters, validated fully.

    See :func:`blinasim.config.read_parameter_file`: any subset of the parameters, each a
    full leaf or a bare value; unknown sections or keys, wrong types, non-finite or
    out-of-range values, and values a consumer rejects are one-line errors.
    """
    return read_parameter_file(path, known=known_parameters(), check=check_consumers)


__all__ = [
    "PARAMETER_SECTIONS",
    "check_consumers",
    "known_parameters",
    "load_parameter_file",
    "load_parameters",
]
